// The client of the lecturelink signaling protocol v1 (docs/protocol.md).
//
// One LectureSession is one open lecture page: one WebSocket, and up to two
// RTCPeerConnections — `pub` (this browser offers; the lecturer's camera and
// microphone) and `sub` (the server offers; every track of the lecture).
// When the socket drops, the peers are closed and the session reconnects with
// exponential backoff and full jitter, then sends `resume` with the token of
// its last `joined` (the same participant: same connId, one attendance
// interval) or `join` if that is refused; the server answers with fresh
// offers, and a publisher publishes again. A media connection that fails or
// stays disconnected restarts ICE on the same socket (reconnect.js).

import { t } from './strings.js';
import { isQuality } from './linkquality.js';
import { deleteChat, mergeChat, parseChatMessage, parseFloor, parseParticipant } from './classroom.js';
import { ICE_OFFER_WAIT_MS, IceWatch, greeting, mayReconnect, retryDelay } from './reconnect.js';
import { SIMULCAST_ENCODINGS, SINGLE_ENCODING_MAX_BITRATE, preferCodecs, setOpusParams, simulcastAccepted } from './sdp.js';

/** @typedef {import('./types.js').Lecture} Lecture */
/** @typedef {import('./types.js').Participant} Participant */
/** @typedef {import('./types.js').User} User */
/** @typedef {import('./classroom.js').ChatMessage} ChatMessage */
/** @typedef {import('./classroom.js').FloorState} FloorState */

/**
 * What the room shows. See computeState for how it is derived.
 * @typedef {'waiting' | 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error'} RoomState
 */

/** @typedef {'pub' | 'sub'} PcName */
/** @typedef {import('./linkquality.js').Quality} Quality */

/**
 * One site's participants by link quality (`siteQuality`, lecturers only).
 * @typedef {{id: string, name: string, good: number, weak: number, audioOnly: number}} SiteQuality
 */

/** The stream id suffix of a shared screen as subscribers see it (sfu.ScreenStreamSuffix). */
export const SCREEN_SUFFIX = '~screen';

/** A shared screen: text stays sharp at a low frame rate. */
export const SCREEN_ENCODING = Object.freeze({ maxBitrate: 1_200_000, maxFramerate: 5 });

/** Largest display size the server takes (docs/protocol.md `displaySize`). */
export const MAX_DISPLAY_PIXELS = 8192;

/**
 * A display size as the protocol wants it: whole device pixels, 0–8192.
 * @param {number} cssPixels
 * @param {number} ratio devicePixelRatio
 * @returns {number}
 */
export function devicePixels(cssPixels, ratio) {
  const v = Math.round(cssPixels * (Number.isFinite(ratio) && ratio > 0 ? ratio : 1));
  return Number.isFinite(v) ? Math.min(MAX_DISPLAY_PIXELS, Math.max(0, v)) : 0;
}

/**
 * @param {unknown} v
 * @returns {SiteQuality | null}
 */
export function parseSiteQuality(v) {
  if (typeof v !== 'object' || v === null) return null;
  const o = /** @type {Record<string, unknown>} */ (v);
  const n = (/** @type {unknown} */ x) => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : 0);
  if (typeof o.id !== 'string' || !o.id) return null;
  return { id: o.id, name: typeof o.name === 'string' && o.name ? o.name : o.id, good: n(o.good), weak: n(o.weak), audioOnly: n(o.audioOnly) };
}

/**
 * What video this participant wants to receive (docs/protocol.md `preference`).
 * @typedef {'auto' | 'low' | 'audio-only'} VideoPreference
 */

/** @type {readonly VideoPreference[]} */
export const VIDEO_PREFERENCES = Object.freeze(['auto', 'low', 'audio-only']);

/**
 * @param {unknown} v
 * @returns {v is VideoPreference}
 */
export function isVideoPreference(v) {
  return typeof v === 'string' && /** @type {readonly string[]} */ (VIDEO_PREFERENCES).includes(v);
}

/**
 * @typedef {{type: 'state', state: RoomState}
 *   | {type: 'joined'}
 *   | {type: 'lecture', lecture: Lecture}
 *   | {type: 'participants', participants: Participant[]}
 *   | {type: 'remote', stream: MediaStream}
 *   | {type: 'notice', code: string, message: string, ref: string}
 *   | {type: 'preference', preference: VideoPreference, supported: boolean}
 *   | {type: 'speaker', conn: string}
 *   | {type: 'quality', quality: Quality | null}
 *   | {type: 'siteQuality', sites: SiteQuality[]}
 *   | {type: 'screen', sharing: boolean}
 *   | {type: 'chat', messages: ChatMessage[]}
 *   | {type: 'chatError', code: string, message: string, ref: string}
 *   | {type: 'floor', floor: FloorState}
 *   | {type: 'granted', camera: boolean}
 *   | {type: 'revoked'}
 *   | {type: 'muted', by: string | null}} SessionEvent
 */

/**
 * @typedef {object} SessionOptions
 * @property {string} lectureId
 * @property {string} [url] WebSocket URL; default: /ws on the page's origin
 * @property {RTCConfiguration} [rtcConfig]
 * @property {() => Promise<boolean>} [isSignedIn] asked when a socket fails
 *   before `hello`; answering false ends the session with an error
 *   (the upgrade is refused with 401 when the session cookie has expired,
 *   which a browser WebSocket cannot see)
 */

/** A socket that has not been `joined` this long after opening is retried. */
const JOIN_TIMEOUT_MS = 15000;
/** Consecutive broken `sub` offers before giving up. */
const MAX_SUB_FAILURES = 3;

/**
 * @param {unknown} v
 * @returns {v is Record<string, any>}
 */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Resolve once pc has no offer outstanding (or is closed), or after ms.
 * @param {RTCPeerConnection} pc
 * @param {number} ms
 * @returns {Promise<void>}
 */
function waitStable(pc, ms) {
  const settled = () => pc.signalingState === 'stable' || pc.signalingState === 'closed';
  if (settled()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener('signalingstatechange', check);
      window.clearTimeout(timer);
      resolve();
    };
    const check = () => { if (settled()) done(); };
    const timer = window.setTimeout(done, ms);
    pc.addEventListener('signalingstatechange', check);
  });
}

/**
 * The Network Information API where the browser has it: a change of its
 * `type` (Wi-Fi to mobile) is a network change that `online` does not
 * report. Its other changes (bandwidth estimates) are not.
 * @returns {(EventTarget & {type?: string}) | null}
 */
function netInfo() {
  if (typeof navigator === 'undefined') return null;
  const c = /** @type {{connection?: unknown}} */ (navigator).connection;
  return c instanceof EventTarget ? /** @type {EventTarget & {type?: string}} */ (c) : null;
}

