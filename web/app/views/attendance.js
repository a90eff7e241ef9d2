// Attendance of one lecture (#/lecture/ID/attendance?site=&status=): each
// expected or present student with presence, share and status (and where it
// came from), filters and totals, overrides with a reason, the audit trail,
// the raw events and the exports.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { hasMessage, t, tn } from '../strings.js';
import { formatDateTime, formatTime, formatTimeSeconds } from '../time.js';
import { lectureHash, replaceHash } from '../router.js';
import { alertBox, errorText, heading, lectureBadge, lectureTimes, setTitle } from './common.js';
import { field, formStatus, modal } from './ui.js';
import { downloadLinks, shareText, sourceLabel, statusBadge, statusDescription } from './attcommon.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').AttendanceRow} AttendanceRow */
/** @typedef {import('../types.js').AttendanceRules} AttendanceRules */
/** @typedef {import('../types.js').AttendanceEvent} AttendanceEvent */
/** @typedef {import('../types.js').AuditEntry} AuditEntry */

/** While the lecture is live the page refreshes itself this often. */
const LIVE_POLL_MS = 15000;
/** The status filter value for rows without a status yet. */
const NO_STATUS = '-';

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} lectureId
 * @param {URLSearchParams} [query]
 * @returns {() => void}
 */
