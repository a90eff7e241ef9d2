// The lecture room (#/lecture/ID). The lecturer sees their camera preview,
// Start and End; everyone else sees and hears the lecturer. The state badge
// #lecture-state[data-state] mirrors LectureSession.state.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { handle } from '../debug.js';
import { InboundMeter, OutboundMeter, SAMPLE_MS, readInbound, readOutbound, withServerQuality } from '../linkquality.js';
import { LectureSession, devicePixels, isVideoPreference } from '../session.js';
import { hasMessage, t, tn } from '../strings.js';
import { formatTime } from '../time.js';
import { lectureHash, reload, replaceHash } from '../router.js';
import { errorText, heading, lectureTimes, setTitle } from './common.js';
import { liveAttendancePanel } from './liveatt.js';
import { askRemoveReason, chatPanel, floorPanel, gallery, keepFocus, mediaControls, renderPeople } from './classroom.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').Participant} Participant */
/** @typedef {import('../session.js').RoomState} RoomState */
/** @typedef {import('../session.js').VideoPreference} VideoPreference */
/** @typedef {import('../linkquality.js').Reading} Reading */
/** @typedef {import('../session.js').SiteQuality} SiteQuality */

/** Display sizes settle this long before they are reported to the server. */
const SIZE_DEBOUNCE_MS = 500;

/**
 * Show exactly these tracks in a video element, keeping its stream (and
 * playback) when nothing changed.
 * @param {HTMLVideoElement} el
 * @param {MediaStreamTrack[]} tracks
 * @returns {boolean} whether the element's stream changed
 */
function showTracks(el, tracks) {
  const cur = el.srcObject instanceof MediaStream ? el.srcObject.getTracks() : [];
  if (cur.length === tracks.length && tracks.every((tr) => cur.includes(tr))) return false;
  el.srcObject = tracks.length ? new MediaStream(tracks) : null;
  return true;
}

/** Where the chosen video preference is remembered. */
const PREFERENCE_KEY = 'lecturelink.videoPreference';

/** @returns {VideoPreference} */
function storedPreference() {
  try {
    const v = window.localStorage.getItem(PREFERENCE_KEY);
    return isVideoPreference(v) ? v : 'auto';
  } catch {
    return 'auto';
  }
}

/** @param {VideoPreference} v */
function storePreference(v) {
  try {
    window.localStorage.setItem(PREFERENCE_KEY, v);
  } catch {
    // storage unavailable (private mode): the choice lasts for this page
  }
}

/**
 * The tooltip of a link-quality badge: its label, the reasons, the numbers.
 * @param {string} label
 * @param {Reading} r
 * @returns {string}
 */
function qualityDetails(label, r) {
  const pct = (/** @type {number} */ v) => (Math.round(v * 1000) / 10).toString();
  /** @type {string[]} */
  const nums = [];
  if (r.loss !== null) nums.push(t('room.link.loss', { value: pct(r.loss) }));
  if (r.jitterMs !== null) nums.push(t('room.link.jitter', { value: r.jitterMs }));
  if (r.fps !== null) nums.push(t('room.link.fps', { value: Math.round(r.fps) }));
  if (r.dropped !== null) nums.push(t('room.link.dropped', { value: pct(r.dropped) }));
  if (r.retransmitted !== null) nums.push(t('room.link.retransmitted', { value: pct(r.retransmitted) }));
  if (r.limitation && r.limitation !== 'none') nums.push(t('room.link.limitation', { value: r.limitation }));
  if (r.rttMs !== null) nums.push(t('room.link.rtt', { value: r.rttMs }));
  if (r.kbps !== null) nums.push(t('room.link.kbps', { value: r.kbps }));
  const reasons = r.reasons.map((id) => {
    const key = `room.link.reason.${id}`;
    return hasMessage(key) ? t(key) : id;
  });
  return [label, reasons.join('; '), nums.join(' · ')].filter(Boolean).join('\n');
}

/** @type {Record<RoomState, import('../strings.js').MessageId>} */
const stateLabels = {
  waiting: 'room.state.waiting',
  connecting: 'room.state.connecting',
  live: 'room.state.live',
  reconnecting: 'room.state.reconnecting',
  ended: 'room.state.ended',
  error: 'room.state.error',
};

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} lectureId
 * @param {URLSearchParams} query
 * @returns {() => void}
 */
