// Building blocks of the scheduling screens: dialogs, form fields, checkbox
// groups, copyable URLs, conflict lists and dual-zone times.

import { ApiError } from '../api.js';
import { announce, h, replace } from '../dom.js';
import { t, tn } from '../strings.js';
import { formatDateTime, formatTime, zoneOffsetMs } from '../time.js';
import { errorText } from './common.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').Conflict} Conflict */
/** @typedef {import('../types.js').User} User */

let dialogSeq = 0;

/**
 * A modal <dialog>: focus moves into it, Escape and the close button close
 * it, and focus returns to where it was.
 * @param {{title: string, wide?: boolean, onClose?: () => void}} opts
 */
export function modal(opts) {
  const id = `dlg-${++dialogSeq}`;
  const body = h('div', { class: 'dialog-body' });
  const closeBtn = h('button', { type: 'button', class: 'button button-quiet dialog-close', 'aria-label': t('common.close'), text: '×' });
  const dialog = h('dialog', { class: opts.wide ? 'dialog dialog-wide' : 'dialog', 'aria-labelledby': `${id}-title` },
    h('div', { class: 'dialog-head' }, h('h2', { id: `${id}-title`, text: opts.title }), closeBtn),
    body);
  const opener = document.activeElement;
  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    opts.onClose?.();
  }
  closeBtn.addEventListener('click', close);
  dialog.addEventListener('close', close);
  dialog.addEventListener('click', (ev) => {
    // A click on the backdrop (outside the box) closes it.
    if (ev.target !== dialog) return;
    const r = dialog.getBoundingClientRect();
    if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return {
    dialog, body, close,
    /** @param {string} text */
    setTitle(text) {
      const el = dialog.querySelector(`#${id}-title`);
      if (el) el.textContent = text;
    },
  };
}

/**
 * Ask a yes/no question in a modal; resolves true for yes.
 * @param {{title: string, body: string, yes: string, no?: string, danger?: boolean, yesId?: string}} opts
 * @returns {Promise<boolean>}
 */
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    let answer = false;
    const m = modal({ title: opts.title, onClose: () => resolve(answer) });
    const yes = h('button', { type: 'button', class: opts.danger ? 'button button-danger' : 'button button-primary', id: opts.yesId, text: opts.yes });
    const no = h('button', { type: 'button', class: 'button', text: opts.no ?? t('common.cancel') });
    yes.addEventListener('click', () => { answer = true; m.close(); });
    no.addEventListener('click', () => m.close());
    m.body.append(h('p', { text: opts.body }), h('div', { class: 'dialog-actions' }, no, yes));
    no.focus();
  });
}

/**
 * @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control
 * @typedef {{wrap: HTMLElement, control: Control, err: HTMLElement, setError: (text: string) => void, clear: () => void}} Field
 */

/**
 * A labelled form field with a hint and an error line tied to the control.
 * @param {string} id the control's id
 * @param {string} label
 * @param {Control} control
 * @param {{hint?: string, extra?: Node | null, class?: string}} [opts]
 * @returns {Field}
 */
export function field(id, label, control, opts = {}) {
  control.id = id;
  if (!control.name) control.name = id;
  const err = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  control.setAttribute('aria-describedby', [opts.hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: `field ${opts.class ?? ''}`.trim() },
    h('label', { for: id, text: label }),
    opts.hint ? h('p', { class: 'field-hint', id: `${id}-hint`, text: opts.hint }) : null,
    control,
    opts.extra ?? null,
    err);
  return {
    wrap, control, err,
    setError(text) {
      err.textContent = text;
      err.hidden = false;
      control.setAttribute('aria-invalid', 'true');
      wrap.classList.add('has-error');
    },
    clear() {
      err.textContent = '';
      err.hidden = true;
      control.removeAttribute('aria-invalid');
      wrap.classList.remove('has-error');
    },
  };
}

/**
 * A fieldset of checkboxes (name=name, value=option value).
 * @param {{id: string, legend: string, name: string, hint?: string, empty?: string}} opts
 */
