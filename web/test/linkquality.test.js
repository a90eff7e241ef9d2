import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InboundMeter, OutboundMeter, readInbound, readOutbound, selectedPair } from '../app/linkquality.js';

/**
 * @param {{v?: number, lost?: number, frames?: number, audio?: number, jitter?: number, fps?: number, dropped?: number, rtt?: number, bitrate?: number, noVideo?: boolean}} o
 */
function inbound(o) {
  const stats = [
    { type: 'inbound-rtp', kind: 'audio', packetsReceived: o.audio ?? 0 },
    { type: 'transport', selectedCandidatePairId: 'cp1' },
    { type: 'candidate-pair', id: 'cp0', nominated: true, state: 'succeeded', currentRoundTripTime: 9 },
    { type: 'candidate-pair', id: 'cp1', currentRoundTripTime: o.rtt ?? 0.1, availableIncomingBitrate: o.bitrate },
  ];
  if (!o.noVideo) {
    stats.push({
      type: 'inbound-rtp', kind: 'video', packetsReceived: o.v ?? 0, packetsLost: o.lost ?? 0, jitter: o.jitter ?? 0.01,
      framesDecoded: o.frames ?? 0, framesReceived: o.frames ?? 0, framesDropped: o.dropped ?? 0, framesPerSecond: o.fps ?? 30,
    });
  }
  return stats;
}

test('selectedPair prefers the transport pair', () => {
  assert.equal(selectedPair(inbound({}))?.id, 'cp1');
  assert.equal(selectedPair([{ type: 'candidate-pair', id: 'x', nominated: true, state: 'succeeded' }])?.id, 'x');
  assert.equal(selectedPair([]), null);
});

test('a clean link is good', () => {
  const m = new InboundMeter();
  m.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 0), 'auto');
  const r = m.update(readInbound(inbound({ v: 300, frames: 90, audio: 200 }), 2000), 'auto');
  assert.equal(r.quality, 'good');
  assert.equal(r.loss, 0);
  assert.equal(r.rttMs, 100);
  assert.equal(r.jitterMs, 10);
});

test('loss, jitter, rtt, frame rate each make it weak', () => {
  const cases = [
    [{ v: 300, lost: 20, frames: 90, audio: 200 }, 'loss'],
    [{ v: 300, frames: 90, audio: 200, jitter: 0.2 }, 'jitter'],
    [{ v: 300, frames: 90, audio: 200, rtt: 0.8 }, 'rtt'],
    [{ v: 300, frames: 90, audio: 200, fps: 4 }, 'fps'],
    [{ v: 300, frames: 90, audio: 200, dropped: 30 }, 'dropped'],
    [{ v: 300, frames: 90, audio: 200, bitrate: 100_000 }, 'bitrate'],
  ];
  for (const [o, reason] of cases) {
    const m = new InboundMeter();
    m.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 0), 'auto');
    const r = m.update(readInbound(inbound(/** @type {any} */ (o)), 2000), 'auto');
    assert.equal(r.quality, 'weak', String(reason));
    assert.ok(r.reasons.includes(/** @type {string} */ (reason)), `${reason}: ${r.reasons}`);
  }
});

test('loss share counts lost against lost + received', () => {
  const m = new InboundMeter();
  m.update(readInbound(inbound({ v: 0, frames: 1, audio: 1 }), 0), 'auto');
  const r = m.update(readInbound(inbound({ v: 90, lost: 10, frames: 50, audio: 100 }), 2000), 'auto');
  assert.equal(r.loss, 0.1);
});

test('audio only by preference, and when video stalls while audio flows', () => {
  const m = new InboundMeter();
  assert.equal(m.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 0), 'audio-only').quality, 'audio-only');
  const s = new InboundMeter();
  s.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 0), 'auto');
  assert.equal(s.update(readInbound(inbound({ v: 100, frames: 30, audio: 200 }), 2000), 'auto').quality, 'good');
  const r = s.update(readInbound(inbound({ v: 100, frames: 30, audio: 300 }), 4000), 'auto');
  assert.equal(r.quality, 'audio-only');
  assert.deepEqual(r.reasons, ['videoStalled']);
  // Video comes back.
  assert.equal(s.update(readInbound(inbound({ v: 200, frames: 60, audio: 400 }), 6000), 'auto').quality, 'good');
});

test('no video track at all while audio flows is audio only', () => {
  const m = new InboundMeter();
  m.update(readInbound(inbound({ noVideo: true, audio: 10 }), 0), 'auto');
  m.update(readInbound(inbound({ noVideo: true, audio: 100 }), 2000), 'auto');
  const r = m.update(readInbound(inbound({ noVideo: true, audio: 200 }), 4000), 'auto');
  assert.equal(r.quality, 'audio-only');
  assert.deepEqual(r.reasons, ['noVideo']);
});

