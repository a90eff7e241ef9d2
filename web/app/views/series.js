// Lecture series (admin): #/series (list), #/series/new and #/series/ID/edit
// (form with recurrence builder, preview with conflicts), #/series/ID
// (detail with its lectures, calendar feed, cancel).

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t, tn } from '../strings.js';
import { addDays, dateKeyIn, formatDateTime, formatTime, zonedToUtc } from '../time.js';
import { navigate } from '../router.js';
import { alertBox, errorText, heading, lectureBadge, setTitle } from './common.js';
import { openOccurrence } from './occurrence.js';
import { checkGroup, confirmDialog, conflictList, copyField, field, formStatus, select, siteNames } from './ui.js';
import { LOCALE } from '../strings.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Series} Series */
/** @typedef {import('../types.js').SeriesBody} SeriesBody */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').User} User */
/** @typedef {import('../types.js').Group} Group */
/** @typedef {import('../types.js').Conflict} Conflict */
/** @typedef {import('../types.js').PreviewOccurrence} PreviewOccurrence */
/** @typedef {import('../strings.js').MessageId} MessageId */

/** @type {('MO' | 'TU' | 'WE' | 'TH' | 'FR' | 'SA' | 'SU')[]} */
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

/** @param {string} id */
const seriesHash = (id) => `#/series/${encodeURIComponent(id)}`;

/** @param {string} key "YYYY-MM-DD" → 0 = Monday … 6 = Sunday */
function weekdayIndex(key) {
  const [y, m, d] = key.split('-').map(Number);
  return (new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, 12)).getUTCDay() + 6) % 7;
}

const fmtDate = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
/** @param {string} key */
function formatKey(key) {
  const [y, m, d] = key.split('-').map(Number);
  return fmtDate.format(new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, 12)));
}

/**
 * Load active lecturers and groups (shared by the form and the detail).
 * @returns {Promise<{lecturers: Map<string, User>, allLecturers: User[], groups: Map<string, Group>}>}
 */
async function loadPeople() {
  const [us, gs] = await Promise.all([api.users('lecturer').catch(() => []), api.groups().catch(() => [])]);
  const lect = us.filter((u) => u.role === 'lecturer');
  return {
    lecturers: new Map(lect.filter((u) => u.active !== false).map((u) => [u.id, u])),
    allLecturers: lect,
    groups: new Map(gs.map((g) => [g.id, g])),
  };
}

// ---------------------------------------------------------------- list

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @returns {() => void}
 */
export function mountSeriesList(root, ctx) {
  setTitle(t('series.title'));
  let destroyed = false;
  const body = h('div', null, h('p', { class: 'muted', text: t('app.loading') }));
  root.append(
    h('div', { class: 'page-head page-head-split' }, heading(t('series.title')),
      h('div', { class: 'page-actions' }, h('a', { class: 'button button-primary', href: '#/series/new', id: 'series-new', text: t('series.new') }))),
    body);

  Promise.all([api.seriesList(), loadPeople()]).then(([list, people]) => {
    if (destroyed) return;
    if (list.length === 0) {
      replace(body, h('p', { class: 'lecture-empty muted', text: t('series.empty') }));
      return;
    }
    const sorted = [...list].sort((a, b) => Number(!!a.cancelled) - Number(!!b.cancelled) || b.firstStart.localeCompare(a.firstStart));
    replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'series-table' },
      h('thead', null, h('tr', null,
        [t('series.col.title'), t('series.col.origin'), t('series.col.sites'), t('series.col.lecturers'), t('series.col.first'), t('series.col.count'), t('series.col.status')]
          .map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', null, sorted.map((s) => {
        const [d, tm] = s.firstStart.split('T');
        return h('tr', { dataset: { seriesId: s.id }, class: s.cancelled ? 'row-inactive' : '' },
          h('th', { scope: 'row' }, h('a', { href: seriesHash(s.id), text: s.title })),
          h('td', { text: ctx.sites.get(s.originSiteId)?.name ?? s.originSiteId }),
          h('td', { class: 'wrap', text: siteNames(ctx, s.siteIds) }),
          h('td', { class: 'wrap', text: s.lecturerIds.map((id) => people.lecturers.get(id)?.displayName ?? people.allLecturers.find((u) => u.id === id)?.displayName ?? id).join(t('common.listSep')) }),
          h('td', { text: `${d ? formatKey(d) : ''} ${tm ?? ''} (${s.timeZone})` }),
          h('td', { class: 'num', text: String(s.occurrences ?? '') }),
          h('td', null, h('span', { class: s.cancelled ? 'badge badge-cancelled' : 'badge badge-live', text: s.cancelled ? t('series.status.cancelled') : t('series.status.active') })));
      })))));
  }).catch((err) => {
    if (!destroyed) replace(body, alertBox(t('common.loadFailed', { message: errorText(err) })));
  });
  return () => { destroyed = true; };
}

// ---------------------------------------------------------------- detail

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} id
 * @returns {() => void}
 */
