// The live classroom's panels in the room: chat, the participant list
// grouped by site with state badges and moderator controls, the hand queue
// and the floor, the media controls of a publisher, and the gallery of
// classroom cameras and students who have the floor.
//
// Chat text is only ever rendered with text nodes and textContent
// (classroom.js renderChatText); nothing received is parsed as HTML.

import { announce, h, replace } from '../dom.js';
import { CHAT_MAX_CHARS, chatCharsLeft, groupBySite, participantBadges, renderChatText } from '../classroom.js';
import { SCREEN_SUFFIX } from '../session.js';
import { hasMessage, t } from '../strings.js';
import { formatTime } from '../time.js';
import { roleLabel } from './common.js';

/** @typedef {import('../session.js').LectureSession} LectureSession */
/** @typedef {import('../classroom.js').ChatMessage} ChatMessage */
/** @typedef {import('../classroom.js').FloorState} FloorState */
/** @typedef {import('../types.js').Participant} Participant */
/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../strings.js').MessageId} MessageId */

/**
 * A message id made at run time, if it exists.
 * @param {string} id
 * @param {MessageId} fallback
 * @returns {MessageId}
 */
function msgId(id, fallback) {
  return hasMessage(id) ? id : fallback;
}

/**
 * Re-render a container without losing the keyboard focus: if a control
 * inside it had the focus, the control with the same id, or the same
 * data-action and data-user-id (or data-id), gets it back; if that control
 * is gone, fallback does (when given).
 * @param {HTMLElement} container
 * @param {() => void} render
 * @param {() => HTMLElement | null} [fallback]
 */
export function keepFocus(container, render, fallback) {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || !container.contains(active)) {
    render();
    return;
  }
  const { action, userId, id } = active.dataset;
  const elId = active.id;
  render();
  if (active.isConnected) return;
  /** @type {HTMLElement | null} */
  let next = null;
  if (elId) next = document.getElementById(elId);
  if (!next && action) {
    const sel = `[data-action="${CSS.escape(action)}"]` + (userId ? `[data-user-id="${CSS.escape(userId)}"]` : '') + (id ? `[data-id="${CSS.escape(id)}"]` : '');
    next = container.querySelector(sel);
    // Mute becomes Unmute (and back) on the same person.
    if (!next && userId && (action === 'mute' || action === 'unmute')) {
      next = container.querySelector(`[data-action="${action === 'mute' ? 'unmute' : 'mute'}"][data-user-id="${CSS.escape(userId)}"]`);
    }
  }
  next ??= fallback?.() ?? null;
  next?.focus();
}

// ---- chat ------------------------------------------------------------------

/**
 * The chat panel: history and new messages, a delete button per message for
 * moderators, a form with a length counter, and the server's refusals.
 * @param {LectureSession} session
 * @param {AppContext} ctx
 */
