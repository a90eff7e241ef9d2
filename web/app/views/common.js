// Small building blocks shared by the views.

import { ApiError } from '../api.js';
import { h } from '../dom.js';
import { t } from '../strings.js';
import { dualTimes } from '../time.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').LectureState} LectureState */
/** @typedef {import('../types.js').Role} Role */

/**
 * The page's main heading; focusable so the router can move focus to it.
 * @param {string} text
 */
export function heading(text) {
  return h('h1', { class: 'page-title', tabindex: '-1', text });
}

/** @param {string} text */
export function setTitle(text) {
  document.title = `${text} — ${t('app.name')}`;
}

/** @type {Record<LectureState, import('../strings.js').MessageId>} */
const lectureStateIds = {
  scheduled: 'lecture.state.scheduled',
  live: 'lecture.state.live',
  ended: 'lecture.state.ended',
  cancelled: 'lecture.state.cancelled',
};

/** @param {LectureState} state */
export function lectureStateLabel(state) {
  return t(lectureStateIds[state] ?? 'lecture.state.scheduled');
}

/** @param {LectureState} state */
export function lectureBadge(state) {
  return h('span', { class: `badge badge-${state}`, text: lectureStateLabel(state) });
}

/** @type {Record<Role, import('../strings.js').MessageId>} */
const roleIds = { admin: 'role.admin', lecturer: 'role.lecturer', operator: 'role.operator', student: 'role.student' };

/** @param {string} role */
export function roleLabel(role) {
  return role in roleIds ? t(roleIds[/** @type {Role} */ (role)]) : role;
}

/** @param {AppContext} ctx */
export function viewerZone(ctx) {
  return { timeZone: ctx.site.timeZone, label: ctx.site.name };
}

/** @param {Lecture} lecture */
export function originZone(lecture) {
  return { timeZone: lecture.siteTimeZone, label: lecture.siteName };
}

/**
 * The lecture's start in the viewer's zone and the origin's, side by side.
 * @param {Lecture} lecture
 * @param {AppContext} ctx
 */
export function lectureTimes(lecture, ctx) {
  const times = dualTimes(lecture.start, viewerZone(ctx), originZone(lecture));
  return h('span', { class: 'times' },
    times.map((x) => h('span', { class: x.viewer ? 'time time-viewer' : 'time time-origin' },
      h('time', { datetime: lecture.start, text: x.time }),
      ' ',
      h('span', { class: 'time-zone', text: x.label }))));
}

/**
 * A readable message for any thrown value.
 * @param {unknown} err
 */
export function errorText(err) {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * An alert box (announced by screen readers when inserted).
 * @param {string} text
 * @param {Node | null} [action]
 */
export function alertBox(text, action) {
  return h('div', { class: 'alert alert-error', role: 'alert' }, h('p', { text }), action ?? null);
}
