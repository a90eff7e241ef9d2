// The lecturelink browser app: the shell (header, navigation, sign-in
// state) and the hash router.
//   #/login                     sign in
//   #/                          the start page of the user's role: admin → calendar,
//                               lecturer → my lectures, student and operator → timetable
//   #/calendar?view=week|month&date=YYYY-MM-DD&siteId=&lecturerId=&groupId=   (admin)
//   #/lectures/new              a one-off lecture (admin)
//   #/series, #/series/new, #/series/ID, #/series/ID/edit   (admin)
//   #/series/ID/attendance      matrix and rules (admin, a lecturer of the series)
//   #/people, #/people/import, #/sites                      (admin)
//   #/people/ID/attendance      anyone's attendance history (admin)
//   #/attendance                my attendance (student)
//   #/my                        my lectures (lecturer)
//   #/timetable                 my timetable
//   #/account                   own password, calendar subscription
//   #/lecture/ID  (?start=1)    the lecture room (?start=1: the lecturer starts at once)
//   #/lecture/ID/attendance     attendance (?site=&status= filters)
//   #/lecture/ID/rollcall       roll call of the operator's site (operator, admin)

import * as api from './api.js';
import { handle } from './debug.js';
import { h, replace } from './dom.js';
import { t } from './strings.js';
import { currentRoute, navigate, setRenderer } from './router.js';
import { alertBox, errorText, heading, roleLabel, setTitle } from './views/common.js';
import { mountLogin } from './views/login.js';
import { mountCalendar } from './views/calendar.js';
import { mountNewLecture } from './views/newlecture.js';
import { mountSeriesList, mountSeriesDetail, mountSeriesForm } from './views/series.js';
import { mountPeople } from './views/people.js';
import { mountImport } from './views/import.js';
import { mountSites } from './views/sites.js';
import { mountMyLectures } from './views/mylectures.js';
import { mountTimetable } from './views/timetable.js';
import { mountAccount } from './views/account.js';
import { mountRoom } from './views/room.js';
import { mountAttendance } from './views/attendance.js';
import { mountRollCall } from './views/rollcall.js';
import { mountSeriesAttendance } from './views/seriesatt.js';
import { mountHistory } from './views/history.js';

/** @typedef {import('./types.js').AppContext} AppContext */

/** @type {AppContext | null} */
let ctx = null;
/** @type {(() => void) | null} */
let cleanup = null;
let renderToken = 0;
let firstRender = true;

const header = document.getElementById('app-header');
const main = document.getElementById('main');
if (!(header instanceof HTMLElement) || !(main instanceof HTMLElement)) {
  throw new Error('index.html is missing #app-header or #main');
}

/** Load who is signed in; null when nobody is. */
async function loadContext() {
  try {
    const [me, sites] = await Promise.all([api.me(), api.sites().catch(() => [])]);
    const { user, site } = me;
    const map = new Map(sites.map((s) => [s.id, s]));
    if (!map.has(site.id)) map.set(site.id, site);
    const early = Number(me.startEarlyMinutes ?? /** @type {any} */ (user).startEarlyMinutes);
    /** @type {AppContext} */
    const c = {
      user, site, sites: map,
      startEarlyMinutes: Number.isFinite(early) && early >= 0 ? early : 15,
      async refreshSites() {
        const fresh = await api.sites();
        map.clear();
        for (const s of fresh) map.set(s.id, s);
        const own = map.get(c.user.siteId);
        if (own) c.site = own;
      },
    };
    return c;
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) return null;
    throw err;
  }
}

function renderHeader() {
  if (!header) return;
  const brand = h('a', { class: 'brand', href: '#/' },
    h('img', { src: 'favicon.svg', alt: '', width: 28, height: 28, class: 'brand-mark' }),
    h('span', { text: t('app.name') }));
  if (!ctx) {
    replace(header, h('div', { class: 'header-inner' }, brand));
    return;
  }
  const signOut = h('button', { type: 'button', class: 'button button-quiet', id: 'sign-out', text: t('app.signOut') });
  signOut.addEventListener('click', async () => {
    signOut.disabled = true;
    try {
      await api.signOut();
    } catch {
      // Signed out or not, go to the sign-in page.
    }
    ctx = null;
    navigate('#/login');
  });
  replace(header, h('div', { class: 'header-inner' },
    brand,
    navigation(ctx.user.role),
    h('div', { class: 'header-user' },
      h('span', { class: 'user-name', id: 'current-user', text: ctx.user.displayName }),
      h('span', { class: 'user-meta muted', text: `${roleLabel(ctx.user.role)} · ${ctx.site.name}` }),
      signOut)));
}

/**
 * The main navigation of a role: [label id, hash, the first route segment it owns].
 * @param {string} role
 * @returns {[import('./strings.js').MessageId, string, string][]}
 */
function navItems(role) {
  switch (role) {
    case 'admin':
      return [['nav.calendar', '#/calendar', 'calendar'], ['nav.series', '#/series', 'series'],
        ['nav.people', '#/people', 'people'], ['nav.sites', '#/sites', 'sites'], ['nav.account', '#/account', 'account']];
    case 'lecturer':
      return [['nav.myLectures', '#/my', 'my'], ['nav.account', '#/account', 'account']];
    case 'student':
      return [['nav.timetable', '#/timetable', 'timetable'], ['nav.myAttendance', '#/attendance', 'attendance'], ['nav.account', '#/account', 'account']];
    default:
      return [['nav.timetable', '#/timetable', 'timetable'], ['nav.account', '#/account', 'account']];
  }
}

