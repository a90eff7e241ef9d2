// Link quality from WebRTC statistics, without DOM: readInbound/readOutbound
// turn one getStats() report into a sample, and InboundMeter/OutboundMeter
// compare consecutive samples (taken every SAMPLE_MS) into good / weak /
// audio-only with the numbers behind the verdict. Tested in web/test/.

/** @typedef {'good' | 'weak' | 'audio-only'} Quality */
/** @typedef {Record<string, any>} Stat one RTCStats dictionary */

/** How often the room samples getStats(). */
export const SAMPLE_MS = 2000;
/** No video frames for this long while audio arrives: audio only. */
export const VIDEO_STALL_MS = 3000;
/** Above this share of lost (or retransmitted) packets the link is weak. */
export const LOSS_WEAK = 0.05;
/** Jitter (seconds) above which the link is weak. */
export const JITTER_WEAK = 0.05;
/** Round-trip time (seconds) above which the link is weak. */
export const RTT_WEAK = 0.4;
/** Decoded frame rate below which video is weak. */
export const FPS_WEAK = 10;
/** Share of received frames dropped above which video is weak. */
export const DROPPED_WEAK = 0.1;
/**
 * Consecutive samples with qualityLimitationReason "bandwidth" before the
 * upload counts as weak (the encoder reports it while the bandwidth estimate
 * ramps up in the first seconds of every call).
 */
export const LIMITED_SAMPLES_WEAK = 3;
/** Estimated bandwidth (bit/s) below which the link is weak. */
export const BITRATE_WEAK = 250_000;

/**
 * @typedef {object} InboundSample
 * @property {number} at milliseconds
 * @property {boolean} hasVideo an inbound video stream exists
 * @property {number} videoPackets
 * @property {number} videoLost
 * @property {number} framesDecoded
 * @property {number} framesReceived
 * @property {number} framesDropped
 * @property {number | null} jitter seconds (video)
 * @property {number | null} fps
 * @property {number} audioPackets
 * @property {number | null} rtt seconds (selected candidate pair)
 * @property {number | null} bitrate availableIncomingBitrate, bit/s
 */

/**
 * @typedef {object} OutboundSample
 * @property {number} at milliseconds
 * @property {boolean} hasVideo
 * @property {number} videoPackets
 * @property {number} videoBytes
 * @property {number} retransmitted retransmittedPacketsSent (video)
 * @property {string} limitation the worst qualityLimitationReason of the layers
 * @property {number} layers video encodings sending
 * @property {number | null} fps the highest layer's frame rate
 * @property {number} audioBytes
 * @property {number} remoteLost packetsLost reported by the server (video)
 * @property {number | null} fractionLost the worst reported by the server
 * @property {number | null} rtt seconds
 * @property {number | null} bitrate availableOutgoingBitrate, bit/s
 */

/**
 * @typedef {object} Reading
 * @property {Quality} quality
 * @property {number | null} loss share of packets lost (0–1)
 * @property {number | null} jitterMs
 * @property {number | null} fps
 * @property {number | null} dropped share of frames dropped (0–1)
 * @property {number | null} retransmitted share of packets retransmitted (0–1)
 * @property {string} limitation qualityLimitationReason ("" when unknown)
 * @property {number | null} rttMs
 * @property {number | null} kbps estimated available bandwidth
 * @property {string[]} reasons why the link is weak or audio only (ids)
 */

/**
 * @param {unknown} v
 * @returns {number}
 */
function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * @param {unknown} v
 * @returns {number | null}
 */