export function mountSeriesDetail(root, ctx, id) {
  setTitle(t('series.title'));
  let destroyed = false;
  const wrap = h('div', { class: 'series-detail', dataset: { seriesId: id } }, h('p', { class: 'muted', text: t('app.loading') }));
  root.append(h('div', { class: 'page-head' }, h('a', { href: '#/series', class: 'back-link', text: `‹ ${t('series.back')}` })), wrap);
  /** @type {Awaited<ReturnType<typeof loadPeople>> | null} */
  let people = null;

  async function load(flash = '') {
    try {
      const [r, p] = await Promise.all([api.series(id), people ?? loadPeople()]);
      people = p;
      if (destroyed) return;
      render(r.series, r.lectures, p);
      if (flash) {
        wrap.prepend(h('div', { class: 'alert alert-ok', role: 'status', text: flash }));
        announce(flash);
      }
    } catch (err) {
      if (destroyed) return;
      const text = err instanceof api.ApiError && err.status === 404 ? t('series.notFound') : t('common.loadFailed', { message: errorText(err) });
      replace(wrap, heading(t('series.title')), alertBox(text));
    }
  }

  /**
   * @param {Series} s
   * @param {Lecture[]} lectures
   * @param {Awaited<ReturnType<typeof loadPeople>>} p
   */
  function render(s, lectures, p) {
    setTitle(s.title);
    const origin = ctx.sites.get(s.originSiteId);
    const originZone = { timeZone: s.timeZone, label: origin && origin.timeZone === s.timeZone ? origin.name : s.timeZone };
    const viewerZone = { timeZone: ctx.site.timeZone, label: ctx.site.name };
    const showViewer = viewerZone.timeZone !== originZone.timeZone;
    const name = (/** @type {string} */ uid) => p.lecturers.get(uid)?.displayName ?? p.allLecturers.find((u) => u.id === uid)?.displayName ?? uid;
    const [firstDate, firstTime] = s.firstStart.split('T');

    const status = h('div', { class: 'form-status' });
    const feedBox = h('div', { class: 'feed-box' });
    const feedBtn = h('button', { type: 'button', class: 'button', id: 'series-feed', text: t('series.feedButton') });
    feedBtn.addEventListener('click', async () => {
      feedBtn.disabled = true;
      try {
        const url = await api.seriesCalendar(s.id);
        if (destroyed) return;
        replace(feedBox, h('p', { class: 'field-hint', text: t('series.feedHint') }), copyField(url, { id: 'series-feed-url', label: t('series.feedLabel') }));
        feedBtn.textContent = t('series.feedNew');
        const input = feedBox.querySelector('input');
        if (input instanceof HTMLElement) input.focus();
      } catch (err) {
        replace(feedBox, alertBox(errorText(err)));
      } finally {
        feedBtn.disabled = false;
      }
    });
    const cancelBtn = h('button', { type: 'button', class: 'button button-danger', id: 'series-cancel', text: t('series.cancel'), disabled: !!s.cancelled });
    cancelBtn.addEventListener('click', async () => {
      const yes = await confirmDialog({
        title: t('series.cancelConfirmTitle'), body: t('series.cancelConfirmBody', { title: s.title }),
        yes: t('series.cancelYes'), no: t('occ.cancelKeep'), danger: true, yesId: 'series-cancel-confirm',
      });
      if (!yes || destroyed) return;
      cancelBtn.disabled = true;
      try {
        await api.cancelSeries(s.id);
        void load(t('series.cancelled'));
      } catch (err) {
        replace(status, alertBox(errorText(err)));
        cancelBtn.disabled = false;
      }
    });

    const facts = h('dl', { class: 'facts facts-wide' },
      s.description ? [h('dt', { text: t('series.detail.description') }), h('dd', { class: 'prewrap', text: s.description })] : null,
      h('dt', { text: t('series.detail.lecturers') }), h('dd', { text: s.lecturerIds.map(name).join(t('common.listSep')) }),
      h('dt', { text: t('series.detail.origin') }), h('dd', { text: origin ? `${origin.name} — ${origin.institution}` : s.originSiteId }),
      h('dt', { text: t('series.detail.sites') }), h('dd', { text: siteNames(ctx, s.siteIds) }),
      h('dt', { text: t('series.detail.groups') }), h('dd', { text: s.groupIds.length ? s.groupIds.map((g) => p.groups.get(g)?.name ?? g).join(t('common.listSep')) : t('common.none') }),
      h('dt', { text: t('series.detail.recurrence') }),
      h('dd', null, `${firstDate ? formatKey(firstDate) : ''}, ${firstTime ?? ''} · `, h('code', { text: s.rrule })),
      h('dt', { text: t('series.detail.zone') }), h('dd', { text: s.timeZone }),
      h('dt', { text: t('series.detail.duration') }), h('dd', { text: t('lecture.duration', { minutes: s.durationMinutes }) }),
      s.exdates.length ? [h('dt', { text: t('series.detail.exdates') }), h('dd', { text: s.exdates.map(formatKey).join(t('common.listSep')) })] : null);

    const sorted = [...lectures].sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.start.localeCompare(b.start));
    const table = sorted.length === 0 ? h('p', { class: 'lecture-empty muted', text: t('series.detail.none') }) : h('div', { class: 'table-wrap' },
      h('table', { class: 'table', id: 'series-lectures' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', class: 'num', text: t('series.col.index') }),
          h('th', { scope: 'col', text: t('series.col.date') }),
          h('th', { scope: 'col', text: t('series.col.timeOrigin', { site: originZone.label }) }),
          showViewer ? h('th', { scope: 'col', text: t('series.col.timeViewer', { site: viewerZone.label }) }) : null,
          h('th', { scope: 'col', text: t('series.col.topic') }),
          h('th', { scope: 'col', text: t('series.col.lecturer') }),
          h('th', { scope: 'col', text: t('series.col.state') }),
          h('th', { scope: 'col', text: t('series.col.details') }))),
        h('tbody', null, sorted.map((l) => {
          const btn = h('button', { type: 'button', class: 'button button-quiet', text: t('series.details'), 'aria-label': t('series.detailsLabel', { index: l.index ?? 0 }), 'aria-haspopup': 'dialog', dataset: { action: 'details', lectureId: l.id } });
          btn.addEventListener('click', () => openOccurrence(ctx, l, { lecturers: p.lecturers, groups: p.groups, onChanged: () => void load() }));
          return h('tr', { class: `row-${l.state}`, dataset: { lectureId: l.id, state: l.state } },
            h('td', { class: 'num', text: String(l.index ?? '') }),
            h('td', { text: formatKey(dateKeyIn(s.timeZone, new Date(l.start))) }),
            h('td', null, h('time', { class: 'time-origin', datetime: l.start, text: formatTime(l.start, s.timeZone) })),
            showViewer ? h('td', null, h('time', { class: 'time-local', datetime: l.start, text: formatTime(l.start, viewerZone.timeZone) })) : null,
            h('td', { class: 'wrap lecture-topic', text: l.topic || t('common.none') }),
            h('td', { text: l.lecturerName || name(l.lecturerId) }),
            h('td', null, lectureBadge(l.state), l.modified ? h('span', { class: 'tag', text: t('occ.modified') }) : null),
            h('td', null, btn));
        }))));

    replace(wrap,
      h('div', { class: 'page-head page-head-split' },
        h('div', null, heading(s.title), h('p', null,
          h('span', { class: s.cancelled ? 'badge badge-cancelled' : 'badge badge-live', text: s.cancelled ? t('series.status.cancelled') : t('series.status.active') }),
          ' ', h('span', { class: 'muted', text: tn('sf.occurrences', s.occurrences ?? lectures.length) }))),
        h('div', { class: 'page-actions' },
          h('a', { class: 'button', href: `${seriesHash(s.id)}/attendance`, id: 'series-attendance', text: t('sa.attendanceLink') }),
          s.cancelled ? null : h('a', { class: 'button', href: `${seriesHash(s.id)}/edit`, id: 'series-edit', text: t('series.edit') }),
          feedBtn, cancelBtn)),
      status,
      feedBox,
      h('section', { class: 'card' }, facts),
      h('section', { class: 'section', 'aria-labelledby': 'series-lectures-h' },
        h('h2', { id: 'series-lectures-h', text: t('series.detail.occurrences') }),
        table));
  }

  void load();
  return () => { destroyed = true; };
}

