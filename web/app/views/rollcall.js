// Roll call (#/lecture/ID/rollcall): a site operator marks which of their
// site's expected students are in the room, one large toggle each. Marks
// are shown at once and rolled back if the server refuses them.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t, tn } from '../strings.js';
import { lectureHash, reload } from '../router.js';
import { alertBox, errorText, heading, lectureBadge, lectureTimes, setTitle } from './common.js';
import { confirmDialog } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').RollCallStudent} RollCallStudent */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} lectureId
 * @returns {() => void}
 */
export function mountRollCall(root, ctx, lectureId) {
  setTitle(t('rc.title'));
  let destroyed = false;
  /** @type {Lecture | null} */
  let lecture = null;
  /** @type {RollCallStudent[]} */
  let students = [];
  let siteId = ctx.user.siteId;
  /** @type {Set<string>} students whose mark is being saved */
  const pending = new Set();
  /** @type {Map<string, HTMLButtonElement>} */
  const buttons = new Map();

  const title = heading(t('rc.title'));
  const sub = h('p', { class: 'muted' });
  const count = h('p', { class: 'rollcall-count', id: 'rollcall-count', 'aria-live': 'polite' });
  const allBtn = h('button', { type: 'button', class: 'button button-primary button-large', id: 'rollcall-all', text: t('rc.all') });
  const search = h('input', { type: 'search', id: 'rollcall-search', autocomplete: 'off', spellcheck: 'false' });
  const message = h('div', { class: 'form-status', id: 'rollcall-message' });
  const list = h('ul', { class: 'rollcall-list', id: 'rollcall-list' });
  const none = h('p', { class: 'muted', id: 'rollcall-nomatch', hidden: true });
  const body = h('div', { class: 'rollcall-body' }, h('p', { class: 'muted', text: t('app.loading') }));

  root.append(h('section', { class: 'rollcall', dataset: { lectureId } },
    h('div', { class: 'page-head page-head-split' },
      h('div', null, title, sub),
      h('div', { class: 'page-actions' },
        h('a', { href: lectureHash(lectureId, '/attendance'), class: 'button button-quiet', text: t('att.title') }),
        h('a', { href: '#/timetable', class: 'button button-quiet', text: t('rc.back') }))),
    body));

  search.addEventListener('input', filter);
  allBtn.addEventListener('click', () => void markAll());

  async function load() {
    try {
      const [l, rc, groups] = await Promise.all([api.lecture(lectureId), api.rollCall(lectureId), api.groups().catch(() => [])]);
      if (destroyed) return;
      lecture = l;
      const groupNames = new Map(groups.map((g) => [g.id, g.name]));
      students = rc.students.map((s) => ({ ...s, groupName: s.groupName || groupNames.get(s.groupId) || '' }))
        .sort((a, b) => a.displayName.localeCompare(b.displayName));
      siteId = rc.siteId || siteId;
      render();
    } catch (err) {
      if (destroyed) return;
      const text = err instanceof api.ApiError && err.status === 403 ? t('rc.notAllowed') : t('common.loadFailed', { message: errorText(err) });
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => reload());
      replace(body, alertBox(text, retry));
    }
  }

  function siteName() {
    return ctx.sites.get(siteId)?.name ?? siteId;
  }

  function render() {
    if (!lecture) return;
    title.textContent = `${t('rc.title')}: ${lecture.title}`;
    setTitle(`${t('rc.title')}: ${lecture.title}`);
    replace(sub, lectureTimes(lecture, ctx), ' · ', t('lecture.by', { name: lecture.lecturerName }), ' ', lectureBadge(lecture.state));
    if (lecture.state === 'cancelled') {
      replace(body, h('div', { class: 'alert alert-warn', text: t('rc.cancelled') }));
      return;
    }
    if (students.length === 0) {
      replace(body, h('p', { class: 'lecture-empty muted', id: 'rollcall-empty', text: t('rc.empty') }));
      return;
    }
    buttons.clear();
    replace(list, students.map((s) => {
      const b = h('button', {
        type: 'button', class: 'rollcall-toggle', 'aria-pressed': s.present ? 'true' : 'false',
        dataset: { userId: s.userId },
      },
      h('span', { class: 'rollcall-check', 'aria-hidden': 'true' }),
      h('span', { class: 'rollcall-name', text: s.displayName }),
      s.groupName ? h('span', { class: 'rollcall-group muted small', text: s.groupName }) : null,
      h('span', { class: 'rollcall-state' }));
      b.addEventListener('click', () => void toggle(s));
      buttons.set(s.userId, b);
      paint(s);
      return h('li', { dataset: { userId: s.userId, name: s.displayName.toLowerCase() } }, b);
    }));
    search.placeholder = '';
    replace(body,
      h('p', { class: 'rollcall-intro', text: t('rc.intro', { site: siteName() }) }),
      h('div', { class: 'rollcall-bar' },
        count,
        h('div', { class: 'rollcall-tools' },
          h('div', { class: 'field rollcall-search' }, h('label', { for: 'rollcall-search', text: t('rc.search') }), search),
          allBtn)),
      message,
      h('h2', { class: 'visually-hidden', id: 'rollcall-list-h', text: t('rc.listLabel', { site: siteName() }) }),
      list, none);
    list.setAttribute('aria-labelledby', 'rollcall-list-h');
    updateCount();
    filter();
  }

  /** @param {RollCallStudent} s */
  function paint(s) {
    const b = buttons.get(s.userId);
    if (!b) return;
    const busy = pending.has(s.userId);
    b.setAttribute('aria-pressed', s.present ? 'true' : 'false');
    b.classList.toggle('is-busy', busy);
    if (busy) b.setAttribute('aria-busy', 'true');
    else b.removeAttribute('aria-busy');
    const state = b.querySelector('.rollcall-state');
    if (state) state.textContent = s.present ? t('rc.present') : t('rc.absent');
  }

  function updateCount() {
    const present = students.filter((s) => s.present).length;
    count.textContent = t('rc.count', { present, total: students.length });
    allBtn.disabled = present === students.length;
  }

  function filter() {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const li of list.children) {
      if (!(li instanceof HTMLElement)) continue;
      const match = !q || (li.dataset.name ?? '').includes(q);
      li.hidden = !match;
      if (match) shown++;
    }
    none.hidden = shown > 0;
    none.textContent = shown > 0 ? '' : t('rc.searchNone', { query: search.value.trim() });
  }

  /**
   * Save one mark; the toggle shows the new state at once and goes back if
   * the server refuses.
   * @param {RollCallStudent} s
   * @param {boolean} [to]
   * @returns {Promise<boolean>}
   */
  async function save(s, to = !s.present) {
    if (pending.has(s.userId)) return false;
    const before = s.present;
    s.present = to;
    pending.add(s.userId);
    paint(s);
    updateCount();
    try {
      await api.setRollCall(lectureId, s.userId, to);
      return true;
    } catch (err) {
      if (destroyed) return false;
      s.present = before;
      replace(message, h('div', { class: 'alert alert-error', role: 'alert', text: t('rc.failed', { name: s.displayName, message: errorText(err) }) }));
      return false;
    } finally {
      pending.delete(s.userId);
      if (!destroyed) {
        paint(s);
        updateCount();
      }
    }
  }

  /** @param {RollCallStudent} s */
  async function toggle(s) {
    replace(message);
    const ok = await save(s);
    if (ok && !destroyed) announce(s.present ? t('rc.markedPresent', { name: s.displayName }) : t('rc.markedAbsent', { name: s.displayName }));
  }

  async function markAll() {
    const todo = students.filter((s) => !s.present && !pending.has(s.userId));
    if (todo.length === 0) return;
    const yes = await confirmDialog({
      title: t('rc.allConfirmTitle'), body: tn('rc.allConfirmBody', todo.length, { site: siteName() }),
      yes: t('rc.allYes'), yesId: 'rollcall-all-confirm',
    });
    if (!yes || destroyed) return;
    replace(message);
    allBtn.disabled = true;
    // A few at a time: quick for a class, gentle on the server.
    let failed = 0;
    const queue = todo.slice();
    async function worker() {
      for (let s = queue.shift(); s; s = queue.shift()) {
        if (!(await save(s, true))) failed++;
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()]);
    if (destroyed) return;
    updateCount();
    if (failed) {
      replace(message, h('div', { class: 'alert alert-error', role: 'alert', text: tn('rc.allFailed', failed) }));
    } else {
      replace(message, h('div', { class: 'alert alert-ok', role: 'status', text: t('rc.allDone') }));
      announce(t('rc.allDone'));
    }
  }

  void load();
  return () => { destroyed = true; };
}