export function chatPanel(session, ctx) {
  const list = h('ol', { id: 'chat-messages', class: 'chat-messages', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const empty = h('p', { id: 'chat-empty', class: 'muted', text: t('room.chat.empty') });
  const input = h('textarea', { id: 'chat-input', class: 'chat-input', rows: 2, 'aria-describedby': 'chat-counter chat-error', 'aria-label': t('room.chat.label') });
  const counter = h('span', { id: 'chat-counter', class: 'chat-counter muted', 'aria-live': 'off' });
  const error = h('p', { id: 'chat-error', class: 'field-error', role: 'alert', hidden: true });
  const send = h('button', { type: 'submit', id: 'chat-send', class: 'button button-primary', text: t('room.chat.send') });
  const form = h('form', { id: 'chat-form', class: 'chat-form' }, input, h('div', { class: 'chat-form-row' }, counter, send), error);
  const el = h('section', { id: 'chat', class: 'chat', 'aria-labelledby': 'chat-heading' },
    h('h2', { id: 'chat-heading', text: t('room.chat.title') }), empty, list, form);
  let moderator = false;
  /** @type {ChatMessage[]} */
  let shown = [];

  function updateCounter() {
    const left = chatCharsLeft(input.value);
    counter.textContent = left >= 0 ? t('room.chat.left', { count: left }) : t('room.chat.over', { count: -left });
    counter.dataset.over = left < 0 ? 'true' : 'false';
    send.disabled = left < 0 || left === CHAT_MAX_CHARS;
  }

  /** @param {string} text */
  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value;
    if (chatCharsLeft(text) < 0 || !text.trim()) return;
    if (!session.sendChat(text)) {
      showError(t('room.chat.offline'));
      return;
    }
    showError('');
    input.value = '';
    updateCounter();
  });
  // Enter sends, Shift+Enter starts a new line.
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', updateCounter);
  updateCounter();

  /** @param {ChatMessage} m */
  function item(m) {
    const at = m.at ? formatTime(m.at, ctx.site.timeZone) : '';
    const head = h('div', { class: 'chat-head' },
      h('span', { class: 'chat-name', text: m.name }),
      m.role && m.role !== 'student' ? h('span', { class: `tag tag-${m.role}`, text: roleLabel(m.role) }) : null,
      at ? h('time', { class: 'chat-time muted small', datetime: m.at, text: at }) : null);
    if (m.deleted) {
      return h('li', { class: 'chat-message chat-deleted', dataset: { id: m.id, deleted: 'true' } },
        head, h('span', { class: 'chat-text muted', text: t('room.chat.deleted') }));
    }
    const li = h('li', { class: 'chat-message', dataset: { id: m.id, userId: m.userId } }, head,
      /** @type {HTMLElement} */ (/** @type {unknown} */ (renderChatText(document, m.text))));
    if (moderator) {
      const del = h('button', { type: 'button', class: 'button button-quiet button-small', dataset: { action: 'delete-chat', id: m.id },
        'aria-label': t('room.chat.deleteLabel', { name: m.name }), text: t('room.chat.delete') });
      del.addEventListener('click', () => {
        del.disabled = true;
        if (!session.deleteChatMessage(m.id)) del.disabled = false;
      });
      li.append(del);
    }
    return li;
  }

  /** @param {ChatMessage[]} messages */
  function update(messages) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const added = messages.length > shown.length && shown.every((m, i) => messages[i]?.id === m.id)
      ? messages.slice(shown.length) : null;
    if (added) {
      for (const m of added) list.append(item(m));
    } else {
      keepFocus(list, () => replace(list, messages.map(item)), () => input);
    }
    shown = messages;
    empty.hidden = messages.length > 0;
    if (atBottom || added) list.scrollTop = list.scrollHeight;
  }

  return {
    el,
    update,
    /** @param {boolean} on */
    setModerator(on) {
      if (on === moderator) return;
      moderator = on;
      replace(list, shown.map(item));
    },
    /**
     * The server refused a chat action.
     * @param {string} code
     * @param {string} message
     */
    error(code, message) {
      showError(hasMessage(`room.chat.error.${code}`) ? t(msgId(`room.chat.error.${code}`, 'room.chat.error.other'), { message })
        : t('room.chat.error.other', { message: message || code }));
    },
    /** @param {boolean} on */
    setEnabled(on) {
      input.disabled = !on;
      if (!on) send.disabled = true;
      else updateCounter();
    },
  };
}

// ---- participants ----------------------------------------------------------

/**
 * The participant list grouped by site, each person with state badges, and
 * for moderators Mute/Unmute and Remove.
 * @param {HTMLElement} body the container to fill
 * @param {Participant[]} list
 * @param {{me: string, moderator: boolean, session: LectureSession, onRemove: (p: Participant) => void}} opts
 */
export function renderPeople(body, list, opts) {
  if (list.length === 0) {
    replace(body, h('p', { class: 'muted', text: t('room.participantsNone') }));
    return;
  }
  replace(body, groupBySite(list).map((g) => {
    const headingId = `site-${(g.siteId || 'none').replace(/[^\w-]/g, '_')}`;
    return h('section', { class: 'site-group', 'aria-labelledby': headingId, dataset: { siteId: g.siteId } },
      h('h3', { id: headingId }, g.siteName || t('room.unknownSite'), ' ', h('span', { class: 'count', text: `(${g.people.length})` })),
      h('ul', { class: 'people' }, g.people.map((p) => person(p, opts))));
  }));
}