/** How long a `pub` renegotiation waits for the previous answer. */
const PUB_STABLE_WAIT_MS = 15000;

/** @returns {string} */
function defaultUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

export class LectureSession {
  /** The publishing peer connection (browser offers), or null. @type {RTCPeerConnection | null} */
  pub = null;
  /** The subscribing peer connection (server offers), or null. @type {RTCPeerConnection | null} */
  sub = null;
  /** @type {WebSocket | null} */
  ws = null;
  /** From `hello`. @type {User | null} */
  user = null;
  connId = '';
  /** The latest lecture from `joined` or `lecture`. @type {Lecture | null} */
  lecture = null;
  role = '';
  canPublish = false;
  canEnd = false;
  /** A `joined` arrived on the current socket. */
  joined = false;
  /** A `joined` arrived on some socket (so a drop is a *re*connect). */
  everJoined = false;
  /** @type {Participant[]} */
  participants = [];
  /** The camera and microphone to publish, set by the page. @type {MediaStream | null} */
  localStream = null;
  /** Every remote track of the `sub` connection. */
  remoteStream = new MediaStream();
  /** @type {RoomState} */
  state = 'connecting';
  /** Set when the session cannot go on. @type {{code: string, message: string} | null} */
  failure = null;
  /** The lecture is over (also when `join` was refused with `ended`). */
  ended = false;
  /** Reconnect attempts since the last `joined`. */
  attempt = 0;
  /** The video this participant asks for; sent after every join. @type {VideoPreference} */
  videoPreference = 'auto';
  /** False once the server answered `preference` with `unknown_type`. */
  preferenceSupported = true;
  /** The camera is published with simulcast (false: one encoding). */
  simulcast = false;
  /** The server could not take a simulcast offer: publish one encoding. */
  noSimulcast = false;
  /** The current speaker's connection id ("" for none), from `speaker`. */
  speaker = '';
  /** This participant's link quality as the server sees it, from `quality`. @type {Quality | null} */
  serverQuality = null;
  /** Per-site link qualities (lecturers and admins), from `siteQuality`. @type {SiteQuality[]} */
  siteQualities = [];
  /** The screen (slides, a window) being shared, or null. @type {MediaStream | null} */
  screenStream = null;
  /** The stream id each remote track arrived in (the publisher's connId, or connId~screen). @type {Map<MediaStreamTrack, string>} */
  remoteStreamIds = new Map();
  /** The lecture's chat, oldest first (history, then new messages). @type {ChatMessage[]} */
  chat = [];
  /** Raised hands, the floor holder and the lock, from `floor`. @type {FloorState} */
  floor = { holder: null, hands: [], locked: false };
  /** This participant holds the floor and may publish: {camera}. @type {{camera: boolean} | null} */
  granted = null;
  /** Who muted this participant (a user id), or null when not muted. @type {string | null} */
  mutedBy = null;
  /** Recent traffic, newest last, for debugging: {dir, type, at}. @type {{dir: 'in' | 'out', type: string, at: number}[]} */
  log = [];

  /** @param {SessionOptions} opts */
  constructor(opts) {
    this.lectureId = opts.lectureId;
    this.url = opts.url ?? defaultUrl();
    /** @type {RTCConfiguration} */
    this.rtcConfig = opts.rtcConfig ?? {};
    this.isSignedIn = opts.isSignedIn;
    /** The page was left; nothing reconnects. */
    this.closed = false;
    /** Bumped for every socket; async work of an older socket is dropped. */
    this.gen = 0;
    this.gotHello = false;
    /** `start` requested before `joined`. */
    this.wantStart = false;
    this.subFailures = 0;
    /** The preference was sent on the current socket. */
    this.preferenceSent = false;
    this.reconnectTimer = 0;
    this.joinTimer = 0;
    /** The token of the last `joined`/`resumed`, sent as `resume` after a drop. */
    this.resumeToken = '';
    /** When the current outage began (0: connected). */
    this.lostAt = 0;
    /** Armed by `iceRestart` until the server's `sub` offer arrives. */
    this.iceOfferTimer = 0;
    /** ICE restart policy per connection. @type {Record<PcName, IceWatch | null>} */
    this.iceWatch = { pub: null, sub: null };
    /** @type {Set<(ev: SessionEvent) => void>} */
    this.listeners = new Set();
    /** Remote candidates that arrived before the remote description. @type {Record<PcName, RTCIceCandidateInit[]>} */
    this.pendingRemote = { pub: [], sub: [] };
    /** Local candidates gathered before the offer/answer was sent. @type {Record<PcName, (RTCIceCandidateInit | null)[]>} */
    this.pendingLocal = { pub: [], sub: [] };
    /** @type {Record<PcName, boolean>} */
    this.localSent = { pub: false, sub: false };
    /** `sub` offers are applied one after another. @type {Promise<void>} */
    this.subChain = Promise.resolve();
    /** `pub` renegotiations run one after another. @type {Promise<void>} */
    this.pubChain = Promise.resolve();
    /** The `pub` mids offered with simulcast (the camera), checked in the answer. @type {Set<string>} */
    this.simulcastMids = new Set();
    /** Display sizes sent on this socket, by "stream track". @type {Map<string, string>} */
    this.sentSizes = new Map();
    /** The sender of the shared screen on the current `pub`. @type {RTCRtpSender | null} */
    this.screenSender = null;
    /** The network type last seen (Network Information API). @type {string | undefined} */
    this.netType = undefined;
    this.onNetChange = () => {
      const type = netInfo()?.type;
      if (type === undefined || type === this.netType) return;
      this.netType = type;
      this.onOnline();
    };
    this.onOnline = () => {
      if (this.closed) return;
      if (this.reconnectTimer) {
        window.clearTimeout(this.reconnectTimer);
        this.reconnectTimer = 0;
        this.connect();
        return;
      }
      // The network changed under a working session: the media paths may
      // be gone, and the socket too (the restart's offer proves it is not).
      if (this.joined) {
        this.iceWatch.pub?.networkChanged();
        this.iceWatch.sub?.networkChanged();
      }
    };
  }

  /**
   * Listen to session events; returns a function that stops listening.
   * @param {(ev: SessionEvent) => void} fn
   */
  on(fn) {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }

  /** @param {SessionEvent} ev */
  emit(ev) {
    for (const fn of [...this.listeners]) {
      try {
        fn(ev);
      } catch (err) {
        console.error('lecturelink: listener failed', err);
      }
    }
  }

  /** Open the socket and join the lecture. */
  start() {
    window.addEventListener('online', this.onOnline);
    this.netType = netInfo()?.type;
    netInfo()?.addEventListener('change', this.onNetChange);
    this.connect();
  }