test('nothing arriving at all is weak', () => {
  const m = new InboundMeter();
  m.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 0), 'auto');
  const r = m.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 2000), 'auto');
  assert.equal(r.quality, 'weak');
  assert.ok(r.reasons.includes('nothing'));
});

/**
 * @param {{packets?: number, bytes?: number, rtx?: number, reasons?: string[], audio?: number, lost?: number, rtt?: number, noVideo?: boolean}} o
 */
function outbound(o) {
  /** @type {Record<string, any>[]} */
  const stats = [{ type: 'outbound-rtp', kind: 'audio', bytesSent: o.audio ?? 0 }];
  if (!o.noVideo) {
    const reasons = o.reasons ?? ['none', 'none', 'none'];
    reasons.forEach((reason, i) => stats.push({
      type: 'outbound-rtp', kind: 'video', rid: 'qhf'[i], packetsSent: o.packets ?? 0, bytesSent: o.bytes ?? 0,
      retransmittedPacketsSent: o.rtx ?? 0, qualityLimitationReason: reason, framesPerSecond: 30,
    }));
    stats.push({ type: 'remote-inbound-rtp', kind: 'video', packetsLost: o.lost ?? 0, fractionLost: 0, roundTripTime: o.rtt ?? 0.1 });
  }
  return stats;
}

test('uplink: good, bandwidth-limited, retransmitting, lossy', () => {
  const base = { packets: 100, bytes: 1000, audio: 100 };
  const next = { packets: 200, bytes: 2000, audio: 200 };
  /** @param {Record<string, any>} o */
  const run = (o) => {
    const m = new OutboundMeter();
    m.update(readOutbound(outbound(base), 0));
    return m.update(readOutbound(outbound({ ...next, ...o }), 2000));
  };
  const good = run({});
  assert.equal(good.quality, 'good');
  assert.equal(good.retransmitted, 0);
  assert.equal(good.rttMs, 100);
  // Bandwidth limitation counts only once it lasts (not during ramp-up).
  const lm = new OutboundMeter();
  const lim = (/** @type {number} */ i) => lm.update(readOutbound(outbound({
    packets: 100 * (i + 1), bytes: 1000 * (i + 1), audio: 100 * (i + 1), reasons: ['none', 'cpu', 'bandwidth'],
  }), i * 2000));
  assert.equal(lim(0).quality, 'good');
  assert.equal(lim(1).quality, 'good');
  const limited = lim(2);
  assert.equal(limited.quality, 'weak');
  assert.equal(limited.limitation, 'bandwidth');
  assert.deepEqual(limited.reasons, ['limitation']);
  assert.equal(run({ rtx: 60 }).quality, 'weak'); // 3 layers × 60 of 300 packets
  assert.equal(run({ lost: 50 }).quality, 'weak');
  assert.equal(run({ rtt: 1 }).quality, 'weak');
  assert.equal(run({ reasons: ['cpu', 'none', 'none'] }).quality, 'good');
});

test('uplink: audio only without a camera, or when video stops', () => {
  const m = new OutboundMeter();
  assert.equal(m.update(readOutbound(outbound({ noVideo: true, audio: 10 }), 0)).quality, 'audio-only');
  const s = new OutboundMeter();
  s.update(readOutbound(outbound({ packets: 10, bytes: 100, audio: 10 }), 0));
  s.update(readOutbound(outbound({ packets: 10, bytes: 100, audio: 20 }), 2000));
  assert.equal(s.update(readOutbound(outbound({ packets: 10, bytes: 100, audio: 30 }), 4000)).quality, 'audio-only');
});

test('the server verdict is shown when it is worse', async () => {
  const { withServerQuality, isQuality } = await import('../app/linkquality.js');
  const m = new InboundMeter();
  m.update(readInbound(inbound({ v: 100, frames: 30, audio: 100 }), 0), 'auto');
  const good = m.update(readInbound(inbound({ v: 300, frames: 90, audio: 200 }), 2000), 'auto');
  assert.equal(good.quality, 'good');
  assert.deepEqual(withServerQuality(good, null), good);
  assert.deepEqual(withServerQuality(good, 'good'), good);
  const weak = withServerQuality(good, 'weak');
  assert.equal(weak.quality, 'weak');
  assert.deepEqual(weak.reasons, ['server']);
  assert.equal(good.quality, 'good', 'the reading itself is not changed');
  const audio = withServerQuality(good, 'audio-only');
  assert.equal(audio.quality, 'audio-only');
  assert.deepEqual(audio.reasons, ['serverAudioOnly']);
  // The browser's own worse verdict stands, with its reasons.
  const lossy = { ...good, quality: /** @type {const} */ ('weak'), reasons: ['loss'] };
  assert.deepEqual(withServerQuality(lossy, 'weak').reasons, ['loss']);
  assert.equal(withServerQuality(lossy, 'good').quality, 'weak');
  assert.ok(isQuality('audio-only') && isQuality('good') && !isQuality('bad') && !isQuality(3));
});
