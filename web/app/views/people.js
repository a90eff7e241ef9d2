// #/people (admin): accounts with filters, create and edit, password reset.

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { t, tn } from '../strings.js';
import { replaceHash } from '../router.js';
import { alertBox, errorText, heading, roleLabel, setTitle } from './common.js';
import { field, formStatus, generatePassword, modal, select, setOptions } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').User} User */
/** @typedef {import('../types.js').Group} Group */
/** @typedef {import('../types.js').Role} Role */

/** @type {Role[]} */
const ROLES = ['admin', 'lecturer', 'operator', 'student'];

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {URLSearchParams} query
 * @returns {() => void}
 */
export function mountPeople(root, ctx, query) {
  setTitle(t('people.title'));
  let destroyed = false;
  let loadToken = 0;
  /** @type {Group[]} */
  let groups = [];
  /** @type {User[]} */
  let users = [];

  const siteOptions = () => [...ctx.sites.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ value: s.id, label: s.name }));
  const roleOptions = ROLES.map((r) => ({ value: r, label: roleLabel(r) }));
  /** @param {string} [siteId] */
  const groupOptions = (siteId) => groups.filter((g) => !siteId || g.siteId === siteId)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((g) => ({ value: g.id, label: siteId ? g.name : `${g.name} (${ctx.sites.get(g.siteId)?.name ?? g.siteId})` }));

  const fRole = select({ id: 'pf-role', options: roleOptions, allLabel: t('people.allRoles'), value: query.get('role') ?? '' });
  const fSite = select({ id: 'pf-site', options: siteOptions(), allLabel: t('people.allSites'), value: query.get('siteId') ?? '' });
  const fGroup = select({ id: 'pf-group', options: [], allLabel: t('people.allGroups') });
  const fActive = select({
    id: 'pf-active', value: query.get('active') ?? '', allLabel: t('people.allStates'),
    options: [{ value: 'true', label: t('state.filter.active') }, { value: 'false', label: t('state.filter.inactive') }],
  });
  const wantGroup = query.get('groupId') ?? '';

  const filters = h('form', { class: 'filters', 'aria-label': t('common.filters'), role: 'search' },
    h('div', { class: 'field' }, h('label', { for: 'pf-role', text: t('people.filterRole') }), fRole),
    h('div', { class: 'field' }, h('label', { for: 'pf-site', text: t('people.filterSite') }), fSite),
    h('div', { class: 'field' }, h('label', { for: 'pf-group', text: t('people.filterGroup') }), fGroup),
    h('div', { class: 'field' }, h('label', { for: 'pf-active', text: t('people.filterActive') }), fActive));
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  for (const s of [fRole, fSite, fGroup, fActive]) {
    s.addEventListener('change', () => {
      if (s === fSite) setOptions(fGroup, groupOptions(fSite.value), t('people.allGroups'));
      void load();
    });
  }

  const count = h('p', { class: 'muted small', id: 'people-count', 'aria-live': 'polite' });
  const status = formStatus();
  const tableBox = h('div', null, h('p', { class: 'muted', text: t('app.loading') }));
  const newBtn = h('button', { type: 'button', class: 'button button-primary', id: 'user-new', text: t('people.new') });
  newBtn.addEventListener('click', () => editUser(null));

  async function load() {
    const token = ++loadToken;
    const q = new URLSearchParams();
    /** @type {Record<string, string>} */
    const f = { role: fRole.value, siteId: fSite.value, groupId: fGroup.value, active: fActive.value };
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    replaceHash(`#/people${q.toString() ? `?${q}` : ''}`);
    try {
      const got = await api.users(f);
      if (destroyed || token !== loadToken) return;
      // The server filters; filter again in case it ignores a parameter.
      users = got.filter((u) => (!f.role || u.role === f.role) && (!f.siteId || u.siteId === f.siteId) &&
        (!f.groupId || u.groupId === f.groupId) && (!f.active || String(u.active !== false) === f.active));
      render();
    } catch (err) {
      if (destroyed || token !== loadToken) return;
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => void load());
      replace(tableBox, alertBox(t('common.loadFailed', { message: errorText(err) }), retry));
    }
  }

  function render() {
    count.textContent = tn('people.count', users.length);
    if (users.length === 0) {
      replace(tableBox, h('p', { class: 'lecture-empty muted', text: t('people.empty') }));
      return;
    }
    const sorted = [...users].sort((a, b) => a.displayName.localeCompare(b.displayName));
    const groupName = (/** @type {string | undefined} */ id) => (id ? groups.find((g) => g.id === id)?.name ?? id : t('common.none'));
    replace(tableBox, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'users-table' },
      h('thead', null, h('tr', null,
        [t('people.col.name'), t('people.col.username'), t('people.col.role'), t('people.col.site'), t('people.col.group'), t('people.col.status'), t('people.col.actions')]
          .map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', null, sorted.map((u) => {
        const active = u.active !== false;
        const edit = h('button', { type: 'button', class: 'button button-quiet', text: t('people.edit'), 'aria-label': t('people.editLabel', { name: u.displayName }), dataset: { action: 'edit-user', userId: u.id } });
        edit.addEventListener('click', () => editUser(u));
        const reset = h('button', { type: 'button', class: 'button button-quiet', text: t('people.reset'), 'aria-label': t('people.resetLabel', { name: u.displayName }), dataset: { action: 'reset-password', userId: u.id } });
        reset.addEventListener('click', () => resetPassword(u));
        return h('tr', { class: active ? '' : 'row-inactive', dataset: { userId: u.id } },
          h('th', { scope: 'row', text: u.displayName }),
          h('td', { class: 'mono', text: u.username }),
          h('td', { text: roleLabel(u.role) }),
          h('td', { text: ctx.sites.get(u.siteId)?.name ?? u.siteId }),
          h('td', { text: groupName(u.groupId) }),
          h('td', null, h('span', { class: active ? 'badge badge-live' : 'badge badge-ended', text: active ? t('people.active') : t('people.inactive') })),
          h('td', { class: 'row-actions' }, edit, reset,
            u.role === 'student' ? h('a', {
              class: 'button button-quiet', href: `#/people/${encodeURIComponent(u.id)}/attendance`, text: t('hist.link'),
              'aria-label': t('hist.linkLabel', { name: u.displayName }), dataset: { action: 'attendance-history', userId: u.id },
            }) : null));
      })))));
  }

  /** @param {User | null} user */
  function editUser(user) {
    const m = modal({ title: user ? t('people.editTitle', { name: user.displayName }) : t('people.createTitle') });
    const st = formStatus();
    const username = field('uf-username', t('people.username'), h('input', { type: 'text', maxlength: 64, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true }), { hint: t('people.usernameHint') });
    const name = field('uf-displayName', t('people.displayName'), h('input', { type: 'text', maxlength: 200, autocomplete: 'off', required: true }));
    const role = field('uf-role', t('people.role'), select({ id: 'uf-role', options: roleOptions, value: user?.role ?? 'student' }));
    const site = field('uf-siteId', t('people.site'), select({ id: 'uf-siteId', options: siteOptions(), value: user?.siteId ?? ctx.user.siteId }));
    const groupSel = select({ id: 'uf-groupId', options: [], allLabel: t('people.groupNone') });
    const group = field('uf-groupId', t('people.group'), groupSel, { hint: t('people.groupStudentsOnly') });
    const pwInput = h('input', { type: 'text', autocomplete: 'new-password', spellcheck: 'false', class: 'mono', minlength: 8, value: user ? '' : generatePassword() });
    const gen = h('button', { type: 'button', class: 'button', text: t('people.generate') });
    gen.addEventListener('click', () => { pwInput.value = generatePassword(); pwInput.focus(); });
    const password = field('uf-password', t('people.password'), pwInput, { hint: t('people.passwordHint'), extra: h('div', { class: 'inline-actions' }, gen) });
    const activeBox = h('input', { type: 'checkbox', id: 'uf-active', checked: user ? user.active !== false : true });
    const active = h('div', { class: 'field' },
      h('div', { class: 'check' }, activeBox, h('label', { for: 'uf-active', text: t('people.activeToggle') })),
      h('p', { class: 'field-hint', text: t('people.activeHint') }));

    const syncGroups = () => {
      setOptions(groupSel, groupOptions(site.control.value), t('people.groupNone'));
      groupSel.disabled = role.control.value !== 'student';
      if (groupSel.disabled) groupSel.value = '';
    };
    site.control.addEventListener('change', syncGroups);
    role.control.addEventListener('change', syncGroups);
    syncGroups();
    if (user) {
      username.control.value = user.username;
      username.control.disabled = true;
      name.control.value = user.displayName;
      groupSel.value = user.groupId ?? '';
    }
    const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'uf-submit', text: user ? t('common.save') : t('common.create') });
    const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
    cancel.addEventListener('click', () => m.close());
    const form = h('form', { id: 'user-form', novalidate: true },
      st.el, username.wrap, name.wrap, h('div', { class: 'field-row' }, role.wrap, site.wrap), group.wrap,
      user ? active : password.wrap,
      h('div', { class: 'dialog-actions' }, cancel, submit));
    m.body.append(form);
    (user ? name : username).control.focus();
    /** @type {Record<string, import('./ui.js').Field>} */
    const byName = { username, displayName: name, role, siteId: site, groupId: group, password };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      for (const f of Object.values(byName)) f.clear();
      st.clear();
      const body = {
        username: username.control.value.trim(), displayName: name.control.value.trim(),
        role: /** @type {Role} */ (role.control.value), siteId: site.control.value, groupId: groupSel.value, password: pwInput.value,
      };
      let ok = true;
      if (!user && !body.username) { username.setError(t('people.err.username')); ok = false; }
      if (!body.displayName) { name.setError(t('people.err.displayName')); ok = false; }
      if (!body.siteId) { site.setError(t('people.err.site')); ok = false; }
      if (!user && body.password.length < 8) { password.setError(t('people.err.password')); ok = false; }
      if (!ok) {
        const bad = form.querySelector('[aria-invalid="true"]');
        if (bad instanceof HTMLElement) bad.focus();
        return;
      }
      submit.disabled = true;
      try {
        if (user) {
          /** @type {Parameters<typeof api.updateUser>[1]} */
          const patch = {};
          if (body.displayName !== user.displayName) patch.displayName = body.displayName;
          if (body.role !== user.role) patch.role = body.role;
          if (body.siteId !== user.siteId) patch.siteId = body.siteId;
          if (body.groupId !== (user.groupId ?? '')) patch.groupId = body.groupId;
          if (activeBox.checked !== (user.active !== false)) patch.active = activeBox.checked;
          const saved = Object.keys(patch).length ? await api.updateUser(user.id, patch) : user;
          m.close();
          if (destroyed) return;
          status.ok(t('people.updated', { name: saved.displayName }));
        } else {
          const saved = await api.createUser(body);
          m.close();
          if (destroyed) return;
          status.ok(t('people.created', { username: saved.username }));
        }
        void load();
      } catch (err) {
        if (err instanceof api.ApiError && err.status === 409) {
          username.setError(t('people.taken'));
          username.control.focus();
        } else if (err instanceof api.ApiError && err.status === 400 && err.field && byName[err.field]) {
          const f = byName[err.field];
          f?.setError(errorText(err));
          f?.control.focus();
        } else {
          st.error(errorText(err));
        }
      } finally {
        submit.disabled = false;
      }
    });
  }

  /** @param {User} user */
  function resetPassword(user) {
    const m = modal({ title: t('people.resetTitle', { name: user.displayName }) });
    const st = formStatus();
    const pwInput = h('input', { type: 'text', autocomplete: 'new-password', spellcheck: 'false', class: 'mono', value: generatePassword() });
    const gen = h('button', { type: 'button', class: 'button', text: t('people.generate') });
    gen.addEventListener('click', () => { pwInput.value = generatePassword(); pwInput.focus(); });
    const pw = field('rp-password', t('people.newPassword'), pwInput, { hint: t('people.resetHint'), extra: h('div', { class: 'inline-actions' }, gen) });
    const submit = h('button', { type: 'submit', class: 'button button-danger', id: 'rp-submit', text: t('people.reset') });
    const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
    cancel.addEventListener('click', () => m.close());
    const form = h('form', { id: 'reset-form', novalidate: true }, st.el, pw.wrap, h('div', { class: 'dialog-actions' }, cancel, submit));
    m.body.append(form);
    pwInput.focus();
    pwInput.select();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      pw.clear();
      st.clear();
      if (pwInput.value.length < 8) {
        pw.setError(t('people.err.password'));
        pwInput.focus();
        return;
      }
      submit.disabled = true;
      try {
        await api.resetPassword(user.id, pwInput.value);
        // Show the result in place: the admin has to read the password out.
        const done = h('button', { type: 'button', class: 'button button-primary', text: t('common.close') });
        done.addEventListener('click', () => m.close());
        replace(m.body, h('div', { class: 'alert alert-ok', role: 'status', text: t('people.resetDone', { name: user.displayName }) }),
          h('p', { class: 'mono password-out', text: pwInput.value }),
          h('div', { class: 'dialog-actions' }, done));
        done.focus();
      } catch (err) {
        if (err instanceof api.ApiError && err.status === 400) pw.setError(errorText(err));
        else st.error(errorText(err));
        submit.disabled = false;
      }
    });
  }

  const importLink = h('a', { href: '#/people/import', class: 'button', id: 'user-import', text: t('people.import') });
  root.append(
    h('div', { class: 'page-head page-head-split' }, heading(t('people.title')), h('div', { class: 'page-actions' }, importLink, newBtn)),
    filters, status.el, count, tableBox);

  api.groups().then((g) => {
    if (destroyed) return;
    groups = g;
    setOptions(fGroup, groupOptions(fSite.value), t('people.allGroups'));
    if (wantGroup) fGroup.value = wantGroup;
    void load();
  }).catch(() => { if (!destroyed) void load(); });
  return () => { destroyed = true; };
}
