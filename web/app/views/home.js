// The start page (#/): one per role.

import { h } from '../dom.js';
import { t } from '../strings.js';
import { lectureHash, navigate } from '../router.js';
import { heading, setTitle } from './common.js';
import { dayList } from './lectures.js';
import { lectureForm } from './lectureform.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {URLSearchParams} query
 * @returns {() => void}
 */
export function mountHome(root, ctx, query) {
  const date = query.get('date') ?? undefined;
  switch (ctx.user.role) {
    case 'admin': return mountAdmin(root, ctx, date);
    case 'lecturer': return mountLecturer(root, ctx, date);
    default: return mountStudent(root, ctx, date);
  }
}

/**
 * @param {string} text
 * @param {string} href
 * @param {{label?: string, primary?: boolean, action?: string, id?: string}} [opts]
 */
function link(text, href, opts = {}) {
  return h('a', {
    class: opts.primary ? 'button button-primary' : 'button',
    href, text, 'aria-label': opts.label,
    dataset: opts.action && opts.id ? { action: opts.action, lectureId: opts.id } : undefined,
  });
}

/**
 * @param {string} text
 * @param {string} action
 * @param {Lecture} l
 * @param {string} label
 * @param {string} target
 */
function actionButton(text, action, l, label, target) {
  const b = h('button', {
    type: 'button', class: 'button button-primary', text, 'aria-label': label,
    dataset: { action, lectureId: l.id },
  });
  b.addEventListener('click', () => navigate(target));
  return b;
}

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string | undefined} date
 */
function mountAdmin(root, ctx, date) {
  setTitle(t('home.admin.title'));
  const list = dayList(ctx, {
    title: t('home.admin.title'),
    pollMs: 30000,
    dateKey: date,
    actions: (l) => [
      l.state !== 'ended'
        ? link(l.state === 'live' ? t('lecture.watch') : t('lecture.open'), lectureHash(l.id),
          { label: t('lecture.openLabel', { title: l.title }), action: 'open', id: l.id })
        : null,
      link(t('lecture.attendance'), lectureHash(l.id, '/attendance'),
        { label: t('lecture.attendanceLabel', { title: l.title }), action: 'attendance', id: l.id }),
    ].filter((x) => x !== null),
  });
  const form = lectureForm(ctx, (created, dateKey) => {
    list.setDate(dateKey);
    void created;
  });
  root.append(
    h('div', { class: 'page-head' }, heading(t('home.admin.title'))),
    h('div', { class: 'home-grid' }, list.el, form.el));
  return () => {
    list.destroy();
    form.destroy();
  };
}

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string | undefined} date
 */
function mountLecturer(root, ctx, date) {
  setTitle(t('home.lecturer.title'));
  const list = dayList(ctx, {
    title: t('home.lecturer.title'),
    pollMs: 20000,
    dateKey: date,
    actions: (l) => {
      /** @type {Node[]} */
      const out = [];
      if (l.state === 'scheduled') {
        out.push(actionButton(t('lecture.start'), 'start', l, t('lecture.startLabel', { title: l.title }),
          `${lectureHash(l.id)}?start=1`));
        out.push(link(t('lecture.open'), lectureHash(l.id), { label: t('lecture.openLabel', { title: l.title }), action: 'open', id: l.id }));
      } else if (l.state === 'live') {
        out.push(link(t('lecture.open'), lectureHash(l.id), { label: t('lecture.openLabel', { title: l.title }), primary: true, action: 'open', id: l.id }));
      }
      out.push(link(t('lecture.attendance'), lectureHash(l.id, '/attendance'),
        { label: t('lecture.attendanceLabel', { title: l.title }), action: 'attendance', id: l.id }));
      return out;
    },
  });
  root.append(h('div', { class: 'page-head' }, heading(t('home.lecturer.title'))), list.el);
  return () => list.destroy();
}

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string | undefined} date
 */
function mountStudent(root, ctx, date) {
  setTitle(t('home.student.title'));
  const list = dayList(ctx, {
    title: t('home.student.title'),
    pollMs: 10000,
    dateKey: date,
    actions: (l) => {
      if (l.state === 'live') {
        return [actionButton(t('lecture.join'), 'join', l, t('lecture.joinLabel', { title: l.title }), lectureHash(l.id))];
      }
      if (l.state === 'scheduled') {
        const b = actionButton(t('lecture.wait'), 'wait', l, t('lecture.waitLabel', { title: l.title }), lectureHash(l.id));
        b.className = 'button';
        return [b];
      }
      return [h('span', { class: 'muted small', text: t('lecture.endedNote') })];
    },
  });
  root.append(h('div', { class: 'page-head' }, heading(t('home.student.title'))), list.el);
  return () => list.destroy();
}
