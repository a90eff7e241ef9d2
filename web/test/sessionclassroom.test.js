import { test } from 'node:test';
import assert from 'node:assert/strict';

// The session touches window only for timers and the online event; a
// minimal stand-in lets its message handling run in node.
globalThis.window = /** @type {any} */ ({
  addEventListener() {}, removeEventListener() {},
  setTimeout: () => 0, clearTimeout() {},
});
globalThis.MediaStream = /** @type {any} */ (class {
  getTracks() { return []; }
  getAudioTracks() { return []; }
  getVideoTracks() { return []; }
  addTrack() {}
  removeTrack() {}
});
const { LectureSession } = await import('../app/session.js');

/** A session that has had its hello (user u1), with a record of its events. */
function session() {
  const s = new LectureSession({ lectureId: 'l1', url: 'ws://test/ws' });
  s.user = /** @type {any} */ ({ id: 'u1', displayName: 'Anna' });
  /** @type {any[]} */
  const events = [];
  s.on((ev) => events.push(ev));
  /** @param {Record<string, unknown>} m */
  const recv = (m) => s.receive(JSON.stringify(m));
  return { s, events, recv };
}

test('chat history, new messages and deletions build one ordered chat without repeats', () => {
  const { s, recv } = session();
  recv({ type: 'chatHistory', messages: [{ id: '2-0', userId: 'u2', name: 'B', text: 'second' }, { id: '1-0', userId: 'u3', name: 'C', text: 'first' }] });
  recv({ type: 'chat', message: { id: '2-0', userId: 'u2', name: 'B', text: 'second' } });
  recv({ type: 'chat', message: { id: '3-0', userId: 'u1', name: 'Anna', text: '<b>third</b>' } });
  assert.deepEqual(s.chat.map((m) => m.id), ['1-0', '2-0', '3-0']);
  assert.equal(s.chat[2].text, '<b>third</b>', 'stored as text, untouched');
  recv({ type: 'chatDeleted', id: '2-0', by: 'lect' });
  assert.equal(s.chat[1].deleted, true);
  assert.equal(s.chat[1].text, '');
  recv({ type: 'chat', message: { id: 'bad', text: 'x' } });
  assert.equal(s.chat.length, 3, 'a message without a proper id is ignored');
});

test('the floor message grants and revokes even when granted/revoked were missed', () => {
  const { s, events, recv } = session();
  recv({ type: 'floor', holder: { userId: 'u1', displayName: 'Anna', camera: true }, hands: [], locked: false });
  assert.deepEqual(s.granted, { camera: true });
  assert.ok(s.mayPublish);
  recv({ type: 'granted', camera: true });
  assert.equal(events.filter((e) => e.type === 'granted').length, 1, 'one grant, not two');
  recv({ type: 'floor', holder: { userId: 'u2', displayName: 'B', camera: false }, hands: [{ userId: 'u1', displayName: 'Anna', siteId: 'riga', at: '2026-11-27T08:00:00Z' }], locked: true });
  assert.equal(s.granted, null);
  assert.equal(s.mayPublish, false);
  assert.equal(events.filter((e) => e.type === 'revoked').length, 1);
  assert.equal(s.floor.locked, true);
  assert.equal(s.floor.hands[0].userId, 'u1');
  recv({ type: 'revoked' });
  assert.equal(events.filter((e) => e.type === 'revoked').length, 1, 'a second revoke changes nothing');
});

test('muted, unmuted and removed reach the page; removed ends the session for good', () => {
  const { s, events, recv } = session();
  recv({ type: 'muted', by: 'lect' });
  assert.equal(s.mutedBy, 'lect');
  recv({ type: 'unmuted' });
  assert.equal(s.mutedBy, null);
  assert.deepEqual(events.filter((e) => e.type === 'muted').map((e) => e.by), ['lect', null]);
  recv({ type: 'removed', reason: 'Disturbing the lecture' });
  assert.deepEqual(s.failure, { code: 'removed', message: 'Disturbing the lecture' });
  assert.equal(s.closed, true, 'nothing reconnects');
  assert.equal(s.state, 'error');
});

test('a join refused for a removed user carries the reason; chat refusals go to the chat', () => {
  const { s, events, recv } = session();
  recv({ type: 'error', code: 'rate_limited', message: 'slow down', ref: 'chat' });
  assert.deepEqual(events.filter((e) => e.type === 'chatError').map((e) => e.code), ['rate_limited']);
  assert.equal(events.filter((e) => e.type === 'notice').length, 0);
  recv({ type: 'error', code: 'removed', message: 'floor: removed from this lecture', ref: 'join', reason: 'Wrong group' });
  assert.deepEqual(s.failure, { code: 'removed', message: 'Wrong group' });
});

test('participants are read defensively', () => {
  const { s, recv } = session();
  recv({ type: 'participants', participants: [{ connId: 'c1', userId: 'u1', displayName: 'Anna', role: 'student', siteId: 'riga', siteName: 'Riga', state: 'audio-only', hand: true }, { nope: 1 }] });
  assert.equal(s.participants.length, 1);
  assert.equal(s.participants[0].state, 'audio-only');
  assert.equal(s.participants[0].hand, true);
});
