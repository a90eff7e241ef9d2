// The administrator's "New lecture" form. The date and time are read in the
// chosen origin site's time zone and sent as UTC.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t } from '../strings.js';
import { dateKeyIn, formatTime, hhmmIn, toRfc3339, zonedToUtc } from '../time.js';
import { errorText } from './common.js';
import { checkGroup, conflictList } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../strings.js').MessageId} MessageId */

/** @typedef {'title' | 'topic' | 'siteId' | 'date' | 'time' | 'durationMinutes' | 'lecturerId'} Field */

/**
 * Which form field a 400 reply is about: the `field` the server names, or
 * else a field name found in the message.
 * @param {api.ApiError} err
 * @returns {Field | null}
 */
export function fieldOfError(err) {
  /** @type {Record<string, Field>} */
  const names = {
    title: 'title', topic: 'topic', siteid: 'siteId', site: 'siteId', start: 'time', date: 'date', time: 'time',
    durationminutes: 'durationMinutes', duration: 'durationMinutes', lecturerid: 'lecturerId', lecturer: 'lecturerId',
  };
  if (err.field) {
    const f = names[err.field.toLowerCase()];
    if (f) return f;
  }
  const msg = err.message.toLowerCase();
  for (const key of ['durationminutes', 'lecturerid', 'siteid', 'start', 'title', 'topic', 'duration', 'lecturer', 'site']) {
    if (new RegExp(`\\b${key}\\b`).test(msg)) return names[key] ?? null;
  }
  return null;
}

/**
 * @param {AppContext} ctx
 * @param {(lecture: Lecture, dateKey: string) => void} onCreated dateKey: its day in the viewer's zone
 */
