// The lecturelink browser app: the shell (header, sign-in state) and the
// hash router.
//   #/login                     sign in
//   #/  (#/?date=YYYY-MM-DD)    the start page of the user's role
//   #/lecture/ID  (?start=1)    the lecture room (?start=1: the lecturer starts at once)
//   #/lecture/ID/attendance     attendance

import * as api from './api.js';
import { handle } from './debug.js';
import { h, replace } from './dom.js';
import { t } from './strings.js';
import { currentRoute, navigate, setRenderer } from './router.js';
import { alertBox, errorText, heading, roleLabel, setTitle } from './views/common.js';
import { mountLogin } from './views/login.js';
import { mountHome } from './views/home.js';
import { mountRoom } from './views/room.js';
import { mountAttendance } from './views/attendance.js';

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
    const [{ user, site }, sites] = await Promise.all([api.me(), api.sites().catch(() => [])]);
    const map = new Map(sites.map((s) => [s.id, s]));
    if (!map.has(site.id)) map.set(site.id, site);
    return { user, site, sites: map };
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
    h('div', { class: 'header-user' },
      h('span', { class: 'user-name', id: 'current-user', text: ctx.user.displayName }),
      h('span', { class: 'user-meta muted', text: `${roleLabel(ctx.user.role)} · ${ctx.site.name}` }),
      signOut)));
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
  if (segments.length === 0) {
    cleanup = mountHome(main, c, query);
  } else if (segments[0] === 'lecture' && segments[1] && segments.length === 2) {
    cleanup = mountRoom(main, c, segments[1], query);
  } else if (segments[0] === 'lecture' && segments[1] && segments[2] === 'attendance' && segments.length === 3) {
    cleanup = mountAttendance(main, c, segments[1]);
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
