// #/sites (admin): sites with their time zones, downlink budgets and
// network notes, and the student groups of each site.

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { LOCALE, t } from '../strings.js';
import { formatTime } from '../time.js';
import { alertBox, errorText, heading, setTitle } from './common.js';
import { field, formStatus, modal, select } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Site} Site */
/** @typedef {import('../types.js').Group} Group */

/** Zones offered first; any other IANA zone can be typed. */
export const COMMON_ZONES = ['Asia/Bishkek', 'Europe/Riga', 'Europe/Vilnius', 'Europe/Tallinn', 'Europe/Berlin', 'Asia/Almaty', 'Asia/Tashkent', 'Asia/Dushanbe', 'UTC'];

/** The largest downlink budget the server takes (kbit/s). */
export const MAX_DOWNLINK_KBPS = 10_000_000;

/**
 * Read the downlink budget field: a whole number of kbit/s from 0 to
 * MAX_DOWNLINK_KBPS ("" is 0, no budget); NaN for anything else.
 * @param {string} text
 * @returns {number}
 */
export function parseDownlink(text) {
  const v = text.trim();
  if (v === '') return 0;
  if (!/^\d+$/.test(v)) return NaN;
  const n = Number(v);
  return n <= MAX_DOWNLINK_KBPS ? n : NaN;
}

/**
 * Is zone a time zone this browser knows?
 * @param {string} zone
 */
export function validZone(zone) {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** All IANA zones the browser knows (for a datalist), or the common ones. */
function allZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return COMMON_ZONES;
  }
}

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @returns {() => void}
 */
