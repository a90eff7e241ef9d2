// How a lecture page gets back after a network problem (docs/protocol.md
// "Reconnection and resume"): a dropped socket is retried with exponential
// backoff and full jitter and resumes the same participant with its token;
// a media connection that fails, or stays disconnected, or whose network
// changed, restarts ICE on the connections it has, which is much quicker
// than a new socket and keeps every subscription.
//
// Nothing here touches the DOM or WebRTC, so that it can be tested in node.

/** First reconnect delay ceiling, doubled per attempt up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 500;
export const RETRY_MAX_MS = 10_000;
/** A media connection `disconnected` this long gets an ICE restart. */
export const ICE_DISCONNECTED_MS = 3000;
/** At most one ICE restart per connection this often. */
export const ICE_RESTART_GAP_MS = 2000;
/** A media connection not `connected` again this long after it broke is given up: new socket. */
export const ICE_GIVE_UP_MS = 15_000;
/** No `sub` offer this long after `iceRestart`: the socket is taken for dead. */
export const ICE_OFFER_WAIT_MS = 5000;

/** Close codes after which the page must not reconnect. */
export const CLOSE_REMOVED = 4001;
export const CLOSE_REPLACED = 4002;

/**
 * The delay before reconnect attempt `attempt` (0 for the first): a random
 * time in [0, min(RETRY_MAX_MS, RETRY_BASE_MS × 2^attempt)) ("full jitter"),
 * so that a classroom of pages that lost the server together does not come
 * back in one burst. Given the time since the connection was lost, the
 * ceiling is also at most half of it (and at least 2 × RETRY_BASE_MS): a
 * server that restarts in a few seconds is found again within a second or
 * two, not after the 8 s the doubling has reached by then.
 * @param {number} attempt
 * @param {() => number} [random] in [0, 1)
 * @param {number} [lostForMs] how long the connection has been lost
 * @returns {number} milliseconds
 */
export function retryDelay(attempt, random = Math.random, lostForMs = Infinity) {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.min(Math.floor(attempt), 30) : 0;
  const lost = Number.isNaN(lostForMs) ? Infinity : lostForMs;
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** n, Math.max(2 * RETRY_BASE_MS, lost / 2));
  const r = random();
  return Math.floor(ceiling * (Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0.5));
}

/**
 * Whether a socket closed with `code` may be reconnected: not after the
 * participant was removed from the lecture (4001) or taken over by a newer
 * connection (4002).
 * @param {number} code
 * @returns {boolean}
 */
export function mayReconnect(code) {
  return code !== CLOSE_REMOVED && code !== CLOSE_REPLACED;
}

/**
 * The first message on a new socket: `resume` with the latest token, or
 * `join` when there is none (first visit, or the token was refused).
 * @param {string} lectureId
 * @param {string} token
 * @returns {{type: 'resume', token: string, lectureId: string} | {type: 'join', lectureId: string}}
 */
export function greeting(lectureId, token) {
  return token ? { type: 'resume', token, lectureId } : { type: 'join', lectureId };
}

/**
 * @typedef {object} Clock
 * @property {(fn: () => void, ms: number) => number} setTimeout
 * @property {(id: number) => void} clearTimeout
 * @property {() => number} now
 */

/** @type {Clock} */
const realClock = {
  setTimeout: (fn, ms) => /** @type {number} */ (/** @type {unknown} */ (globalThis.setTimeout(fn, ms))),
  clearTimeout: (id) => globalThis.clearTimeout(id),
  now: () => Date.now(),
};

/**
 * IceWatch follows one RTCPeerConnection's connectionState and decides
 * when to restart ICE: at once on `failed`, after ICE_DISCONNECTED_MS of
 * `disconnected`, and on a network change; if the connection is not
 * `connected` ICE_GIVE_UP_MS after it broke, giveUp is called (the page
 * then starts over on a new socket).
 */
export class IceWatch {
  /**
   * @param {() => void} restart
   * @param {() => void} giveUp
   * @param {Clock} [clock]
   */
  constructor(restart, giveUp, clock = realClock) {
    this.restartFn = restart;
    this.giveUpFn = giveUp;
    this.clock = clock;
    /** @type {string} */
    this.state = 'new';
    this.lastRestart = -Infinity;
    this.disconnectTimer = 0;
    this.giveUpTimer = 0;
    this.restarts = 0;
    this.stopped = false;
  }

  /**
   * The connection's new connectionState.
   * @param {string} state
   */
  update(state) {
    if (this.stopped) return;
    this.state = state;
    switch (state) {
      case 'connected':
        this.clearTimers();
        break;
      case 'failed':
        this.armGiveUp();
        this.restart();
        break;
      case 'disconnected':
        this.armGiveUp();
        if (!this.disconnectTimer) {
          this.disconnectTimer = this.clock.setTimeout(() => {
            this.disconnectTimer = 0;
            if (this.state === 'disconnected') this.restart();
          }, ICE_DISCONNECTED_MS);
        }
        break;
      case 'closed':
        this.stop();
        break;
      default:
        break;
    }
  }

  /** The browser's network changed (`online`, a new interface): restart now. */
  networkChanged() {
    if (this.stopped || this.state === 'new' || this.state === 'closed') return;
    this.armGiveUp();
    this.restart(true);
  }

  /** @param {boolean} [force] ignore the minimum gap */
  restart(force = false) {
    const now = this.clock.now();
    if (!force && now - this.lastRestart < ICE_RESTART_GAP_MS) return;
    this.lastRestart = now;
    this.restarts++;
    this.restartFn();
  }

  armGiveUp() {
    if (this.giveUpTimer) return;
    this.giveUpTimer = this.clock.setTimeout(() => {
      this.giveUpTimer = 0;
      if (!this.stopped && this.state !== 'connected') this.giveUpFn();
    }, ICE_GIVE_UP_MS);
  }

  clearTimers() {
    if (this.disconnectTimer) this.clock.clearTimeout(this.disconnectTimer);
    if (this.giveUpTimer) this.clock.clearTimeout(this.giveUpTimer);
    this.disconnectTimer = 0;
    this.giveUpTimer = 0;
  }

  /** The connection is gone: no more restarts or give-ups. */
  stop() {
    this.stopped = true;
    this.clearTimers();
  }
}
