// Small, pure SDP and codec helpers for publishing (no DOM, no globals), so
// that they can be tested with `node --test` (web/test/).

/**
 * Parameters added to every Opus `a=fmtp` line: in-band forward error
 * correction (speech survives packet loss) and discontinuous transmission
 * (almost nothing is sent during silence).
 * @type {Readonly<Record<string, string>>}
 */
export const OPUS_PARAMS = Object.freeze({ useinbandfec: '1', usedtx: '1' });

/**
 * Set parameters on the Opus `a=fmtp` line of every media section of an SDP.
 * Existing parameters are kept in order (a parameter already present gets the
 * new value), missing ones are appended; an Opus payload type without an fmtp
 * line gets one right after its `a=rtpmap`. Payload types are looked up per
 * media section. Line endings (CRLF or LF) are preserved; an SDP without Opus
 * is returned unchanged.
 * @param {string} sdp
 * @param {Readonly<Record<string, string | number>>} [params]
 * @returns {string}
 */
export function setOpusParams(sdp, params = OPUS_PARAMS) {
  if (!sdp) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  /** @type {string[][]} */
  const sections = [[]];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1].push(line);
  }
  const out = sections.flatMap((section) => mungeSection(section, params));
  return out.join(eol);
}

/**
 * @param {string[]} lines one media section (or the session part)
 * @param {Readonly<Record<string, string | number>>} params
 * @returns {string[]}
 */
function mungeSection(lines, params) {
  /** @type {Set<string>} */
  const opus = new Set();
  for (const line of lines) {
    const m = /^a=rtpmap:(\d+)\s+opus\/48000(?:\/\d+)?\s*$/i.exec(line);
    if (m) opus.add(m[1]);
  }
  if (opus.size === 0) return lines;
  /** @type {Set<string>} */
  const withFmtp = new Set();
  const changed = lines.map((line) => {
    const m = /^a=fmtp:(\d+)\s+(.*)$/.exec(line);
    if (!m || !opus.has(m[1])) return line;
    withFmtp.add(m[1]);
    return `a=fmtp:${m[1]} ${mergeParams(m[2], params)}`;
  });
  if (withFmtp.size === opus.size) return changed;
  /** @type {string[]} */
  const out = [];
  for (const line of changed) {
    out.push(line);
    const m = /^a=rtpmap:(\d+)\s/.exec(line);
    if (m && opus.has(m[1]) && !withFmtp.has(m[1])) out.push(`a=fmtp:${m[1]} ${mergeParams('', params)}`);
  }
  return out;
}

/**
 * Merge `key=value` pairs into a `;`-separated fmtp parameter list.
 * @param {string} list e.g. "minptime=10;useinbandfec=1"
 * @param {Readonly<Record<string, string | number>>} params
 * @returns {string}
 */
export function mergeParams(list, params) {
  /** @type {[string, string | null][]} */
  const pairs = [];
  for (const part of list.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    pairs.push(eq < 0 ? [p, null] : [p.slice(0, eq).trim(), p.slice(eq + 1).trim()]);
  }
  for (const [key, value] of Object.entries(params)) {
    const hit = pairs.find(([k]) => k.toLowerCase() === key.toLowerCase());
    if (hit) hit[1] = String(value);
    else pairs.push([key, String(value)]);
  }
  return pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join(';');
}

/**
 * Reorder codec capabilities so that the given MIME types come first, in the
 * order given; every other codec (H.264 profiles not listed, RTX, RED, FEC…)
 * keeps its relative order after them. Nothing is dropped.
 * @template {{mimeType: string}} C
 * @param {readonly C[]} codecs
 * @param {readonly string[]} preferred e.g. ['video/VP8', 'video/H264']
 * @returns {C[]}
 */
export function preferCodecs(codecs, preferred) {
  const rank = (/** @type {C} */ c) => {
    const i = preferred.findIndex((p) => p.toLowerCase() === c.mimeType.toLowerCase());
    return i < 0 ? preferred.length : i;
  };
  return codecs
    .map((c, i) => ({ c, i, r: rank(c) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.c);
}

/**
 * The camera's simulcast layers (low, medium, full), lowest first.
 * @type {readonly RTCRtpEncodingParameters[]}
 */
export const SIMULCAST_ENCODINGS = Object.freeze([
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
]);

/** A single camera encoding when simulcast is not available. */
export const SINGLE_ENCODING_MAX_BITRATE = 1_500_000;

/** The RTP header extension carrying a simulcast layer's RID. */
export const RID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

/**
 * Whether an answer accepts simulcast on every video section that it does not
 * reject: `a=simulcast` and the RID header extension both present. A server
 * that answers without them cannot tell the layers apart (the offer carries
 * no SSRCs for them), and browsers even refuse an answer with `a=simulcast`
 * but no RID extension; the publisher then offers again with one encoding.
 * With `mids`, only the sections of those mids (the ones offered with
 * simulcast: the camera, not a shared screen) are checked.
 * @param {string} sdp
 * @param {ReadonlySet<string>} [mids]
 * @returns {boolean}
 */
export function simulcastAccepted(sdp, mids) {
  let videos = 0;
  for (const section of sdp.split(/\r?\n(?=m=)/).slice(1)) {
    if (!/^m=video [1-9]/.test(section)) continue;
    const lines = section.split(/\r?\n/);
    if (mids) {
      const mid = lines.find((l) => l.startsWith('a=mid:'))?.slice('a=mid:'.length).trim() ?? '';
      if (!mids.has(mid)) continue;
    }
    videos++;
    const simulcast = lines.some((l) => l.startsWith('a=simulcast:'));
    const rid = lines.some((l) => l.startsWith('a=extmap:') && l.includes(RID_EXTENSION));
    if (!simulcast || !rid) return false;
  }
  return videos > 0;
}
