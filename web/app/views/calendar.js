// #/calendar (admin): a week or month of lectures across sites, in the
// viewer's site zone with the origin site's time beside it; filters by site,
// lecturer and group; a click opens the occurrence panel.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t, tn } from '../strings.js';
import { addDays, dateKeyIn, dayRange, formatTime } from '../time.js';
import { replaceHash } from '../router.js';
import { alertBox, errorText, heading, lectureStateLabel, setTitle } from './common.js';
import { openOccurrence } from './occurrence.js';
import { lectureZones, select, setOptions, zoneTimes } from './ui.js';
import { LOCALE } from '../strings.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').User} User */
/** @typedef {import('../types.js').Group} Group */

/** Entries shown in a month cell before "+N more". */
const MONTH_CELL_MAX = 3;

/** @param {string} key "YYYY-MM-DD" → 0 = Monday … 6 = Sunday */
function weekdayIndex(key) {
  const [y, m, d] = key.split('-').map(Number);
  return (new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, 12)).getUTCDay() + 6) % 7;
}

/** @param {string} key */
function mondayOf(key) {
  return addDays(key, -weekdayIndex(key));
}

/** @param {string} key */
function utcNoon(key) {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, 12));
}

const fmtDayShort = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' });
const fmtDayLong = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const fmtWeekday = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', weekday: 'short' });
const fmtMonth = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', month: 'long', year: 'numeric' });
const fmtRange = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {URLSearchParams} query
 * @returns {() => void}
 */
