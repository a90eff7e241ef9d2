// The list of one day's lectures, shared by the admin, lecturer and student
// start pages: date navigation, periodic refresh, one row per lecture.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t } from '../strings.js';
import { addDays, dateKeyIn, dayRange, formatDateKey } from '../time.js';
import { replaceHash } from '../router.js';
import { alertBox, errorText, lectureBadge, lectureTimes } from './common.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */

/**
 * @typedef {object} DayListOptions
 * @property {string} title heading of the list (an h2)
 * @property {(lecture: Lecture) => Node[]} actions the buttons/links of a row
 * @property {number} pollMs how often to refresh
 * @property {string} [dateKey] the day to show first ("YYYY-MM-DD" in the viewer's zone)
 */

/**
 * @param {AppContext} ctx
 * @param {DayListOptions} opts
 */
export function dayList(ctx, opts) {
  const zone = ctx.site.timeZone;
  let dateKey = opts.dateKey && /^\d{4}-\d{2}-\d{2}$/.test(opts.dateKey) ? opts.dateKey : dateKeyIn(zone);
  /** @type {Lecture[] | null} */
  let lectures = null;
  /** @type {Map<string, string>} lecture id → state, to announce changes */
  let lastStates = new Map();
  let loadToken = 0;
  let timer = 0;
  let destroyed = false;

  const dateLabel = h('h2', { class: 'day-title', id: 'day-title', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'button button-quiet', 'aria-label': t('home.prevDay'), id: 'day-prev' }, '‹ ', t('home.prevDay'));
  const next = h('button', { type: 'button', class: 'button button-quiet', 'aria-label': t('home.nextDay'), id: 'day-next' }, t('home.nextDay'), ' ›');
  const today = h('button', { type: 'button', class: 'button button-quiet', id: 'day-today', text: t('home.today') });
  const list = h('ul', { class: 'lecture-list', 'aria-labelledby': 'day-title' });
  const status = h('div', { class: 'list-status' });

  const el = h('section', { class: 'day-list', 'aria-label': opts.title },
    h('div', { class: 'day-nav' }, prev, dateLabel, next, today),
    h('p', { class: 'muted small', text: t('home.timesIn', { site: ctx.site.name, zone }) }),
    status,
    list);

  prev.addEventListener('click', () => setDate(addDays(dateKey, -1)));
  next.addEventListener('click', () => setDate(addDays(dateKey, 1)));
  today.addEventListener('click', () => setDate(dateKeyIn(zone)));

  /** @param {string} key */
  function setDate(key) {
    dateKey = key;
    lectures = null;
    lastStates = new Map();
    replaceHash(key === dateKeyIn(zone) ? '#/' : `#/?date=${key}`);
    void load();
  }

  function renderDate() {
    dateLabel.textContent = formatDateKey(dateKey);
    today.hidden = dateKey === dateKeyIn(zone);
  }

  async function load() {
    const token = ++loadToken;
    window.clearTimeout(timer);
    renderDate();
    if (lectures === null) replace(status, h('p', { class: 'muted', text: t('app.loading') }));
    try {
      const got = await api.lectures(dayRange(dateKey, zone));
      if (destroyed || token !== loadToken) return;
      lectures = got;
      replace(status);
      render();
    } catch (err) {
      if (destroyed || token !== loadToken) return;
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => void load());
      replace(status, alertBox(t('home.loadFailed', { message: errorText(err) }), retry));
    }
    if (!destroyed && token === loadToken) timer = window.setTimeout(() => void load(), opts.pollMs);
  }

  function render() {
    if (!lectures) return;
    // Keep keyboard focus on the same control across a refresh.
    const active = document.activeElement;
    const focusKey = active instanceof HTMLElement && list.contains(active)
      ? `${active.dataset.action ?? active.getAttribute('href') ?? ''}|${active.dataset.lectureId ?? ''}` : null;

    for (const l of lectures) {
      const before = lastStates.get(l.id);
      if (before && before !== l.state && l.state === 'live') announce(t('home.nowLive', { title: l.title }));
    }
    lastStates = new Map(lectures.map((l) => [l.id, l.state]));

    if (lectures.length === 0) {
      replace(list, h('li', { class: 'lecture-empty muted', text: t('home.empty') }));
      return;
    }
    replace(list, lectures.map((l) => row(l)));

    if (focusKey) {
      for (const c of list.querySelectorAll('a, button')) {
        if (!(c instanceof HTMLElement)) continue;
        const key = `${c.dataset.action ?? c.getAttribute('href') ?? ''}|${c.dataset.lectureId ?? ''}`;
        if (key === focusKey) {
          c.focus();
          break;
        }
      }
    }
  }

  /** @param {Lecture} l */
  function row(l) {
    return h('li', { class: `lecture-row lecture-${l.state}`, dataset: { lectureId: l.id, state: l.state } },
      h('div', { class: 'lecture-when' }, lectureTimes(l, ctx),
        h('span', { class: 'muted small', text: t('lecture.duration', { minutes: l.durationMinutes }) })),
      h('div', { class: 'lecture-main' },
        h('h3', { class: 'lecture-title' }, h('span', { text: l.title }), ' ', lectureBadge(l.state)),
        l.topic ? h('p', { class: 'lecture-topic', text: l.topic }) : null,
        h('p', { class: 'lecture-meta muted small' },
          t('lecture.by', { name: l.lecturerName }), ' · ', t('lecture.from', { site: l.siteName }))),
      h('div', { class: 'lecture-actions' }, opts.actions(l)));
  }

  function destroy() {
    destroyed = true;
    window.clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  }

  function onVisible() {
    if (document.visibilityState === 'visible' && !destroyed) void load();
  }
  document.addEventListener('visibilitychange', onVisible);

  void load();
  return {
    el,
    reload: load,
    setDate,
    destroy,
    get dateKey() { return dateKey; },
  };
}
