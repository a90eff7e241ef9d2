// "Account": who I am, change my password, my calendar subscription.

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../strings.js';
import { errorText, heading, roleLabel, setTitle } from './common.js';
import { confirmDialog, copyField, field, formStatus } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @returns {() => void}
 */
export function mountAccount(root, ctx) {
  setTitle(t('acct.title'));
  let destroyed = false;
  const u = ctx.user;

  // --- who I am
  const groupValue = h('dd', { id: 'acct-group', text: u.groupId ? u.groupId : t('acct.noGroup') });
  const about = h('section', { class: 'card', 'aria-labelledby': 'acct-you' },
    h('h2', { id: 'acct-you', text: t('acct.you') }),
    h('dl', { class: 'facts' },
      h('dt', { text: t('acct.name') }), h('dd', { text: u.displayName }),
      h('dt', { text: t('acct.username') }), h('dd', { class: 'mono', text: u.username }),
      h('dt', { text: t('acct.role') }), h('dd', { text: roleLabel(u.role) }),
      h('dt', { text: t('acct.site') }), h('dd', { id: 'acct-site', text: `${ctx.site.name} — ${ctx.site.institution}` }),
      h('dt', { text: t('acct.zone') }), h('dd', { text: ctx.site.timeZone }),
      u.role === 'student' || u.groupId ? [h('dt', { text: t('acct.group') }), groupValue] : null));
  // Students may not list groups (403): then the id stays.
  if (u.groupId) {
    api.groups().then((gs) => {
      const g = gs.find((x) => x.id === u.groupId);
      if (g && !destroyed) groupValue.textContent = g.name;
    }).catch(() => { /* the id stays */ });
  }

  // --- password
  const current = field('acct-current', t('acct.current'), h('input', { type: 'password', autocomplete: 'current-password', required: true }));
  const next = field('acct-new', t('acct.new'), h('input', { type: 'password', autocomplete: 'new-password', minlength: 8, required: true }), { hint: t('acct.newHint') });
  const repeat = field('acct-repeat', t('acct.repeat'), h('input', { type: 'password', autocomplete: 'new-password', required: true }));
  const pwStatus = formStatus();
  const pwSubmit = h('button', { type: 'submit', class: 'button button-primary', id: 'acct-change', text: t('acct.change') });
  const pwForm = h('form', { class: 'card', id: 'password-form', novalidate: true, 'aria-labelledby': 'acct-pw' },
    h('h2', { id: 'acct-pw', text: t('acct.password') }),
    pwStatus.el,
    // A hidden user name helps password managers.
    h('input', { type: 'text', autocomplete: 'username', value: u.username, hidden: true, readonly: true, 'aria-hidden': 'true', tabindex: '-1' }),
    current.wrap, next.wrap, repeat.wrap,
    h('div', { class: 'form-actions' }, pwSubmit));
  pwForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (pwSubmit.disabled) return;
    for (const f of [current, next, repeat]) f.clear();
    pwStatus.clear();
    const cur = current.control.value;
    const nw = next.control.value;
    let ok = true;
    if (!cur) { current.setError(t('acct.err.current')); ok = false; }
    if (nw.length < 8) { next.setError(t('acct.err.new')); ok = false; }
    else if (nw !== repeat.control.value) { repeat.setError(t('acct.err.repeat')); ok = false; }
    if (!ok) {
      const bad = pwForm.querySelector('[aria-invalid="true"]');
      if (bad instanceof HTMLElement) bad.focus();
      return;
    }
    pwSubmit.disabled = true;
    pwSubmit.textContent = t('common.saving');
    try {
      await api.changeOwnPassword(cur, nw);
      if (destroyed) return;
      for (const f of [current, next, repeat]) f.control.value = '';
      pwStatus.ok(t('acct.changed'));
    } catch (err) {
      if (destroyed) return;
      if (err instanceof api.ApiError && err.status === 400 && /current/i.test(`${err.field ?? ''} ${err.message}`)) {
        current.setError(t('acct.err.wrong'));
        current.control.focus();
      } else if (err instanceof api.ApiError && err.status === 400) {
        next.setError(errorText(err));
        next.control.focus();
      } else {
        pwStatus.error(errorText(err));
      }
    } finally {
      if (!destroyed) {
        pwSubmit.disabled = false;
        pwSubmit.textContent = t('acct.change');
      }
    }
  });

  // --- calendar
  const calBody = h('div', { class: 'calendar-url' }, h('p', { class: 'muted', text: t('app.loading') }));
  const calStatus = formStatus();
  const renew = h('button', { type: 'button', class: 'button', id: 'calendar-renew', text: t('acct.calendarRenew') });
  /** @param {string} url */
  function showUrl(url) {
    replace(calBody, copyField(url, { id: 'calendar-url', label: t('acct.calendarLabel') }));
  }
  renew.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: t('acct.calendarRenewTitle'), body: t('acct.calendarRenewBody'), yes: t('acct.calendarRenew'), yesId: 'calendar-renew-confirm',
    });
    if (!yes || destroyed) return;
    renew.disabled = true;
    try {
      showUrl(await api.myCalendar(true));
      calStatus.ok(t('acct.calendarRenewed'));
    } catch (err) {
      calStatus.error(errorText(err));
    } finally {
      renew.disabled = false;
    }
  });
  api.myCalendar(false).then((url) => { if (!destroyed) showUrl(url); })
    .catch((err) => { if (!destroyed) replace(calBody, h('div', { class: 'alert alert-error', role: 'alert', text: t('common.loadFailed', { message: errorText(err) }) })); });
  const cal = h('section', { class: 'card', 'aria-labelledby': 'acct-cal' },
    h('h2', { id: 'acct-cal', text: t('acct.calendar') }),
    h('p', { class: 'muted', text: t('acct.calendarIntro') }),
    calStatus.el, calBody,
    h('div', { class: 'form-actions' }, renew));

  root.append(
    h('div', { class: 'page-head' }, heading(t('acct.title'))),
    h('div', { class: 'account-grid' }, h('div', { class: 'stack' }, about, cal), pwForm));
  return () => { destroyed = true; };
}