export function mountCalendar(root, ctx, query) {
  setTitle(t('cal.title'));
  const zone = ctx.site.timeZone;
  let view = query.get('view') === 'month' ? 'month' : 'week';
  const qd = query.get('date') ?? '';
  let date = /^\d{4}-\d{2}-\d{2}$/.test(qd) ? qd : dateKeyIn(zone);
  let destroyed = false;
  let loadToken = 0;
  let pollTimer = 0;
  /** @type {Lecture[] | null} */
  let lectures = null;
  /** @type {Map<string, User>} */
  let lecturers = new Map();
  /** @type {Map<string, Group>} */
  let groups = new Map();

  // --- toolbar
  const weekBtn = h('button', { type: 'button', class: 'button seg', id: 'cal-view-week', text: t('cal.week') });
  const monthBtn = h('button', { type: 'button', class: 'button seg', id: 'cal-view-month', text: t('cal.month') });
  const prev = h('button', { type: 'button', class: 'button button-quiet', id: 'cal-prev' });
  const next = h('button', { type: 'button', class: 'button button-quiet', id: 'cal-next' });
  const today = h('button', { type: 'button', class: 'button', id: 'cal-today', text: t('cal.today') });
  const rangeTitle = h('h2', { class: 'cal-range', id: 'cal-range', 'aria-live': 'polite' });
  const fSite = select({ id: 'cal-site', options: [...ctx.sites.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ value: s.id, label: s.name })), allLabel: t('cal.allSites'), value: query.get('siteId') ?? '' });
  const fLecturer = select({ id: 'cal-lecturer', options: [], allLabel: t('cal.allLecturers') });
  const fGroup = select({ id: 'cal-group', options: [], allLabel: t('cal.allGroups') });
  const want = { lecturerId: query.get('lecturerId') ?? '', groupId: query.get('groupId') ?? '' };

  const status = h('div', { class: 'list-status' });
  const grid = h('div', { class: 'cal-body', id: 'calendar', dataset: { view } });
  const count = h('p', { class: 'muted small cal-count' });

  weekBtn.addEventListener('click', () => setView('week'));
  monthBtn.addEventListener('click', () => setView('month'));
  prev.addEventListener('click', () => move(-1));
  next.addEventListener('click', () => move(1));
  today.addEventListener('click', () => { date = dateKeyIn(zone); void load(); });
  for (const s of [fSite, fLecturer, fGroup]) s.addEventListener('change', () => void load());

  /** @param {string} v */
  function setView(v) {
    view = v === 'month' ? 'month' : 'week';
    void load();
  }

  /** @param {number} dir */
  function move(dir) {
    if (view === 'week') {
      date = addDays(mondayOf(date), 7 * dir);
    } else {
      const [y, m] = date.split('-').map(Number);
      const d = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1 + dir, 1, 12));
      date = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-01`;
    }
    void load();
  }

  /** The days shown: [first, last] inclusive. */
  function span() {
    if (view === 'week') {
      const first = mondayOf(date);
      return { first, last: addDays(first, 6) };
    }
    const monthStart = `${date.slice(0, 7)}-01`;
    const [y, m] = date.split('-').map(Number);
    const lastOfMonth = new Date(Date.UTC(y ?? 1970, m ?? 1, 0, 12));
    const monthEnd = `${date.slice(0, 7)}-${String(lastOfMonth.getUTCDate()).padStart(2, '0')}`;
    const first = mondayOf(monthStart);
    return { first, last: addDays(mondayOf(monthEnd), 6), monthStart, monthEnd };
  }

  function syncToolbar() {
    weekBtn.setAttribute('aria-pressed', String(view === 'week'));
    monthBtn.setAttribute('aria-pressed', String(view === 'month'));
    const isWeek = view === 'week';
    replace(prev, '‹ ', isWeek ? t('cal.prevWeek') : t('cal.prevMonth'));
    replace(next, isWeek ? t('cal.nextWeek') : t('cal.nextMonth'), ' ›');
    const s = span();
    rangeTitle.textContent = isWeek
      ? t('cal.weekRange', { from: fmtRange.format(utcNoon(s.first)), to: fmtRange.format(utcNoon(s.last)) })
      : fmtMonth.format(utcNoon(date));
    grid.dataset.view = view;
    const q = new URLSearchParams();
    if (view === 'month') q.set('view', 'month');
    if (date !== dateKeyIn(zone)) q.set('date', date);
    if (fSite.value) q.set('siteId', fSite.value);
    if (fLecturer.value) q.set('lecturerId', fLecturer.value);
    if (fGroup.value) q.set('groupId', fGroup.value);
    replaceHash(`#/calendar${q.toString() ? `?${q}` : ''}`);
  }

  async function load(quiet = false) {
    const token = ++loadToken;
    window.clearTimeout(pollTimer);
    syncToolbar();
    if (!quiet) {
      lectures = null;
      replace(status, h('p', { class: 'muted', text: t('app.loading') }));
      render();
    }
    const s = span();
    try {
      const got = await api.lectures({
        from: dayRange(s.first, zone).from, to: dayRange(s.last, zone).to,
        siteId: fSite.value, lecturerId: fLecturer.value, groupId: fGroup.value,
      });
      if (destroyed || token !== loadToken) return;
      lectures = got;
      replace(status);
      render();
      if (!quiet) announce(tn('cal.loaded', got.length));
    } catch (err) {
      if (destroyed || token !== loadToken) return;
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => void load());
      replace(status, alertBox(t('home.loadFailed', { message: errorText(err) }), retry));
    }
    if (!destroyed && token === loadToken) pollTimer = window.setTimeout(() => void load(true), 60000);
  }

  /** @param {Lecture} l */
  function open(l) {
    openOccurrence(ctx, l, {
      lecturers, groups,
      onChanged: () => { if (!destroyed) void load(true); },
    });
  }

  /** @returns {Map<string, Lecture[]>} */
  function byDay() {
    /** @type {Map<string, Lecture[]>} */
    const m = new Map();
    for (const l of lectures ?? []) {
      const key = dateKeyIn(zone, new Date(l.start));
      m.set(key, [...(m.get(key) ?? []), l]);
    }
    return m;
  }

  /**
   * @param {Lecture} l
   * @param {boolean} compact
   */
  function entry(l, compact) {
    const [viewer, origin] = lectureZones(l, ctx);
    const b = h('button', {
      type: 'button', class: `cal-lecture cal-${l.state}${compact ? ' cal-compact' : ''}`,
      dataset: { lectureId: l.id, state: l.state },
      'aria-haspopup': 'dialog',
    },
    compact
      ? h('span', { class: 'cal-time' }, h('time', { class: 'time-local', datetime: l.start, text: formatTime(l.start, zone) }))
      : (viewer && origin ? zoneTimes(l.start, viewer, origin) : null),
    h('span', { class: 'cal-title', text: l.title }),
    !compact && l.topic ? h('span', { class: 'cal-topic', text: l.topic }) : null,
    h('span', { class: 'cal-meta' },
      h('span', { class: `badge badge-${l.state}`, text: lectureStateLabel(l.state) }),
      l.seriesId ? h('span', { class: 'tag tag-series', title: t('cal.series'), text: compact ? `#${l.index ?? ''}` : `${t('cal.series')} · ${l.index ?? ''}` }) : null,
      compact ? null : h('span', { class: 'cal-site', text: l.siteName })));
    b.addEventListener('click', () => open(l));
    return b;
  }

  function render() {
    const s = span();
    const days = byDay();
    const todayKey = dateKeyIn(zone);
    count.textContent = lectures ? tn('cal.count', lectures.length) : '';
    if (view === 'week') {
      /** @type {HTMLElement[]} */
      const cols = [];
      for (let i = 0; i < 7; i++) {
        const key = addDays(s.first, i);
        const list = days.get(key) ?? [];
        cols.push(h('li', { class: key === todayKey ? 'cal-day cal-today' : 'cal-day', dataset: { date: key } },
          h('h3', { class: 'cal-day-head' },
            h('span', { class: 'visually-hidden', text: fmtDayLong.format(utcNoon(key)) }),
            h('span', { 'aria-hidden': 'true', text: fmtDayShort.format(utcNoon(key)) })),
          lectures === null ? null : list.length
            ? h('ul', { class: 'cal-list' }, list.map((l) => h('li', null, entry(l, false))))
            : h('p', { class: 'cal-empty muted small', text: t('cal.empty') })));
      }
      replace(grid, h('ol', { class: 'cal-week' }, cols));
      return;
    }
    // Month: weekday header and 5–6 rows of 7 days.
    const head = h('div', { class: 'cal-month-head', 'aria-hidden': 'true' },
      [0, 1, 2, 3, 4, 5, 6].map((i) => h('div', { text: fmtWeekday.format(utcNoon(addDays(s.first, i))) })));
    /** @type {HTMLElement[]} */
    const cells = [];
    for (let key = s.first; key <= s.last; key = addDays(key, 1)) {
      const list = days.get(key) ?? [];
      const inMonth = key.slice(0, 7) === date.slice(0, 7);
      const more = list.length - MONTH_CELL_MAX;
      const dayKey = key;
      const moreBtn = more > 0 ? h('button', { type: 'button', class: 'button button-quiet cal-more', text: tn('cal.more', more) }) : null;
      moreBtn?.addEventListener('click', () => { date = dayKey; setView('week'); });
      cells.push(h('li', {
        class: `cal-cell${inMonth ? '' : ' cal-outside'}${key === todayKey ? ' cal-today' : ''}`, dataset: { date: key },
      },
      h('h3', { class: 'cal-cell-head' },
        h('span', { class: 'visually-hidden', text: fmtDayLong.format(utcNoon(key)) }),
        h('span', { 'aria-hidden': 'true', text: String(Number(key.slice(8))) })),
      list.length ? h('ul', { class: 'cal-list' }, list.slice(0, MONTH_CELL_MAX).map((l) => h('li', null, entry(l, true)))) : null,
      moreBtn));
    }
    replace(grid, head, h('ol', { class: 'cal-month' }, cells));
  }

  const toolbar = h('div', { class: 'cal-toolbar' },
    h('div', { class: 'seg-group', role: 'group', 'aria-label': t('cal.view') }, weekBtn, monthBtn),
    h('div', { class: 'cal-nav' }, prev, rangeTitle, next, today));
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('common.filters') },
    h('div', { class: 'field' }, h('label', { for: 'cal-site', text: t('cal.site') }), fSite),
    h('div', { class: 'field' }, h('label', { for: 'cal-lecturer', text: t('cal.lecturer') }), fLecturer),
    h('div', { class: 'field' }, h('label', { for: 'cal-group', text: t('cal.group') }), fGroup));
  filters.addEventListener('submit', (ev) => ev.preventDefault());

  root.append(
    h('div', { class: 'page-head page-head-split' },
      heading(t('cal.title')),
      h('div', { class: 'page-actions' },
        h('a', { class: 'button', href: '#/lectures/new', id: 'cal-new-lecture', text: t('nav.newLecture') }),
        h('a', { class: 'button button-primary', href: '#/series/new', id: 'cal-new-series', text: t('cal.newSeries') }))),
    toolbar, filters,
    h('p', { class: 'muted small', text: t('cal.timesIn', { site: ctx.site.name, zone }) }),
    status, grid, count);

  syncToolbar();
  render();
  Promise.all([api.users('lecturer').catch(() => []), api.groups().catch(() => [])]).then(([us, gs]) => {
    if (destroyed) return;
    lecturers = new Map(us.filter((u) => u.role === 'lecturer' && u.active !== false).map((u) => [u.id, u]));
    groups = new Map(gs.map((g) => [g.id, g]));
    setOptions(fLecturer, [...us].filter((u) => u.role === 'lecturer').sort((a, b) => a.displayName.localeCompare(b.displayName)).map((u) => ({ value: u.id, label: u.displayName })), t('cal.allLecturers'));
    setOptions(fGroup, gs.sort((a, b) => a.name.localeCompare(b.name)).map((g) => ({ value: g.id, label: `${g.name} (${ctx.sites.get(g.siteId)?.name ?? g.siteId})` })), t('cal.allGroups'));
    fLecturer.value = want.lecturerId;
    fGroup.value = want.groupId;
    if (fLecturer.selectedIndex < 0) fLecturer.selectedIndex = 0;
    if (fGroup.selectedIndex < 0) fGroup.selectedIndex = 0;
    void load();
  });
  function onVisible() {
    if (document.visibilityState === 'visible' && !destroyed) void load(true);
  }
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    destroyed = true;
    window.clearTimeout(pollTimer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