export function lectureForm(ctx, onCreated) {
  let destroyed = false;
  const sites = [...ctx.sites.values()].sort((a, b) => a.name.localeCompare(b.name));

  /**
   * @param {Field} name
   * @param {MessageId} label
   * @param {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} control
   * @param {string} [hint]
   */
  function field(name, label, control, hint) {
    const id = `lf-${name}`;
    control.id = id;
    control.name = name;
    const err = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    const described = [hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' ');
    control.setAttribute('aria-describedby', described);
    const wrap = h('div', { class: 'field', dataset: { field: name } },
      h('label', { for: id, text: t(label) }),
      hint ? h('p', { class: 'field-hint', id: `${id}-hint`, text: hint }) : null,
      control,
      err);
    return { wrap, control, err };
  }

  const title = field('title', 'form.field.title', h('input', { type: 'text', maxlength: 200, required: true, autocomplete: 'off' }));
  const topic = field('topic', 'form.field.topic', h('textarea', { rows: 2, maxlength: 500 }), t('form.field.topicHint'));
  const site = field('siteId', 'form.field.site',
    h('select', { required: true }, sites.map((s) => h('option', { value: s.id, text: `${s.name} — ${s.institution}`, selected: s.id === ctx.user.siteId }))),
    t('form.field.siteHint'));
  const date = field('date', 'form.field.date', h('input', { type: 'date', required: true }));
  const time = field('time', 'form.field.time', h('input', { type: 'time', required: true, step: 60 }));
  const duration = field('durationMinutes', 'form.field.duration',
    h('input', { type: 'number', min: 5, max: 720, step: 5, value: 90, required: true, inputmode: 'numeric' }));
  const lecturer = field('lecturerId', 'form.field.lecturer',
    h('select', { required: true, disabled: true }, h('option', { value: '', text: t('app.loading') })));

  // Participating sites and groups (optional; with neither, the lecture is open to everyone).
  const siteBoxes = checkGroup({ id: 'lf-sites', legend: t('sf.sites'), name: 'lf-site', hint: t('sf.sitesHint') });
  const groupBoxes = checkGroup({ id: 'lf-groups', legend: t('sf.groups'), name: 'lf-group', hint: t('sf.groupsHint'), empty: t('sf.groupsNone') });
  /** @type {import('../types.js').Group[]} */
  let allGroups = [];
  function renderSiteBoxes() {
    const origin = /** @type {HTMLSelectElement} */ (site.control).value;
    const keep = siteBoxes.values();
    siteBoxes.setOptions(sites.filter((x) => x.id !== origin).map((x) => ({ value: x.id, label: x.name, note: `(${x.timeZone})` })), keep);
    renderGroupBoxes();
  }
  function renderGroupBoxes() {
    const allowed = new Set([/** @type {HTMLSelectElement} */ (site.control).value, ...siteBoxes.values()]);
    const keep = groupBoxes.values();
    groupBoxes.setOptions(allGroups.filter((g) => allowed.has(g.siteId)).sort((a, b) => a.name.localeCompare(b.name))
      .map((g) => ({ value: g.id, label: g.name, note: `(${ctx.sites.get(g.siteId)?.name ?? g.siteId})` })), keep);
  }
  siteBoxes.el.addEventListener('change', renderGroupBoxes);
  site.control.addEventListener('change', renderSiteBoxes);
  renderSiteBoxes();
  void api.groups().then((gs) => {
    if (destroyed) return;
    allGroups = gs;
    renderGroupBoxes();
  }).catch(() => { /* groups stay empty */ });

  const fields = { title, topic, siteId: site, date, time, durationMinutes: duration, lecturerId: lecturer };

  const zoneHint = h('p', { class: 'field-hint', id: 'lf-zone' });
  const preview = h('p', { class: 'preview', id: 'lf-preview', 'aria-live': 'polite' });
  const formError = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const formOk = h('div', { class: 'alert alert-ok', role: 'status', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'lf-submit', text: t('form.submit') });

  const form = h('form', { class: 'card lecture-form', novalidate: true, 'aria-labelledby': 'lf-heading' },
    h('h2', { id: 'lf-heading', text: t('form.title') }),
    formError, formOk,
    title.wrap, topic.wrap,
    site.wrap,
    h('div', { class: 'field-row' }, date.wrap, time.wrap),
    zoneHint, preview,
    lecturer.wrap,
    siteBoxes.el, groupBoxes.el,
    h('div', { class: 'field-row field-row-narrow' }, duration.wrap),
    h('div', { class: 'form-actions' }, submit));

  const siteSel = /** @type {HTMLSelectElement} */ (site.control);
  const dateIn = /** @type {HTMLInputElement} */ (date.control);
  const timeIn = /** @type {HTMLInputElement} */ (time.control);
  const lecturerSel = /** @type {HTMLSelectElement} */ (lecturer.control);

  function selectedSite() {
    return ctx.sites.get(siteSel.value) ?? ctx.site;
  }

  // Defaults: the next full hour, in the admin's own site.
  {
    const zone = selectedSite().timeZone;
    const inHour = new Date(Date.now() + 3600_000);
    dateIn.value = dateKeyIn(zone, inHour);
    timeIn.value = `${hhmmIn(zone, inHour).slice(0, 2)}:00`;
  }

  function startInstant() {
    return zonedToUtc(dateIn.value, timeIn.value, selectedSite().timeZone);
  }

  function updatePreview() {
    const s = selectedSite();
    zoneHint.textContent = t('form.zoneHint', { site: s.name, zone: s.timeZone });
    const at = startInstant();
    if (!at) {
      preview.textContent = '';
      return;
    }
    /** @type {Map<string, string[]>} zone → site names, the chosen site first */
    const zones = new Map();
    for (const x of [s, ...sites.filter((y) => y.id !== s.id)]) {
      zones.set(x.timeZone, [...(zones.get(x.timeZone) ?? []), x.name]);
    }
    /** @type {string[]} */
    const parts = [];
    for (const [zone, names] of zones) {
      parts.push(t('form.previewItem', { time: formatTime(at.date, zone), site: names.join(t('form.previewSites')) }));
    }
    parts.push(t('form.previewUtc', { time: formatTime(at.date, 'UTC') }));
    preview.textContent = t('form.preview', { times: parts.join(t('form.previewSep')) });
  }
  for (const c of [siteSel, dateIn, timeIn]) c.addEventListener('input', updatePreview);
  siteSel.addEventListener('change', updatePreview);
  updatePreview();

  void api.users('lecturer').then((users) => {
    if (destroyed) return;
    const sorted = users.filter((u) => u.role === 'lecturer').sort((a, b) => a.displayName.localeCompare(b.displayName));
    replace(lecturerSel,
      h('option', { value: '', text: sorted.length ? t('form.field.lecturerNone') : t('form.noLecturers') }),
      sorted.map((u) => h('option', { value: u.id, text: `${u.displayName} (${ctx.sites.get(u.siteId)?.name ?? u.siteId})` })));
    lecturerSel.disabled = false;
  }).catch((err) => {
    if (destroyed) return;
    replace(lecturerSel, h('option', { value: '', text: errorText(err) }));
  });

  /**
   * @param {Field} name
   * @param {string} text
   */
  function setError(name, text) {
    const f = fields[name];
    f.err.textContent = text;
    f.err.hidden = false;
    f.control.setAttribute('aria-invalid', 'true');
    f.wrap.classList.add('has-error');
  }

  function clearErrors() {
    for (const f of Object.values(fields)) {
      f.err.hidden = true;
      f.err.textContent = '';
      f.control.removeAttribute('aria-invalid');
      f.wrap.classList.remove('has-error');
    }
    formError.hidden = true;
  }

  function focusFirstError() {
    const bad = form.querySelector('[aria-invalid="true"]');
    if (bad instanceof HTMLElement) bad.focus();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    formOk.hidden = true;
    const titleV = /** @type {HTMLInputElement} */ (title.control).value.trim();
    const topicV = /** @type {HTMLTextAreaElement} */ (topic.control).value.trim();
    const durV = Number(/** @type {HTMLInputElement} */ (duration.control).value);
    let ok = true;
    if (titleV.length < 1 || titleV.length > 200) { setError('title', t('form.err.title')); ok = false; }
    if (topicV.length > 500) { setError('topic', t('form.err.topic')); ok = false; }
    if (!ctx.sites.has(siteSel.value)) { setError('siteId', t('form.err.site')); ok = false; }
    if (!dateIn.value) { setError('date', t('form.err.date')); ok = false; }
    if (!timeIn.value) { setError('time', t('form.err.time')); ok = false; }
    const at = startInstant();
    if (dateIn.value && timeIn.value && at && !at.exists) {
      setError('time', t('form.err.timeGap', { zone: selectedSite().timeZone }));
      ok = false;
    }
    if (!Number.isInteger(durV) || durV < 5 || durV > 720) { setError('durationMinutes', t('form.err.duration')); ok = false; }
    if (!lecturerSel.value) { setError('lecturerId', t('form.err.lecturer')); ok = false; }
    if (!ok || !at) {
      formError.textContent = t('form.fixErrors');
      formError.hidden = false;
      focusFirstError();
      return;
    }

    submit.disabled = true;
    submit.textContent = t('form.busy');
    try {
      const created = await api.createLecture({
        title: titleV, topic: topicV, start: toRfc3339(at.date), durationMinutes: durV,
        lecturerId: lecturerSel.value, siteId: siteSel.value,
        siteIds: siteBoxes.values(), groupIds: groupBoxes.values(),
      });
      if (destroyed) return;
      formOk.textContent = t('form.created', { title: created.title });
      formOk.hidden = false;
      announce(formOk.textContent);
      /** @type {HTMLInputElement} */ (title.control).value = '';
      /** @type {HTMLTextAreaElement} */ (topic.control).value = '';
      onCreated(created, dateKeyIn(ctx.site.timeZone, new Date(created.start)));
    } catch (err) {
      if (destroyed) return;
      const f = err instanceof api.ApiError && err.status === 400 ? fieldOfError(err) : null;
      if (f) {
        setError(f, errorText(err).replace(/^[\w ]+: invalid input: /, ''));
        formError.textContent = t('form.fixErrors');
        focusFirstError();
      } else if (err instanceof api.ApiError && err.status === 409 && err.conflicts.length) {
        formError.replaceChildren(h('p', { text: errorText(err) }),
          conflictList(err.conflicts, { ctx, zone: selectedSite().timeZone }));
      } else {
        formError.textContent = errorText(err);
      }
      formError.hidden = false;
    } finally {
      if (!destroyed) {
        submit.disabled = false;
        submit.textContent = t('form.submit');
      }
    }
  });

  return {
    el: form,
    destroy() { destroyed = true; },
  };
}