export function mountAttendance(root, ctx, lectureId, query = new URLSearchParams()) {
  setTitle(t('att.title'));
  let destroyed = false;
  let loading = false;
  let pollTimer = 0;
  let dialogOpen = false;
  const zone = ctx.site.timeZone;
  let filterSite = query.get('site') ?? '';
  let filterStatus = query.get('status') ?? '';
  /** @type {Awaited<ReturnType<typeof api.attendance>> | null} */
  let data = null;
  /** @type {Map<string, string>} names of people who are not rows (audit "by") */
  const people = new Map([[ctx.user.id, ctx.user.displayName]]);
  let peopleLoaded = false;

  const title = heading(t('att.title'));
  const sub = h('p', { class: 'muted' });
  const refresh = h('button', { type: 'button', id: 'attendance-refresh', class: 'button', text: t('att.refresh') });
  const extraLinks = h('span', { class: 'page-actions' });
  const status = h('p', { class: 'muted small', id: 'attendance-status', role: 'status' });
  const body = h('div', { class: 'attendance-body' }, h('p', { class: 'muted', text: t('app.loading') }));

  root.append(h('section', { class: 'attendance', dataset: { lectureId } },
    h('div', { class: 'page-head page-head-split' },
      h('div', null, title, sub),
      h('div', { class: 'page-actions' },
        extraLinks,
        h('a', { href: lectureHash(lectureId), class: 'button button-quiet', text: t('att.room') }),
        h('a', { href: '#/', class: 'button button-quiet', text: t('att.back') }),
        refresh)),
    status,
    body));

  refresh.addEventListener('click', () => void load(true));

  /** @param {boolean} byUser */
  async function load(byUser) {
    if (loading) return;
    loading = true;
    window.clearTimeout(pollTimer);
    refresh.disabled = true;
    refresh.textContent = t('att.refreshing');
    try {
      const got = await api.attendance(lectureId);
      if (destroyed) return;
      data = got;
      for (const r of got.rows) people.set(r.userId, r.displayName);
      if (got.lecture.lecturerId) people.set(got.lecture.lecturerId, got.lecture.lecturerName);
      await loadPeople(got.audit);
      if (destroyed) return;
      render();
      status.textContent = t('att.updated', { time: formatTimeSeconds(new Date(), zone) })
        + (got.lecture.state === 'live' ? ` ${t('att.autoRefresh', { seconds: LIVE_POLL_MS / 1000 })}` : '');
      if (byUser) announce(t('att.updated', { time: formatTimeSeconds(new Date(), zone) }));
    } catch (err) {
      if (destroyed) return;
      replace(body, alertBox(t('att.loadFailed', { message: errorText(err) })));
    } finally {
      loading = false;
      if (!destroyed) {
        refresh.disabled = false;
        refresh.textContent = t('att.refresh');
        if (data?.lecture.state === 'live') pollTimer = window.setTimeout(poll, LIVE_POLL_MS);
      }
    }
  }

  function poll() {
    // Never redraw under an open dialog; try again a little later.
    if (dialogOpen || document.visibilityState === 'hidden') {
      pollTimer = window.setTimeout(poll, LIVE_POLL_MS);
      return;
    }
    void load(false);
  }

  /**
   * Admins can list accounts: resolve the names of whoever changed statuses.
   * @param {AuditEntry[]} audit
   */
  async function loadPeople(audit) {
    if (peopleLoaded || ctx.user.role !== 'admin') return;
    if (!audit.some((a) => !a.byName && !people.has(a.by))) return;
    peopleLoaded = true;
    try {
      for (const u of await api.users()) if (!people.has(u.id)) people.set(u.id, u.displayName);
    } catch {
      // Ids are shown instead.
    }
  }

  /** @param {string} id */
  const personName = (id) => people.get(id) ?? id;

  /**
   * @param {string | null} iso
   * @param {string} empty
   */
  function when(iso, empty) {
    if (!iso) return h('span', { class: 'muted', text: empty });
    return h('time', { datetime: iso, title: formatDateTime(iso, zone), text: formatTime(iso, zone) });
  }

  function canOverride() {
    if (!data || data.legacy || data.lecture.state === 'cancelled') return false;
    return ctx.user.role === 'admin' || data.lecture.lecturerId === ctx.user.id;
  }

  function syncQuery() {
    const q = new URLSearchParams();
    if (filterSite) q.set('site', filterSite);
    if (filterStatus) q.set('status', filterStatus);
    const s = q.toString();
    replaceHash(`${lectureHash(lectureId, '/attendance')}${s ? `?${s}` : ''}`);
  }

  function render() {
    if (!data) return;
    const { lecture, rules, rows, events, audit } = data;
    const active = document.activeElement;
    const focusId = active instanceof HTMLElement && body.contains(active) ? active.id || (active.dataset.userId ? `ov:${active.dataset.userId}` : '') : '';

    title.textContent = `${t('att.title')}: ${lecture.title}`;
    setTitle(`${t('att.title')}: ${lecture.title}`);
    replace(sub, lectureTimes(lecture, ctx), ' · ', t('lecture.by', { name: lecture.lecturerName }), ' ', lectureBadge(lecture.state));
    const staff = ctx.user.role === 'admin' || (ctx.user.role === 'lecturer' && lecture.lecturerId === ctx.user.id);
    replace(extraLinks,
      lecture.seriesId && staff ? h('a', { href: `#/series/${encodeURIComponent(lecture.seriesId)}/attendance`, id: 'attendance-series', class: 'button button-quiet', text: t('att.seriesLink') }) : null,
      ctx.user.role === 'operator' && lecture.state !== 'cancelled'
        ? h('a', { href: lectureHash(lectureId, '/rollcall'), id: 'attendance-rollcall', class: 'button button-quiet', text: t('att.rollcallLink') }) : null);

    // ---- totals (each is a filter toggle)
    const siteIds = [...new Set(rows.map((r) => r.siteId))].sort((a, b) => siteLabel(a).localeCompare(siteLabel(b)));
    if (filterSite && !siteIds.includes(filterSite)) siteIds.push(filterSite);
    const bySite = filterSite ? rows.filter((r) => r.siteId === filterSite) : rows;
    /** @type {Map<string, number>} */
    const counts = new Map();
    for (const r of bySite) counts.set(r.status || NO_STATUS, (counts.get(r.status || NO_STATUS) ?? 0) + 1);
    const statusOptions = rules.statuses.map((s) => ({ value: s.acronym, label: `${s.acronym} — ${s.description}` }));
    for (const a of counts.keys()) {
      if (a !== NO_STATUS && !rules.statuses.some((s) => s.acronym === a)) statusOptions.push({ value: a, label: a });
    }
    const totalKeys = [...rules.statuses.map((s) => s.acronym), ...[...counts.keys()].filter((k) => !rules.statuses.some((s) => s.acronym === k))];
    const totals = h('ul', { class: 'att-totals', id: 'attendance-totals', 'aria-label': t('att.totalsLabel') },
      totalKeys.map((a) => {
        const n = counts.get(a) ?? 0;
        const pressed = filterStatus === a;
        const b = h('button', {
          type: 'button', class: 'att-total', 'aria-pressed': pressed ? 'true' : 'false', dataset: { status: a, count: String(n) },
          'aria-label': t('att.totalItem', { description: a === NO_STATUS ? t('att.noStatus') : statusDescription(rules, a), count: n }),
        }, a === NO_STATUS ? h('span', { class: 'status-badge status-none' }, h('span', { class: 'status-text', text: t('att.noStatus') }))
          : statusBadge(rules, a), h('span', { class: 'att-total-count', text: String(n) }));
        b.addEventListener('click', () => {
          filterStatus = pressed ? '' : a;
          syncQuery();
          render();
        });
        return h('li', { dataset: { status: a } }, b);
      }));

    // ---- filters
    const siteSel = h('select', { id: 'att-filter-site' },
      h('option', { value: '', text: t('att.allSites') }),
      siteIds.map((id) => h('option', { value: id, text: siteLabel(id) })));
    siteSel.value = filterSite;
    const statusSel = h('select', { id: 'att-filter-status' },
      h('option', { value: '', text: t('att.allStatuses') }),
      statusOptions.map((o) => h('option', { value: o.value, text: o.label })),
      h('option', { value: NO_STATUS, text: t('att.noStatus') }));
    statusSel.value = filterStatus;
    if (statusSel.selectedIndex < 0) statusSel.value = '';
    siteSel.addEventListener('change', () => { filterSite = siteSel.value; syncQuery(); render(); });
    statusSel.addEventListener('change', () => { filterStatus = statusSel.value; syncQuery(); render(); });
    const filters = h('div', { class: 'filters', role: 'search', 'aria-label': t('common.filters') },
      h('div', { class: 'field' }, h('label', { for: 'att-filter-site', text: t('att.filterSite') }), siteSel),
      h('div', { class: 'field' }, h('label', { for: 'att-filter-status', text: t('att.filterStatus') }), statusSel));

    // ---- exports
    const ex = api.attendanceExports(lectureId);
    const exports = h('div', { class: 'att-exports' },
      h('span', { class: 'att-exports-label', id: 'att-exports-label', text: t('att.exports') }),
      downloadLinks('att-exports-label', [
        { id: 'att-export-csv', href: ex.csv, text: t('att.exportCsv'), label: t('att.exportCsvLabel') },
        { id: 'att-export-excel', href: ex.excel, text: t('att.exportExcel'), label: t('att.exportExcelLabel') },
        { id: 'att-export-moodle', href: ex.moodle, text: t('att.exportMoodle'), label: t('att.exportMoodleLabel') },
      ]));

    // ---- the table
    const shown = bySite.filter((r) => !filterStatus || (r.status || NO_STATUS) === filterStatus)
      .slice().sort((a, b) => siteLabel(a.siteId).localeCompare(siteLabel(b.siteId)) || a.displayName.localeCompare(b.displayName));
    const override = canOverride();
    const notYet = lecture.state === 'scheduled';
    const table = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'att-attendees' },
      h('table', { class: 'table att-table', id: 'attendees-table' },
        h('thead', null, h('tr', null,
          [t('att.col.name'), t('att.col.site'), t('att.col.group'), t('att.col.firstJoin'), t('att.col.lastLeave')].map((c) => h('th', { scope: 'col', text: c })),
          h('th', { scope: 'col', class: 'num', text: t('att.col.minutes') }),
          h('th', { scope: 'col', class: 'num', text: t('att.col.share') }),
          h('th', { scope: 'col', text: t('att.col.status') }),
          h('th', { scope: 'col', text: t('att.col.connected') }),
          override ? h('th', { scope: 'col', text: t('att.col.actions') }) : null)),
        h('tbody', { id: 'attendance-rows' }, shown.length === 0
          ? h('tr', null, h('td', { colspan: override ? 10 : 9, class: 'muted', text: rows.length ? t('att.noneFiltered') : t('att.none') }))
          : shown.map((r) => rowEl(r, rules, override)))));

    // ---- audit
    const auditSorted = audit.slice().sort((a, b) => b.at.localeCompare(a.at));
    const auditEl = auditSorted.length === 0
      ? h('p', { class: 'muted', id: 'audit-empty', text: t('att.auditNone') })
      : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'att-audit' },
        h('table', { class: 'table table-compact', id: 'audit-table' },
          h('thead', null, h('tr', null,
            [t('att.col.when'), t('att.col.by'), t('att.col.student'), t('att.col.change'), t('att.col.why')].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', null, auditSorted.map((a) => h('tr', { dataset: { auditId: a.id ?? '', userId: a.userId, kind: a.kind ?? 'override' } },
            h('td', null, h('time', { datetime: a.at, title: formatDateTime(a.at, zone), text: formatDateTime(a.at, zone) })),
            h('td', { text: a.byName || byName(a) }),
            h('td', { text: personName(a.userId) }),
            h('td', null, changeEl(a, rules)),
            h('td', { class: 'wrap audit-reason', text: a.reason || t('common.none') }))))));

    // ---- raw events
    const eventsOpen = body.querySelector('#events-details')?.hasAttribute('open') ?? false;
    const hasClient = events.some((e) => e.clientAt);
    const eventsTable = events.length === 0
      ? h('p', { class: 'muted', text: t('att.noEvents') })
      : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('att.events') },
        h('table', { class: 'table table-compact', id: 'events-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col', text: t('att.col.time') }),
            hasClient ? h('th', { scope: 'col', text: t('att.col.clientTime') }) : null,
            [t('att.col.kind'), t('att.col.user'), t('att.col.site'), t('att.col.conn'), t('att.col.reason')].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', null, events.map((e) => {
            const reasonId = `att.reason.${e.reason}`;
            return h('tr', { dataset: { eventId: e.id, kind: e.kind } },
              h('td', null, h('time', { class: 'server-time', datetime: e.at, title: formatDateTime(e.at, zone), text: formatTimeSeconds(e.at, zone) })),
              hasClient ? h('td', null, e.clientAt
                ? h('time', { class: 'client-time', datetime: e.clientAt, title: `${t('att.col.clientTime')}: ${formatDateTime(e.clientAt, zone)}`, text: formatTimeSeconds(e.clientAt, zone) })
                : null) : null,
              h('td', { text: e.kind === 'join' ? t('att.kind.join') : e.kind === 'leave' ? t('att.kind.leave') : e.kind }),
              h('td', { text: personName(e.userId) }),
              h('td', { text: siteLabel(e.siteId) }),
              h('td', { class: 'mono small', text: e.connId }),
              h('td', { text: e.reason ? (hasMessage(reasonId) ? t(reasonId) : e.reason) : '' }));
          }))));
    const eventsDetails = h('details', { id: 'events-details', class: 'att-events', open: eventsOpen },
      h('summary', null, h('span', { id: 'att-events', text: tn('att.eventsSummary', events.length) })),
      h('p', { class: 'muted small', text: t('att.eventsHint') }),
      eventsTable);

    replace(body,
      h('p', { class: 'muted small', text: t('att.timesIn', { site: ctx.site.name, zone }) }),
      data.legacy ? h('div', { class: 'alert alert-warn', text: t('att.legacy') }) : null,
      notYet ? h('div', { class: 'alert alert-warn', id: 'attendance-not-started', text: t('att.notStarted') }) : null,
      h('div', { class: 'att-toolbar' }, h('div', null, h('h2', { class: 'visually-hidden', text: t('att.totals') }), totals), exports),
      h('h2', { id: 'att-attendees' }, t('att.attendees'), ' ',
        h('span', { class: 'muted small', id: 'attendance-count', text: shown.length === rows.length ? tn('att.summary', rows.length) : `${shown.length} / ${tn('att.summary', rows.length)}` })),
      filters,
      table,
      h('section', { class: 'section', 'aria-labelledby': 'att-audit' },
        h('h2', { id: 'att-audit', text: t('att.audit') }),
        h('p', { class: 'muted small', text: t('att.auditHint') }),
        auditEl),
      h('section', { class: 'section' }, eventsDetails));

    if (focusId) {
      const el = focusId.startsWith('ov:')
        ? body.querySelector(`button[data-action="override"][data-user-id="${CSS.escape(focusId.slice(3))}"]`)
        : body.querySelector(`#${CSS.escape(focusId)}`);
      if (el instanceof HTMLElement) el.focus();
    }
  }

  /**
   * Who made an audit entry: a known name, else for a roll-call mark the
   * operator of the site it credits, else the account id.
   * @param {AuditEntry} a
   */
  function byName(a) {
    const known = people.get(a.by);
    if (known) return known;
    const mark = data?.rows.find((r) => r.userId === a.userId)?.rollCall;
    if (a.kind === 'rollcall' && mark && mark.by === a.by) return t('att.operatorAt', { site: siteLabel(mark.siteId) });
    return a.by;
  }

  /** @param {string} id */
  function siteLabel(id) {
    return ctx.sites.get(id)?.name ?? data?.rows.find((r) => r.siteId === id)?.siteName ?? id;
  }

  /**
   * @param {AuditEntry} a
   * @param {AttendanceRules} rules
   */
  function changeEl(a, rules) {
    if (a.kind === 'rollcall') {
      /** @param {string} v */
      const word = (v) => (v === 'present' ? t('att.audit.present') : v === 'absent' ? t('att.audit.absent') : v || t('common.none'));
      return h('span', { class: 'audit-change', 'aria-label': `${t('att.audit.rollcall')}: ${t('att.changeLabel', { old: word(a.old), new: word(a.new) })}` },
        h('span', { class: 'tag', text: t('att.audit.rollcall') }), ' ', word(a.old), ' → ', word(a.new));
    }
    return h('span', { class: 'audit-change', 'aria-label': t('att.changeLabel', { old: statusDescription(rules, a.old), new: statusDescription(rules, a.new) }) },
      h('span', { 'aria-hidden': 'true' }, statusBadge(rules, a.old, { compact: true }), ' → ', statusBadge(rules, a.new, { compact: true })));
  }

  /**
   * @param {AttendanceRow} r
   * @param {AttendanceRules} rules
   * @param {boolean} override
   */
  function rowEl(r, rules, override) {
    const src = r.source ? sourceLabel(r.source) : '';
    const statusCell = h('td', { class: 'status', dataset: { status: r.status, source: r.source } },
      r.status ? statusBadge(rules, r.status) : h('span', { class: 'muted', text: t('att.noStatus') }),
      src ? h('span', { class: `source source-${r.source}`, title: t('att.sourceLabel', { source: src }) }, h('span', { class: 'visually-hidden', text: ', ' }), src) : null,
      r.override?.reason ? h('span', { class: 'override-reason muted small', text: `“${r.override.reason}”` }) : null,
      r.rollCall ? h('span', { class: 'muted small rollcall-note', text: t('att.rollcallAt', { site: siteLabel(r.rollCall.siteId) }) }) : null);
    let action = null;
    if (override) {
      action = h('button', {
        type: 'button', class: 'button button-quiet', text: t('att.override'), 'aria-haspopup': 'dialog',
        'aria-label': t('att.overrideLabel', { name: r.displayName }), dataset: { action: 'override', userId: r.userId },
      });
      action.addEventListener('click', () => openOverride(r));
    }
    return h('tr', { class: r.connected ? 'row-connected' : '', dataset: { userId: r.userId, status: r.status, source: r.source, siteId: r.siteId } },
      h('th', { scope: 'row', class: 'wrap' },
        h('span', { class: 'person-name', text: r.displayName }),
        r.username ? h('span', { class: 'muted small person-username', text: ` ${r.username}` }) : null,
        r.expected || data?.legacy ? null : h('span', { class: 'tag tag-unexpected', title: t('att.unexpectedLabel'), text: t('att.unexpected') })),
      h('td', { text: r.siteName || siteLabel(r.siteId) }),
      h('td', { text: r.groupName || r.groupId || t('common.none') }),
      h('td', null, when(r.firstJoin, t('att.never'))),
      h('td', null, when(r.lastLeave, r.connected ? t('att.connectedNow') : t('common.none'))),
      h('td', { class: 'num', text: String(Math.round(r.presentSeconds / 60)) }),
      h('td', { class: 'num', text: data?.legacy ? t('common.none') : shareText(r.share) }),
      statusCell,
      h('td', { class: 'connected' }, r.connected
        ? h('span', { class: 'badge badge-live', text: r.connections > 1 ? t('att.yesConns', { count: r.connections }) : t('att.yes') })
        : h('span', { class: 'muted', text: t('att.no') })),
      override ? h('td', null, action) : null);
  }

  /** @param {AttendanceRow} r */
  function openOverride(r) {
    if (!data) return;
    const rules = data.rules;
    dialogOpen = true;
    const m = modal({ title: t('att.overrideTitle', { name: r.displayName }), onClose: () => { dialogOpen = false; } });
    m.dialog.id = 'override-dialog';
    m.dialog.dataset.userId = r.userId;
    const sel = h('select', null, rules.statuses.map((s) => h('option', { value: s.acronym, text: `${s.acronym} — ${s.description}` })));
    sel.value = r.status && rules.statuses.some((s) => s.acronym === r.status) ? r.status : '';
    if (sel.selectedIndex < 0) sel.selectedIndex = 0;
    const fStatus = field('ov-status', t('att.overrideStatus'), sel);
    const reason = h('textarea', { rows: 3, maxlength: 500, required: true });
    const fReason = field('ov-reason', t('att.overrideReason'), reason, { hint: t('att.overrideReasonHint') });
    const fs = formStatus();
    const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'ov-submit', text: t('att.overrideSubmit') });
    const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
    cancel.addEventListener('click', () => m.close());
    const form = h('form', { id: 'override-form', novalidate: true },
      h('p', { id: 'ov-current' }, t('att.overrideCurrent', {
        status: r.status ? `${r.status} — ${statusDescription(rules, r.status)}` : t('att.overrideNone'),
        source: r.source ? sourceLabel(r.source) : t('common.none'),
      })),
      r.automaticStatus && r.automaticStatus !== r.status
        ? h('p', { class: 'muted small', text: t('att.overrideAutomatic', { status: `${r.automaticStatus} — ${statusDescription(rules, r.automaticStatus)}` }) }) : null,
      fStatus.wrap, fReason.wrap, fs.el,
      h('div', { class: 'dialog-actions' }, cancel, submit));
    m.body.append(form);
    sel.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fStatus.clear();
      fReason.clear();
      fs.clear();
      const text = reason.value.trim();
      if (!sel.value) {
        fStatus.setError(t('att.err.status'));
        sel.focus();
        return;
      }
      if (!text) {
        fReason.setError(t('att.err.reason'));
        reason.focus();
        return;
      }
      submit.disabled = true;
      submit.textContent = t('common.saving');
      try {
        const row = await api.overrideAttendance(lectureId, { userId: r.userId, status: sel.value, reason: text });
        if (destroyed) return;
        const msg = t('att.overrideSaved', { name: r.displayName, status: statusDescription(rules, row?.status ?? sel.value) });
        m.close();
        announce(msg);
        await load(false);
        status.textContent = msg;
        const again = body.querySelector(`button[data-action="override"][data-user-id="${CSS.escape(r.userId)}"]`);
        if (again instanceof HTMLElement) again.focus();
      } catch (err) {
        submit.disabled = false;
        submit.textContent = t('att.overrideSubmit');
        const f = err instanceof api.ApiError ? err.field : undefined;
        if (f === 'reason') {
          fReason.setError(errorText(err));
          reason.focus();
        } else if (f === 'status') {
          fStatus.setError(errorText(err));
          sel.focus();
        } else {
          fs.error(errorText(err));
        }
      }
    });
  }

  void load(false);
  return () => {
    destroyed = true;
    window.clearTimeout(pollTimer);
  };
}