/** The first route segment of the role's start page. */
function homeSegment() {
  return navItems(ctx?.user.role ?? '')[0]?.[2] ?? '';
}

/** @param {string} role */
function navigation(role) {
  const { segments } = currentRoute();
  let current = segments[0] ?? homeSegment();
  if (current === 'lectures') current = 'calendar';
  return h('nav', { class: 'app-nav', 'aria-label': t('nav.label') },
    h('ul', null, navItems(role).map(([label, href, seg]) => h('li', null,
      h('a', { href, class: 'nav-link', id: `nav-${seg}`, 'aria-current': seg === current ? 'page' : undefined, text: t(label) })))));
}

async function render() {
  const token = ++renderToken;
  if (cleanup) {
    const c = cleanup;
    cleanup = null;
    try {
      c();
    } catch (err) {
      console.error('lecturelink: cleanup failed', err);
    }
  }
  const { segments, query } = currentRoute();
  if (!main) return;

  if (segments[0] === 'login') {
    if (!ctx) {
      try {
        ctx = await loadContext();
      } catch {
        ctx = null;
      }
      if (token !== renderToken) return;
    }
    if (ctx) {
      navigate('#/');
      return;
    }
    renderHeader();
    replace(main);
    cleanup = mountLogin(main, {
      onSignedIn: () => {
        ctx = null;
        navigate('#/');
      },
    });
    return;
  }

  if (!ctx) {
    replace(main, h('p', { class: 'muted', text: t('app.loading') }));
    try {
      ctx = await loadContext();
    } catch (err) {
      if (token !== renderToken) return;
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => void render());
      replace(main, alertBox(errorText(err), retry));
      return;
    }
    if (token !== renderToken) return;
    if (!ctx) {
      navigate('#/login');
      return;
    }
  }

  renderHeader();
  replace(main);
  const c = ctx;
  const admin = c.user.role === 'admin';
  const [s0, s1, s2] = segments;
  const route = s0 ?? homeSegment();
  const n = segments.length;
  if (admin && route === 'calendar' && n <= 1) {
    cleanup = mountCalendar(main, c, query);
  } else if (admin && s0 === 'lectures' && s1 === 'new' && n === 2) {
    cleanup = mountNewLecture(main, c, query);
  } else if (admin && s0 === 'series' && n === 1) {
    cleanup = mountSeriesList(main, c);
  } else if (admin && s0 === 'series' && s1 === 'new' && n === 2) {
    cleanup = mountSeriesForm(main, c, null);
  } else if (admin && s0 === 'series' && s1 && n === 2) {
    cleanup = mountSeriesDetail(main, c, s1);
  } else if (s0 === 'series' && s1 && s2 === 'attendance' && n === 3 && (admin || c.user.role === 'lecturer')) {
    cleanup = mountSeriesAttendance(main, c, s1);
  } else if (admin && s0 === 'series' && s1 && s2 === 'edit' && n === 3) {
    cleanup = mountSeriesForm(main, c, s1);
  } else if (admin && s0 === 'people' && n === 1) {
    cleanup = mountPeople(main, c, query);
  } else if (admin && s0 === 'people' && s1 && s2 === 'attendance' && n === 3) {
    cleanup = mountHistory(main, c, s1);
  } else if (s0 === 'attendance' && n === 1 && c.user.role === 'student') {
    cleanup = mountHistory(main, c, c.user.id);
  } else if (admin && s0 === 'people' && s1 === 'import' && n === 2) {
    cleanup = mountImport(main, c);
  } else if (admin && s0 === 'sites' && n === 1) {
    cleanup = mountSites(main, c);
  } else if (route === 'my' && n <= 1 && c.user.role === 'lecturer') {
    cleanup = mountMyLectures(main, c);
  } else if (route === 'timetable' && n <= 1) {
    cleanup = mountTimetable(main, c);
  } else if (s0 === 'account' && n === 1) {
    cleanup = mountAccount(main, c);
  } else if (segments[0] === 'lecture' && segments[1] && segments.length === 2) {
    cleanup = mountRoom(main, c, segments[1], query);
  } else if (segments[0] === 'lecture' && segments[1] && segments[2] === 'attendance' && segments.length === 3) {
    cleanup = mountAttendance(main, c, segments[1], query);
  } else if (s0 === 'lecture' && s1 && s2 === 'rollcall' && n === 3 && (admin || c.user.role === 'operator')) {
    cleanup = mountRollCall(main, c, s1);
  } else {
    setTitle(t('app.notFound.title'));
    main.append(heading(t('app.notFound.title')), h('p', { text: t('app.notFound.body') }),
      h('a', { href: '#/', class: 'button', text: t('app.home') }));
  }
  if (!firstRender) {
    const h1 = main.querySelector('h1');
    if (h1 instanceof HTMLElement && !main.contains(document.activeElement)) h1.focus();
  }
  firstRender = false;
}

api.setUnauthenticatedHandler(() => {
  if (!ctx) return;
  ctx = null;
  navigate('#/login');
});

setRenderer(() => void render());
window.addEventListener('hashchange', () => void render());

const skip = document.getElementById('skip-link');
if (skip) {
  skip.textContent = t('app.skip');
  skip.addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
}
document.title = t('app.name');
void handle;
void render();