  // ---- socket ----------------------------------------------------------

  connect() {
    if (this.closed) return;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = 0;
    const gen = ++this.gen;
    this.gotHello = false;
    this.joined = false;
    this.preferenceSent = false;
    this.sentSizes.clear();
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.fail('internal', String(err));
      return;
    }
    this.ws = ws;
    this.refresh();
    ws.onmessage = (ev) => {
      if (gen !== this.gen) return;
      this.receive(ev.data);
    };
    ws.onclose = (ev) => {
      if (gen !== this.gen) return;
      if (!mayReconnect(ev.code)) {
        // Removed from the lecture, or this participant was taken over by
        // a newer connection: coming back is not ours to decide.
        this.resumeToken = '';
        this.fail(ev.code === 4001 ? 'removed' : 'replaced',
          ev.reason || t(ev.code === 4001 ? 'room.reconnect.removed' : 'room.reconnect.replaced'));
        return;
      }
      this.socketLost();
    };
    window.clearTimeout(this.joinTimer);
    this.joinTimer = window.setTimeout(() => {
      if (gen === this.gen && !this.joined && !this.closed) this.forceReconnect('join timeout');
    }, JOIN_TIMEOUT_MS);
  }

  /**
   * Send one message; false if the socket is not open.
   * @param {Record<string, unknown> & {type: string}} msg
   */
  send(msg) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    this.record('out', msg.type);
    return true;
  }

  /**
   * @param {'in' | 'out'} dir
   * @param {string} type
   */
  record(dir, type) {
    this.log.push({ dir, type, at: Date.now() });
    if (this.log.length > 100) this.log.splice(0, this.log.length - 100);
  }

  /** The socket closed (or was given up on): drop the peers and retry. */
  socketLost() {
    const earlyFailure = !this.gotHello;
    this.gen++;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
    }
    this.joined = false;
    this.gotHello = false;
    window.clearTimeout(this.joinTimer);
    this.teardownPeers();
    // What the server reported belongs to the lost connection.
    if (this.speaker) {
      this.speaker = '';
      this.emit({ type: 'speaker', conn: '' });
    }
    if (this.serverQuality) {
      this.serverQuality = null;
      this.emit({ type: 'quality', quality: null });
    }
    // A grant belongs to the connection; after the next join the server's
    // `floor` message says whether this participant still holds the floor.
    if (this.granted) {
      this.granted = null;
      this.emit({ type: 'revoked' });
    }
    if (this.closed) {
      this.refresh();
      return;
    }
    this.refresh();
    this.scheduleReconnect(earlyFailure);
  }

  /** @param {boolean} earlyFailure the socket never got `hello` */
  scheduleReconnect(earlyFailure) {
    if (!this.lostAt) this.lostAt = Date.now();
    const delay = retryDelay(this.attempt, Math.random, Date.now() - this.lostAt);
    this.attempt++;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(async () => {
      this.reconnectTimer = 0;
      if (this.closed) return;
      if (earlyFailure && this.isSignedIn) {
        let signedIn = true;
        try {
          signedIn = await this.isSignedIn();
        } catch {
          signedIn = true; // unknown (e.g. offline): keep trying
        }
        if (this.closed) return;
        if (!signedIn) {
          this.fail('unauthenticated', t('room.msg.signedOut'));
          return;
        }
      }
      this.connect();
    }, delay);
  }

  /**
   * Close the current socket and start over with a new one (and new peers).
   * @param {string} reason
   */
  forceReconnect(reason) {
    const ws = this.ws;
    this.socketLost();
    if (ws) {
      try {
        ws.close(4000, reason.slice(0, 100));
      } catch {
        // already closed
      }
    }
  }

  /**
   * @param {unknown} data
   */
  receive(data) {
    if (typeof data !== 'string') return;
    /** @type {unknown} */
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(msg) || typeof msg.type !== 'string') return;
    this.record('in', msg.type);
    switch (msg.type) {
      case 'hello': this.onHello(msg); break;
      case 'joined': case 'resumed': this.onJoined(msg); break;
      case 'lecture': if (isObject(msg.lecture)) this.onLecture(/** @type {Lecture} */ (msg.lecture)); break;
      case 'participants':
        if (Array.isArray(msg.participants)) {
          this.participants = msg.participants.map(parseParticipant).filter((p) => p !== null);
          this.emit({ type: 'participants', participants: this.participants });
        }
        break;
      case 'offer':
        window.clearTimeout(this.iceOfferTimer);
        this.iceOfferTimer = 0;
        if (msg.pc === 'sub' && typeof msg.sdp === 'string') {
          const sdp = msg.sdp;
          const gen = this.gen;
          this.subChain = this.subChain.then(() => this.onSubOffer(sdp, gen));
        }
        break;
      case 'answer':
        if (msg.pc === 'pub' && typeof msg.sdp === 'string') void this.onPubAnswer(msg.sdp);
        break;
      case 'candidate':
        if ((msg.pc === 'pub' || msg.pc === 'sub') && (isObject(msg.candidate) || msg.candidate === null)) {
          this.onRemoteCandidate(msg.pc, msg.candidate);
        }
        break;
      case 'speaker':
        if (typeof msg.conn === 'string' && msg.conn !== this.speaker) {
          this.speaker = msg.conn;
          this.emit({ type: 'speaker', conn: msg.conn });
        }
        break;
      case 'quality':
        if (isQuality(msg.quality)) {
          this.serverQuality = msg.quality;
          this.emit({ type: 'quality', quality: msg.quality });
        }
        break;
      case 'siteQuality':
        if (Array.isArray(msg.sites)) {
          this.siteQualities = msg.sites.map(parseSiteQuality).filter((x) => x !== null);
          this.emit({ type: 'siteQuality', sites: this.siteQualities });
        }
        break;
      case 'chatHistory':
        if (Array.isArray(msg.messages)) {
          this.chat = mergeChat([], msg.messages.map(parseChatMessage).filter((m) => m !== null));
          this.emit({ type: 'chat', messages: this.chat });
        }
        break;
      case 'chat': {
        const m = parseChatMessage(msg.message);
        if (m) {
          this.chat = mergeChat(this.chat, [m]);
          this.emit({ type: 'chat', messages: this.chat });
        }
        break;
      }
      case 'chatDeleted':
        if (typeof msg.id === 'string') {
          this.chat = deleteChat(this.chat, msg.id, typeof msg.by === 'string' ? msg.by : '');
          this.emit({ type: 'chat', messages: this.chat });
        }
        break;
      case 'floor':
        this.onFloor(parseFloor(msg));
        break;
      case 'granted':
        this.onGranted(msg.camera === true);
        break;
      case 'revoked':
        this.onRevoked();
        break;
      case 'muted':
        this.mutedBy = typeof msg.by === 'string' ? msg.by : '';
        this.emit({ type: 'muted', by: this.mutedBy });
        break;
      case 'unmuted':
        this.mutedBy = null;
        this.emit({ type: 'muted', by: null });
        break;
      case 'removed':
        // The server closes the socket next (code 4001); failing first
        // makes sure nothing reconnects to this lecture.
        this.fail('removed', typeof msg.reason === 'string' ? msg.reason : '');
        break;
      case 'error':
        if (msg.code === 'removed' && msg.ref === 'join') {
          // A removed user's join: the reason given by the moderator.
          this.fail('removed', typeof msg.reason === 'string' ? msg.reason : '');
          break;
        }
        this.onServerError(String(msg.code ?? ''), String(msg.message ?? ''), String(msg.ref ?? ''));
        break;
      default:
        // Unknown types are ignored, so the server can add messages.
        break;
    }
  }

  /** @param {Record<string, any>} msg */
  onHello(msg) {
    if (msg.v !== 1) {
      this.fail('version', t('room.msg.version'));
      return;
    }
    this.gotHello = true;
    if (isObject(msg.user)) this.user = /** @type {User} */ (msg.user);
    this.connId = typeof msg.connId === 'string' ? msg.connId : '';
    this.send(greeting(this.lectureId, this.resumeToken));
  }

  /** @param {Record<string, any>} msg */
  onJoined(msg) {
    if (!isObject(msg.lecture)) return;
    this.joined = true;
    this.everJoined = true;
    this.attempt = 0;
    this.lostAt = 0;
    if (typeof msg.resume === 'string') this.resumeToken = msg.resume;
    // After a takeover the participant keeps its first connection id.
    if (typeof msg.connId === 'string' && msg.connId) this.connId = msg.connId;
    window.clearTimeout(this.joinTimer);
    this.role = typeof msg.role === 'string' ? msg.role : '';
    this.canPublish = msg.canPublish === true;
    this.canEnd = msg.canEnd === true;
    this.emit({ type: 'joined' });
    this.onLecture(/** @type {Lecture} */ (msg.lecture));
    if (this.wantStart && this.lecture?.state === 'scheduled') {
      this.wantStart = false;
      this.send({ type: 'start' });
    }
  }

  /** @param {Lecture} lecture */
  onLecture(lecture) {
    if (lecture.id && lecture.id !== this.lectureId) return;
    this.lecture = lecture;
    this.emit({ type: 'lecture', lecture });
    if (lecture.state === 'ended') {
      this.finishEnded();
      return;
    }
    if (lecture.state === 'live') {
      this.wantStart = false;
      this.sendPreference();
      void this.maybePublish();
    }
    this.refresh();
  }

  /**
   * @param {string} code
   * @param {string} message
   * @param {string} ref
   */
  onServerError(code, message, ref) {
    if (code === 'ended') {
      this.finishEnded();
      return;
    }
    if (ref === 'resume') {
      // The token is spent or the window is over: join afresh.
      this.resumeToken = '';
      if (code === 'rate_limited') {
        this.forceReconnect(code);
        return;
      }
      this.send(greeting(this.lectureId, ''));
      return;
    }
    if (ref === 'iceRestart') {
      window.clearTimeout(this.iceOfferTimer);
      this.iceOfferTimer = 0;
      if (code !== 'not_live' && code !== 'rate_limited') this.forceReconnect(`iceRestart refused: ${code}`);
      return;
    }
    if (ref === 'join') {
      if (code === 'already_joined') return;
      if (code === 'rate_limited' || code === 'internal') {
        this.forceReconnect(code);
        return;
      }
      this.fail(code, message);
      return;
    }
    if (ref === 'preference') {
      this.onPreferenceError(code);
      return;
    }
    if (ref === 'chat' || ref === 'deleteChat') {
      this.emit({ type: 'chatError', code, message, ref });
      return;
    }
    if (ref === 'displaySize' || ref === 'source') {
      // Hints for the server: without them media still flows (a screen is
      // then ranked as a camera), so nothing is shown to the user.
      if (code === 'rate_limited') this.sentSizes.clear();
      console.warn(`lecturelink: ${ref} refused: ${code} ${message}`);
      return;
    }
    if (code === 'not_joined') {
      this.forceReconnect(code);
      return;
    }
    if (ref === 'start') this.wantStart = false;
    if (ref === 'offer') {
      // The publish was refused: drop this pub, and try again later if it
      // was only the rate limit.
      this.closePc('pub');
      if (code === 'rate_limited') {
        const gen = this.gen;
        window.setTimeout(() => { if (gen === this.gen) void this.maybePublish(); }, 1000);
      }
    }
    if (ref === 'answer' && code !== 'rate_limited') {
      // Our sub answer did not apply: start over with fresh peers.
      this.forceReconnect(`sub answer refused: ${code}`);
    }
    this.emit({ type: 'notice', code, message, ref });
    this.refresh();
  }

  // ---- commands from the page ------------------------------------------

  /** Ask to mark the lecture live (the lecturer). Sent as soon as joined. */
  requestStart() {
    if (this.closed || this.ended) return;
    if (this.joined) {
      if (this.lecture?.state === 'scheduled') this.send({ type: 'start' });
    } else {
      this.wantStart = true;
    }
  }

  /**
   * Choose the video to receive; sent now if the lecture is live, and again
   * after every (re)join.
   * @param {VideoPreference} pref
   */
  setVideoPreference(pref) {
    if (!isVideoPreference(pref)) return;
    const changed = pref !== this.videoPreference;
    this.videoPreference = pref;
    if (changed) this.preferenceSent = false;
    this.sendPreference();
    this.emit({ type: 'preference', preference: pref, supported: this.preferenceSupported });
  }

  /** Send the preference once per socket, when joined to a live lecture. */
  sendPreference() {
    if (this.closed || !this.joined || !this.preferenceSupported || this.preferenceSent) return;
    if (this.lecture?.state !== 'live') return;
    if (this.send({ type: 'preference', video: this.videoPreference })) this.preferenceSent = true;
  }

  /**
   * The server refused `preference`. `unknown_type` (an older server),
   * `bad_request` and `forbidden` mean it will not take one on this page;
   * `not_live` and `rate_limited` are retried.
   * @param {string} code
   */
  onPreferenceError(code) {
    this.preferenceSent = false;
    if (code === 'rate_limited') {
      const gen = this.gen;
      window.setTimeout(() => { if (gen === this.gen) this.sendPreference(); }, 1000);
      return;
    }
    if (code === 'not_live' || code === 'not_joined') return;
    if (code === 'internal') return;
    this.preferenceSupported = false;
    this.emit({ type: 'preference', preference: this.videoPreference, supported: false });
  }

  // ---- the classroom: chat, hands, floor, moderation ----------------------

  /** May publish now: always (lecturer, classroom computer) or by a floor grant. */
  get mayPublish() {
    return this.canPublish || !!this.granted;
  }

  /**
   * Post a chat message; false if the socket is not open.
   * @param {string} text
   */
  sendChat(text) {
    return this.joined && this.send({ type: 'chat', text });
  }

  /** @param {string} id */
  deleteChatMessage(id) {
    return this.joined && this.send({ type: 'deleteChat', id });
  }

  /** @param {boolean} up raise (true) or lower the hand */
  setHand(up) {
    return this.joined && this.send({ type: up ? 'raiseHand' : 'lowerHand' });
  }

  /**
   * Give a participant the floor (moderators).
   * @param {string} userId
   * @param {boolean} camera with the camera as well as the microphone
   */
  grant(userId, camera) {
    return this.joined && this.send({ type: 'grant', userId, camera });
  }

  /** @param {string} userId take the floor back (moderators) */
  revoke(userId) {
    return this.joined && this.send({ type: 'revoke', userId });
  }

  /** Give the floor back (its holder). */
  release() {
    return this.joined && this.send({ type: 'release' });
  }

  /**
   * @param {string} userId
   * @param {boolean} muted
   */
  setMuted(userId, muted) {
    return this.joined && this.send({ type: muted ? 'mute' : 'unmute', userId });
  }

  /**
   * @param {string} userId
   * @param {string} reason
   */
  removeParticipant(userId, reason) {
    return this.joined && this.send({ type: 'remove', userId, reason });
  }

  /** @param {string} userId */
  readmit(userId) {
    return this.joined && this.send({ type: 'readmit', userId });
  }

  /** @param {boolean} locked */
  setLocked(locked) {
    return this.joined && this.send({ type: locked ? 'lock' : 'unlock' });
  }

  /** @param {FloorState} floor */
  onFloor(floor) {
    this.floor = floor;
    this.emit({ type: 'floor', floor });
    // The floor message is the truth after a reconnect, or if a granted or
    // revoked message was missed.
    const mine = !!this.user && floor.holder?.userId === this.user.id;
    if (mine && !this.granted) this.onGranted(floor.holder?.camera === true);
    else if (!mine && this.granted && !this.canPublish) this.onRevoked();
  }

  /** @param {boolean} camera */
  onGranted(camera) {
    if (this.granted && this.granted.camera === camera) return;
    this.granted = { camera };
    // The page answers with setLocalStream (microphone, and camera if allowed).
    this.emit({ type: 'granted', camera });
  }

  /** The floor was taken back: stop publishing and close `pub`. */
  onRevoked() {
    if (!this.granted) return;
    this.granted = null;
    if (!this.canPublish) {
      this.closePc('pub');
      this.localStream = null;
    }
    this.emit({ type: 'revoked' });
    this.refresh();
  }

  /**
   * Publish this stream on a fresh `pub` (a floor grant, or a grant that
   * changed between microphone and microphone with camera).
   * @param {MediaStream} stream
   */
  publishStream(stream) {
    if (!this.mayPublish) return;
    if (this.pub) this.closePc('pub');
    this.localStream = stream;
    void this.maybePublish();
    this.refresh();
  }

  /** End the lecture for everyone (lecturer or admin). */
  requestEnd() {
    if (this.joined) this.send({ type: 'end' });
  }

  /**
   * Set (or replace) the camera and microphone to publish.
   * @param {MediaStream | null} stream
   */
  setLocalStream(stream) {
    this.localStream = stream;
    const pc = this.pub;
    if (pc && stream) {
      // Same kinds of tracks: swap them without renegotiating.
      for (const sender of pc.getSenders()) {
        const kind = sender.track?.kind;
        const next = stream.getTracks().find((tr) => tr.kind === kind);
        if (kind && next && next !== sender.track) void sender.replaceTrack(next).catch(() => {});
      }
    } else {
      void this.maybePublish();
    }
    this.refresh();
  }

  /** Leave the lecture and stop everything (the page is closing). */
  leave() {
    if (this.closed) return;
    if (this.joined) this.send({ type: 'leave' });
    this.closed = true;
    this.resumeToken = '';
    this.stopScreenShare();
    window.removeEventListener('online', this.onOnline);
    netInfo()?.removeEventListener('change', this.onNetChange);
    window.clearTimeout(this.reconnectTimer);
    window.clearTimeout(this.joinTimer);
    const ws = this.ws;
    this.socketLost();
    if (ws) ws.close(1000, 'leave');
    this.listeners.clear();
  }

  // ---- state -------------------------------------------------------------

  /** A publisher that has something to publish. */
  get publishing() {
    return this.mayPublish && ((!!this.localStream && this.localStream.getTracks().length > 0) || !!this.screenStream);
  }

  /** @returns {RoomState} */
  computeState() {
    if (this.failure) return 'error';
    if (this.ended || this.lecture?.state === 'ended') return 'ended';
    if (!this.joined) return this.everJoined ? 'reconnecting' : 'connecting';
    if (!this.lecture || this.lecture.state === 'scheduled') return 'waiting';
    // Live: are we sending (lecturer) or receiving (everyone else) media?
    if (this.canPublish) {
      if (!this.publishing) return 'live';
      const s = this.pub?.connectionState;
      if (s === 'disconnected') return 'reconnecting';
      return s === 'connected' ? 'live' : 'connecting';
    }
    const s = this.sub?.connectionState;
    if (s === 'disconnected') return 'reconnecting';
    return s === 'connected' && this.remoteStream.getTracks().length > 0 ? 'live' : 'connecting';
  }

  refresh() {
    const next = this.computeState();
    if (next !== this.state) {
      this.state = next;
      this.emit({ type: 'state', state: next });
    }
  }

  /**
   * @param {string} code
   * @param {string} message
   */
  fail(code, message) {
    this.failure = { code, message };
    this.stopAll();
    this.refresh();
  }

  finishEnded() {
    this.ended = true;
    this.wantStart = false;
    this.stopAll();
    this.refresh();
  }

  /** Close socket and peers for good (ended or failed), keeping listeners. */
  stopAll() {
    this.closed = true;
    this.resumeToken = '';
    this.stopScreenShare();
    window.removeEventListener('online', this.onOnline);
    netInfo()?.removeEventListener('change', this.onNetChange);
    window.clearTimeout(this.reconnectTimer);
    window.clearTimeout(this.joinTimer);
    const ws = this.ws;
    this.socketLost();
    if (ws) {
      try {
        ws.close(1000, 'done');
      } catch {
        // already closed
      }
    }
  }

  // ---- WebRTC ------------------------------------------------------------

  /**
   * @param {PcName} name
   * @returns {RTCPeerConnection}
   */
  newPc(name) {
    const pc = new RTCPeerConnection(this.rtcConfig);
    const gen = this.gen;
    // pendingRemote[name] is kept: candidates may arrive before the pc exists.
    this.pendingLocal[name] = [];
    this.localSent[name] = false;
    pc.onicecandidate = (ev) => {
      if (gen !== this.gen || pc !== this[name]) return;
      const c = ev.candidate ? ev.candidate.toJSON() : null;
      if (this.localSent[name]) {
        this.send({ type: 'candidate', pc: name, candidate: c });
      } else {
        this.pendingLocal[name].push(c);
      }
    };
    pc.onconnectionstatechange = () => this.onPcState(name, pc);
    this.iceWatch[name]?.stop();
    this.iceWatch[name] = new IceWatch(
      () => { if (pc === this[name] && gen === this.gen) this.restartIce(name, pc); },
      () => { if (pc === this[name] && gen === this.gen) this.forceReconnect(`${name} media did not come back`); },
    );
    if (name === 'sub') {
      pc.ontrack = (ev) => {
        if (pc !== this.sub) return;
        const track = ev.track;
        const streamId = ev.streams[0]?.id;
        if (streamId) this.remoteStreamIds.set(track, streamId);
        if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
        track.addEventListener('ended', () => {
          this.remoteStream.removeTrack(track);
          this.emit({ type: 'remote', stream: this.remoteStream });
          this.refresh();
        });
        this.emit({ type: 'remote', stream: this.remoteStream });
        this.refresh();
      };
    }
    return pc;
  }

  /** @param {PcName} name */
  closePc(name) {
    const pc = this[name];
    if (!pc) return;
    this[name] = null;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    pc.ontrack = null;
    pc.close();
    this.iceWatch[name]?.stop();
    this.iceWatch[name] = null;
    this.pendingRemote[name] = [];
    this.pendingLocal[name] = [];
    this.localSent[name] = false;
    if (name === 'pub') {
      this.screenSender = null;
      this.pubChain = Promise.resolve();
      this.simulcastMids = new Set();
    }
  }

  teardownPeers() {
    this.closePc('pub');
    this.closePc('sub');
    this.subChain = Promise.resolve();
    window.clearTimeout(this.iceOfferTimer);
    this.iceOfferTimer = 0;
    const tracks = this.remoteStream.getTracks();
    for (const track of tracks) this.remoteStream.removeTrack(track);
    this.remoteStreamIds.clear();
    if (tracks.length) this.emit({ type: 'remote', stream: this.remoteStream });
  }

  /**
   * @param {PcName} name
   * @param {RTCPeerConnection} pc
   */
  onPcState(name, pc) {
    if (pc !== this[name]) return;
    const s = pc.connectionState;
    // failed, or disconnected for a while: restart ICE on this socket; a
    // new socket only if that does not bring the media back.
    this.iceWatch[name]?.update(s);
    if (s === 'connected' && name === 'sub') this.subFailures = 0;
    this.refresh();
  }

  /**
   * Restart ICE on one connection: `pub` offers again with new
   * credentials; `sub` asks the server for such an offer. If that offer
   * does not come, the socket is dead too: start over on a new one.
   * @param {PcName} name
   * @param {RTCPeerConnection} pc
   */
  restartIce(name, pc) {
    if (this.closed || !this.joined) return;
    if (name === 'pub') {
      pc.restartIce();
      this.renegotiatePub(() => {});
      return;
    }
    if (!this.send({ type: 'iceRestart', pc: 'sub' })) return;
    if (!this.iceOfferTimer) {
      const gen = this.gen;
      this.iceOfferTimer = window.setTimeout(() => {
        this.iceOfferTimer = 0;
        if (gen === this.gen && !this.closed) this.forceReconnect('no answer to iceRestart');
      }, ICE_OFFER_WAIT_MS);
    }
  }

  /** Publish the local stream if we may and are not already. */
  async maybePublish() {
    if (this.closed || !this.joined || !this.mayPublish || this.lecture?.state !== 'live' || this.pub) return;
    if (!this.publishing) {
      this.refresh();
      return;
    }
    const stream = this.localStream;
    const gen = this.gen;
    const pc = this.newPc('pub');
    this.pub = pc;
    this.simulcast = false;
    if (stream) for (const track of stream.getTracks()) this.addSender(pc, track, stream);
    // A screen shared before a reconnect is shared again.
    const screen = this.screenStream;
    const screenTrack = screen?.getVideoTracks().find((tr) => tr.readyState === 'live');
    if (screen && screenTrack) this.addScreenSender(pc, screenTrack, screen);
    this.refresh();
    try {
      const offer = await pc.createOffer();
      if (gen !== this.gen || pc !== this.pub) return;
      // Opus with in-band FEC and DTX. Chrome accepts this change of the
      // local description; if a browser refuses, the plain offer is used.
      const munged = setOpusParams(offer.sdp ?? '');
      try {
        await pc.setLocalDescription({ type: 'offer', sdp: munged });
      } catch (err) {
        if (gen !== this.gen || pc !== this.pub) return;
        console.warn('lecturelink: munged offer refused, using the plain one', err);
        await pc.setLocalDescription(offer);
      }
      if (gen !== this.gen || pc !== this.pub) return;
      this.noteSimulcastMids(pc);
      this.send({ type: 'offer', pc: 'pub', sdp: pc.localDescription?.sdp ?? offer.sdp ?? '' });
      this.flushLocal('pub');
    } catch (err) {
      if (pc !== this.pub) return;
      this.closePc('pub');
      this.emit({ type: 'notice', code: 'bad_sdp', message: String(err), ref: 'offer' });
    }
    this.refresh();
  }

  /**
   * Add one local track to `pub`: the camera with three simulcast layers
   * (one encoding if the browser refuses), VP8 preferred and H.264 kept;
   * the microphone as speech.
   * @param {RTCPeerConnection} pc
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   */
  addSender(pc, track, stream) {
    if (track.kind === 'audio') {
      if ('contentHint' in track) track.contentHint = 'speech';
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      return;
    }
    if ('contentHint' in track) track.contentHint = 'motion';
    /** @type {RTCRtpTransceiver} */
    let tr;
    try {
      if (this.noSimulcast) throw new Error('simulcast refused by the server earlier');
      tr = pc.addTransceiver(track, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })),
      });
      this.simulcast = true;
    } catch (err) {
      console.warn('lecturelink: simulcast refused, publishing one encoding', err);
      tr = pc.addTransceiver(track, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: [{ maxBitrate: SINGLE_ENCODING_MAX_BITRATE }],
      });
    }
    if (typeof tr.setCodecPreferences === 'function') {
      // Chrome checks the list against the receiver's capabilities.
      const caps = (typeof RTCRtpReceiver.getCapabilities === 'function' && RTCRtpReceiver.getCapabilities('video'))
        || (typeof RTCRtpSender.getCapabilities === 'function' && RTCRtpSender.getCapabilities('video'));
      if (caps && caps.codecs.length) {
        try {
          tr.setCodecPreferences(preferCodecs(caps.codecs, ['video/VP8', 'video/H264']));
        } catch (err) {
          console.warn('lecturelink: codec preferences refused', err);
        }
      }
    }
  }

  /**
   * After the `pub` answer: if the server did not accept simulcast, the
   * browser keeps only the first (lowest) layer; lift it to full quality.
   * @param {RTCPeerConnection} pc
   */
  async fixSingleLayer(pc) {
    if (!this.simulcast) return;
    for (const sender of pc.getSenders()) {
      if (sender.track?.kind !== 'video' || sender === this.screenSender) continue;
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length !== 1) continue;
      this.simulcast = false;
      const enc = params.encodings[0];
      if ((enc.scaleResolutionDownBy ?? 1) === 1 && enc.maxBitrate === SINGLE_ENCODING_MAX_BITRATE) continue;
      enc.scaleResolutionDownBy = 1;
      enc.maxBitrate = SINGLE_ENCODING_MAX_BITRATE;
      try {
        await sender.setParameters(params);
      } catch (err) {
        console.warn('lecturelink: could not lift the single video layer', err);
      }
    }
  }

  /**
   * Publish again with one video encoding. The server keeps one `pub`
   * connection per socket and has already applied our offer, so a fresh
   * browser connection needs a fresh socket: reconnect (once per page; the
   * choice outlives the socket).
   */
  republishSingle() {
    this.noSimulcast = true;
    this.forceReconnect('simulcast not accepted');
  }

  /**
   * Remember which `pub` sections carry simulcast (the camera) once the
   * local offer has given them mids; only those must come back with it.
   * @param {RTCPeerConnection} pc
   */
  noteSimulcastMids(pc) {
    const mids = new Set();
    for (const tr of pc.getTransceivers()) {
      const sender = tr.sender;
      if (!tr.mid || sender === this.screenSender || sender.track?.kind !== 'video') continue;
      if ((sender.getParameters().encodings ?? []).length > 1) mids.add(tr.mid);
    }
    this.simulcastMids = mids;
  }

  /**
   * Add the shared screen to `pub`: declared as `screen` first (so the
   * server names its stream "<connId>~screen" and ranks it above cameras),
   * one encoding at a low frame rate and a bitrate that keeps text sharp.
   * @param {RTCPeerConnection} pc
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   */
  addScreenSender(pc, track, stream) {
    if ('contentHint' in track) track.contentHint = 'text';
    this.send({ type: 'source', track: track.id, source: 'screen' });
    const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: [{ ...SCREEN_ENCODING }] });
    this.screenSender = tr.sender;
    if (typeof tr.setCodecPreferences === 'function' && typeof RTCRtpReceiver.getCapabilities === 'function') {
      const caps = RTCRtpReceiver.getCapabilities('video');
      if (caps && caps.codecs.length) {
        try {
          tr.setCodecPreferences(preferCodecs(caps.codecs, ['video/VP8', 'video/H264']));
        } catch (err) {
          console.warn('lecturelink: codec preferences refused', err);
        }
      }
    }
  }

  /**
   * Ask the browser to keep the screen's resolution and drop frames when
   * bandwidth is short (slides: sharp text beats motion). Browsers that do
   * not support the setting keep their default.
   * @param {RTCPeerConnection} pc
   */
  async tuneScreenSender(pc) {
    const sender = this.screenSender;
    if (!sender || !pc.getSenders().includes(sender)) return;
    const params = /** @type {RTCRtpSendParameters & {degradationPreference?: string}} */ (sender.getParameters());
    if (params.degradationPreference === 'maintain-resolution') return;
    params.degradationPreference = 'maintain-resolution';
    for (const enc of params.encodings ?? []) {
      enc.maxBitrate = SCREEN_ENCODING.maxBitrate;
      enc.maxFramerate = SCREEN_ENCODING.maxFramerate;
    }
    try {
      await sender.setParameters(params);
    } catch (err) {
      console.warn('lecturelink: degradationPreference not supported', err);
    }
  }

  /**
   * Offer again on `pub` after change(pc) added or removed a track. Runs
   * after any outstanding offer is answered; one at a time.
   * @param {(pc: RTCPeerConnection) => void} change
   */
  renegotiatePub(change) {
    const pc = this.pub;
    if (!pc) return;
    const gen = this.gen;
    const stale = () => gen !== this.gen || pc !== this.pub || this.closed;
    this.pubChain = this.pubChain.then(async () => {
      if (stale()) return;
      await waitStable(pc, PUB_STABLE_WAIT_MS);
      if (stale()) return;
      change(pc);
      const offer = await pc.createOffer();
      if (stale()) return;
      try {
        await pc.setLocalDescription({ type: 'offer', sdp: setOpusParams(offer.sdp ?? '') });
      } catch {
        if (stale()) return;
        await pc.setLocalDescription(offer);
      }
      if (stale()) return;
      this.noteSimulcastMids(pc);
      this.send({ type: 'offer', pc: 'pub', sdp: pc.localDescription?.sdp ?? offer.sdp ?? '' });
    }).catch((err) => {
      if (stale()) return;
      console.warn('lecturelink: pub renegotiation failed', err);
      this.forceReconnect('pub renegotiation failed');
    });
  }

  /**
   * Share a screen, window or tab (from getDisplayMedia) beside the camera.
   * The browser's own "Stop sharing" ends the track, which stops the share.
   * @param {MediaStream} stream
   * @returns {boolean} false if the stream has no video
   */
  startScreenShare(stream) {
    const track = stream.getVideoTracks()[0];
    if (!track || !this.canPublish || this.closed) return false;
    if (this.screenStream) this.stopScreenShare();
    this.screenStream = stream;
    track.addEventListener('ended', () => { if (this.screenStream === stream) this.stopScreenShare(); });
    this.emit({ type: 'screen', sharing: true });
    if (this.pub) {
      this.renegotiatePub((pc) => this.addScreenSender(pc, track, stream));
    } else {
      void this.maybePublish();
    }
    this.refresh();
    return true;
  }

  /** Stop sharing: the track is stopped and taken out of `pub`. */
  stopScreenShare() {
    const stream = this.screenStream;
    if (!stream) return;
    this.screenStream = null;
    for (const tr of stream.getTracks()) tr.stop();
    const sender = this.screenSender;
    this.screenSender = null;
    if (sender && this.pub) {
      this.renegotiatePub((pc) => {
        if (pc.getSenders().includes(sender)) pc.removeTrack(sender);
      });
    }
    this.emit({ type: 'screen', sharing: false });
    this.refresh();
  }

  /**
   * The received video tracks: the camera and the shared screen (told
   * apart by the screen's stream id suffix), null where there is none.
   * preferred is the stream id (connection id) whose camera to take first:
   * the lecturer's, beside the classroom cameras and floor holders.
   * @param {string} [preferred]
   * @returns {{camera: MediaStreamTrack | null, screen: MediaStreamTrack | null}}
   */
  remoteVideos(preferred = '') {
    /** @type {MediaStreamTrack | null} */
    let camera = null;
    /** @type {MediaStreamTrack | null} */
    let screen = null;
    for (const tr of this.remoteStream.getVideoTracks()) {
      const id = this.remoteStreamIds.get(tr) ?? '';
      if (id.endsWith(SCREEN_SUFFIX)) {
        screen ??= tr;
      } else if (preferred && id === preferred) {
        camera = tr;
      } else if (!preferred || !camera) {
        // Without a preferred publisher (or before its camera arrives), the
        // first camera; classroom cameras and speakers have their own tiles.
        camera ??= tr;
      }
    }
    return { camera, screen };
  }

  /**
   * Tell the server how large a received video track is shown (device
   * pixels, 0×0 unknown); sent once per socket for each new size.
   * @param {MediaStreamTrack} track
   * @param {number} width
   * @param {number} height
   * @returns {boolean} whether a message was sent
   */
  setDisplaySize(track, width, height) {
    const stream = this.remoteStreamIds.get(track);
    if (!stream || !this.joined || this.closed || this.lecture?.state !== 'live') return false;
    const w = devicePixels(width, 1);
    const h = devicePixels(height, 1);
    const key = `${stream} ${track.id}`;
    const value = `${w}x${h}`;
    if (this.sentSizes.get(key) === value) return false;
    if (!this.send({ type: 'displaySize', stream, track: track.id, width: w, height: h })) return false;
    this.sentSizes.set(key, value);
    return true;
  }

  /** @param {string} sdp */
  async onPubAnswer(sdp) {
    const pc = this.pub;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    try {
      // The sender's Opus encoder follows the parameters of the *remote*
      // description (they say what the server's receiver wants), so FEC and
      // DTX are set there too; the offer already asked for them.
      if (this.simulcast && !simulcastAccepted(sdp, this.simulcastMids)) {
        console.warn('lecturelink: the server does not take simulcast; publishing one encoding');
        this.republishSingle();
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: setOpusParams(sdp) });
      if (pc !== this.pub) return;
      await this.fixSingleLayer(pc);
      if (pc !== this.pub) return;
      await this.tuneScreenSender(pc);
      if (pc !== this.pub) return;
      await this.flushRemote('pub');
    } catch (err) {
      if (pc !== this.pub) return;
      if (this.simulcast && !this.noSimulcast) {
        // Perhaps the answer does not fit simulcast: publish again with one
        // encoding on a fresh connection before giving up.
        console.warn('lecturelink: pub answer refused with simulcast, retrying without', err);
        this.republishSingle();
        return;
      }
      this.emit({ type: 'notice', code: 'bad_sdp', message: String(err), ref: 'answer' });
      this.forceReconnect('pub answer failed');
    }
  }

  /**
   * Answer a server offer for `sub` (the first one or a renegotiation).
   * @param {string} sdp
   * @param {number} gen
   */
  async onSubOffer(sdp, gen) {
    if (gen !== this.gen || this.closed) return;
    let pc = this.sub;
    if (!pc) {
      pc = this.newPc('sub');
      this.sub = pc;
    }
    const stale = () => gen !== this.gen || pc !== this.sub;
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp });
      if (stale()) return;
      await this.flushRemote('sub');
      const answer = await pc.createAnswer();
      if (stale()) return;
      await pc.setLocalDescription(answer);
      if (stale()) return;
      this.send({ type: 'answer', pc: 'sub', sdp: pc.localDescription?.sdp ?? answer.sdp ?? '' });
      this.flushLocal('sub');
      this.syncRemoteTracks();
    } catch (err) {
      if (stale()) return;
      this.subFailures++;
      this.emit({ type: 'notice', code: 'bad_sdp', message: String(err), ref: 'offer' });
      if (this.subFailures >= MAX_SUB_FAILURES) {
        this.fail('bad_sdp', String(err));
      } else {
        this.forceReconnect('sub offer failed');
      }
    }
    this.refresh();
  }

  /** After a renegotiation, keep exactly the tracks still being received. */
  syncRemoteTracks() {
    const pc = this.sub;
    if (!pc) return;
    const live = new Set();
    for (const tr of pc.getTransceivers()) {
      const dir = tr.currentDirection;
      if (dir === 'recvonly' || dir === 'sendrecv') live.add(tr.receiver.track);
    }
    let changed = false;
    for (const track of this.remoteStream.getTracks()) {
      if (!live.has(track)) {
        this.remoteStream.removeTrack(track);
        changed = true;
      }
    }
    for (const track of live) {
      if (!this.remoteStream.getTracks().includes(track)) {
        this.remoteStream.addTrack(track);
        changed = true;
      }
    }
    if (changed) this.emit({ type: 'remote', stream: this.remoteStream });
  }

  /**
   * @param {PcName} name
   * @param {RTCIceCandidateInit | null} candidate
   */
  onRemoteCandidate(name, candidate) {
    const pc = this[name];
    const init = candidate ?? { candidate: '' };
    if (!pc || !pc.remoteDescription) {
      this.pendingRemote[name].push(init);
      return;
    }
    pc.addIceCandidate(init).catch((err) => console.warn('lecturelink: candidate refused', err));
  }

  /** @param {PcName} name */
  async flushRemote(name) {
    const pc = this[name];
    if (!pc) return;
    const queued = this.pendingRemote[name];
    this.pendingRemote[name] = [];
    for (const c of queued) {
      try {
        await pc.addIceCandidate(c);
      } catch (err) {
        console.warn('lecturelink: candidate refused', err);
      }
    }
  }

  /** @param {PcName} name */
  flushLocal(name) {
    this.localSent[name] = true;
    const queued = this.pendingLocal[name];
    this.pendingLocal[name] = [];
    for (const c of queued) this.send({ type: 'candidate', pc: name, candidate: c });
  }
}
