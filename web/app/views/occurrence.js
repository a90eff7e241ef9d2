// The occurrence panel (admin): one lecture's details in a dialog; move it,
// change its topic or lecturer, or cancel it. 409 conflicts are listed.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t } from '../strings.js';
import { dateKeyIn, formatDateTime, hhmmIn, toRfc3339, zonedToUtc } from '../time.js';
import { lectureHash } from '../router.js';
import { errorText, lectureBadge } from './common.js';
import { confirmDialog, field, formStatus, lectureZones, modal, select, showApiError, siteNames, zoneTimes } from './ui.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').User} User */
/** @typedef {import('../types.js').Group} Group */

/**
 * @typedef {object} OccurrenceOptions
 * @property {Map<string, User>} lecturers active lecturers by id
 * @property {Map<string, Group>} groups
 * @property {(l: Lecture) => void} onChanged after a save or a cancel
 */

/**
 * @param {AppContext} ctx
 * @param {Lecture} lecture
 * @param {OccurrenceOptions} opts
 */
export function openOccurrence(ctx, lecture, opts) {
  const m = modal({ title: lecture.title, wide: true });
  m.dialog.id = 'occurrence-panel';
  m.dialog.dataset.lectureId = lecture.id;
  render(lecture);

  /** @param {string} text */
  function flash(text) {
    m.body.prepend(h('div', { class: 'alert alert-ok', role: 'status', text }));
    announce(text);
  }

  /** @param {Lecture} l */
  function render(l) {
    m.setTitle(l.title);
    const zone = l.timeZone || l.siteTimeZone || ctx.site.timeZone;
    const [viewer, origin] = lectureZones(l, ctx);
    const groupNames = (l.groupIds ?? []).map((id) => opts.groups.get(id)?.name ?? id);
    const facts = h('dl', { class: 'facts' },
      h('dt', { text: t('occ.when') }),
      h('dd', null,
        h('div', { text: formatDateTime(l.start, ctx.site.timeZone) }),
        viewer && origin ? zoneTimes(l.start, viewer, origin) : null,
        h('span', { class: 'muted small', text: ` · ${t('lecture.duration', { minutes: l.durationMinutes })}` })),
      h('dt', { text: t('occ.state') }),
      h('dd', null, lectureBadge(l.state), l.modified ? h('span', { class: 'tag', text: t('occ.modified') }) : null),
      l.state === 'cancelled' ? [h('dt', { text: t('lecture.state.cancelled') }),
        h('dd', { text: l.cancelReason ? t('occ.cancelReason', { reason: l.cancelReason }) : t('occ.cancelledNoReason') })] : null,
      h('dt', { text: t('occ.lecturer') }), h('dd', { text: l.lecturerName || opts.lecturers.get(l.lecturerId)?.displayName || l.lecturerId }),
      h('dt', { text: t('occ.topic') }), h('dd', { text: l.topic || t('common.none') }),
      h('dt', { text: t('series.detail.origin') }), h('dd', { text: l.siteName || l.siteId }),
      h('dt', { text: t('occ.sites') }), h('dd', { text: siteNames(ctx, l.siteIds) }),
      h('dt', { text: t('occ.groups') }), h('dd', { text: groupNames.length ? groupNames.join(t('common.listSep')) : t('common.none') }));

    const links = h('div', { class: 'page-actions' },
      l.seriesId ? h('a', { class: 'button', href: `#/series/${encodeURIComponent(l.seriesId)}`, text: t('occ.openSeries') }) : null,
      l.state !== 'cancelled' && l.state !== 'ended' ? h('a', { class: 'button', href: lectureHash(l.id), text: t('occ.open') }) : null,
      l.state !== 'cancelled' ? h('a', { class: 'button', href: lectureHash(l.id, '/attendance'), text: t('occ.attendance') }) : null);

    const subtitle = l.seriesId
      ? t('occ.series', { title: l.title, index: l.index ?? 0 })
      : t('occ.oneOff');

    replace(m.body,
      h('p', { class: 'muted', text: subtitle }),
      facts, links,
      l.state === 'scheduled' ? editSection(l, zone) : h('p', { class: 'muted small', text: t('occ.notEditable') }));
  }

  /**
   * @param {Lecture} l
   * @param {string} zone
   */
  function editSection(l, zone) {
    const status = formStatus();
    const start = new Date(l.start);
    const date = field('occ-date', t('occ.date'), h('input', { type: 'date', required: true, value: dateKeyIn(zone, start) }));
    const time = field('occ-time', t('occ.time'), h('input', { type: 'time', required: true, step: 60, value: hhmmIn(zone, start) }));
    const duration = field('occ-duration', t('occ.duration'), h('input', { type: 'number', min: 5, max: 720, step: 5, value: l.durationMinutes, inputmode: 'numeric' }));
    const topic = field('occ-topic', t('occ.topic'), h('textarea', { rows: 2, maxlength: 500 }));
    topic.control.value = l.topic;
    const lecturerOptions = [...opts.lecturers.values()].sort((a, b) => a.displayName.localeCompare(b.displayName))
      .map((u) => ({ value: u.id, label: u.displayName }));
    if (!opts.lecturers.has(l.lecturerId)) lecturerOptions.unshift({ value: l.lecturerId, label: l.lecturerName || l.lecturerId });
    const lecturer = field('occ-lecturer', t('occ.lecturer'), select({ id: 'occ-lecturer', options: lecturerOptions, value: l.lecturerId }));
    const save = h('button', { type: 'submit', class: 'button button-primary', id: 'occ-save', text: t('occ.save') });
    const form = h('form', { id: 'occ-form', novalidate: true, 'aria-labelledby': 'occ-edit-h' },
      h('h3', { id: 'occ-edit-h', text: t('occ.editHeading') }),
      h('p', { class: 'field-hint', text: t('occ.editHint', { zone }) }),
      status.el,
      h('div', { class: 'field-row field-row-3' }, date.wrap, time.wrap, duration.wrap),
      topic.wrap, lecturer.wrap,
      h('div', { class: 'form-actions' }, save));
    /** @type {Record<string, import('./ui.js').Field>} */
    const byName = { start: time, durationMinutes: duration, topic, lecturerId: lecturer, title: topic };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      for (const f of [date, time, duration, topic, lecturer]) f.clear();
      status.clear();
      const at = zonedToUtc(date.control.value, time.control.value, zone);
      const dur = Number(duration.control.value);
      let ok = true;
      if (!at) { (date.control.value ? time : date).setError(date.control.value ? t('sf.err.time') : t('sf.err.date')); ok = false; }
      else if (!at.exists) { time.setError(t('sf.err.timeGap', { zone })); ok = false; }
      if (!Number.isInteger(dur) || dur < 5 || dur > 720) { duration.setError(t('sf.err.duration')); ok = false; }
      if (!ok || !at) {
        const bad = form.querySelector('[aria-invalid="true"]');
        if (bad instanceof HTMLElement) bad.focus();
        return;
      }
      /** @type {Parameters<typeof api.updateLecture>[1]} */
      const patch = {};
      if (at.date.getTime() !== new Date(l.start).getTime()) patch.start = toRfc3339(at.date);
      if (dur !== l.durationMinutes) patch.durationMinutes = dur;
      if (topic.control.value.trim() !== l.topic) patch.topic = topic.control.value.trim();
      if (lecturer.control.value !== l.lecturerId) patch.lecturerId = lecturer.control.value;
      if (Object.keys(patch).length === 0) {
        status.ok(t('occ.noChanges'));
        return;
      }
      save.disabled = true;
      save.textContent = t('common.saving');
      try {
        const updated = await api.updateLecture(l.id, patch);
        opts.onChanged(updated);
        render(updated);
        flash(t('occ.saved'));
      } catch (err) {
        const f = err instanceof api.ApiError && err.status === 400 && err.field ? byName[err.field] : undefined;
        if (f) {
          f.setError(errorText(err));
          f.control.focus();
        } else {
          showApiError(err, status, { ctx, zone, people: opts.lecturers });
        }
        save.disabled = false;
        save.textContent = t('occ.save');
      }
    });

    const reason = field('occ-cancel-reason', t('occ.cancelReasonLabel'), h('textarea', { rows: 2, maxlength: 500 }));
    const cancelStatus = formStatus();
    const cancelBtn = h('button', { type: 'button', class: 'button button-danger', id: 'occ-cancel', text: t('occ.cancelButton') });
    cancelBtn.addEventListener('click', async () => {
      cancelStatus.clear();
      const yes = await confirmDialog({
        title: t('occ.cancelHeading'),
        body: t('occ.cancelConfirm', { title: l.title, when: formatDateTime(l.start, ctx.site.timeZone) }),
        yes: t('occ.cancelButton'), no: t('occ.cancelKeep'), danger: true, yesId: 'occ-cancel-confirm',
      });
      if (!yes) return;
      cancelBtn.disabled = true;
      try {
        const updated = await api.cancelLecture(l.id, reason.control.value.trim());
        opts.onChanged(updated);
        render(updated);
        flash(t('occ.cancelled'));
      } catch (err) {
        cancelStatus.error(errorText(err));
        cancelBtn.disabled = false;
      }
    });
    const cancelBox = h('section', { class: 'danger-zone', 'aria-labelledby': 'occ-cancel-h' },
      h('h3', { id: 'occ-cancel-h', text: t('occ.cancelHeading') }),
      cancelStatus.el, reason.wrap,
      h('div', { class: 'form-actions' }, cancelBtn));

    return h('div', { class: 'occ-edit' }, form, cancelBox);
  }
}
