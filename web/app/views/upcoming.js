// The list of a person's coming lectures, grouped by day in the viewer's
// site zone (today first): shared by "My lectures" (lecturer) and "My
// timetable" (student, operator). Refetches every pollMs and re-evaluates
// the rows (buttons that depend on the clock) every tickMs.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t } from '../strings.js';
import { addDays, dateKeyIn, dayRange, formatDateKey } from '../time.js';
import { alertBox, errorText, lectureBadge } from './common.js';
import { lectureZones, zoneTimes } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */

/**
 * @typedef {object} UpcomingOptions
 * @property {number} days how many days after today to show
 * @property {number} pollMs
 * @property {number} tickMs
 * @property {(l: Lecture, now: number) => Node[]} actions
 * @property {boolean} [showEmptyToday] always show today's section
 * @property {string} empty text when there is nothing at all
 * @property {(lectures: Lecture[], now: number) => void} [onTick] e.g. a countdown
 */

/**
 * @param {AppContext} ctx
 * @param {UpcomingOptions} opts
 */
export function upcomingList(ctx, opts) {
  const zone = ctx.site.timeZone;
  /** @type {Lecture[] | null} */
  let lectures = null;
  /** @type {Map<string, string>} */
  let lastStates = new Map();
  let destroyed = false;
  let loadToken = 0;
  let pollTimer = 0;
  const tickTimer = window.setInterval(() => {
    if (!destroyed && lectures) render();
  }, opts.tickMs);

  const status = h('div', { class: 'list-status' });
  const body = h('div', { class: 'upcoming' });
  const el = h('div', null, status, body);

  async function load() {
    const token = ++loadToken;
    window.clearTimeout(pollTimer);
    if (lectures === null) replace(status, h('p', { class: 'muted', text: t('app.loading') }));
    const today = dateKeyIn(zone);
    const from = dayRange(today, zone).from;
    const to = dayRange(addDays(today, opts.days), zone).to;
    try {
      const got = await api.lectures({ from, to });
      if (destroyed || token !== loadToken) return;
      for (const l of got) {
        const before = lastStates.get(l.id);
        if (before && before !== l.state && l.state === 'live') announce(t('home.nowLive', { title: l.title }));
      }
      lastStates = new Map(got.map((l) => [l.id, l.state]));
      lectures = got;
      replace(status);
      render();
    } catch (err) {
      if (destroyed || token !== loadToken) return;
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => void load());
      replace(status, alertBox(t('home.loadFailed', { message: errorText(err) }), retry));
    }
    if (!destroyed && token === loadToken) pollTimer = window.setTimeout(() => void load(), opts.pollMs);
  }

  function render() {
    if (!lectures) return;
    const now = Date.now();
    opts.onTick?.(lectures, now);
    const active = document.activeElement;
    const focusKey = active instanceof HTMLElement && body.contains(active)
      ? `${active.dataset.action ?? active.getAttribute('href') ?? ''}|${active.dataset.lectureId ?? ''}` : null;

    const today = dateKeyIn(zone);
    const tomorrow = addDays(today, 1);
    /** @type {Map<string, Lecture[]>} */
    const days = new Map();
    if (opts.showEmptyToday) days.set(today, []);
    for (const l of lectures) {
      const key = dateKeyIn(zone, new Date(l.start));
      days.set(key, [...(days.get(key) ?? []), l]);
    }
    if (lectures.length === 0 && !opts.showEmptyToday) {
      replace(body, h('p', { class: 'lecture-empty muted', text: opts.empty }));
      return;
    }
    replace(body, [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => {
      const hid = `day-${key}`;
      const prefix = key === today ? t('my.today') : key === tomorrow ? t('my.tomorrow') : '';
      return h('section', { class: 'day-section', 'aria-labelledby': hid, dataset: { date: key } },
        h('h2', { class: 'day-heading', id: hid },
          prefix ? h('span', { class: 'day-prefix', text: prefix }) : null,
          h('span', { class: 'day-date', text: formatDateKey(key) })),
        list.length === 0
          ? h('p', { class: 'lecture-empty muted', text: lectures && lectures.length === 0 ? opts.empty : t('my.emptyToday') })
          : h('ul', { class: 'lecture-list', 'aria-labelledby': hid }, list.map((l) => row(l, now))));
    }));

    if (focusKey) {
      for (const c of body.querySelectorAll('a, button')) {
        if (!(c instanceof HTMLElement)) continue;
        const key = `${c.dataset.action ?? c.getAttribute('href') ?? ''}|${c.dataset.lectureId ?? ''}`;
        if (key === focusKey) {
          c.focus();
          break;
        }
      }
    }
  }

  /**
   * @param {Lecture} l
   * @param {number} now
   */
  function row(l, now) {
    const [viewer, origin] = lectureZones(l, ctx);
    return h('li', { class: `lecture-row lecture-${l.state}`, dataset: { lectureId: l.id, state: l.state } },
      h('div', { class: 'lecture-when' }, viewer && origin ? zoneTimes(l.start, viewer, origin) : null,
        h('span', { class: 'muted small', text: t('lecture.duration', { minutes: l.durationMinutes }) })),
      h('div', { class: 'lecture-main' },
        h('h3', { class: 'lecture-title' }, h('span', { text: l.title }), ' ', lectureBadge(l.state),
          l.seriesId && l.index ? h('span', { class: 'tag tag-series', text: `${t('cal.series')} · ${l.index}` }) : null),
        l.topic ? h('p', { class: 'lecture-topic', text: l.topic }) : null,
        l.state === 'cancelled' && l.cancelReason ? h('p', { class: 'lecture-cancel-reason', text: t('tt.cancelledReason', { reason: l.cancelReason }) }) : null,
        h('p', { class: 'lecture-meta muted small' },
          t('lecture.by', { name: l.lecturerName }), ' · ', t('lecture.from', { site: l.siteName }))),
      h('div', { class: 'lecture-actions' }, opts.actions(l, now)));
  }

  function onVisible() {
    if (document.visibilityState === 'visible' && !destroyed) void load();
  }
  document.addEventListener('visibilitychange', onVisible);
  void load();

  return {
    el,
    reload: load,
    destroy() {
      destroyed = true;
      window.clearTimeout(pollTimer);
      window.clearInterval(tickTimer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}

/**
 * "2 h 14 min" until ms from now.
 * @param {number} ms
 */
export function durationText(ms) {
  const mins = Math.max(0, Math.ceil(ms / 60000));
  if (ms < 60000) return t('dur.lessMinute');
  const d = Math.floor(mins / 1440);
  const hrs = Math.floor((mins % 1440) / 60);
  const m = mins % 60;
  if (d > 0) return t('dur.dhm', { d, h: hrs });
  if (hrs > 0) return t('dur.hm', { h: hrs, m });
  return t('dur.m', { m });
}