export function checkGroup(opts) {
  const list = h('div', { class: 'check-list', id: `${opts.id}-list` });
  const err = h('p', { class: 'field-error', id: `${opts.id}-error`, hidden: true });
  const set = h('fieldset', { class: 'field fieldset', id: opts.id, 'aria-describedby': [opts.hint ? `${opts.id}-hint` : '', `${opts.id}-error`].filter(Boolean).join(' ') },
    h('legend', { text: opts.legend }),
    opts.hint ? h('p', { class: 'field-hint', id: `${opts.id}-hint`, text: opts.hint }) : null,
    list, err);
  /** @type {Set<string>} */
  let disabledValues = new Set();
  return {
    el: set,
    err,
    /**
     * @param {{value: string, label: string, note?: string}[]} options
     * @param {Iterable<string>} checked
     */
    setOptions(options, checked) {
      const want = new Set(checked);
      if (options.length === 0 && opts.empty) {
        replace(list, h('p', { class: 'muted small', text: opts.empty }));
        return;
      }
      replace(list, options.map((o) => {
        const cid = `${opts.id}-${o.value.replace(/[^\w-]/g, '_')}`;
        return h('div', { class: 'check' },
          h('input', { type: 'checkbox', id: cid, name: opts.name, value: o.value, checked: want.has(o.value), disabled: disabledValues.has(o.value) }),
          h('label', { for: cid }, o.label, o.note ? h('span', { class: 'muted small', text: ` ${o.note}` }) : null));
      }));
    },
    /** @returns {string[]} */
    values() {
      return [...list.querySelectorAll('input[type=checkbox]')]
        .filter((c) => c instanceof HTMLInputElement && c.checked && !c.disabled)
        .map((c) => /** @type {HTMLInputElement} */ (c).value);
    },
    /** @param {Iterable<string>} values */
    setDisabled(values) {
      disabledValues = new Set(values);
      for (const c of list.querySelectorAll('input[type=checkbox]')) {
        if (c instanceof HTMLInputElement) c.disabled = disabledValues.has(c.value);
      }
    },
    /** @param {boolean} on */
    setAllDisabled(on) {
      set.disabled = on;
    },
    /** @param {string} text */
    setError(text) {
      err.textContent = text;
      err.hidden = false;
      set.classList.add('has-error');
    },
    clear() {
      err.hidden = true;
      err.textContent = '';
      set.classList.remove('has-error');
    },
    focus() {
      const c = list.querySelector('input:not(:disabled)');
      if (c instanceof HTMLElement) c.focus();
    },
  };
}

/**
 * A read-only text box with the URL and a Copy button.
 * @param {string} url absolute or site-relative
 * @param {{id: string, label: string}} opts
 */
export function copyField(url, opts) {
  const abs = new URL(url, location.href).href;
  const input = h('input', { type: 'text', readonly: true, value: abs, id: opts.id, class: 'mono', spellcheck: 'false' });
  input.addEventListener('focus', () => input.select());
  const btn = h('button', { type: 'button', class: 'button', id: `${opts.id}-copy`, text: t('common.copy') });
  const status = h('span', { class: 'muted small copy-status', role: 'status' });
  btn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(abs);
      status.textContent = t('common.copied');
    } catch {
      input.focus();
      input.select();
      status.textContent = t('common.copyFailed');
    }
    announce(status.textContent ?? '');
  });
  return h('div', { class: 'field copy-field' },
    h('label', { for: opts.id, text: opts.label }),
    h('div', { class: 'copy-row' }, input, btn),
    status);
}

/**
 * A message area for form-level success and errors.
 */
export function formStatus() {
  const el = h('div', { class: 'form-status' });
  return {
    el,
    clear() { replace(el); },
    /** @param {string} text */
    ok(text) {
      replace(el, h('div', { class: 'alert alert-ok', role: 'status', text }));
      announce(text);
    },
    /**
     * @param {string} text
     * @param {Node | null} [extra]
     */
    error(text, extra) {
      replace(el, h('div', { class: 'alert alert-error', role: 'alert' }, h('p', { text }), extra ?? null));
    },
  };
}

/**
 * A readable list of 409 conflicts.
 * @param {Conflict[]} conflicts
 * @param {{ctx: AppContext, zone: string, people?: Map<string, User>}} opts
 */