/**
 * @param {Participant} p
 * @param {{me: string, moderator: boolean, session: LectureSession, onRemove: (p: Participant) => void}} opts
 */
function person(p, opts) {
  const badges = participantBadges(p);
  const li = h('li', {
    dataset: {
      connId: p.connId, userId: p.userId, role: p.role, state: p.state ?? 'connected',
      hand: p.hand ? 'true' : 'false', floor: p.floor ? 'true' : 'false', muted: p.muted ? 'true' : 'false',
    },
  },
  h('span', { class: 'person-name', text: p.displayName }),
  p.userId === opts.me ? h('span', { class: 'muted small', text: ` ${t('room.you')}` }) : null,
  p.role !== 'student' ? h('span', { class: `tag tag-${p.role}`, text: roleLabel(p.role) }) : null,
  h('span', { class: 'badges' }, badges.map((b) => h('span', {
    class: `person-badge badge-${b}`, dataset: { badge: b },
    text: t(msgId(`room.badge.${b}`, 'room.badge.connected')),
  }))),
  h('span', { class: 'speaking-label visually-hidden', text: ` ${t('room.speakingLabel')}` }));
  if (opts.moderator && p.userId !== opts.me && p.role !== 'lecturer' && p.role !== 'admin') {
    const mute = h('button', {
      type: 'button', class: 'button button-quiet button-small', dataset: { action: p.muted ? 'unmute' : 'mute', userId: p.userId },
      'aria-label': t(p.muted ? 'room.mod.unmuteLabel' : 'room.mod.muteLabel', { name: p.displayName }),
      text: t(p.muted ? 'room.mod.unmute' : 'room.mod.mute'),
    });
    mute.addEventListener('click', () => { mute.disabled = true; opts.session.setMuted(p.userId, !p.muted); });
    const remove = h('button', {
      type: 'button', class: 'button button-quiet button-small button-danger-text', dataset: { action: 'remove', userId: p.userId },
      'aria-label': t('room.mod.removeLabel', { name: p.displayName }), text: t('room.mod.remove'),
    });
    remove.addEventListener('click', () => opts.onRemove(p));
    li.append(h('span', { class: 'person-actions' }, mute, remove));
  }
  return li;
}

/**
 * Ask for the reason of a removal (an in-page dialog, 1–200 characters).
 * @param {Participant} p
 * @param {(reason: string) => void} done
 */
export function askRemoveReason(p, done) {
  const reason = h('input', { id: 'remove-reason', type: 'text', maxlength: 200, required: true, class: 'input' });
  const err = h('p', { id: 'remove-reason-error', class: 'field-error', role: 'alert', hidden: true });
  const ok = h('button', { type: 'submit', id: 'remove-confirm', class: 'button button-danger', text: t('room.mod.remove') });
  const cancel = h('button', { type: 'button', id: 'remove-cancel', class: 'button', text: t('common.cancel') });
  const form = h('form', { method: 'dialog' },
    h('p', { text: t('room.mod.removeBody', { name: p.displayName }) }),
    h('label', { for: 'remove-reason', text: t('room.mod.reason') }), reason, err,
    h('div', { class: 'dialog-actions' }, cancel, ok));
  const dialog = h('dialog', { id: 'remove-dialog', class: 'dialog', 'aria-labelledby': 'remove-dialog-title', dataset: { userId: p.userId } },
    h('h2', { id: 'remove-dialog-title', text: t('room.mod.removeTitle') }), form);
  document.body.append(dialog);
  const close = () => { if (dialog.open) dialog.close(); dialog.remove(); };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', close);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = reason.value.trim();
    if (!text || [...text].length > 200) {
      err.textContent = t('room.mod.reasonNeeded');
      err.hidden = false;
      reason.focus();
      return;
    }
    close();
    done(text);
  });
  dialog.showModal();
  reason.focus();
}

// ---- hands and the floor ---------------------------------------------------

/**
 * The floor panel. Students: raise/lower hand, give the floor back. Moderators:
 * the ordered queue with Grant (microphone / microphone and camera), the
 * holder with Take back, Lock/Unlock, and readmitting people removed from
 * this page.
 * @param {LectureSession} session
 * @param {{moderator: boolean, me: string}} who
 */
