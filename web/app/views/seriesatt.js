// Series attendance (#/series/ID/attendance): the students × lectures
// matrix with a percentage per student, its CSV export, and the series'
// attendance rules (editable by admins).

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { LOCALE, t } from '../strings.js';
import { lectureHash } from '../router.js';
import { alertBox, errorText, heading, setTitle } from './common.js';
import { field, formStatus } from './ui.js';
import { downloadLinks, percentClass, percentText, statusBadge, statusDescription, statusLegend } from './attcommon.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').AttendanceRules} AttendanceRules */
/** @typedef {import('../types.js').AttendanceStatus} AttendanceStatus */
/** @typedef {import('../types.js').SeriesMatrix} SeriesMatrix */

/** Acronyms every rule set must have (the automatic computation uses them). */
const REQUIRED = ['P', 'L', 'A'];

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} seriesId
 * @returns {() => void}
 */
export function mountSeriesAttendance(root, ctx, seriesId) {
  setTitle(t('sa.titleShort'));
  let destroyed = false;
  const admin = ctx.user.role === 'admin';
  const back = admin
    ? h('a', { href: `#/series/${encodeURIComponent(seriesId)}`, class: 'back-link', text: `‹ ${t('sa.back')}` })
    : h('a', { href: '#/', class: 'back-link', text: `‹ ${t('att.back')}` });
  const title = heading(t('sa.titleShort'));
  const matrixBox = h('div', { class: 'matrix-box' }, h('p', { class: 'muted', text: t('app.loading') }));
  const rulesBox = h('section', { class: 'section rules', id: 'rules', 'aria-labelledby': 'rules-h' });
  root.append(h('section', { class: 'series-attendance', dataset: { seriesId } },
    h('div', { class: 'page-head' }, back, title, h('p', { class: 'muted', text: t('sa.intro') })),
    matrixBox, rulesBox));

  /** @type {AttendanceRules | null} */
  let rules = null;

  async function load() {
    try {
      const [m, r] = await Promise.all([api.seriesAttendance(seriesId), api.attendanceRules(seriesId).catch(() => null)]);
      if (destroyed) return;
      rules = r ?? m.rules ?? api.defaultRules();
      title.textContent = t('sa.title', { title: m.series.title });
      setTitle(t('sa.title', { title: m.series.title }));
      renderMatrix(m, rules);
      if (!rulesBox.hasChildNodes() || !admin) renderRules(rules);
    } catch (err) {
      if (destroyed) return;
      replace(matrixBox, alertBox(t('common.loadFailed', { message: errorText(err) })));
    }
  }

  /**
   * @param {SeriesMatrix} m
   * @param {AttendanceRules} r
   */
  function renderMatrix(m, r) {
    const zone = m.series.timeZone || ctx.site.timeZone;
    const dayFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: zone, day: 'numeric', month: 'short' });
    const fullFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: zone, weekday: 'short', day: 'numeric', month: 'long', year: 'numeric' });
    const lectures = m.lectures.slice();
    const ex = api.seriesAttendanceExports(seriesId);
    const toolbar = h('div', { class: 'att-toolbar' },
      h('div', null, h('h2', { class: 'small-heading', id: 'sa-legend', text: t('sa.legend') }), statusLegend(r, 'sa-legend')),
      h('div', { class: 'att-exports' },
        h('span', { class: 'att-exports-label', id: 'sa-exports-label', text: t('att.exports') }),
        downloadLinks('sa-exports-label', [
          { id: 'series-export-csv', href: ex.csv, text: t('att.exportCsv'), label: t('att.exportCsvLabel') },
          { id: 'series-export-excel', href: ex.excel, text: t('att.exportExcel'), label: t('att.exportExcelLabel') },
        ])));
    if (m.students.length === 0) {
      replace(matrixBox, toolbar, h('p', { class: 'lecture-empty muted', id: 'series-matrix-empty', text: t('sa.empty') }));
      return;
    }
    const students = m.students.slice().sort((a, b) => a.displayName.localeCompare(b.displayName));
    const table = h('table', { class: 'table matrix', id: 'series-matrix' },
      h('caption', { class: 'visually-hidden', text: t('sa.title', { title: m.series.title }) }),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'matrix-corner', text: t('sa.student') }),
        h('th', { scope: 'col', class: 'num matrix-pct', text: t('sa.percent') }),
        lectures.map((l, i) => {
          const index = l.index || i + 1;
          const date = dayFmt.format(new Date(l.start));
          return h('th', { scope: 'col', class: `matrix-lecture matrix-${l.state}`, dataset: { lectureId: l.id }, title: [fullFmt.format(new Date(l.start)), l.topic].filter(Boolean).join(' — ') },
            h('a', { href: lectureHash(l.id, '/attendance'), 'aria-label': t('sa.lectureHead', { index, date }) },
              h('span', { class: 'matrix-index', text: String(index) }),
              h('span', { class: 'matrix-date', text: date })));
        }))),
      h('tbody', null, students.map((s) => {
        const cells = new Map(s.cells.map((c) => [c.lectureId, c]));
        return h('tr', { dataset: { userId: s.userId } },
          h('th', { scope: 'row', class: 'matrix-name' },
            h('span', { class: 'person-name', text: s.displayName }),
            h('span', { class: 'muted small matrix-meta', text: [s.siteName || ctx.sites.get(s.siteId)?.name || s.siteId, s.groupName].filter(Boolean).join(' · ') })),
          h('td', { class: `num matrix-pct ${percentClass(s.percent)}`, dataset: { percent: s.percent === null || s.percent === undefined ? '' : String(s.percent) }, text: percentText(s.percent) }),
          lectures.map((l, i) => {
            const c = cells.get(l.id) ?? s.cells[i];
            const st = c?.status ?? '';
            return h('td', {
              class: 'matrix-cell', dataset: { lectureId: l.id, status: st, source: c?.source ?? '' },
              title: `${statusDescription(r, st)}${c && c.presentSeconds ? ` · ${t('att.minutes', { minutes: Math.round(c.presentSeconds / 60) })}` : ''}`,
            }, statusBadge(r, st, { compact: true }));
          }));
      })));
    replace(matrixBox, toolbar,
      h('div', { class: 'matrix-wrap', tabindex: '0', role: 'region', 'aria-label': t('sa.title', { title: m.series.title }) }, table));
  }

  /** @param {AttendanceRules} r */
  function renderRules(r) {
    const headingEl = h('h2', { id: 'rules-h', text: t('sa.rules') });
    if (!admin) {
      replace(rulesBox, headingEl, h('p', { class: 'muted small', text: t('sa.rulesReadOnly') }),
        h('dl', { class: 'facts', id: 'rules-facts' },
          h('dt', { text: t('sa.statuses') }), h('dd', null, statusLegend(r, 'rules-h')),
          h('dt', { text: t('sa.presentShare') }), h('dd', { text: percentText(r.presentShare * 100) }),
          h('dt', { text: t('sa.lateAfter') }), h('dd', { text: String(r.lateAfterMinutes) }),
          h('dt', { text: t('sa.grace') }), h('dd', { text: String(r.graceSeconds) })));
      return;
    }
    replace(rulesBox, headingEl, h('p', { class: 'muted small', text: t('sa.rulesIntro') }), rulesForm(r));
  }

  /** @param {AttendanceRules} initial */
  function rulesForm(initial) {
    /** @type {AttendanceStatus[]} */
    const statuses = initial.statuses.map((s) => ({ ...s }));
    const tbody = h('tbody', { id: 'rules-statuses-rows' });
    const statusErr = h('p', { class: 'field-error', id: 'rules-statuses-error', hidden: true });
    const addBtn = h('button', { type: 'button', class: 'button', id: 'rules-add-status', text: t('sa.addStatus') });
    const share = field('rules-present-share', t('sa.presentShare'),
      h('input', { type: 'number', min: 1, max: 100, step: 1, inputmode: 'numeric', value: String(Math.round(initial.presentShare * 1000) / 10) }), { hint: t('sa.presentShareHint') });
    const late = field('rules-late-minutes', t('sa.lateAfter'),
      h('input', { type: 'number', min: 0, max: 720, step: 1, inputmode: 'numeric', value: String(initial.lateAfterMinutes) }), { hint: t('sa.lateAfterHint') });
    const grace = field('rules-grace-seconds', t('sa.grace'),
      h('input', { type: 'number', min: 0, max: 3600, step: 1, inputmode: 'numeric', value: String(initial.graceSeconds) }), { hint: t('sa.graceHint') });
    const fs = formStatus();
    const save = h('button', { type: 'submit', class: 'button button-primary', id: 'rules-save', text: t('sa.save') });

    function readRows() {
      for (const tr of tbody.querySelectorAll('tr[data-index]')) {
        if (!(tr instanceof HTMLElement)) continue;
        const i = Number(tr.dataset.index);
        const s = statuses[i];
        if (!s) continue;
        const a = tr.querySelector('.rs-acronym');
        const d = tr.querySelector('.rs-description');
        const g = tr.querySelector('.rs-grade');
        if (a instanceof HTMLInputElement) s.acronym = a.value.trim().toUpperCase();
        if (d instanceof HTMLInputElement) s.description = d.value.trim();
        if (g instanceof HTMLInputElement) s.grade = g.value.trim() === '' ? NaN : Number(g.value);
      }
    }

    /** @param {number} [focusIndex] */
    function renderRows(focusIndex) {
      replace(tbody, statuses.map((s, i) => {
        const required = REQUIRED.includes(s.acronym) && initial.statuses.some((x) => x.acronym === s.acronym);
        const a = h('input', { type: 'text', class: 'rs-acronym mono', id: `rules-acronym-${i}`, value: s.acronym, maxlength: 4, size: 4, autocapitalize: 'characters', spellcheck: 'false', readonly: required, 'aria-label': `${t('sa.acronym')} ${i + 1}` });
        const d = h('input', { type: 'text', class: 'rs-description', id: `rules-description-${i}`, value: s.description, maxlength: 100, 'aria-label': `${t('sa.description')} ${i + 1}` });
        const g = h('input', { type: 'number', class: 'rs-grade', id: `rules-grade-${i}`, value: Number.isFinite(s.grade) ? String(s.grade) : '', min: 0, max: 100, step: 'any', 'aria-label': `${t('sa.grade')} ${i + 1}` });
        a.addEventListener('input', () => { a.value = a.value.toUpperCase(); });
        const rm = required
          ? h('span', { class: 'muted small', text: t('sa.required') })
          : h('button', { type: 'button', class: 'button button-quiet', text: t('sa.remove'), 'aria-label': t('sa.removeLabel', { acronym: s.acronym || String(i + 1) }), dataset: { action: 'remove-status' } });
        if (rm instanceof HTMLButtonElement) {
          rm.addEventListener('click', () => {
            readRows();
            statuses.splice(i, 1);
            renderRows(Math.min(i, statuses.length - 1));
          });
        }
        return h('tr', { dataset: { index: String(i), acronym: s.acronym } },
          h('td', null, a), h('td', null, d), h('td', null, g), h('td', null, rm));
      }));
      if (focusIndex !== undefined && focusIndex >= 0) {
        const el = tbody.querySelector(`#rules-acronym-${focusIndex}`);
        const target = el instanceof HTMLInputElement && el.readOnly ? tbody.querySelector(`#rules-description-${focusIndex}`) : el;
        if (target instanceof HTMLElement) target.focus();
      }
    }
    renderRows();
    addBtn.addEventListener('click', () => {
      readRows();
      statuses.push({ acronym: '', description: '', grade: 0 });
      renderRows(statuses.length - 1);
    });

    /** @param {string} text @param {HTMLElement | null} [focus] */
    function statusError(text, focus) {
      statusErr.textContent = text;
      statusErr.hidden = false;
      statusFieldset.classList.add('has-error');
      if (focus) focus.setAttribute('aria-invalid', 'true');
    }
    function clearErrors() {
      statusErr.hidden = true;
      statusErr.textContent = '';
      statusFieldset.classList.remove('has-error');
      for (const el of tbody.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
      share.clear();
      late.clear();
      grace.clear();
      fs.clear();
    }

    /** @returns {AttendanceRules | null} */
    function validate() {
      readRows();
      clearErrors();
      /** @type {HTMLElement | null} */
      let first = null;
      const seen = new Set();
      for (let i = 0; i < statuses.length; i++) {
        const s = statuses[i];
        if (!s) continue;
        const row = i + 1;
        /** @param {string} cls */
        const input = (cls) => /** @type {HTMLElement | null} */ (tbody.querySelector(`tr[data-index="${i}"] .${cls}`));
        if (!/^[A-Z0-9]{1,4}$/.test(s.acronym)) {
          statusError(t('sa.err.acronym', { row }), input('rs-acronym'));
          first = input('rs-acronym');
          break;
        }
        if (seen.has(s.acronym)) {
          statusError(t('sa.err.duplicate', { row, acronym: s.acronym }), input('rs-acronym'));
          first = input('rs-acronym');
          break;
        }
        seen.add(s.acronym);
        if (!s.description || s.description.length > 100) {
          statusError(t('sa.err.description', { row }), input('rs-description'));
          first = input('rs-description');
          break;
        }
        if (!Number.isFinite(s.grade) || s.grade < 0 || s.grade > 100) {
          statusError(t('sa.err.grade', { row }), input('rs-grade'));
          first = input('rs-grade');
          break;
        }
      }
      const missing = REQUIRED.filter((a) => !seen.has(a));
      if (!first && missing.length) {
        statusError(t('sa.err.requiredStatus', { acronyms: missing.join(', ') }));
        first = addBtn;
      }
      const pct = Number(share.control.value);
      if (share.control.value.trim() === '' || !Number.isFinite(pct) || pct <= 0 || pct > 100) {
        share.setError(t('sa.err.presentShare'));
        first ??= share.control;
      }
      const lateV = Number(late.control.value);
      if (late.control.value.trim() === '' || !Number.isInteger(lateV) || lateV < 0 || lateV > 720) {
        late.setError(t('sa.err.lateAfter'));
        first ??= late.control;
      }
      const graceV = Number(grace.control.value);
      if (grace.control.value.trim() === '' || !Number.isInteger(graceV) || graceV < 0 || graceV > 3600) {
        grace.setError(t('sa.err.grace'));
        first ??= grace.control;
      }
      if (first) {
        fs.error(t('common.fixErrors'));
        first.focus();
        return null;
      }
      return {
        statuses: statuses.map((s) => ({ acronym: s.acronym, description: s.description, grade: s.grade })),
        presentShare: Math.round(pct * 10) / 1000,
        lateAfterMinutes: lateV,
        graceSeconds: graceV,
      };
    }

    const statusFieldset = h('fieldset', { class: 'fieldset rules-statuses', id: 'rules-statuses', 'aria-describedby': 'rules-statuses-hint rules-statuses-error' },
      h('legend', { text: t('sa.statuses') }),
      h('p', { class: 'field-hint', id: 'rules-statuses-hint', text: t('sa.statusesHint') }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact rules-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', text: t('sa.acronym') }), h('th', { scope: 'col', text: t('sa.description') }),
          h('th', { scope: 'col', text: t('sa.grade') }), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: t('att.col.actions') })))),
        tbody)),
      statusErr,
      h('div', { class: 'inline-actions' }, addBtn));

    const form = h('form', { id: 'rules-form', class: 'card rules-form', novalidate: true },
      statusFieldset,
      h('div', { class: 'field-row rules-numbers' }, share.wrap, late.wrap, grace.wrap),
      fs.el,
      h('div', { class: 'form-actions' }, save));

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = validate();
      if (!body) return;
      save.disabled = true;
      save.textContent = t('common.saving');
      try {
        const saved = await api.saveAttendanceRules(seriesId, body);
        if (destroyed) return;
        rules = saved;
        renderRules(saved);
        const okBox = rulesBox.querySelector('.form-status');
        if (okBox instanceof HTMLElement) replace(okBox, h('div', { class: 'alert alert-ok', role: 'status', text: t('sa.saved') }));
        announce(t('sa.saved'));
        const saveBtn = rulesBox.querySelector('#rules-save');
        if (saveBtn instanceof HTMLElement) saveBtn.focus();
        void load();
      } catch (err) {
        if (destroyed) return;
        save.disabled = false;
        save.textContent = t('sa.save');
        const f = err instanceof api.ApiError ? err.field : undefined;
        const text = errorText(err);
        if (f === 'presentShare') {
          share.setError(text);
          share.control.focus();
        } else if (f === 'lateAfterMinutes') {
          late.setError(text);
          late.control.focus();
        } else if (f === 'graceSeconds') {
          grace.setError(text);
          grace.control.focus();
        } else if (f === 'statuses' || (f && f.startsWith('statuses'))) {
          statusError(text);
          const firstInput = tbody.querySelector('input');
          if (firstInput instanceof HTMLElement) firstInput.focus();
        }
        fs.error(f ? t('common.fixErrors') : text);
      }
    });
    return form;
  }

  void load();
  return () => { destroyed = true; };
}
