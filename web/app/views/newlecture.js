// #/lectures/new: a one-off lecture (admin). After creating it, the calendar
// opens on its week.

import { h } from '../dom.js';
import { t } from '../strings.js';
import { navigate } from '../router.js';
import { heading, setTitle } from './common.js';
import { lectureForm } from './lectureform.js';

/** @typedef {import('../types.js').AppContext} AppContext */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {URLSearchParams} query
 * @returns {() => void}
 */
export function mountNewLecture(root, ctx, query) {
  void query;
  setTitle(t('form.title'));
  const form = lectureForm(ctx, (_created, dateKey) => {
    window.setTimeout(() => navigate(`#/calendar?date=${dateKey}`), 800);
  });
  root.append(
    h('div', { class: 'page-head' },
      h('a', { href: '#/calendar', class: 'back-link', text: `‹ ${t('nav.calendar')}` }),
      heading(t('form.title'))),
    h('div', { class: 'narrow' }, form.el));
  return () => form.destroy();
}