export function floorPanel(session, who) {
  const status = h('p', { id: 'floor-status', class: 'floor-status', role: 'status' });
  const handBtn = h('button', { type: 'button', id: 'raise-hand', class: 'button', 'aria-pressed': 'false', text: t('room.floor.raise') });
  const releaseBtn = h('button', { type: 'button', id: 'release-floor', class: 'button', hidden: true, text: t('room.floor.release') });
  const holderBox = h('div', { id: 'floor-holder', class: 'floor-holder', hidden: true });
  const queue = h('ol', { id: 'hand-queue', class: 'hand-queue' });
  const queueEmpty = h('p', { id: 'hand-queue-empty', class: 'muted', text: t('room.floor.noHands') });
  const lockBtn = h('button', { type: 'button', id: 'lock-lecture', class: 'button', 'aria-pressed': 'false', text: t('room.floor.lock') });
  const removedList = h('ul', { id: 'removed-list', class: 'removed-list' });
  const removedBox = h('div', { class: 'removed-box', hidden: true },
    h('h3', { text: t('room.mod.removedTitle') }), removedList);
  const queueHeading = h('h3', { id: 'hand-queue-heading', tabindex: -1, text: t('room.floor.queue') });
  /** @type {Map<string, string>} userId → name, removed from this page */
  const removed = new Map();

  const el = h('section', { id: 'floor', class: 'floor', 'aria-labelledby': 'floor-heading' },
    h('h2', { id: 'floor-heading', text: t(who.moderator ? 'room.floor.titleModerator' : 'room.floor.title') }), status);
  if (who.moderator) {
    el.append(holderBox, queueHeading, queueEmpty, queue, lockBtn, removedBox);
  } else {
    el.append(h('div', { class: 'floor-actions' }, handBtn, releaseBtn));
  }

  let handUp = false;
  handBtn.addEventListener('click', () => {
    handBtn.disabled = true;
    session.setHand(!handUp);
  });
  releaseBtn.addEventListener('click', () => { releaseBtn.disabled = true; session.release(); });
  let locked = false;
  lockBtn.addEventListener('click', () => { lockBtn.disabled = true; session.setLocked(!locked); });

  function renderRemoved() {
    removedBox.hidden = removed.size === 0;
    replace(removedList, [...removed].map(([userId, name]) => {
      const btn = h('button', { type: 'button', class: 'button button-small', dataset: { action: 'readmit', userId },
        'aria-label': t('room.mod.readmitLabel', { name }), text: t('room.mod.readmit') });
      btn.addEventListener('click', () => {
        if (session.readmit(userId)) {
          removed.delete(userId);
          renderRemoved();
          announce(t('room.mod.readmitted', { name }));
        }
      });
      return h('li', { dataset: { userId } }, h('span', { text: name }), ' ', btn);
    }));
  }

  /** @param {FloorState} floor */
  function update(floor) {
    keepFocus(el, () => render(floor), () => (floor.holder ? holderBox.querySelector('button') : null) ?? queueHeading);
  }

  /** @param {FloorState} floor */
  function render(floor) {
    const mine = floor.holder?.userId === who.me;
    handUp = floor.hands.some((x) => x.userId === who.me);
    handBtn.disabled = false;
    handBtn.setAttribute('aria-pressed', handUp ? 'true' : 'false');
    handBtn.textContent = t(handUp ? 'room.floor.lower' : 'room.floor.raise');
    handBtn.hidden = mine;
    releaseBtn.hidden = !mine;
    releaseBtn.disabled = false;
    locked = floor.locked;
    lockBtn.disabled = false;
    lockBtn.setAttribute('aria-pressed', locked ? 'true' : 'false');
    lockBtn.textContent = t(locked ? 'room.floor.unlock' : 'room.floor.lock');
    el.dataset.locked = locked ? 'true' : 'false';
    // Moderators read the holder in the holder box, with Take back.
    status.hidden = who.moderator && !!floor.holder;
    if (floor.holder) {
      status.textContent = mine ? t(floor.holder.camera ? 'room.floor.youCamera' : 'room.floor.youMic')
        : t('room.floor.holder', { name: floor.holder.displayName });
    } else if (!who.moderator) {
      const pos = floor.hands.findIndex((x) => x.userId === who.me);
      status.textContent = pos >= 0 ? t('room.floor.position', { position: pos + 1 }) : t('room.floor.nobody');
    } else {
      status.textContent = t('room.floor.nobody');
    }
    if (!who.moderator) return;
    holderBox.hidden = !floor.holder;
    if (floor.holder) {
      const holder = floor.holder;
      const back = h('button', { type: 'button', id: 'take-back', class: 'button button-danger', dataset: { userId: holder.userId }, text: t('room.floor.takeBack') });
      back.addEventListener('click', () => { back.disabled = true; session.revoke(holder.userId); });
      holderBox.dataset.userId = holder.userId;
      replace(holderBox, h('span', { text: t(holder.camera ? 'room.floor.holderCamera' : 'room.floor.holderMic', { name: holder.displayName }) }), ' ', back);
    } else {
      delete holderBox.dataset.userId;
      replace(holderBox);
    }
    queueEmpty.hidden = floor.hands.length > 0;
    replace(queue, floor.hands.map((hand, i) => {
      const mic = h('button', { type: 'button', class: 'button button-small', dataset: { action: 'grant-mic', userId: hand.userId },
        'aria-label': t('room.floor.grantMicLabel', { name: hand.displayName }), text: t('room.floor.grantMic') });
      const cam = h('button', { type: 'button', class: 'button button-small button-primary', dataset: { action: 'grant-camera', userId: hand.userId },
        'aria-label': t('room.floor.grantCameraLabel', { name: hand.displayName }), text: t('room.floor.grantCamera') });
      mic.addEventListener('click', () => { mic.disabled = true; cam.disabled = true; session.grant(hand.userId, false); });
      cam.addEventListener('click', () => { mic.disabled = true; cam.disabled = true; session.grant(hand.userId, true); });
      return h('li', { dataset: { userId: hand.userId, position: String(i + 1) } },
        h('span', { class: 'person-name', text: hand.displayName }), ' ',
        hand.at ? h('span', { class: 'muted small', text: t('room.floor.since', { time: new Date(hand.at).toLocaleTimeString() }) }) : null,
        ' ', mic, ' ', cam);
    }));
  }

  return {
    el,
    update,
    /**
     * Remember someone removed from this page, to offer Readmit.
     * @param {string} userId
     * @param {string} name
     */
    noteRemoved(userId, name) {
      removed.set(userId, name);
      renderRemoved();
    },
    /** A floor action was refused: enable the buttons again. */
    reset() { update(session.floor); },
  };
}

