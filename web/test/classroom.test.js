import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DISPLAY_PIXELS, SCREEN_SUFFIX, devicePixels, parseSiteQuality } from '../app/session.js';

test('display sizes are whole device pixels within the protocol bounds', () => {
  assert.equal(devicePixels(640, 1), 640);
  assert.equal(devicePixels(320.4, 2), 641);
  assert.equal(devicePixels(100, 1.5), 150);
  assert.equal(devicePixels(0, 2), 0);
  assert.equal(devicePixels(-5, 1), 0);
  assert.equal(devicePixels(5000, 3), MAX_DISPLAY_PIXELS);
  assert.equal(devicePixels(100, 0), 100, 'a missing ratio counts as 1');
  assert.equal(devicePixels(100, NaN), 100);
  assert.equal(devicePixels(NaN, 1), 0);
  assert.equal(SCREEN_SUFFIX, '~screen');
});

test('siteQuality entries are read defensively', () => {
  assert.deepEqual(parseSiteQuality({ id: 'riga', name: 'Riga', good: 2, weak: 1, audioOnly: 0 }),
    { id: 'riga', name: 'Riga', good: 2, weak: 1, audioOnly: 0 });
  assert.deepEqual(parseSiteQuality({ id: 'osh', good: -1, weak: 1.5, audioOnly: '3' }),
    { id: 'osh', name: 'osh', good: 0, weak: 0, audioOnly: 0 });
  assert.equal(parseSiteQuality({ name: 'x' }), null);
  assert.equal(parseSiteQuality(null), null);
  assert.equal(parseSiteQuality('riga'), null);
});

test('the downlink budget field takes whole kbit/s up to the server limit', async () => {
  const { parseDownlink, MAX_DOWNLINK_KBPS } = await import('../app/views/sites.js');
  assert.equal(parseDownlink(''), 0);
  assert.equal(parseDownlink(' 8000 '), 8000);
  assert.equal(parseDownlink('0'), 0);
  assert.equal(parseDownlink(String(MAX_DOWNLINK_KBPS)), MAX_DOWNLINK_KBPS);
  assert.ok(Number.isNaN(parseDownlink(String(MAX_DOWNLINK_KBPS + 1))));
  assert.ok(Number.isNaN(parseDownlink('-1')));
  assert.ok(Number.isNaN(parseDownlink('1.5')));
  assert.ok(Number.isNaN(parseDownlink('8 Mbit')));
});

/** Just enough of MediaStream and its tracks for LectureSession without a browser. */
class FakeTrack {
  /** @param {string} id @param {string} kind */
  constructor(id, kind) { this.id = id; this.kind = kind; }
}
class FakeStream {
  /** @param {FakeTrack[]} [tracks] */
  constructor(tracks = []) { this.tracks = [...tracks]; }
  getTracks() { return [...this.tracks]; }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === 'video'); }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === 'audio'); }
  /** @param {FakeTrack} t */
  addTrack(t) { this.tracks.push(t); }
  /** @param {FakeTrack} t */
  removeTrack(t) { this.tracks = this.tracks.filter((x) => x !== t); }
}

/** A session whose messages are collected instead of sent. */
async function fakeSession() {
  /** @type {any} */ (globalThis).MediaStream = FakeStream;
  const { LectureSession } = await import('../app/session.js');
  const s = new LectureSession({ lectureId: 'lec_1', url: 'ws://test/ws' });
  /** @type {Record<string, unknown>[]} */
  const sent = [];
  s.send = (msg) => { sent.push(msg); return true; };
  /** @type {any[]} */
  const events = [];
  s.on((ev) => events.push(ev));
  return { s, sent, events };
}

test('remote pictures are told apart by the screen stream suffix', async () => {
  const { s } = await fakeSession();
  const camera = new FakeTrack('v1', 'video');
  const screen = new FakeTrack('v2', 'video');
  const mic = new FakeTrack('a1', 'audio');
  for (const [t, stream] of /** @type {[FakeTrack, string][]} */ ([[mic, 'c_7'], [screen, 'c_7~screen'], [camera, 'c_7']])) {
    s.remoteStream.addTrack(/** @type {any} */ (t));
    s.remoteStreamIds.set(/** @type {any} */ (t), stream);
  }
  assert.deepEqual(s.remoteVideos(), { camera, screen });
  s.remoteStream.removeTrack(/** @type {any} */ (screen));
  assert.deepEqual(s.remoteVideos(), { camera, screen: null });
});

test('display sizes are sent once per size, only in a live lecture', async () => {
  const { s, sent } = await fakeSession();
  const camera = /** @type {any} */ (new FakeTrack('v1', 'video'));
  s.remoteStreamIds.set(camera, 'c_7');
  assert.equal(s.setDisplaySize(camera, 640, 360), false, 'not joined');
  s.joined = true;
  s.lecture = /** @type {any} */ ({ id: 'lec_1', state: 'live' });
  assert.equal(s.setDisplaySize(camera, 640, 360), true);
  assert.equal(s.setDisplaySize(camera, 640, 360), false, 'unchanged');
  assert.equal(s.setDisplaySize(camera, 9000.4, -3), true);
  assert.deepEqual(sent, [
    { type: 'displaySize', stream: 'c_7', track: 'v1', width: 640, height: 360 },
    { type: 'displaySize', stream: 'c_7', track: 'v1', width: 8192, height: 0 },
  ]);
  const unknown = /** @type {any} */ (new FakeTrack('v9', 'video'));
  assert.equal(s.setDisplaySize(unknown, 100, 100), false, 'a track of no known stream');
});

test('speaker, quality and siteQuality messages update the session', async () => {
  const { s, events } = await fakeSession();
  s.receive(JSON.stringify({ type: 'speaker', conn: 'c_7' }));
  s.receive(JSON.stringify({ type: 'speaker', conn: 'c_7' }));
  s.receive(JSON.stringify({ type: 'quality', quality: 'weak' }));
  s.receive(JSON.stringify({ type: 'quality', quality: 'splendid' }));
  s.receive(JSON.stringify({ type: 'siteQuality', sites: [{ id: 'riga', name: 'Riga', good: 1, weak: 2, audioOnly: 0 }, { bogus: true }] }));
  s.receive(JSON.stringify({ type: 'siteQuality', sites: 'nope' }));
  assert.equal(s.speaker, 'c_7');
  assert.equal(s.serverQuality, 'weak');
  assert.deepEqual(s.siteQualities, [{ id: 'riga', name: 'Riga', good: 1, weak: 2, audioOnly: 0 }]);
  assert.deepEqual(events.map((e) => e.type), ['speaker', 'quality', 'siteQuality'], 'repeats and bad values are ignored');
  s.receive(JSON.stringify({ type: 'speaker', conn: '' }));
  assert.equal(s.speaker, '');
});