// ---------------------------------------------------------------- form

/**
 * The RRULE of the builder.
 * @param {{byday: string[], interval: number, ends: 'count' | 'until', count: number, until: string, zone: string}} b
 * @returns {string}
 */
export function buildRrule(b) {
  const parts = ['FREQ=WEEKLY'];
  if (b.interval > 1) parts.push(`INTERVAL=${b.interval}`);
  if (b.byday.length) parts.push(`BYDAY=${WEEKDAYS.filter((d) => b.byday.includes(d)).join(',')}`);
  if (b.ends === 'count') {
    parts.push(`COUNT=${b.count}`);
  } else if (b.until) {
    // The end of the last day in the series' zone, in UTC (RFC 5545 §3.3.10).
    const end = zonedToUtc(addDays(b.until, 1), '00:00', b.zone);
    if (end) {
      const iso = new Date(end.date.getTime() - 1000).toISOString();
      parts.push(`UNTIL=${iso.slice(0, 19).replace(/[-:]/g, '')}Z`);
    }
  }
  return parts.join(';');
}

/**
 * Local dates of a weekly rule, as the builder describes it (an estimate for
 * counting topics; the server's preview is authoritative).
 * @param {{first: string, byday: string[], interval: number, ends: 'count' | 'until', count: number, until: string, exdates: string[]}} b
 * @returns {string[]}
 */
export function expandWeekly(b) {
  const days = (b.byday.length ? b.byday : [WEEKDAYS[weekdayIndex(b.first)] ?? 'MO']).map((d) => WEEKDAYS.indexOf(/** @type {any} */ (d))).sort();
  const monday = addDays(b.first, -weekdayIndex(b.first));
  const limit = addDays(b.first, 366);
  /** @type {string[]} */
  const out = [];
  let generated = 0;
  for (let w = 0; w < 60 && generated < 400; w += Math.max(1, b.interval)) {
    for (const d of days) {
      const key = addDays(monday, w * 7 + d);
      if (key < b.first) continue;
      if (key > limit) return out;
      if (b.ends === 'until' && (!b.until || key > b.until)) return out;
      if (b.ends === 'count' && generated >= b.count) return out;
      generated++;
      if (!b.exdates.includes(key)) out.push(key);
    }
  }
  return out;
}

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string | null} editId null for a new series
 * @returns {() => void}
 */