// ---- media controls --------------------------------------------------------

/**
 * Choose camera, microphone and speaker; mute the own microphone and turn
 * the own camera off and on. Devices are switched with replaceTrack (no
 * renegotiation).
 * @param {{getStream: () => MediaStream | null, setStream: (s: MediaStream) => void, outputs: () => HTMLMediaElement[]}} opts
 */
export function mediaControls(opts) {
  const micSel = h('select', { id: 'mic-select', class: 'select' });
  const camSel = h('select', { id: 'camera-select', class: 'select' });
  const spkSel = h('select', { id: 'speaker-select', class: 'select' });
  const micBtn = h('button', { type: 'button', id: 'mic-toggle', class: 'button', 'aria-pressed': 'false', text: t('room.media.micOff') });
  const camBtn = h('button', { type: 'button', id: 'camera-toggle', class: 'button', 'aria-pressed': 'false', text: t('room.media.cameraOff') });
  const spkField = h('label', { class: 'media-field', for: 'speaker-select' }, h('span', { text: t('room.media.speaker') }), spkSel);
  const el = h('fieldset', { id: 'media-controls', class: 'media-controls', hidden: true },
    h('legend', { text: t('room.media.legend') }),
    h('div', { class: 'media-row' }, micBtn, camBtn),
    h('label', { class: 'media-field', for: 'mic-select' }, h('span', { text: t('room.media.mic') }), micSel),
    h('label', { class: 'media-field', for: 'camera-select' }, h('span', { text: t('room.media.camera') }), camSel),
    spkField);
  const canSink = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  spkField.hidden = !canSink;

  async function refreshDevices() {
    const md = navigator.mediaDevices;
    if (!md || typeof md.enumerateDevices !== 'function') return;
    let devices;
    try {
      devices = await md.enumerateDevices();
    } catch {
      return;
    }
    const stream = opts.getStream();
    const current = (/** @type {'audio' | 'video'} */ kind) => stream?.getTracks().find((tr) => tr.kind === kind)?.getSettings().deviceId ?? '';
    /**
     * @param {HTMLSelectElement} sel
     * @param {MediaDeviceKind} kind
     * @param {string} selected
     * @param {MessageId} unnamed
     */
    const fill = (sel, kind, selected, unnamed) => {
      const list = devices.filter((d) => d.kind === kind);
      replace(sel, list.map((d, i) => {
        const o = h('option', { value: d.deviceId, text: d.label || t(unnamed, { n: i + 1 }) });
        o.selected = d.deviceId === selected;
        return o;
      }));
      sel.disabled = list.length < 2;
    };
    fill(micSel, 'audioinput', current('audio'), 'room.media.unnamedMic');
    fill(camSel, 'videoinput', current('video'), 'room.media.unnamedCamera');
    fill(spkSel, 'audiooutput', spkSel.value, 'room.media.unnamedSpeaker');
  }

  /**
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   */
  async function switchDevice(kind, deviceId) {
    const stream = opts.getStream();
    if (!stream || !deviceId) return;
    const old = stream.getTracks().find((tr) => tr.kind === kind);
    try {
      const got = await navigator.mediaDevices.getUserMedia(kind === 'audio'
        ? { audio: { deviceId: { exact: deviceId }, echoCancellation: true, noiseSuppression: true } }
        : { video: { deviceId: { exact: deviceId }, width: { ideal: 1280 }, height: { ideal: 720 } } });
      const track = got.getTracks()[0];
      if (!track) return;
      if (old) track.enabled = old.enabled;
      const next = new MediaStream([...stream.getTracks().filter((tr) => tr.kind !== kind), track]);
      opts.setStream(next);
      old?.stop();
    } catch (err) {
      console.warn('lecturelink: switching device failed', err);
    }
    void refreshDevices();
  }

  micSel.addEventListener('change', () => void switchDevice('audio', micSel.value));
  camSel.addEventListener('change', () => void switchDevice('video', camSel.value));
  spkSel.addEventListener('change', () => {
    for (const media of opts.outputs()) {
      const m = /** @type {HTMLMediaElement & {setSinkId?: (id: string) => Promise<void>}} */ (media);
      m.setSinkId?.(spkSel.value).catch((err) => console.warn('lecturelink: setSinkId failed', err));
    }
  });
  micBtn.addEventListener('click', () => {
    const tr = opts.getStream()?.getAudioTracks()[0];
    if (!tr) return;
    tr.enabled = !tr.enabled;
    update();
    announce(t(tr.enabled ? 'room.media.micOnNow' : 'room.media.micOffNow'));
  });
  camBtn.addEventListener('click', () => {
    const tr = opts.getStream()?.getVideoTracks()[0];
    if (!tr) return;
    tr.enabled = !tr.enabled;
    update();
    announce(t(tr.enabled ? 'room.media.cameraOnNow' : 'room.media.cameraOffNow'));
  });
  const onDeviceChange = () => void refreshDevices();
  navigator.mediaDevices?.addEventListener?.('devicechange', onDeviceChange);

  function update() {
    const stream = opts.getStream();
    el.hidden = !stream;
    const mic = stream?.getAudioTracks()[0];
    const cam = stream?.getVideoTracks()[0];
    micBtn.hidden = !mic;
    camBtn.hidden = !cam;
    micBtn.setAttribute('aria-pressed', mic && !mic.enabled ? 'true' : 'false');
    micBtn.textContent = t(mic && !mic.enabled ? 'room.media.micOn' : 'room.media.micOff');
    camBtn.setAttribute('aria-pressed', cam && !cam.enabled ? 'true' : 'false');
    camBtn.textContent = t(cam && !cam.enabled ? 'room.media.cameraOn' : 'room.media.cameraOff');
    camSel.closest('label')?.toggleAttribute('hidden', !cam);
  }

  return {
    el,
    /** The published stream changed (started, switched, stopped). */
    update() {
      update();
      void refreshDevices();
    },
    /** The page is closing. */
    destroy() {
      navigator.mediaDevices?.removeEventListener?.('devicechange', onDeviceChange);
    },
    /** The speaker choice, applied to a new output element. */
    applySink(/** @type {HTMLMediaElement} */ media) {
      const m = /** @type {HTMLMediaElement & {setSinkId?: (id: string) => Promise<void>}} */ (media);
      if (canSink && spkSel.value) m.setSinkId?.(spkSel.value).catch(() => {});
    },
  };
}

