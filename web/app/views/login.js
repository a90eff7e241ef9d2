// The sign-in page.

import * as api from '../api.js';
import { $, h } from '../dom.js';
import { t } from '../strings.js';
import { heading, setTitle } from './common.js';

/**
 * @param {HTMLElement} root
 * @param {{onSignedIn: () => void}} opts
 * @returns {() => void}
 */
export function mountLogin(root, opts) {
  setTitle(t('login.title'));
  const error = h('div', { class: 'alert alert-error', id: 'login-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card login-card', novalidate: true, 'aria-labelledby': 'login-heading' },
    h('p', { class: 'login-brand', text: t('app.name') }),
    Object.assign(heading(t('login.title')), { id: 'login-heading' }),
    h('p', { class: 'muted', text: t('login.intro') }),
    error,
    h('div', { class: 'field' },
      h('label', { for: 'login-username', text: t('login.username') }),
      h('input', {
        id: 'login-username', name: 'username', type: 'text', autocomplete: 'username',
        autocapitalize: 'none', spellcheck: 'false', required: true,
      })),
    h('div', { class: 'field' },
      h('label', { for: 'login-password', text: t('login.password') }),
      h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { id: 'login-submit', type: 'submit', class: 'button button-primary button-block', text: t('login.submit') }));

  const username = $(form, '#login-username', HTMLInputElement);
  const password = $(form, '#login-password', HTMLInputElement);
  const submit = $(form, '#login-submit', HTMLButtonElement);
  let alive = true;

  /** @param {string} text */
  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    const user = username.value.trim();
    const pass = password.value;
    if (!user || !pass) {
      showError(t('login.missing'));
      (user ? password : username).focus();
      return;
    }
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = t('login.busy');
    try {
      await api.signIn(user, pass);
      if (alive) opts.onSignedIn();
    } catch (err) {
      if (!alive) return;
      if (err instanceof api.ApiError && (err.code === 'bad_credentials' || err.status === 401)) {
        showError(t('login.badCredentials'));
        password.value = '';
        password.focus();
      } else {
        showError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      if (alive) {
        submit.disabled = false;
        submit.textContent = t('login.submit');
      }
    }
  });

  root.append(h('div', { class: 'login-page' }, form));
  username.focus();
  return () => { alive = false; };
}