function opt(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * @param {number | null} a
 * @param {number | null} b
 * @returns {number | null}
 */
function max(a, b) {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/**
 * The selected candidate pair: the transport's, else a nominated succeeded one.
 * @param {Stat[]} stats
 * @returns {Stat | null}
 */
export function selectedPair(stats) {
  let id = '';
  for (const r of stats) if (r.type === 'transport' && typeof r.selectedCandidatePairId === 'string') id = r.selectedCandidatePairId;
  /** @type {Stat | null} */
  let fallback = null;
  for (const r of stats) {
    if (r.type !== 'candidate-pair') continue;
    if (id && r.id === id) return r;
    if (!fallback && (r.selected === true || (r.nominated === true && r.state === 'succeeded'))) fallback = r;
  }
  return id ? null : fallback;
}

/**
 * @param {Iterable<Stat>} report e.g. `[...(await pc.getStats()).values()]`
 * @param {number} at
 * @returns {InboundSample}
 */
export function readInbound(report, at) {
  const stats = [...report];
  /** @type {InboundSample} */
  const s = {
    at, hasVideo: false, videoPackets: 0, videoLost: 0, framesDecoded: 0, framesReceived: 0, framesDropped: 0,
    jitter: null, fps: null, audioPackets: 0, rtt: null, bitrate: null,
  };
  for (const r of stats) {
    if (r.type !== 'inbound-rtp') continue;
    const kind = r.kind ?? r.mediaType;
    if (kind === 'video') {
      s.hasVideo = true;
      s.videoPackets += num(r.packetsReceived);
      s.videoLost += Math.max(0, num(r.packetsLost));
      s.framesDecoded += num(r.framesDecoded);
      s.framesReceived += num(r.framesReceived);
      s.framesDropped += num(r.framesDropped);
      s.jitter = max(s.jitter, opt(r.jitter));
      s.fps = max(s.fps, opt(r.framesPerSecond));
    } else if (kind === 'audio') {
      s.audioPackets += num(r.packetsReceived);
    }
  }
  const pair = selectedPair(stats);
  if (pair) {
    s.rtt = opt(pair.currentRoundTripTime);
    s.bitrate = opt(pair.availableIncomingBitrate);
  }
  return s;
}

/** @type {Record<string, number>} */
const limitationRank = { none: 0, other: 1, cpu: 2, bandwidth: 3 };

/**
 * @param {Iterable<Stat>} report
 * @param {number} at
 * @returns {OutboundSample}
 */
export function readOutbound(report, at) {
  const stats = [...report];
  /** @type {OutboundSample} */
  const s = {
    at, hasVideo: false, videoPackets: 0, videoBytes: 0, retransmitted: 0, limitation: '', layers: 0, fps: null,
    audioBytes: 0, remoteLost: 0, fractionLost: null, rtt: null, bitrate: null,
  };
  for (const r of stats) {
    const kind = r.kind ?? r.mediaType;
    if (r.type === 'outbound-rtp' && kind === 'video') {
      s.hasVideo = true;
      s.videoPackets += num(r.packetsSent);
      s.videoBytes += num(r.bytesSent);
      s.retransmitted += num(r.retransmittedPacketsSent);
      if (r.active !== false && num(r.bytesSent) > 0) s.layers++;
      s.fps = max(s.fps, opt(r.framesPerSecond));
      const reason = typeof r.qualityLimitationReason === 'string' ? r.qualityLimitationReason : '';
      if (reason && (limitationRank[reason] ?? 1) > (limitationRank[s.limitation] ?? -1)) s.limitation = reason;
    } else if (r.type === 'outbound-rtp' && kind === 'audio') {
      s.audioBytes += num(r.bytesSent);
    } else if (r.type === 'remote-inbound-rtp') {
      if (kind === 'video') s.remoteLost += Math.max(0, num(r.packetsLost));
      s.fractionLost = max(s.fractionLost, opt(r.fractionLost));
      s.rtt = max(s.rtt, opt(r.roundTripTime));
    }
  }
  const pair = selectedPair(stats);
  if (pair) {
    s.rtt = s.rtt ?? opt(pair.currentRoundTripTime);
    s.bitrate = opt(pair.availableOutgoingBitrate);
  }
  return s;
}

/**
 * @param {number} part
 * @param {number} whole
 * @returns {number | null}
 */
function share(part, whole) {
  return whole > 0 ? Math.max(0, Math.min(1, part / whole)) : null;
}

/** @returns {Reading} */
function emptyReading() {
  return {
    quality: 'good', loss: null, jitterMs: null, fps: null, dropped: null, retransmitted: null, limitation: '',
    rttMs: null, kbps: null, reasons: [],
  };
}

/** What a student receives (the `sub` connection). */
export class InboundMeter {
  /** @type {InboundSample | null} */
  prev = null;
  /** When video frames were last seen to advance (or the first sample). */
  lastVideoAt = 0;

  /**
   * @param {InboundSample} cur
   * @param {string} preference 'auto' | 'low' | 'audio-only'
   * @returns {Reading}
   */
  update(cur, preference) {
    const prev = this.prev;
    this.prev = cur;
    const r = emptyReading();
    r.jitterMs = cur.jitter === null ? null : Math.round(cur.jitter * 1000);
    r.fps = cur.fps;
    r.rttMs = cur.rtt === null ? null : Math.round(cur.rtt * 1000);
    r.kbps = cur.bitrate === null ? null : Math.round(cur.bitrate / 1000);
    if (!prev) this.lastVideoAt = cur.at;
    const frames = prev ? cur.framesDecoded - prev.framesDecoded : cur.framesDecoded;
    if (frames > 0) this.lastVideoAt = cur.at;
    const audio = prev ? cur.audioPackets - prev.audioPackets : cur.audioPackets;
    if (prev) {
      const received = cur.videoPackets - prev.videoPackets;
      const lost = cur.videoLost - prev.videoLost;
      r.loss = share(lost, received + Math.max(0, lost));
      r.dropped = share(cur.framesDropped - prev.framesDropped, cur.framesReceived - prev.framesReceived);
    }
    if (preference === 'audio-only') {
      r.quality = 'audio-only';
      r.reasons.push('preference');
      return r;
    }
    if (audio > 0 && cur.at - this.lastVideoAt > VIDEO_STALL_MS) {
      r.quality = 'audio-only';
      r.reasons.push(cur.hasVideo ? 'videoStalled' : 'noVideo');
      return r;
    }
    if (prev && audio <= 0 && frames <= 0) r.reasons.push('nothing');
    if (r.loss !== null && r.loss > LOSS_WEAK) r.reasons.push('loss');
    if (cur.jitter !== null && cur.jitter > JITTER_WEAK) r.reasons.push('jitter');
    if (frames > 0 && cur.fps !== null && cur.fps < FPS_WEAK) r.reasons.push('fps');
    if (r.dropped !== null && r.dropped > DROPPED_WEAK) r.reasons.push('dropped');
    if (cur.rtt !== null && cur.rtt > RTT_WEAK) r.reasons.push('rtt');
    if (cur.bitrate !== null && cur.bitrate < BITRATE_WEAK) r.reasons.push('bitrate');
    r.quality = r.reasons.length ? 'weak' : 'good';
    return r;
  }
}

/** What the lecturer sends (the `pub` connection). */
export class OutboundMeter {
  /** @type {OutboundSample | null} */
  prev = null;
  lastVideoAt = 0;
  /** Consecutive samples limited by bandwidth. */
  limited = 0;

  /**
   * @param {OutboundSample} cur
   * @returns {Reading}
   */
  update(cur) {
    const prev = this.prev;
    this.prev = cur;
    const r = emptyReading();
    r.fps = cur.fps;
    r.limitation = cur.limitation;
    r.rttMs = cur.rtt === null ? null : Math.round(cur.rtt * 1000);
    r.kbps = cur.bitrate === null ? null : Math.round(cur.bitrate / 1000);
    if (!prev) this.lastVideoAt = cur.at;
    const video = prev ? cur.videoBytes - prev.videoBytes : cur.videoBytes;
    if (video > 0) this.lastVideoAt = cur.at;
    const audio = prev ? cur.audioBytes - prev.audioBytes : cur.audioBytes;
    if (prev) {
      const sent = cur.videoPackets - prev.videoPackets;
      r.retransmitted = share(cur.retransmitted - prev.retransmitted, sent);
      r.loss = share(cur.remoteLost - prev.remoteLost, sent);
    }
    if (cur.fractionLost !== null) r.loss = max(r.loss, cur.fractionLost);
    if (!cur.hasVideo) {
      r.quality = 'audio-only';
      r.reasons.push('noVideo');
      return r;
    }
    if (audio > 0 && cur.at - this.lastVideoAt > VIDEO_STALL_MS) {
      r.quality = 'audio-only';
      r.reasons.push('videoStalled');
      return r;
    }
    this.limited = cur.limitation === 'bandwidth' ? this.limited + 1 : 0;
    if (this.limited >= LIMITED_SAMPLES_WEAK) r.reasons.push('limitation');
    if (r.loss !== null && r.loss > LOSS_WEAK) r.reasons.push('loss');
    if (r.retransmitted !== null && r.retransmitted > LOSS_WEAK) r.reasons.push('retransmitted');
    if (cur.rtt !== null && cur.rtt > RTT_WEAK) r.reasons.push('rtt');
    if (cur.bitrate !== null && cur.bitrate < BITRATE_WEAK) r.reasons.push('bitrate');
    r.quality = r.reasons.length ? 'weak' : 'good';
    return r;
  }
}

/** @type {readonly Quality[]} */
const QUALITY_ORDER = Object.freeze(['good', 'weak', 'audio-only']);

/**
 * @param {unknown} v
 * @returns {v is Quality}
 */
export function isQuality(v) {
  return typeof v === 'string' && /** @type {readonly string[]} */ (QUALITY_ORDER).includes(v);
}

/**
 * Combine the browser's own reading with the verdict the server sends in
 * `quality` (what it forwards: its bandwidth estimate, the site's budget).
 * The worse of the two is shown; when the server's is worse, the reason
 * says so ("server" or "serverAudioOnly"). Returns a new Reading.
 * @param {Reading} r
 * @param {Quality | null} server null: the server has said nothing
 * @returns {Reading}
 */
export function withServerQuality(r, server) {
  const out = { ...r, reasons: [...r.reasons] };
  if (!server || QUALITY_ORDER.indexOf(server) <= QUALITY_ORDER.indexOf(r.quality)) return out;
  out.quality = server;
  out.reasons.unshift(server === 'audio-only' ? 'serverAudioOnly' : 'server');
  return out;
}