// ---- gallery ---------------------------------------------------------------

/**
 * Tiles of the classroom cameras (operators) and of the students who hold
 * the floor, one per publishing connection, labelled with the site's name
 * (classrooms) or the person's name and site.
 * @param {{muted: () => boolean, onTile: (v: HTMLVideoElement) => void}} opts muted: the sound plays elsewhere
 */
export function gallery(opts) {
  const grid = h('div', { id: 'gallery-tiles', class: 'gallery-tiles' });
  const el = h('section', { id: 'site-gallery', class: 'gallery', hidden: true, 'aria-labelledby': 'gallery-heading' },
    h('h2', { id: 'gallery-heading', text: t('room.gallery.title') }), grid);
  /** @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement, label: HTMLElement}>} */
  const tiles = new Map();

  /**
   * @param {LectureSession} session
   * @param {string} exclude the connection shown on the stage (the lecturer)
   */
  function update(session, exclude) {
    /** @type {Map<string, MediaStreamTrack[]>} */
    const byConn = new Map();
    for (const tr of session.remoteStream.getTracks()) {
      const id = session.remoteStreamIds.get(tr) ?? '';
      if (!id || id.endsWith(SCREEN_SUFFIX) || id === exclude) continue;
      const list = byConn.get(id) ?? [];
      list.push(tr);
      byConn.set(id, list);
    }
    for (const [conn, entry] of tiles) {
      if (!byConn.has(conn)) {
        entry.video.srcObject = null;
        entry.tile.remove();
        tiles.delete(conn);
      }
    }
    for (const [conn, tracks] of byConn) {
      const p = session.participants.find((x) => x.connId === conn);
      let entry = tiles.get(conn);
      if (!entry) {
        const video = h('video', { class: 'video tile-video', autoplay: true, playsinline: true });
        video.muted = opts.muted();
        const label = h('p', { class: 'tile-label' });
        const tile = h('figure', { class: 'tile', dataset: { connId: conn } }, video, label);
        entry = { tile, video, label };
        tiles.set(conn, entry);
        grid.append(tile);
        opts.onTile(video);
      }
      const cur = entry.video.srcObject instanceof MediaStream ? entry.video.srcObject.getTracks() : [];
      if (cur.length !== tracks.length || !tracks.every((tr) => cur.includes(tr))) {
        entry.video.srcObject = new MediaStream(tracks);
        entry.video.play().catch(() => {});
      }
      const role = p?.role ?? 'student';
      entry.tile.dataset.role = role;
      entry.tile.dataset.userId = p?.userId ?? '';
      entry.tile.dataset.video = tracks.some((tr) => tr.kind === 'video') ? 'true' : 'false';
      const text = role === 'operator'
        ? (p?.siteName || p?.displayName || t('room.unknownSite'))
        : t('room.gallery.person', { name: p?.displayName ?? t('common.unknown'), site: p?.siteName || p?.siteId || '' });
      if (entry.label.textContent !== text) entry.label.textContent = text;
      entry.video.setAttribute('aria-label', text);
    }
    el.hidden = tiles.size === 0;
    el.dataset.count = String(tiles.size);
  }

  return { el, update, videos: () => [...tiles.values()].map((x) => x.video) };
}