export function mountSeriesForm(root, ctx, editId) {
  setTitle(editId ? t('series.edit') : t('sf.newTitle'));
  let destroyed = false;
  const box = h('div', null, h('p', { class: 'muted', text: t('app.loading') }));
  root.append(box);

  Promise.all([loadPeople(), editId ? api.series(editId) : Promise.resolve(null)]).then(([people, existing]) => {
    if (destroyed) return;
    build(people, existing?.series ?? null);
  }).catch((err) => {
    if (destroyed) return;
    const text = err instanceof api.ApiError && err.status === 404 ? t('series.notFound') : t('common.loadFailed', { message: errorText(err) });
    replace(box, heading(t('series.title')), alertBox(text));
  });

  /**
   * @param {Awaited<ReturnType<typeof loadPeople>>} people
   * @param {Series | null} existing
   */
  function build(people, existing) {
    const editing = existing !== null;
    const sites = [...ctx.sites.values()].sort((a, b) => a.name.localeCompare(b.name));
    const status = formStatus();

    // --- about
    const title = field('sf-title', t('sf.title'), h('input', { type: 'text', maxlength: 200, autocomplete: 'off', required: true }));
    const description = field('sf-description', t('sf.description'), h('textarea', { rows: 3, maxlength: 4000 }));

    // --- who and where
    /** Lecturers in the order they were chosen; the first is the main one. */
    /** @type {string[]} */
    let lecturerOrder = existing ? [...existing.lecturerIds] : [];
    const lecturers = checkGroup({ id: 'sf-lecturers', legend: t('sf.lecturers'), name: 'sf-lecturer', hint: t('sf.lecturersHint'), empty: t('sf.lecturersNone') });
    const lecturerUsers = [...people.lecturers.values()];
    for (const id of lecturerOrder) {
      const u = people.allLecturers.find((x) => x.id === id);
      if (u && !people.lecturers.has(id)) lecturerUsers.push(u);
    }
    lecturerUsers.sort((a, b) => a.displayName.localeCompare(b.displayName));
    function renderLecturers() {
      lecturers.setOptions(lecturerUsers.map((u) => ({
        value: u.id, label: u.displayName,
        note: `(${ctx.sites.get(u.siteId)?.name ?? u.siteId})${lecturerOrder[0] === u.id ? ` · ${t('sf.primary')}` : ''}`,
      })), lecturerOrder);
    }
    renderLecturers();
    lecturers.el.addEventListener('change', (ev) => {
      const c = ev.target;
      if (!(c instanceof HTMLInputElement)) return;
      lecturerOrder = lecturerOrder.filter((x) => x !== c.value);
      if (c.checked) lecturerOrder.push(c.value);
      renderLecturers();
      const again = lecturers.el.querySelector(`input[value="${CSS.escape(c.value)}"]`);
      if (again instanceof HTMLElement) again.focus();
    });

    const originSel = select({ id: 'sf-origin', options: sites.map((s) => ({ value: s.id, label: `${s.name} — ${s.institution}` })), value: existing?.originSiteId ?? ctx.user.siteId });
    const origin = field('sf-origin', t('sf.origin'), originSel, { hint: t('sf.originHint') });
    const siteBoxes = checkGroup({ id: 'sf-sites', legend: t('sf.sites'), name: 'sf-site', hint: t('sf.sitesHint') });
    const groupBoxes = checkGroup({ id: 'sf-groups', legend: t('sf.groups'), name: 'sf-group', hint: t('sf.groupsHint'), empty: t('sf.groupsNone') });
    /** @type {Set<string>} */
    let chosenSites = new Set(existing?.siteIds ?? []);
    /** @type {Set<string>} */
    let chosenGroups = new Set(existing?.groupIds ?? []);
    function renderSites() {
      chosenSites = new Set(siteBoxes.values().length || siteBoxes.el.querySelector('input') ? siteBoxes.values() : chosenSites);
      chosenSites.delete(originSel.value);
      siteBoxes.setOptions(sites.filter((s) => s.id !== originSel.value).map((s) => ({ value: s.id, label: s.name, note: `(${s.timeZone})` })), chosenSites);
    }
    function renderGroups() {
      if (groupBoxes.el.querySelector('input')) chosenGroups = new Set(groupBoxes.values());
      const allowed = new Set([originSel.value, ...siteBoxes.values()]);
      const list = [...people.groups.values()].filter((g) => allowed.has(g.siteId))
        .sort((a, b) => (ctx.sites.get(a.siteId)?.name ?? '').localeCompare(ctx.sites.get(b.siteId)?.name ?? '') || a.name.localeCompare(b.name));
      groupBoxes.setOptions(list.map((g) => ({ value: g.id, label: g.name, note: `(${ctx.sites.get(g.siteId)?.name ?? g.siteId})` })), chosenGroups);
    }
    renderSites();
    renderGroups();
    siteBoxes.el.addEventListener('change', () => renderGroups());

    // --- when
    const zoneNames = [...new Set([...sites.map((s) => s.timeZone), ...(existing ? [existing.timeZone] : [])])].sort();
    const zoneSel = select({ id: 'sf-zone', options: zoneNames.map((z) => ({ value: z, label: z })) });
    const zone = field('sf-zone', t('sf.zone'), zoneSel, { hint: t('sf.zoneHint') });
    let zoneTouched = editing;
    function syncZoneLabels() {
      const oz = ctx.sites.get(originSel.value)?.timeZone ?? '';
      for (const o of zoneSel.options) o.textContent = o.value === oz ? t('sf.zoneOrigin', { zone: o.value }) : o.value;
      if (!zoneTouched && oz) zoneSel.value = oz;
    }
    zoneSel.value = existing?.timeZone ?? ctx.sites.get(originSel.value)?.timeZone ?? ctx.site.timeZone;
    zoneSel.addEventListener('change', () => { zoneTouched = true; });
    originSel.addEventListener('change', () => {
      syncZoneLabels();
      renderSites();
      renderGroups();
    });
    syncZoneLabels();

    const defaultDate = addDays(dateKeyIn(zoneSel.value), 7);
    const [exDate, exTime] = existing ? existing.firstStart.split('T') : [defaultDate, '10:00'];
    const date = field('sf-date', t('sf.date'), h('input', { type: 'date', required: true, value: exDate ?? '' }));
    const time = field('sf-time', t('sf.time'), h('input', { type: 'time', required: true, step: 60, value: (exTime ?? '').slice(0, 5) }));
    const duration = field('sf-duration', t('sf.duration'), h('input', { type: 'number', min: 5, max: 720, step: 5, value: existing?.durationMinutes ?? 90, inputmode: 'numeric' }));

    const byday = h('fieldset', { class: 'field fieldset', id: 'sf-byday', 'aria-describedby': 'sf-byday-error' },
      h('legend', { text: t('sf.repeat') }),
      h('div', { class: 'weekday-row' }, WEEKDAYS.map((d) => h('div', { class: 'weekday' },
        h('input', { type: 'checkbox', name: 'sf-byday', value: d, id: `sf-byday-${d}` }),
        h('label', { for: `sf-byday-${d}`, title: t(/** @type {MessageId} */ (`weekday.${d}`)) },
          h('span', { 'aria-hidden': 'true', text: t(/** @type {MessageId} */ (`weekdayShort.${d}`)) }),
          h('span', { class: 'visually-hidden', text: t(/** @type {MessageId} */ (`weekday.${d}`)) }))))),
      h('p', { class: 'field-error', id: 'sf-byday-error', hidden: true }));
    const firstHint = h('div', { class: 'alert alert-warn first-hint', id: 'sf-first-hint', hidden: true });
    const intervalInput = h('input', { type: 'number', min: 1, max: 52, step: 1, value: 1, inputmode: 'numeric' });
    const intervalUnit = h('span', { id: 'sf-interval-unit' });
    const interval = field('sf-interval', t('sf.interval'), intervalInput);
    // "Every [2] weeks" on one line.
    const intervalRow = h('div', { class: 'interval-row' });
    interval.wrap.insertBefore(intervalRow, intervalInput);
    intervalRow.append(intervalInput, intervalUnit);
    const endsCount = h('input', { type: 'radio', name: 'sf-ends', value: 'count', id: 'sf-ends-count', checked: true });
    const endsUntil = h('input', { type: 'radio', name: 'sf-ends', value: 'until', id: 'sf-ends-until' });
    const count = field('sf-count', t('sf.count'), h('input', { type: 'number', min: 1, max: 400, step: 1, value: 10, inputmode: 'numeric' }));
    const until = field('sf-until', t('sf.until'), h('input', { type: 'date' }));
    const ends = h('fieldset', { class: 'field fieldset', id: 'sf-ends' },
      h('legend', { text: t('sf.ends') }),
      h('div', { class: 'ends-grid' },
        h('div', { class: 'ends-option' }, h('div', { class: 'check' }, endsCount, h('label', { for: 'sf-ends-count', text: t('sf.endsCount') })), count.wrap),
        h('div', { class: 'ends-option' }, h('div', { class: 'check' }, endsUntil, h('label', { for: 'sf-ends-until', text: t('sf.endsUntil') })), until.wrap)));
    count.control.addEventListener('input', () => { endsCount.checked = true; });
    until.control.addEventListener('input', () => { endsUntil.checked = true; });
    const rruleOut = h('p', { class: 'preview mono', id: 'sf-rrule-out', 'aria-live': 'polite' });
    const advanced = h('input', { type: 'checkbox', id: 'sf-advanced' });
    const rrule = field('sf-rrule', t('sf.rrule'), h('input', { type: 'text', class: 'mono', spellcheck: 'false', autocomplete: 'off' }), { hint: t('sf.rruleHint') });
    const builder = h('div', { class: 'rrule-builder', id: 'sf-builder' }, byday, firstHint, interval.wrap, ends);

    /**
     * The first date on or after date.control.value that is on a chosen
     * weekday, when the date itself is not ("" if it is, or nothing is chosen).
     */
    function firstDayFix() {
      const first = date.control.value;
      const days = readBuilder().byday;
      if (advanced.checked || !/^\d{4}-\d{2}-\d{2}$/.test(first) || days.length === 0) return '';
      if (days.includes(WEEKDAYS[weekdayIndex(first)] ?? '')) return '';
      for (let i = 1; i < 7; i++) {
        const d = addDays(first, i);
        if (days.includes(WEEKDAYS[weekdayIndex(d)] ?? '')) return d;
      }
      return '';
    }

    function renderFirstHint() {
      const fix = firstDayFix();
      firstHint.hidden = !fix || editing;
      if (!fix) {
        replace(firstHint);
        return;
      }
      const btn = h('button', { type: 'button', class: 'button', id: 'sf-first-fix', text: t('sf.firstDayFix', { date: formatKey(fix) }) });
      btn.addEventListener('click', () => {
        date.control.value = fix;
        date.clear();
        changed();
        date.control.focus();
      });
      replace(firstHint, h('p', { text: t('sf.firstDay', { date: formatKey(date.control.value) }) }), btn);
    }

    // With no weekday chosen yet, choosing the first date chooses its weekday.
    date.control.addEventListener('change', () => {
      if (editing || readBuilder().byday.length || !/^\d{4}-\d{2}-\d{2}$/.test(date.control.value)) return;
      const box = byday.querySelector(`input[value="${WEEKDAYS[weekdayIndex(date.control.value)]}"]`);
      if (box instanceof HTMLInputElement) box.checked = true;
      changed();
    });

    // Exception dates.
    /** @type {string[]} */
    let exdates = [...(existing?.exdates ?? [])];
    const exInput = field('sf-exdate', t('sf.exdates'), h('input', { type: 'date' }), { hint: t('sf.exdatesHint') });
    const exAdd = h('button', { type: 'button', class: 'button', id: 'sf-exdate-add', text: t('sf.exdateAdd') });
    const exList = h('ul', { class: 'chips', id: 'sf-exdates', 'aria-label': t('sf.exdates') });
    function renderExdates() {
      if (exdates.length === 0) {
        replace(exList, h('li', { class: 'muted small', text: t('sf.exdatesNone') }));
        return;
      }
      replace(exList, [...exdates].sort().map((d) => {
        const rm = h('button', { type: 'button', class: 'chip-remove', 'aria-label': t('sf.exdateRemove', { date: formatKey(d) }), text: '×' });
        rm.addEventListener('click', () => {
          exdates = exdates.filter((x) => x !== d);
          renderExdates();
          changed();
          exInput.control.focus();
        });
        return h('li', { class: 'chip', dataset: { date: d } }, h('span', { text: formatKey(d) }), rm, h('span', { hidden: true, class: 'mono', text: d }));
      }));
    }
    exAdd.addEventListener('click', () => {
      exInput.clear();
      const v = exInput.control.value;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) {
        exInput.setError(t('sf.err.exdate'));
        exInput.control.focus();
        return;
      }
      if (!exdates.includes(v)) exdates.push(v);
      exInput.control.value = '';
      renderExdates();
      changed();
    });
    exInput.control.addEventListener('keydown', (ev) => {
      if (/** @type {KeyboardEvent} */ (ev).key === 'Enter') {
        ev.preventDefault();
        exAdd.click();
      }
    });
    renderExdates();

    // --- topics
    const topics = field('sf-topics', t('sf.topics'), h('textarea', { rows: 8 }), { hint: t('sf.topicsHint') });
    topics.control.value = existing ? existing.topics.join('\n') : '';
    const topicCount = h('p', { class: 'topic-count', id: 'sf-topics-count', 'aria-live': 'polite' });

    // --- preview and save
    const previewBtn = h('button', { type: 'button', class: 'button', id: 'sf-preview', text: t('sf.preview') });
    const saveBtn = h('button', { type: 'submit', class: 'button button-primary', id: 'sf-save', text: editing ? t('sf.saveChanges') : t('sf.save') });
    const previewBox = h('section', { class: 'preview-box', id: 'sf-preview-result', 'aria-labelledby': 'sf-preview-h', hidden: true });
    /** Occurrences of the last preview (for the topic count), and its body. */
    let previewCount = -1;
    let previewKey = '';

    if (existing) {
      title.control.value = existing.title;
      description.control.value = existing.description;
      advanced.checked = true;
      rrule.control.value = existing.rrule;
    }

    const whenFields = [originSel, zoneSel, date.control, time.control, duration.control, advanced, rrule.control, exInput.control, exAdd, interval.control, count.control, until.control, endsCount, endsUntil,
      ...byday.querySelectorAll('input')];
    if (editing) {
      for (const c of whenFields) {
        if (c instanceof HTMLInputElement || c instanceof HTMLSelectElement || c instanceof HTMLButtonElement) c.disabled = true;
      }
      for (const b of exList.querySelectorAll('button')) if (b instanceof HTMLButtonElement) b.disabled = true;
      previewBtn.hidden = true;
    }

    function readBuilder() {
      const dayValues = [...byday.querySelectorAll('input[name="sf-byday"]')]
        .filter((c) => c instanceof HTMLInputElement && c.checked).map((c) => /** @type {HTMLInputElement} */ (c).value);
      return {
        byday: dayValues,
        interval: Number(interval.control.value) || 1,
        ends: /** @type {'count' | 'until'} */ (endsUntil.checked ? 'until' : 'count'),
        count: Number(count.control.value) || 0,
        until: until.control.value,
        zone: zoneSel.value,
        first: date.control.value,
        exdates,
      };
    }

    function currentRrule() {
      return advanced.checked ? rrule.control.value.trim() : buildRrule(readBuilder());
    }

    function topicList() {
      return topics.control.value.split('\n').map((x) => x.trim()).filter(Boolean);
    }

    function estimate() {
      if (previewCount >= 0 && previewKey === JSON.stringify(body())) return previewCount;
      if (advanced.checked || editing) return existing && previewCount < 0 && editing ? (existing.occurrences ?? -1) : -1;
      const b = readBuilder();
      if (!/^\d{4}-\d{2}-\d{2}$/.test(b.first)) return -1;
      return expandWeekly(b).length;
    }

    function changed() {
      const b = readBuilder();
      intervalUnit.textContent = t(b.interval === 1 ? 'sf.intervalUnit.one' : 'sf.intervalUnit.other');
      builder.hidden = advanced.checked;
      rrule.wrap.hidden = !advanced.checked;
      if (!advanced.checked) rrule.control.value = buildRrule(b);
      rruleOut.textContent = t('sf.rruleOut', { rule: currentRrule() });
      rruleOut.hidden = advanced.checked;
      renderFirstHint();
      const n = topicList().length;
      const occ = estimate();
      /** @type {(Node | string)[]} */
      const parts = [occ >= 0
        ? t('sf.topicCount', { topics: tn('sf.topics', n), occurrences: tn('sf.occurrences', occ) })
        : t('sf.topicCountUnknown', { topics: tn('sf.topics', n) })];
      if (occ >= 0 && n < occ && n > 0) parts.push(h('span', { class: 'muted', text: ` ${tn('sf.topicsTooFew', occ - n)}` }));
      if (occ >= 0 && n > occ) parts.push(h('span', { class: 'warn-text', text: ` ${tn('sf.topicsTooMany', n - occ)}` }));
      replace(topicCount, parts);
      if (!previewBox.hidden && previewKey !== JSON.stringify(body())) {
        const stale = previewBox.querySelector('.preview-stale');
        if (stale instanceof HTMLElement) stale.hidden = false;
      }
    }

    /** @returns {SeriesBody} */
    function body() {
      return {
        title: title.control.value.trim(),
        description: description.control.value.trim(),
        lecturerIds: lecturerOrder.filter((id) => lecturers.values().includes(id)),
        originSiteId: originSel.value,
        siteIds: siteBoxes.values(),
        groupIds: groupBoxes.values(),
        timeZone: zoneSel.value,
        firstStart: `${date.control.value}T${time.control.value.slice(0, 5)}`,
        rrule: currentRrule(),
        exdates: [...exdates].sort(),
        durationMinutes: Number(duration.control.value),
        topics: topicList(),
      };
    }

    /** @type {Record<string, {setError: (text: string) => void, clear: () => void}>} */
    const byName = {
      title, description, originSiteId: origin, timeZone: zone, durationMinutes: duration, topics,
      lecturerIds: lecturers, siteIds: siteBoxes, groupIds: groupBoxes, exdates: exInput,
      firstStart: date, rrule: advanced.checked ? rrule : {
        setError(text) { advanced.checked = true; changed(); rrule.setError(text); },
        clear() { rrule.clear(); },
      },
    };
    const bydayErr = /** @type {HTMLElement} */ (byday.querySelector('#sf-byday-error'));

    function clearErrors() {
      for (const f of [title, description, origin, zone, date, time, duration, interval, count, until, rrule, exInput, topics, lecturers, siteBoxes, groupBoxes]) f.clear();
      bydayErr.hidden = true;
      byday.classList.remove('has-error');
      status.clear();
    }

    function focusFirstError() {
      const bad = form.querySelector('[aria-invalid="true"], .has-error input');
      if (bad instanceof HTMLElement) bad.focus();
    }

    /** Client-side checks; true when the body may be sent. */
    function validate() {
      clearErrors();
      const b = body();
      let ok = true;
      if (b.title.length < 1 || b.title.length > 200) { title.setError(t('sf.err.title')); ok = false; }
      if (b.lecturerIds.length === 0) { lecturers.setError(t('sf.err.lecturers')); ok = false; }
      if (editing) return ok;
      if (!b.originSiteId) { origin.setError(t('sf.err.origin')); ok = false; }
      if (!b.timeZone) { zone.setError(t('sf.err.zone')); ok = false; }
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date.control.value)) { date.setError(t('sf.err.date')); ok = false; }
      if (!/^\d{2}:\d{2}/.test(time.control.value)) { time.setError(t('sf.err.time')); ok = false; }
      else if (date.control.value) {
        const at = zonedToUtc(date.control.value, time.control.value.slice(0, 5), b.timeZone);
        if (at && !at.exists) { time.setError(t('sf.err.timeGap', { zone: b.timeZone })); ok = false; }
      }
      if (!Number.isInteger(b.durationMinutes) || b.durationMinutes < 5 || b.durationMinutes > 720) { duration.setError(t('sf.err.duration')); ok = false; }
      if (advanced.checked) {
        if (!b.rrule) { rrule.setError(t('sf.err.rrule')); ok = false; }
      } else {
        const r = readBuilder();
        if (!Number.isInteger(r.interval) || r.interval < 1 || r.interval > 52) { interval.setError(t('sf.err.interval')); ok = false; }
        if (r.ends === 'count' && (!Number.isInteger(r.count) || r.count < 1 || r.count > 400)) { count.setError(t('sf.err.count')); ok = false; }
        if (firstDayFix()) { date.setError(t('sf.err.firstDay')); ok = false; }
        if (r.ends === 'until' && (!r.until || (r.first && (r.until < r.first || r.until > addDays(r.first, 366))))) { until.setError(t('sf.err.until')); ok = false; }
      }
      return ok;
    }

    /**
     * Show a 400 at its field, or at the top.
     * @param {unknown} err
     */
    function showError(err) {
      if (err instanceof api.ApiError && err.status === 400) {
        const key = err.field ?? Object.keys(byName).find((k) => new RegExp(`\\b${k}\\b`, 'i').test(err.message));
        const f = key ? byName[key] : undefined;
        if (f) {
          f.setError(errorText(err));
          status.error(t('common.fixErrors'));
          focusFirstError();
          if (!form.querySelector('[aria-invalid="true"]')) status.el.scrollIntoView({ block: 'nearest' });
          return;
        }
      }
      if (err instanceof api.ApiError && err.status === 409 && err.conflicts.length) {
        status.error(t('sf.saveConflicts'), conflictList(err.conflicts, { ctx, zone: zoneSel.value, people: people.lecturers }));
        markConflicts(err.conflicts);
      } else {
        status.error(errorText(err));
      }
      status.el.scrollIntoView({ block: 'nearest' });
    }

    /** @param {Conflict[]} conflicts */
    function markConflicts(conflicts) {
      const bad = new Set(conflicts.map((c) => c.index));
      for (const row of previewBox.querySelectorAll('tr[data-index]')) {
        if (row instanceof HTMLElement) row.classList.toggle('row-conflict', bad.has(Number(row.dataset.index)));
      }
    }

    /**
     * @param {PreviewOccurrence[]} occ
     * @param {Conflict[]} conflicts
     * @param {SeriesBody} b
     */
    function renderPreview(occ, conflicts, b) {
      const originSite = ctx.sites.get(b.originSiteId);
      /** Zones to show: the series', then the viewer's and the participants'. */
      /** @type {{timeZone: string, label: string}[]} */
      const zones = [];
      const addZone = (/** @type {string} */ z, /** @type {string} */ label) => {
        const same = zones.find((x) => x.timeZone === z);
        if (same) { if (!same.label.split('/').includes(label)) same.label += `/${label}`; return; }
        zones.push({ timeZone: z, label });
      };
      addZone(b.timeZone, originSite && originSite.timeZone === b.timeZone ? originSite.name : b.timeZone);
      addZone(ctx.site.timeZone, ctx.site.name);
      for (const id of b.siteIds) { const s = ctx.sites.get(id); if (s) addZone(s.timeZone, s.name); }
      const byIndex = new Map();
      for (const c of conflicts) byIndex.set(c.index, [...(byIndex.get(c.index) ?? []), c]);
      const name = (/** @type {string} */ id) => people.lecturers.get(id)?.displayName ?? id;
      const summary = occ.length === 0 ? t('sf.previewNone')
        : conflicts.length === 0 ? tn('sf.previewOk', occ.length)
          : t('sf.previewConflicts', { lectures: tn('sf.occurrences', occ.length), conflicts: tn('sf.conflicts', conflicts.length) });
      replace(previewBox,
        h('h2', { id: 'sf-preview-h', text: t('sf.previewTitle') }),
        h('div', { class: conflicts.length ? 'alert alert-warn' : 'alert alert-ok', role: 'status', text: summary }),
        h('p', { class: 'alert alert-warn preview-stale', hidden: true, text: t('sf.previewStale') }),
        conflicts.length ? conflictList(conflicts, { ctx, zone: b.timeZone, people: people.lecturers }) : null,
        occ.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', id: 'sf-preview-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col', class: 'num', text: t('series.col.index') }),
            h('th', { scope: 'col', text: t('series.col.date') }),
            zones.map((z) => h('th', { scope: 'col', text: t('series.col.timeOrigin', { site: z.label }) })),
            h('th', { scope: 'col', text: t('series.col.topic') }),
            h('th', { scope: 'col', text: t('series.col.lecturer') }))),
          h('tbody', null, occ.map((o) => {
            const cs = byIndex.get(o.index) ?? [];
            return h('tr', { class: cs.length ? 'row-conflict' : '', dataset: { index: String(o.index) } },
              h('td', { class: 'num', text: String(o.index) }),
              h('td', { text: formatKey(dateKeyIn(b.timeZone, new Date(o.start))) }),
              zones.map((z, i) => h('td', null, h('time', { class: i === 0 ? 'time-origin' : 'time-other', datetime: o.start, text: `${formatTime(o.start, z.timeZone)}–${formatTime(o.end, z.timeZone)}` }),
                i > 0 && dateKeyIn(z.timeZone, new Date(o.start)) !== dateKeyIn(b.timeZone, new Date(o.start)) ? h('span', { class: 'muted small', text: ` (${formatDateTime(o.start, z.timeZone)})` }) : null)),
              h('td', { class: 'wrap', text: o.topic || t('common.none') }),
              h('td', null, name(o.lecturerId), cs.length ? h('span', { class: 'badge badge-conflict', text: tn('sf.conflicts', cs.length) }) : null));
          })))) : null);
      previewBox.hidden = false;
    }

    previewBtn.addEventListener('click', async () => {
      if (!validate()) {
        status.error(t('common.fixErrors'));
        focusFirstError();
        return;
      }
      const b = body();
      previewBtn.disabled = true;
      previewBtn.textContent = t('sf.previewing');
      try {
        const r = await api.previewSeries(b);
        if (destroyed) return;
        previewCount = r.occurrences.length;
        previewKey = JSON.stringify(b);
        renderPreview(r.occurrences, r.conflicts, b);
        changed();
        const hEl = previewBox.querySelector('h2');
        if (hEl instanceof HTMLElement) { hEl.tabIndex = -1; hEl.focus(); }
      } catch (err) {
        if (!destroyed) showError(err);
      } finally {
        if (!destroyed) {
          previewBtn.disabled = false;
          previewBtn.textContent = t('sf.preview');
        }
      }
    });

    const form = h('form', { id: 'series-form', class: 'series-form', novalidate: true, 'aria-labelledby': 'sf-heading' },
      h('div', { class: 'page-head' },
        h('a', { href: editing && existing ? seriesHash(existing.id) : '#/series', class: 'back-link', text: `‹ ${editing && existing ? existing.title : t('series.back')}` }),
        Object.assign(heading(editing && existing ? t('sf.editTitle', { title: existing.title }) : t('sf.newTitle')), { id: 'sf-heading' })),
      status.el,
      h('div', { class: 'form-grid' },
        h('div', { class: 'stack' },
          h('section', { class: 'card', 'aria-labelledby': 'sf-about-h' },
            h('h2', { id: 'sf-about-h', text: t('sf.section.about') }),
            title.wrap, description.wrap),
          h('section', { class: 'card', 'aria-labelledby': 'sf-when-h' },
            h('h2', { id: 'sf-when-h', text: t('sf.section.when') }),
            editing ? h('p', { class: 'alert alert-warn', text: t('sf.fixedInEdit') }) : null,
            zone.wrap,
            h('div', { class: 'field-row field-row-3' }, date.wrap, time.wrap, duration.wrap),
            builder, rruleOut,
            h('div', { class: 'check advanced-toggle' }, advanced, h('label', { for: 'sf-advanced', text: t('sf.advanced') })),
            rrule.wrap,
            h('div', { class: 'exdate-add' }, exInput.wrap, exAdd), exList)),
        h('div', { class: 'stack' },
          h('section', { class: 'card', 'aria-labelledby': 'sf-where-h' },
            h('h2', { id: 'sf-where-h', text: t('sf.section.where') }),
            lecturers.el, origin.wrap, siteBoxes.el, groupBoxes.el),
          h('section', { class: 'card', 'aria-labelledby': 'sf-topics-h' },
            h('h2', { id: 'sf-topics-h', text: t('sf.section.topics') }),
            topics.wrap, topicCount))),
      h('div', { class: 'form-actions sticky-actions' }, previewBtn, saveBtn),
      previewBox);

    form.addEventListener('input', () => changed());
    form.addEventListener('change', () => changed());
    advanced.addEventListener('change', () => {
      if (advanced.checked) rrule.control.value = buildRrule(readBuilder());
      changed();
    });

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (saveBtn.disabled) return;
      if (!validate()) {
        status.error(t('common.fixErrors'));
        focusFirstError();
        return;
      }
      const b = body();
      saveBtn.disabled = true;
      saveBtn.textContent = t('common.saving');
      try {
        if (editing && existing) {
          /** @type {Parameters<typeof api.updateSeries>[1]} */
          const patch = {};
          if (b.title !== existing.title) patch.title = b.title;
          if (b.description !== existing.description) patch.description = b.description;
          if (JSON.stringify(b.topics) !== JSON.stringify(existing.topics)) patch.topics = b.topics;
          if (JSON.stringify(b.lecturerIds) !== JSON.stringify(existing.lecturerIds)) patch.lecturerIds = b.lecturerIds;
          if (JSON.stringify([...b.siteIds].sort()) !== JSON.stringify([...existing.siteIds].sort())) patch.siteIds = b.siteIds;
          if (JSON.stringify([...b.groupIds].sort()) !== JSON.stringify([...existing.groupIds].sort())) patch.groupIds = b.groupIds;
          if (Object.keys(patch).length) await api.updateSeries(existing.id, patch);
          if (destroyed) return;
          announce(t('series.updated'));
          navigate(seriesHash(existing.id));
        } else {
          const r = await api.createSeries(b);
          if (destroyed) return;
          announce(t('series.created', { title: r.series.title, count: r.lectures.length }));
          navigate(seriesHash(r.series.id));
        }
      } catch (err) {
        if (!destroyed) showError(err);
      } finally {
        if (!destroyed) {
          saveBtn.disabled = false;
          saveBtn.textContent = editing ? t('sf.saveChanges') : t('sf.save');
        }
      }
    });

    replace(box, form);
    changed();
    title.control.focus();
  }

  return () => { destroyed = true; };
}
