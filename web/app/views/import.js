// #/people/import (admin): check a CSV roster (dry run), list every error by
// line and column, then import it; generated passwords are shown once.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t, tn } from '../strings.js';
import { errorText, heading, setTitle } from './common.js';
import { formStatus } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').ImportResult} ImportResult */
/** @typedef {import('../types.js').ImportUser} ImportUser */

const MAX_BYTES = 1 << 20;

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @returns {() => void}
 */
export function mountImport(root, ctx) {
  setTitle(t('import.title'));
  let destroyed = false;
  /** The text that the last successful check found valid. */
  let validText = /** @type {string | null} */ (null);
  /** @type {Map<string, string>} */
  let groupNames = new Map();
  /** @type {string | null} */
  let downloadUrl = null;

  const file = h('input', { type: 'file', id: 'import-file', accept: '.csv,text/csv', 'aria-describedby': 'import-intro' });
  const text = h('textarea', { id: 'import-text', rows: 10, class: 'mono', spellcheck: 'false', 'aria-describedby': 'import-intro' });
  const check = h('button', { type: 'button', class: 'button', id: 'import-check', text: t('import.check') });
  const run = h('button', { type: 'button', class: 'button button-primary', id: 'import-run', text: t('import.run'), disabled: true });
  const status = formStatus();
  const result = h('div', { id: 'import-result' });

  function invalidate() {
    if (validText !== null && text.value !== validText) {
      validText = null;
      run.disabled = true;
      status.error(t('import.changed'));
    }
  }
  text.addEventListener('input', invalidate);

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    status.clear();
    if (f.size > MAX_BYTES) {
      status.error(t('import.tooBig'));
      return;
    }
    try {
      text.value = await f.text();
      invalidate();
      void doCheck();
    } catch {
      status.error(t('import.readFailed'));
    }
  });

  /** @param {string} id */
  const siteName = (id) => ctx.sites.get(id)?.name ?? id;
  /** @param {string} id */
  const groupName = (id) => groupNames.get(id) ?? id;

  /** @param {ImportResult} r */
  function errorsTable(r) {
    return h('section', { 'aria-labelledby': 'import-errors-h' },
      h('h2', { id: 'import-errors-h', text: t('import.errors') }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', id: 'import-errors' },
        h('thead', null, h('tr', null, [t('import.col.line'), t('import.col.column'), t('import.col.reason')].map((x) => h('th', { scope: 'col', text: x })))),
        h('tbody', null, r.errors.map((e) => h('tr', { class: 'row-error', dataset: { line: String(e.line) } },
          h('td', { class: 'num', text: String(e.line) }),
          h('td', { class: 'mono', text: e.column || t('common.none') }),
          h('td', { class: 'wrap', text: e.reason })))))));
  }

  /**
   * @param {ImportUser[]} users
   * @param {boolean} done passwords are final (after the import)
   */
  function usersTable(users, done) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', id: done ? 'import-created' : 'import-rows' },
      h('thead', null, h('tr', null,
        [t('import.col.line'), t('import.col.username'), t('import.col.name'), t('import.col.site'), t('import.col.group'), t('import.col.password')]
          .map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', null, users.map((u) => h('tr', { dataset: { line: String(u.line) } },
        h('td', { class: 'num', text: String(u.line) }),
        h('td', { class: 'mono', text: u.username }),
        h('td', { text: u.displayName }),
        h('td', { text: siteName(u.siteId) }),
        h('td', { text: u.groupId ? groupName(u.groupId) : t('common.none') }),
        u.password
          ? h('td', { class: 'mono', text: u.password })
          : h('td', { class: 'muted', text: done ? t('import.passwordGiven') : t('import.passwordGenerated') }))))));
  }

  async function doCheck() {
    status.clear();
    replace(result);
    run.disabled = true;
    validText = null;
    const csv = text.value;
    if (!csv.trim()) {
      status.error(t('import.empty'));
      text.focus();
      return;
    }
    if (new Blob([csv]).size > MAX_BYTES) {
      status.error(t('import.tooBig'));
      return;
    }
    check.disabled = true;
    check.textContent = t('import.checking');
    try {
      const r = await api.importUsers(csv, true);
      if (destroyed) return;
      if (r.valid && r.errors.length === 0) {
        validText = csv;
        run.disabled = false;
        status.ok(tn('import.valid', r.rows || r.users.length));
        replace(result, h('h2', { text: t('import.rows') }), usersTable(r.users, false));
      } else {
        status.error(tn('import.invalid', r.errors.length));
        replace(result, errorsTable(r));
      }
    } catch (err) {
      if (!destroyed) status.error(errorText(err));
    } finally {
      if (!destroyed) {
        check.disabled = false;
        check.textContent = t('import.check');
      }
    }
  }
  check.addEventListener('click', () => void doCheck());

  run.addEventListener('click', async () => {
    if (validText === null || text.value !== validText) return;
    run.disabled = true;
    check.disabled = true;
    run.textContent = t('import.running');
    status.clear();
    try {
      const r = await api.importUsers(validText, false);
      if (destroyed) return;
      if (!r.valid || r.errors.length) {
        status.error(tn('import.invalid', r.errors.length));
        replace(result, errorsTable(r));
        validText = null;
        return;
      }
      validText = null;
      text.value = '';
      file.value = '';
      status.ok(tn('import.done', r.created || r.users.length));
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      const csvOut = ['username,display_name,password', ...r.users.map((u) => [u.username, u.displayName, u.password ?? '']
        .map((v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(','))].join('\r\n');
      downloadUrl = URL.createObjectURL(new Blob([csvOut], { type: 'text/csv' }));
      replace(result,
        h('div', { class: 'alert alert-warn', role: 'alert', id: 'import-passwords-warning' }, h('p', { text: t('import.passwordsWarning') }),
          h('a', { class: 'button', href: downloadUrl, download: 'lecturelink-accounts.csv', text: t('import.download') })),
        usersTable(r.users, true));
      announce(t('import.passwordsWarning'));
    } catch (err) {
      if (!destroyed) status.error(errorText(err));
    } finally {
      if (!destroyed) {
        run.textContent = t('import.run');
        check.disabled = false;
      }
    }
  });

  root.append(
    h('div', { class: 'page-head' },
      h('a', { href: '#/people', class: 'back-link', text: `‹ ${t('import.back')}` }),
      heading(t('import.title')),
      h('p', { class: 'muted', id: 'import-intro', text: t('import.intro') })),
    h('div', { class: 'card import-card' },
      h('div', { class: 'field' }, h('label', { for: 'import-file', text: t('import.file') }), file),
      h('div', { class: 'field' }, h('label', { for: 'import-text', text: t('import.paste') }), text),
      h('div', { class: 'form-actions' }, check, run)),
    status.el,
    result);

  api.groups().then((gs) => { groupNames = new Map(gs.map((g) => [g.id, g.name])); }).catch(() => {});
  return () => {
    destroyed = true;
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  };
}