export function mountRoom(root, ctx, lectureId, query) {
  setTitle(t('room.title'));
  let destroyed = false;
  /** @type {LectureSession | null} */
  let session = null;
  /** @type {MediaStream | null} */
  let localStream = null;
  /** @type {Lecture | null} */
  let lecture = null;
  let isPublisher = false;
  let noticeTimer = 0;
  let clockTimer = 0;
  /** @type {{code: string, message: string} | null} */
  let loadError = null;
  /** @type {RoomState} */
  let shownState = 'connecting';
  /** @type {ReturnType<typeof liveAttendancePanel> | null} */
  let livePanel = null;
  let statsTimer = 0;
  let sampling = false;
  /** The video this viewer chose (remembered in localStorage). */
  let preference = storedPreference();
  /** The server takes `preference` (false after `unknown_type`). */
  let preferenceSupported = true;
  /** The latest inbound verdict is audio only because video stalled. */
  let videoStalled = false;
  /** @type {{pc: RTCPeerConnection, meter: InboundMeter} | null} */
  let inbound = null;
  /** @type {{pc: RTCPeerConnection, meter: OutboundMeter} | null} */
  let outbound = null;
  /** The viewer swapped the pictures: the lecturer large, the slides small. */
  let cameraLarge = false;
  let sizeTimer = 0;
  /** @type {ResizeObserver | null} */
  let resizeObserver = null;
  /** @type {ReturnType<typeof chatPanel> | null} */
  let chatBox = null;
  /** @type {ReturnType<typeof floorPanel> | null} */
  let floorBox = null;
  /** Moderates this lecture: its lecturer or an admin. */
  let moderator = false;
  /** Publishing by a floor grant or as a classroom computer (not the lecturer). */
  let guestPublishing = false;

  // ---- skeleton (present from the first moment, for tests and screen readers)
  const title = heading(t('room.title'));
  const times = h('p', { class: 'room-times muted' });
  const topic = h('p', { class: 'room-topic' });
  const badge = h('span', { id: 'lecture-state', class: 'state-badge', role: 'status', dataset: { state: 'connecting' }, text: t('room.state.connecting') });
  const message = h('p', { id: 'room-message', class: 'room-message' });
  const notice = h('div', { id: 'room-notice', class: 'alert alert-warn', role: 'alert', hidden: true });
  const stage = h('div', { class: 'stage' });
  const controls = h('div', { class: 'room-controls' });
  const side = h('aside', { class: 'room-side', 'aria-labelledby': 'participants-heading' });
  const liveSlot = h('div', { class: 'room-live-slot' });
  const links = h('nav', { class: 'room-links', 'aria-label': t('room.title') },
    h('a', { href: '#/', class: 'button button-quiet', text: t('room.back') }));

  root.append(h('section', { class: 'room' },
    h('div', { class: 'room-head' },
      h('div', { class: 'room-head-text' }, title, times, topic),
      badge),
    message,
    notice,
    h('div', { class: 'room-grid' },
      h('div', { class: 'room-stage-col' }, stage, controls),
      h('div', { class: 'room-side-col' }, liveSlot, side)),
    links));

  // ---- the end confirmation (an in-page dialog, not window.confirm)
  const confirmYes = h('button', { type: 'button', id: 'end-lecture-confirm', class: 'button button-danger', text: t('room.endConfirm.yes') });
  const confirmNo = h('button', { type: 'button', id: 'end-lecture-cancel', class: 'button', text: t('room.endConfirm.no') });
  const dialog = h('dialog', { id: 'end-dialog', class: 'dialog', 'aria-labelledby': 'end-dialog-title', 'aria-describedby': 'end-dialog-body' },
    h('h2', { id: 'end-dialog-title', text: t('room.endConfirm.title') }),
    h('p', { id: 'end-dialog-body', text: t('room.endConfirm.body') }),
    h('div', { class: 'dialog-actions' }, confirmNo, confirmYes));
  root.append(dialog);
  confirmNo.addEventListener('click', () => dialog.close());
  confirmYes.addEventListener('click', () => {
    dialog.close();
    session?.requestEnd();
  });

  // ---- controls
  const startBtn = h('button', { type: 'button', id: 'start-lecture', class: 'button button-primary button-large', text: t('room.start'), hidden: true });
  const endBtn = h('button', { type: 'button', id: 'end-lecture', class: 'button button-danger button-large', text: t('room.end'), hidden: true });
  const shareBtn = h('button', { type: 'button', id: 'share-screen', class: 'button', 'aria-pressed': 'false', hidden: true, text: t('room.share.start') });
  controls.append(startBtn, shareBtn, endBtn);
  shareBtn.addEventListener('click', () => void toggleShare());
  startBtn.addEventListener('click', () => {
    if (!session) return;
    startBtn.disabled = true;
    startBtn.textContent = t('room.starting');
    session.requestStart();
  });
  endBtn.addEventListener('click', () => {
    if (typeof dialog.showModal === 'function') {
      dialog.showModal();
      confirmNo.focus();
    } else if (window.confirm(t('room.endConfirm.title'))) {
      session?.requestEnd();
    }
  });

  // ---- video elements
  const localVideo = h('video', { id: 'local-video', class: 'video video-local', autoplay: true, playsinline: true, 'aria-label': t('room.localPreview') });
  localVideo.muted = true;
  const remoteVideo = h('video', { id: 'remote-video', class: 'video video-remote', autoplay: true, playsinline: true, 'aria-label': t('room.remoteVideo') });
  remoteVideo.muted = false;
  // The second picture (the lecturer while slides are shared), silent: the
  // sound plays from the large one.
  const smallVideo = h('video', { id: 'remote-video-small', class: 'video video-small', autoplay: true, playsinline: true, hidden: true, 'aria-label': t('room.remoteSmall') });
  smallVideo.muted = true;
  const swapBtn = h('button', { type: 'button', id: 'swap-videos', class: 'button button-quiet', 'aria-pressed': 'false', hidden: true, text: t('room.showCameraLarge') });
  const fullBtn = h('button', { type: 'button', id: 'fullscreen-slides', class: 'button button-quiet', hidden: true, text: t('room.slidesFullScreen') });
  const speakerLine = h('p', { id: 'active-speaker', class: 'active-speaker muted', hidden: true });
  // The lecturer's screen share.
  const localScreen = h('video', { id: 'local-screen', class: 'video video-small', autoplay: true, playsinline: true, hidden: true, 'aria-label': t('room.share.preview') });
  localScreen.muted = true;
  // Per-site link quality (the lecturer, admins).
  const siteQualityList = h('ul', { id: 'site-quality-list', class: 'site-quality-list' });
  const siteQualityBox = h('section', { id: 'site-quality', class: 'site-quality', hidden: true, 'aria-labelledby': 'site-quality-heading' },
    h('h2', { id: 'site-quality-heading', title: t('room.siteQuality.hint'), text: t('room.siteQuality.title') }), siteQualityList);
  const placeholder = h('div', { class: 'stage-placeholder' }, h('p', { text: t('room.noVideo') }));
  const soundBtn = h('button', { type: 'button', id: 'enable-sound', class: 'button button-primary stage-sound', text: t('room.enableSound'), hidden: true });
  const cameraBox = h('div', { class: 'stage-camera', hidden: true });
  // The own picture of a student with the floor or a classroom computer.
  const selfView = h('video', { id: 'self-view', class: 'video video-self', autoplay: true, playsinline: true, hidden: true, 'aria-label': t('room.localPreview') });
  selfView.muted = true;
  const mutedNotice = h('p', { id: 'muted-notice', class: 'alert alert-warn', role: 'alert', hidden: true, text: t('room.muted.by') });
  const tiles = gallery({
    // The lecturer hears the tiles; everyone else hears all sound from the main picture.
    muted: () => !isPublisher,
    onTile: (v) => media.applySink(v),
  });
  const media = mediaControls({
    getStream: () => localStream,
    setStream: (stream) => {
      localStream = stream;
      const preview = isPublisher ? localVideo : selfView;
      preview.srcObject = stream;
      preview.play().catch(() => {});
      session?.setLocalStream(stream);
      media.update();
    },
    outputs: () => [remoteVideo, smallVideo, ...tiles.videos()],
  });

  const audioOnlyText = h('p', { text: t('room.audioOnly.chosen') });
  const audioOnlyBox = h('div', { id: 'audio-only-placeholder', class: 'stage-audio-only', hidden: true },
    h('p', { class: 'stage-audio-only-title', text: t('room.audioOnly.title') }), audioOnlyText);

  // ---- video preference (everyone who receives video) and link quality
  /** @type {[VideoPreference, import('../strings.js').MessageId, import('../strings.js').MessageId][]} */
  const prefChoices = [
    ['auto', 'room.video.auto', 'room.video.autoHint'],
    ['low', 'room.video.low', 'room.video.lowHint'],
    ['audio-only', 'room.video.audioOnly', 'room.video.audioOnlyHint'],
  ];
  /** @type {HTMLInputElement[]} */
  const prefInputs = [];
  const prefBox = h('fieldset', { id: 'video-preference', class: 'video-preference', hidden: true },
    h('legend', { text: t('room.video.legend') }),
    prefChoices.map(([value, label, hint]) => {
      const input = h('input', { type: 'radio', name: 'video-preference', id: `video-preference-${value}`, value });
      input.checked = value === preference;
      prefInputs.push(input);
      return h('label', { class: 'video-preference-choice', title: t(hint), for: `video-preference-${value}` },
        input, h('span', { text: t(label) }));
    }));
  prefBox.addEventListener('change', (ev) => {
    const target = ev.target;
    if (!(target instanceof HTMLInputElement) || !target.checked || !isVideoPreference(target.value)) return;
    preference = target.value;
    storePreference(preference);
    session?.setVideoPreference(preference);
    updateAudioOnly();
    void sample();
  });
  const linkBadge = h('span', { id: 'link-quality', class: 'quality-badge', hidden: true });
  const uplinkBadge = h('span', { id: 'uplink-quality', class: 'quality-badge', hidden: true });
  const mediaBar = h('div', { class: 'room-media-bar' }, prefBox, linkBadge, uplinkBadge, swapBtn, fullBtn);
  swapBtn.addEventListener('click', () => {
    cameraLarge = !cameraLarge;
    updateRemote();
    swapBtn.focus();
  });
  fullBtn.addEventListener('click', () => void toggleFullScreen());

  soundBtn.addEventListener('click', () => {
    remoteVideo.muted = false;
    remoteVideo.play().then(() => { soundBtn.hidden = true; }).catch(() => { soundBtn.hidden = false; });
  });

  // ---- participants
  const participantsHeading = h('h2', { id: 'participants-heading', tabindex: -1, text: t('room.participants') });
  const participantsBody = h('div', { id: 'participants', class: 'participants' });
  side.append(participantsHeading, participantsBody);

  /** @param {string} text */
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(() => { notice.hidden = true; }, 10000);
  }

  // ---- remote media
  let playing = false;
  async function playRemote() {
    if (playing) return;
    playing = true;
    try {
      remoteVideo.muted = false;
      await remoteVideo.play();
      soundBtn.hidden = true;
    } catch (err) {
      if (err instanceof DOMException && err.name === 'NotAllowedError') {
        // Autoplay with sound refused: play muted, offer a button for sound.
        remoteVideo.muted = true;
        try {
          await remoteVideo.play();
        } catch {
          // still refused; the button starts it
        }
        soundBtn.hidden = false;
      }
    } finally {
      playing = false;
    }
  }

  /**
   * Lay out what arrives: slides (a stream id ending in ~screen) large and
   * the lecturer small, or the other way round after a swap; without
   * slides, the lecturer large. Sound always plays from the large picture.
   */
  function updateRemote() {
    if (!session) return;
    const { camera, screen } = session.remoteVideos();
    const both = !!camera && !!screen;
    const main = both ? (cameraLarge ? camera : screen) : (screen ?? camera);
    const small = both ? (cameraLarge ? screen : camera) : null;
    const audio = session.remoteStream.getAudioTracks();
    const mainTracks = [...(main ? [main] : []), ...audio];
    showTracks(remoteVideo, mainTracks);
    remoteVideo.dataset.source = main ? (main === screen ? 'screen' : 'camera') : '';
    remoteVideo.setAttribute('aria-label', t(main && main === screen ? 'room.slides' : 'room.remoteVideo'));
    showTracks(smallVideo, small ? [small] : []);
    smallVideo.hidden = !small;
    smallVideo.dataset.source = small ? (small === screen ? 'screen' : 'camera') : '';
    if (small) smallVideo.setAttribute('aria-label', t(small === screen ? 'room.slides' : 'room.remoteVideo'));
    if (small && smallVideo.paused) smallVideo.play().catch(() => {});
    stage.dataset.slides = screen ? 'true' : 'false';
    swapBtn.hidden = !both;
    swapBtn.setAttribute('aria-pressed', cameraLarge ? 'true' : 'false');
    swapBtn.textContent = t(cameraLarge ? 'room.showSlidesLarge' : 'room.showCameraLarge');
    fullBtn.hidden = !screen || !document.fullscreenEnabled;
    placeholder.hidden = !!main;
    if (mainTracks.length && remoteVideo.paused) void playRemote();
    scheduleSizes();
  }

  /** Slides full screen (or back). */
  async function toggleFullScreen() {
    try {
      if (document.fullscreenElement) {
        await document.exitFullscreen();
        return;
      }
      const slides = remoteVideo.dataset.source === 'screen' ? remoteVideo : smallVideo;
      await slides.requestFullscreen();
    } catch (err) {
      console.warn('lecturelink: full screen refused', err);
    }
  }

  function onFullScreenChange() {
    fullBtn.textContent = t(document.fullscreenElement ? 'room.exitFullScreen' : 'room.slidesFullScreen');
    scheduleSizes();
  }

  /** Report the shown sizes a moment after they change (device pixels). */
  function scheduleSizes() {
    window.clearTimeout(sizeTimer);
    sizeTimer = window.setTimeout(reportSizes, SIZE_DEBOUNCE_MS);
  }

  function reportSizes() {
    if (destroyed || !session) return;
    const ratio = window.devicePixelRatio || 1;
    for (const el of [remoteVideo, smallVideo]) {
      const track = el.srcObject instanceof MediaStream ? el.srcObject.getVideoTracks()[0] : undefined;
      if (!track) continue;
      const full = document.fullscreenElement === el;
      const w = full ? window.screen.width : el.clientWidth;
      const h = full ? window.screen.height : el.clientHeight;
      session.setDisplaySize(track, devicePixels(w, ratio), devicePixels(h, ratio));
    }
  }

  /** Start or stop sharing slides (the lecturer). */
  async function toggleShare() {
    if (!session) return;
    if (session.screenStream) {
      session.stopScreenShare();
      return;
    }
    const md = navigator.mediaDevices;
    if (!md || typeof md.getDisplayMedia !== 'function') {
      showNotice(t('room.share.unsupported'));
      return;
    }
    shareBtn.disabled = true;
    try {
      // Slides change rarely: a low frame rate leaves the bits for sharp text.
      const stream = await md.getDisplayMedia({ video: { frameRate: { ideal: 5, max: 15 } }, audio: false });
      if (destroyed || !session || session.ended) {
        stream.getTracks().forEach((tr) => tr.stop());
        return;
      }
      if (session.startScreenShare(stream)) {
        announce(t('room.share.started'));
      } else {
        stream.getTracks().forEach((tr) => tr.stop());
      }
    } catch (err) {
      // Cancelling the browser's picker is not an error worth a notice.
      if (!(err instanceof DOMException && err.name === 'NotAllowedError')) {
        showNotice(t('room.share.failed', { message: errorText(err) }));
      }
    } finally {
      shareBtn.disabled = false;
      render();
    }
  }

  /** @param {boolean} sharing */
  function updateShare(sharing) {
    const stream = session?.screenStream ?? null;
    if (sharing && stream) {
      localScreen.srcObject = stream;
      localScreen.hidden = false;
      localScreen.play().catch(() => {});
    } else {
      localScreen.srcObject = null;
      localScreen.hidden = true;
    }
    shareBtn.setAttribute('aria-pressed', sharing ? 'true' : 'false');
    shareBtn.textContent = t(sharing ? 'room.share.stop' : 'room.share.start');
  }

  /** The current speaker: highlighted among the participants, named under the picture. */
  function updateSpeaker() {
    const conn = session?.speaker ?? '';
    const who = conn ? session?.participants.find((p) => p.connId === conn) : undefined;
    for (const li of participantsBody.querySelectorAll('li[data-conn-id]')) {
      if (!(li instanceof HTMLElement)) continue;
      const on = !!conn && li.dataset.connId === conn;
      li.classList.toggle('speaking', on);
      if (on) li.dataset.speaking = 'true';
      else delete li.dataset.speaking;
    }
    speakerLine.hidden = !who;
    speakerLine.dataset.conn = who ? conn : '';
    speakerLine.textContent = who ? t('room.speaking', { name: who.displayName }) : '';
  }

  /** @param {SiteQuality[]} sites */
  function renderSiteQuality(sites) {
    const live = !!session && session.lecture?.state === 'live' && !session.ended;
    siteQualityBox.hidden = !live || !livePanel;
    if (!sites.length) {
      replace(siteQualityList, h('li', { class: 'muted', text: t('room.siteQuality.none') }));
      return;
    }
    replace(siteQualityList, sites.map((sq) => {
      const worst = sq.audioOnly > 0 ? 'audio-only' : sq.weak > 0 ? 'weak' : 'good';
      /** @type {(string | HTMLElement)[]} */
      const parts = [];
      if (sq.good) parts.push(h('span', { class: 'sq-good', text: t('room.siteQuality.good', { count: sq.good }) }));
      if (sq.weak) parts.push(h('span', { class: 'sq-weak', text: t('room.siteQuality.weak', { count: sq.weak }) }));
      if (sq.audioOnly) parts.push(h('span', { class: 'sq-audio-only', text: t('room.siteQuality.audioOnly', { count: sq.audioOnly }) }));
      return h('li', {
        dataset: { siteId: sq.id, quality: worst, good: String(sq.good), weak: String(sq.weak), audioOnly: String(sq.audioOnly) },
      }, h('span', { class: 'quality-badge', dataset: { quality: worst }, text: sq.name }), ' ',
      ...parts.flatMap((el, i) => (i ? [' · ', el] : [el])));
    }));
  }

  /** The preference in force: the chosen one if the server takes it. */
  function effectivePreference() {
    return preferenceSupported ? preference : 'auto';
  }

  /** Cover the (frozen) picture when no video is meant to arrive. */
  function updateAudioOnly() {
    const chosen = effectivePreference() === 'audio-only';
    const live = !!session && (session.state === 'live' || session.state === 'connecting' || session.state === 'reconnecting');
    const serverAudioOnly = !chosen && session?.serverQuality === 'audio-only';
    const show = !isPublisher && live && (chosen || videoStalled || serverAudioOnly);
    audioOnlyBox.hidden = !show;
    if (show) audioOnlyText.textContent = t(chosen ? 'room.audioOnly.chosen' : serverAudioOnly ? 'room.audioOnly.server' : 'room.audioOnly.stalled');
    stage.dataset.audioOnly = show ? 'true' : 'false';
  }

  /**
   * @param {HTMLElement} badge
   * @param {'room.link' | 'room.uplink'} base
   * @param {Reading | null} r null hides the badge
   */
  function showQuality(badge, base, r) {
    if (!r) {
      badge.hidden = true;
      delete badge.dataset.quality;
      badge.removeAttribute('title');
      return;
    }
    const text = t(/** @type {import('../strings.js').MessageId} */ (`${base}.${r.quality}`));
    badge.hidden = false;
    badge.dataset.quality = r.quality;
    if (badge.textContent !== text) badge.textContent = text;
    badge.title = qualityDetails(text, r);
  }

  /** Take one getStats() sample of `sub` (viewers) or `pub` (the lecturer). */
  async function sample() {
    if (sampling || destroyed || !session) return;
    sampling = true;
    try {
      const s = session;
      const live = s.state === 'live' || s.state === 'reconnecting';
      const sub = !isPublisher && live ? s.sub : null;
      const pub = isPublisher && live ? s.pub : null;
      if (!sub) {
        inbound = null;
        if (videoStalled) {
          videoStalled = false;
          updateAudioOnly();
        }
        showQuality(linkBadge, 'room.link', null);
      } else {
        if (inbound?.pc !== sub) inbound = { pc: sub, meter: new InboundMeter() };
        const meter = inbound.meter;
        const report = await sub.getStats();
        if (destroyed || inbound?.pc !== sub) return;
        const r = meter.update(readInbound(report.values(), Date.now()), effectivePreference());
        const stalled = r.quality === 'audio-only' && r.reasons.includes('videoStalled');
        if (stalled !== videoStalled) {
          videoStalled = stalled;
          updateAudioOnly();
        }
        // The server's verdict (what it can send, e.g. within the site's
        // budget) joins the browser's own: one badge, the worse of the two.
        showQuality(linkBadge, 'room.link', withServerQuality(r, s.serverQuality));
      }
      if (!pub) {
        outbound = null;
        showQuality(uplinkBadge, 'room.uplink', null);
      } else {
        if (outbound?.pc !== pub) outbound = { pc: pub, meter: new OutboundMeter() };
        const meter = outbound.meter;
        const report = await pub.getStats();
        if (destroyed || outbound?.pc !== pub) return;
        showQuality(uplinkBadge, 'room.uplink', meter.update(readOutbound(report.values(), Date.now())));
      }
    } catch (err) {
      console.warn('lecturelink: getStats failed', err);
    } finally {
      sampling = false;
    }
  }

  // ---- local media (the lecturer)
  async function startCamera() {
    replace(cameraBox, h('p', { text: t('room.camera.starting') }));
    cameraBox.hidden = false;
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
      cameraFailed(t('room.camera.unsupported'));
      return;
    }
    /** @type {MediaStream | null} */
    let stream = null;
    /** @type {unknown} */
    let failure = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      });
    } catch (err) {
      failure = err;
      // No camera, or no microphone: publish what there is.
      if (err instanceof DOMException && err.name !== 'NotAllowedError' && err.name !== 'SecurityError') {
        const parts = await Promise.allSettled([
          navigator.mediaDevices.getUserMedia({ video: true }),
          navigator.mediaDevices.getUserMedia({ audio: true }),
        ]);
        const tracks = parts.flatMap((p) => (p.status === 'fulfilled' ? p.value.getTracks() : []));
        if (tracks.length) stream = new MediaStream(tracks);
      }
    }
    if (destroyed || session?.ended) {
      stream?.getTracks().forEach((tr) => tr.stop());
      return;
    }
    if (!stream) {
      const denied = failure instanceof DOMException && (failure.name === 'NotAllowedError' || failure.name === 'SecurityError');
      cameraFailed(denied ? t('room.camera.denied') : t('room.camera.failed', { message: errorText(failure) }));
      return;
    }
    localStream?.getTracks().forEach((tr) => tr.stop());
    localStream = stream;
    localVideo.srcObject = stream;
    localVideo.play().catch(() => {});
    cameraBox.hidden = true;
    placeholder.hidden = stream.getVideoTracks().length > 0;
    session?.setLocalStream(stream);
    media.update();
    render();
  }

  /** @param {string} text */
  function cameraFailed(text) {
    const retry = h('button', { type: 'button', class: 'button', text: t('room.camera.retry') });
    retry.addEventListener('click', () => void startCamera());
    replace(cameraBox, h('p', { text }), retry);
    cameraBox.hidden = false;
    render();
  }

  function stopCamera() {
    localStream?.getTracks().forEach((tr) => tr.stop());
    localStream = null;
    localVideo.srcObject = null;
  }

  // ---- participants
  /** @param {Participant[]} list */
  function renderParticipants(list) {
    if (!session || !lecture) return;
    const showNames = isPublisher || session.canEnd || ctx.user.role !== 'student';
    participantsHeading.textContent = showNames ? `${t('room.participants')} (${list.length})` : t('room.participants');
    if (!showNames) {
      replace(participantsBody, h('p', { class: 'muted', text: tn('room.participants', list.length) }));
      return;
    }
    const s = session;
    keepFocus(participantsBody, () => renderPeople(participantsBody, list, {
      me: ctx.user.id,
      moderator,
      session: s,
      onRemove: (p) => askRemoveReason(p, (reason) => {
        if (s.removeParticipant(p.userId, reason)) floorBox?.noteRemoved(p.userId, p.displayName);
      }),
    }), () => participantsHeading);
    updateSpeaker();
  }

  /** The lecturer's connection, whose camera the stage shows. */
  function lecturerConn() {
    return session?.participants.find((p) => p.role === 'lecturer')?.connId ?? '';
  }

  /** Show the classroom cameras and floor holders as tiles. */
  function updateGallery() {
    if (!session) return;
    tiles.update(session, isPublisher ? '' : lecturerConn());
  }

  /**
   * Start publishing as a student given the floor, or as a classroom
   * computer: the microphone, and the camera if allowed; published with
   * the same simulcast layers as the lecturer's camera.
   * @param {boolean} camera
   */
  async function startGuestMedia(camera) {
    const s = session;
    if (!s || !navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') return;
    /** @type {MediaStream | null} */
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: camera ? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } } : false,
      });
    } catch (err) {
      if (camera) {
        // No camera: the floor still works with the microphone alone.
        try {
          stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        } catch {
          stream = null;
        }
      }
      if (!stream) {
        showNotice(t('room.floor.mediaFailed', { message: errorText(err) }));
        return;
      }
    }
    if (destroyed || s !== session || !s.mayPublish) {
      stream.getTracks().forEach((tr) => tr.stop());
      return;
    }
    localStream?.getTracks().forEach((tr) => tr.stop());
    localStream = stream;
    guestPublishing = true;
    selfView.srcObject = stream;
    selfView.hidden = stream.getVideoTracks().length === 0;
    selfView.play().catch(() => {});
    s.publishStream(stream);
    media.update();
  }

  /** The floor was taken back (or the grant lapsed): stop sending. */
  function stopGuestMedia() {
    if (!guestPublishing) return;
    guestPublishing = false;
    localStream?.getTracks().forEach((tr) => tr.stop());
    localStream = null;
    selfView.srcObject = null;
    selfView.hidden = true;
    media.update();
  }

  // ---- state → UI
  function currentState() {
    if (loadError) return 'error';
    return session ? session.state : 'connecting';
  }

  function messageFor(/** @type {RoomState} */ s) {
    if (loadError) return t('room.msg.error', { message: loadError.message });
    if (!session || !lecture) return t('room.msg.connecting');
    const at = formatTime(lecture.start, ctx.site.timeZone);
    switch (s) {
      case 'waiting':
        if (isPublisher) return t('room.msg.waitingLecturer', { time: at });
        return Date.now() >= Date.parse(lecture.start)
          ? t('room.msg.waitingStudentLate', { time: at })
          : t('room.msg.waitingStudent', { time: at });
      case 'connecting':
        if (!session.joined || lecture.state !== 'live') return t('room.msg.connecting');
        return isPublisher ? t('room.msg.publishing') : t('room.msg.connectingMedia');
      case 'live':
        if (isPublisher) return session.publishing ? t('room.msg.live') : t('room.msg.liveNoMedia');
        return t('room.msg.liveStudent');
      case 'reconnecting': return t('room.msg.reconnecting');
      case 'ended': return t('room.msg.ended');
      case 'error': {
        const f = session.failure;
        if (f?.code === 'unauthenticated') return t('room.msg.signedOut');
        if (f?.code === 'version') return t('room.msg.version');
        if (f?.code === 'locked') return t('room.msg.locked');
        if (f?.code === 'lecture_full') return t('room.msg.lectureFull');
        if (f?.code === 'server_busy') return t('room.msg.serverBusy');
        if (f?.code === 'removed') return f.message ? t('room.removed', { reason: f.message }) : t('room.removedNoReason');
        return t('room.msg.error', { message: f?.message || f?.code || '' });
      }
    }
    return '';
  }

  function render() {
    if (destroyed) return;
    const s = currentState();
    badge.dataset.state = s;
    badge.textContent = t(stateLabels[s]);
    const text = messageFor(s);
    if (message.textContent !== text) message.textContent = text;
    if (s !== shownState) {
      shownState = s;
      announce(`${t(stateLabels[s])}. ${text}`);
    }
    const lectureState = session?.ended ? 'ended' : lecture?.state;
    startBtn.hidden = !(isPublisher && lectureState === 'scheduled' && s !== 'error');
    if (lectureState !== 'scheduled') {
      startBtn.disabled = false;
      startBtn.textContent = t('room.start');
    }
    const canEnd = isPublisher || !!session?.canEnd;
    endBtn.hidden = !(canEnd && lectureState === 'live' && s !== 'ended' && s !== 'error');
    const canShare = !!navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function';
    shareBtn.hidden = !(isPublisher && canShare && lectureState === 'live' && s !== 'ended' && s !== 'error');
    if (s === 'ended' || s === 'error') {
      if (dialog.open) dialog.close();
      stopCamera();
      stopGuestMedia();
      mutedNotice.hidden = true;
      placeholder.hidden = false;
      remoteVideo.srcObject = null;
      smallVideo.srcObject = null;
      smallVideo.hidden = true;
      swapBtn.hidden = true;
      fullBtn.hidden = true;
      speakerLine.hidden = true;
      soundBtn.hidden = true;
    }
    if (s !== 'live') siteQualityBox.hidden = true;
    else if (session) renderSiteQuality(session.siteQualities);
    stage.dataset.state = s;
    prefBox.hidden = isPublisher || !preferenceSupported || !lecture || s === 'ended' || s === 'error';
    for (const input of prefInputs) input.disabled = !preferenceSupported;
    updateAudioOnly();
    livePanel?.setLive(lectureState === 'live' && s !== 'ended' && s !== 'error');
    const open = s !== 'ended' && s !== 'error';
    chatBox?.setEnabled(open && !!session?.joined);
    if (floorBox) floorBox.el.hidden = !open || lectureState !== 'live';
  }

  /** @param {Lecture} l */
  function renderLecture(l) {
    lecture = l;
    title.textContent = l.title;
    setTitle(l.title);
    replace(times, lectureTimes(l, ctx), ' · ', t('lecture.duration', { minutes: l.durationMinutes }), ' · ',
      t('lecture.by', { name: l.lecturerName }));
    topic.textContent = l.topic;
    topic.hidden = !l.topic;
  }

  // ---- load the lecture, then connect
  async function init() {
    try {
      renderLecture(await api.lecture(lectureId));
    } catch (err) {
      if (destroyed) return;
      loadError = { code: err instanceof api.ApiError ? err.code : 'error', message: errorText(err) };
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => reload());
      controls.append(retry);
      render();
      return;
    }
    if (destroyed || !lecture) return;
    isPublisher = lecture.lecturerId === ctx.user.id;
    if (isPublisher || ctx.user.role !== 'student') {
      links.append(h('a', { href: lectureHash(lectureId, '/attendance'), class: 'button button-quiet', text: t('room.attendance') }));
    }
    if (isPublisher || ctx.user.role === 'admin') {
      livePanel = liveAttendancePanel(ctx, lectureId, lecture.siteId);
      liveSlot.append(siteQualityBox, livePanel.el);
    }
    if (isPublisher) {
      stage.append(localVideo, localScreen, placeholder, cameraBox);
    } else {
      stage.append(remoteVideo, smallVideo, selfView, placeholder, audioOnlyBox, soundBtn);
      if (typeof ResizeObserver === 'function') {
        resizeObserver = new ResizeObserver(() => scheduleSizes());
        resizeObserver.observe(remoteVideo);
        resizeObserver.observe(smallVideo);
      }
      // A new picture may be a new size even in the same element.
      remoteVideo.addEventListener('resize', scheduleSizes);
      smallVideo.addEventListener('resize', scheduleSizes);
    }
    stage.after(mediaBar);
    mediaBar.after(speakerLine);
    speakerLine.after(mutedNotice, media.el, tiles.el);

    const s = new LectureSession({
      lectureId,
      isSignedIn: async () => {
        try {
          await api.me();
          return true;
        } catch (err) {
          if (err instanceof api.ApiError && err.status === 401) return false;
          throw err;
        }
      },
    });
    s.videoPreference = preference;
    session = s;
    handle.session = s;
    moderator = isPublisher || ctx.user.role === 'admin';
    floorBox = floorPanel(s, { moderator, me: ctx.user.id });
    floorBox.el.hidden = true;
    chatBox = chatPanel(s, ctx);
    chatBox.setModerator(moderator);
    side.prepend(floorBox.el);
    side.append(chatBox.el);
    s.on((ev) => {
      if (destroyed) return;
      switch (ev.type) {
        case 'lecture':
          renderLecture(ev.lecture);
          break;
        case 'joined':
          if (s.canPublish && s.role === 'lecturer') isPublisher = true;
          // A classroom computer always sends its room camera and microphone.
          if (s.canPublish && !isPublisher && !guestPublishing) void startGuestMedia(true);
          if (s.canEnd !== moderator) {
            moderator = s.canEnd;
            chatBox?.setModerator(moderator);
          }
          break;
        case 'participants':
          renderParticipants(ev.participants);
          livePanel?.participantsChanged();
          updateGallery();
          if (!isPublisher) updateRemote();
          break;
        case 'remote':
          if (!isPublisher) updateRemote();
          updateGallery();
          break;
        case 'chat':
          chatBox?.update(ev.messages);
          break;
        case 'chatError':
          chatBox?.error(ev.code, ev.message);
          chatBox?.update(s.chat);
          break;
        case 'floor':
          floorBox?.update(ev.floor);
          break;
        case 'granted':
          announce(t(ev.camera ? 'room.floor.grantedCamera' : 'room.floor.granted'));
          void startGuestMedia(ev.camera);
          break;
        case 'revoked':
          if (guestPublishing && !s.canPublish) announce(t('room.floor.revoked'));
          if (!s.canPublish) stopGuestMedia();
          break;
        case 'muted':
          mutedNotice.hidden = ev.by === null;
          announce(t(ev.by === null ? 'room.muted.off' : 'room.muted.by'));
          break;
        case 'notice': {
          if (ev.ref === 'start') {
            startBtn.disabled = false;
            startBtn.textContent = t('room.start');
          }
          if (['raiseHand', 'lowerHand', 'grant', 'revoke', 'release', 'mute', 'unmute', 'remove', 'readmit', 'lock', 'unlock'].includes(ev.ref)) {
            // Refused: the buttons come back as the last floor state says.
            floorBox?.reset();
            renderParticipants(s.participants);
          }
          const id = `room.notice.${ev.code}`;
          showNotice(hasMessage(id) ? t(id, { message: ev.message }) : t('room.notice.other', { message: ev.message || ev.code }));
          break;
        }
        case 'preference':
          preferenceSupported = ev.supported;
          break;
        case 'state':
          if (ev.state === 'live') {
            void sample();
            scheduleSizes();
          }
          break;
        case 'speaker':
          updateSpeaker();
          break;
        case 'quality':
          updateAudioOnly();
          void sample();
          break;
        case 'siteQuality':
          renderSiteQuality(ev.sites);
          break;
        case 'screen':
          updateShare(ev.sharing);
          if (!ev.sharing) announce(t('room.share.stopped'));
          break;
      }
      render();
    });
    renderParticipants([]);
    s.start();
    render();

    const autoStart = isPublisher && query.get('start') === '1';
    if (autoStart) {
      replaceHash(lectureHash(lectureId));
      startBtn.disabled = true;
      startBtn.textContent = t('room.starting');
    }
    if (isPublisher && lecture.state !== 'ended') {
      await startCamera();
    }
    if (autoStart && !destroyed) s.requestStart();
  }

  // Keep "waiting" messages (e.g. "was due at") current.
  clockTimer = window.setInterval(render, 30000);
  statsTimer = window.setInterval(() => void sample(), SAMPLE_MS);
  document.addEventListener('fullscreenchange', onFullScreenChange);
  render();
  void init();

  return () => {
    destroyed = true;
    livePanel?.destroy();
    media.destroy();
    document.getElementById('remove-dialog')?.remove();
    window.clearInterval(clockTimer);
    window.clearInterval(statsTimer);
    window.clearTimeout(noticeTimer);
    window.clearTimeout(sizeTimer);
    resizeObserver?.disconnect();
    document.removeEventListener('fullscreenchange', onFullScreenChange);
    if (dialog.open) dialog.close();
    session?.leave();
    if (handle.session === session) handle.session = null;
    stopCamera();
    remoteVideo.srcObject = null;
    smallVideo.srcObject = null;
    localScreen.srcObject = null;
  };
}