export function mountSites(root, ctx) {
  setTitle(t('sites.title'));
  let destroyed = false;
  /** @type {Group[]} */
  let groups = [];

  const sitesStatus = formStatus();
  const sitesBody = h('div', null, h('p', { class: 'muted', text: t('app.loading') }));
  const newSite = h('button', { type: 'button', class: 'button button-primary', id: 'site-new', text: t('sites.new') });
  newSite.addEventListener('click', () => editSite(null));

  const groupsBody = h('div', null, h('p', { class: 'muted', text: t('app.loading') }));
  const groupStatus = formStatus();
  const gName = field('group-name', t('groups.name'), h('input', { type: 'text', maxlength: 100, autocomplete: 'off', required: true }));
  const gSite = field('group-site', t('groups.site'), select({ id: 'group-site', options: sites(), value: ctx.user.siteId }));
  const gSubmit = h('button', { type: 'submit', class: 'button button-primary', id: 'group-create', text: t('groups.create') });
  const gForm = h('form', { class: 'inline-form', id: 'group-form', novalidate: true, 'aria-labelledby': 'groups-new' },
    h('h3', { id: 'groups-new', text: t('groups.new') }),
    groupStatus.el,
    h('div', { class: 'field-row' }, gName.wrap, gSite.wrap),
    h('div', { class: 'form-actions' }, gSubmit));

  function sites() {
    return [...ctx.sites.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ value: s.id, label: s.name }));
  }

  function renderSites() {
    const list = [...ctx.sites.values()].sort((a, b) => a.name.localeCompare(b.name));
    const now = new Date();
    replace(sitesBody, h('div', { class: 'table-wrap' },
      h('table', { class: 'table', id: 'sites-table' },
        h('thead', null, h('tr', null,
          [t('sites.col.name'), t('sites.col.id'), t('sites.col.institution'), t('sites.col.zone'), t('sites.col.now'), t('sites.col.downlink'), t('sites.col.notes'), t('sites.col.actions')]
            .map((x) => h('th', { scope: 'col', text: x })))),
        h('tbody', null, list.map((s) => {
          const edit = h('button', { type: 'button', class: 'button button-quiet', text: t('common.edit'), 'aria-label': t('sites.editLabel', { name: s.name }), dataset: { action: 'edit-site', siteId: s.id } });
          edit.addEventListener('click', () => editSite(s));
          return h('tr', { dataset: { siteId: s.id } },
            h('th', { scope: 'row', text: s.name }),
            h('td', { class: 'mono', text: s.id }),
            h('td', { text: s.institution }),
            h('td', { text: s.timeZone }),
            h('td', { class: 'num', text: validZone(s.timeZone) ? formatTime(now, s.timeZone) : '' }),
            h('td', { class: 'num downlink', dataset: { downlinkKbps: String(s.downlinkKbps ?? 0) },
              text: s.downlinkKbps ? t('sites.downlinkValue', { value: s.downlinkKbps.toLocaleString(LOCALE) }) : t('common.none') }),
            h('td', { class: 'wrap notes', text: s.networkNotes || t('common.none') }),
            h('td', null, edit));
        })))));
  }

  function renderGroups() {
    if (groups.length === 0) {
      replace(groupsBody, h('p', { class: 'lecture-empty muted', text: t('groups.empty') }));
      return;
    }
    const sorted = [...groups].sort((a, b) =>
      (ctx.sites.get(a.siteId)?.name ?? a.siteId).localeCompare(ctx.sites.get(b.siteId)?.name ?? b.siteId) || a.name.localeCompare(b.name));
    replace(groupsBody, h('div', { class: 'table-wrap' },
      h('table', { class: 'table', id: 'groups-table' },
        h('thead', null, h('tr', null, [t('groups.col.name'), t('groups.col.site'), t('groups.col.id')].map((x) => h('th', { scope: 'col', text: x })))),
        h('tbody', null, sorted.map((g) => h('tr', { dataset: { groupId: g.id } },
          h('th', { scope: 'row', text: g.name }),
          h('td', { text: ctx.sites.get(g.siteId)?.name ?? g.siteId }),
          h('td', { class: 'mono small', text: g.id })))))));
  }

  async function loadGroups() {
    try {
      groups = await api.groups();
      if (!destroyed) renderGroups();
    } catch (err) {
      if (!destroyed) replace(groupsBody, alertBox(t('common.loadFailed', { message: errorText(err) })));
    }
  }

  gForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    gName.clear();
    groupStatus.clear();
    const name = gName.control.value.trim();
    if (!name) {
      gName.setError(t('groups.err.name'));
      gName.control.focus();
      return;
    }
    gSubmit.disabled = true;
    try {
      const g = await api.createGroup({ name, siteId: gSite.control.value });
      if (destroyed) return;
      groups.push(g);
      renderGroups();
      gName.control.value = '';
      groupStatus.ok(t('groups.created', { name: g.name }));
    } catch (err) {
      if (destroyed) return;
      if (err instanceof api.ApiError && err.status === 400 && (!err.field || err.field === 'name')) gName.setError(errorText(err));
      else groupStatus.error(errorText(err));
    } finally {
      gSubmit.disabled = false;
    }
  });

  /** @param {Site | null} site */
  function editSite(site) {
    const m = modal({ title: site ? t('sites.editTitle', { name: site.name }) : t('sites.createTitle'), wide: false });
    const status = formStatus();
    const id = field('site-id', t('sites.id'), h('input', { type: 'text', maxlength: 40, autocomplete: 'off', spellcheck: 'false', required: true }), { hint: t('sites.idHint') });
    const name = field('site-name', t('sites.name'), h('input', { type: 'text', maxlength: 100, autocomplete: 'off', required: true }));
    const inst = field('site-institution', t('sites.institution'), h('input', { type: 'text', maxlength: 200, autocomplete: 'off' }));
    const zoneSel = select({
      id: 'site-zone',
      options: [...COMMON_ZONES.map((z) => ({ value: z, label: z })), { value: '__other', label: t('sites.zoneOther') }],
      value: site ? (COMMON_ZONES.includes(site.timeZone) ? site.timeZone : '__other') : 'Europe/Riga',
    });
    const zone = field('site-zone', t('sites.zone'), zoneSel);
    const listId = 'site-zone-list';
    const custom = field('site-zone-custom', t('sites.zoneCustom'),
      h('input', { type: 'text', list: listId, autocomplete: 'off', spellcheck: 'false', value: site && !COMMON_ZONES.includes(site.timeZone) ? site.timeZone : '' }),
      { hint: t('sites.zoneCustomHint'), extra: h('datalist', { id: listId }, allZones().map((z) => h('option', { value: z }))) });
    const notes = field('site-notes', t('sites.notes'), h('textarea', { rows: 3, maxlength: 2000 }), { hint: t('sites.notesHint') });
    const downlink = field('site-downlink', t('sites.downlink'),
      h('input', { type: 'number', min: 0, max: MAX_DOWNLINK_KBPS, step: 1, inputmode: 'numeric', value: String(site?.downlinkKbps ?? 0) }),
      { hint: t('sites.downlinkHint') });
    if (site) {
      id.control.value = site.id;
      id.control.disabled = true;
      name.control.value = site.name;
      inst.control.value = site.institution;
      notes.control.value = site.networkNotes ?? '';
    }
    const syncZone = () => { custom.wrap.hidden = zoneSel.value !== '__other'; };
    zoneSel.addEventListener('change', syncZone);
    syncZone();
    const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'site-save', text: site ? t('common.save') : t('common.create') });
    const cancel = h('button', { type: 'button', class: 'button', text: t('common.cancel') });
    cancel.addEventListener('click', () => m.close());
    const form = h('form', { id: 'site-form', novalidate: true },
      status.el, id.wrap, name.wrap, inst.wrap, zone.wrap, custom.wrap, downlink.wrap, notes.wrap,
      h('div', { class: 'dialog-actions' }, cancel, submit));
    m.body.append(form);
    (site ? name : id).control.focus();
    /** @type {Record<string, import('./ui.js').Field>} */
    const byName = { id, name, institution: inst, networkNotes: notes, downlinkKbps: downlink };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      for (const f of [id, name, inst, zone, custom, notes, downlink]) f.clear();
      status.clear();
      const tz = zoneSel.value === '__other' ? custom.control.value.trim() : zoneSel.value;
      const body = {
        id: id.control.value.trim(), name: name.control.value.trim(), institution: inst.control.value.trim(),
        timeZone: tz, networkNotes: notes.control.value, downlinkKbps: parseDownlink(downlink.control.value),
      };
      let ok = true;
      if (!site && !/^[a-z0-9][a-z0-9-]{0,39}$/.test(body.id)) { id.setError(t('sites.err.id')); ok = false; }
      if (!body.name) { name.setError(t('sites.err.name')); ok = false; }
      if (!validZone(tz)) { (zoneSel.value === '__other' ? custom : zone).setError(t('sites.err.zone')); ok = false; }
      if (body.networkNotes.length > 2000) { notes.setError(t('sites.err.notes')); ok = false; }
      if (Number.isNaN(body.downlinkKbps)) { downlink.setError(t('sites.err.downlink')); ok = false; }
      if (!ok) {
        const bad = form.querySelector('[aria-invalid="true"]');
        if (bad instanceof HTMLElement) bad.focus();
        return;
      }
      submit.disabled = true;
      try {
        const saved = site
          ? await api.updateSite(site.id, { name: body.name, institution: body.institution, timeZone: body.timeZone, networkNotes: body.networkNotes, downlinkKbps: body.downlinkKbps })
          : await api.createSite(body);
        ctx.sites.set(saved.id, saved);
        if (saved.id === ctx.site.id) ctx.site = saved;
        m.close();
        if (destroyed) return;
        renderSites();
        gSite.control.replaceChildren(...sites().map((o) => h('option', { value: o.value, text: o.label })));
        sitesStatus.ok(site ? t('sites.updated', { name: saved.name }) : t('sites.created', { name: saved.name }));
      } catch (err) {
        const activeZone = zoneSel.value === '__other' ? custom : zone;
        const f = err instanceof api.ApiError && err.status === 400 && err.field
          ? (err.field === 'timeZone' ? activeZone : byName[err.field]) : undefined;
        if (f) {
          f.setError(errorText(err));
          f.control.focus();
        } else if (err instanceof api.ApiError && err.status === 400 && /zone/i.test(err.message)) {
          (zoneSel.value === '__other' ? custom : zone).setError(errorText(err));
        } else {
          status.error(errorText(err));
        }
      } finally {
        submit.disabled = false;
      }
    });
  }

  root.append(
    h('div', { class: 'page-head page-head-split' }, heading(t('sites.title')), h('div', { class: 'page-actions' }, newSite)),
    h('section', { 'aria-labelledby': 'sites-h' }, h('h2', { id: 'sites-h', text: t('sites.sites') }), sitesStatus.el, sitesBody),
    h('section', { class: 'section', 'aria-labelledby': 'groups-h' },
      h('h2', { id: 'groups-h', text: t('groups.title') }),
      h('div', { class: 'split' }, groupsBody, h('div', { class: 'card' }, gForm))));

  renderSites();
  void ctx.refreshSites().then(() => { if (!destroyed) renderSites(); }).catch(() => {});
  void loadGroups();
  return () => { destroyed = true; };
}