export function conflictList(conflicts, opts) {
  return h('div', { class: 'conflicts' },
    h('p', { class: 'conflicts-intro', text: tn('conflict.intro', conflicts.length) }),
    h('ul', { class: 'conflict-list' }, conflicts.map((c) => {
      const when = `${c.index ? `${t('conflict.occurrence', { index: c.index })}, ` : ''}${formatDateTime(c.start, opts.zone)}`;
      const text = c.kind === 'lecturer'
        ? t('conflict.lecturer', { when, name: opts.people?.get(c.resourceId)?.displayName ?? c.resourceId, title: c.lectureTitle })
        : t('conflict.site', { when, site: opts.ctx.sites.get(c.resourceId)?.name ?? c.resourceId, title: c.lectureTitle });
      return h('li', { dataset: { conflictIndex: String(c.index), conflictKind: c.kind } }, text);
    })));
}

/**
 * Error text for a thrown API error, with conflicts listed.
 * @param {unknown} err
 * @param {ReturnType<typeof formStatus>} status
 * @param {{ctx: AppContext, zone: string, people?: Map<string, User>}} opts
 */
export function showApiError(err, status, opts) {
  if (err instanceof ApiError && err.status === 409 && err.conflicts.length) {
    status.error(errorText(err), conflictList(err.conflicts, opts));
  } else {
    status.error(errorText(err));
  }
}

/**
 * A lecture's start in the viewer's site zone and in the origin site's zone,
 * always both. The <time> elements carry the hooks `.time-local` and
 * `.time-origin` and contain exactly "HH:MM".
 * @param {string} start RFC 3339
 * @param {{timeZone: string, label: string}} viewer
 * @param {{timeZone: string, label: string}} origin
 */
export function zoneTimes(start, viewer, origin) {
  const ms = new Date(start).getTime();
  const same = viewer.timeZone === origin.timeZone || zoneOffsetMs(ms, viewer.timeZone) === zoneOffsetMs(ms, origin.timeZone);
  return h('span', { class: same ? 'times times-same' : 'times' },
    h('span', { class: 'time time-viewer' },
      h('time', { class: 'time-local', datetime: start, text: formatTime(start, viewer.timeZone) }),
      ' ', h('span', { class: 'time-zone', text: viewer.label })),
    h('span', { class: 'time time-other' },
      h('time', { class: 'time-origin', datetime: start, text: formatTime(start, origin.timeZone) }),
      ' ', h('span', { class: 'time-zone', text: origin.label })));
}

/**
 * The viewer's and the origin's zone of a lecture, for zoneTimes.
 * @param {Lecture} l
 * @param {AppContext} ctx
 */
export function lectureZones(l, ctx) {
  return [
    { timeZone: ctx.site.timeZone, label: ctx.site.name },
    { timeZone: l.siteTimeZone || ctx.sites.get(l.siteId)?.timeZone || 'UTC', label: l.siteName || ctx.sites.get(l.siteId)?.name || l.siteId },
  ];
}

/**
 * Names of the given site ids, joined.
 * @param {AppContext} ctx
 * @param {string[] | null | undefined} ids
 */
export function siteNames(ctx, ids) {
  if (!ids || ids.length === 0) return t('common.none');
  return ids.map((id) => ctx.sites.get(id)?.name ?? id).join(t('common.listSep'));
}

/**
 * A random password of 12 letters and digits (no look-alikes).
 */
export function generatePassword() {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * A select of options; value '' is the "all" choice when allLabel is given.
 * @param {{id: string, options: {value: string, label: string}[], value?: string, allLabel?: string}} opts
 */
export function select(opts) {
  const sel = h('select', { id: opts.id, name: opts.id },
    opts.allLabel !== undefined ? h('option', { value: '', text: opts.allLabel }) : null,
    opts.options.map((o) => h('option', { value: o.value, text: o.label })));
  sel.value = opts.value ?? '';
  if (sel.selectedIndex < 0) sel.selectedIndex = 0;
  return sel;
}

/**
 * Replace a select's options, keeping the value if still present.
 * @param {HTMLSelectElement} sel
 * @param {{value: string, label: string}[]} options
 * @param {string} [allLabel]
 */
export function setOptions(sel, options, allLabel) {
  const v = sel.value;
  replace(sel,
    allLabel !== undefined ? h('option', { value: '', text: allLabel }) : null,
    options.map((o) => h('option', { value: o.value, text: o.label })));
  sel.value = v;
  if (sel.selectedIndex < 0) sel.selectedIndex = 0;
}
