import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLOSE_REMOVED, CLOSE_REPLACED, ICE_DISCONNECTED_MS, ICE_GIVE_UP_MS, ICE_RESTART_GAP_MS, IceWatch,
  RETRY_BASE_MS, RETRY_MAX_MS, greeting, mayReconnect, retryDelay,
} from '../app/reconnect.js';

/** A clock whose time only moves when the test says so. */
function fakeClock() {
  let now = 0;
  let next = 1;
  /** @type {Map<number, {at: number, fn: () => void}>} */
  const timers = new Map();
  return {
    now: () => now,
    /** @param {() => void} fn @param {number} ms */
    setTimeout: (fn, ms) => { const id = next++; timers.set(id, { at: now + ms, fn }); return id; },
    /** @param {number} id */
    clearTimeout: (id) => { timers.delete(id); },
    /** @param {number} ms */
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: () => timers.size,
  };
}

test('retry delays grow from 0.5 s to a 10 s cap, with full jitter', () => {
  assert.equal(retryDelay(0, () => 0.999999), RETRY_BASE_MS - 1);
  assert.equal(retryDelay(1, () => 0.5), RETRY_BASE_MS);
  assert.equal(retryDelay(2, () => 0.5), 2 * RETRY_BASE_MS);
  assert.equal(retryDelay(5, () => 0.999999), RETRY_MAX_MS - 1);
  assert.equal(retryDelay(500, () => 0.999999), RETRY_MAX_MS - 1);
  assert.equal(retryDelay(3, () => 0), 0);
  // Bad inputs stay within bounds.
  assert.equal(retryDelay(-4, () => 0.5), RETRY_BASE_MS / 2);
  assert.equal(retryDelay(Number.NaN, () => 0.5), RETRY_BASE_MS / 2);
  assert.equal(retryDelay(2, () => Number.NaN), 2 * RETRY_BASE_MS);
  // Spread: many pages do not come back together.
  const seen = new Set();
  for (let i = 0; i < 200; i++) seen.add(Math.floor(retryDelay(4) / 1000));
  assert.ok(seen.size >= 6, `delays of attempt 4 fall in ${seen.size} distinct seconds`);
});

test('no reconnect after removal or a takeover', () => {
  assert.equal(mayReconnect(CLOSE_REMOVED), false);
  assert.equal(mayReconnect(CLOSE_REPLACED), false);
  for (const code of [1000, 1001, 1006, 1008, 1011, 1013, 4000]) assert.equal(mayReconnect(code), true, String(code));
});

test('resume with a token, join without', () => {
  assert.deepEqual(greeting('l1', 'tok'), { type: 'resume', token: 'tok', lectureId: 'l1' });
  assert.deepEqual(greeting('l1', ''), { type: 'join', lectureId: 'l1' });
});

test('failed restarts ICE at once; disconnected after 3 s', () => {
  const clock = fakeClock();
  let restarts = 0;
  let gaveUp = 0;
  const w = new IceWatch(() => { restarts++; }, () => { gaveUp++; }, clock);
  w.update('connected');
  w.update('disconnected');
  clock.advance(ICE_DISCONNECTED_MS - 1);
  assert.equal(restarts, 0);
  clock.advance(1);
  assert.equal(restarts, 1);
  w.update('connected');
  assert.equal(clock.pending(), 0, 'recovery clears every timer');
  clock.advance(ICE_RESTART_GAP_MS);
  w.update('failed');
  assert.equal(restarts, 2);
  w.update('failed'); // repeated at once: throttled
  assert.equal(restarts, 2);
  w.update('connected');
  clock.advance(ICE_GIVE_UP_MS * 2);
  assert.equal(gaveUp, 0);
});

test('a short blip restarts nothing', () => {
  const clock = fakeClock();
  let restarts = 0;
  const w = new IceWatch(() => { restarts++; }, () => {}, clock);
  w.update('connected');
  w.update('disconnected');
  clock.advance(1000);
  w.update('connected');
  clock.advance(ICE_GIVE_UP_MS * 2);
  assert.equal(restarts, 0);
});

test('media that does not come back is given up after 15 s', () => {
  const clock = fakeClock();
  let gaveUp = 0;
  const w = new IceWatch(() => {}, () => { gaveUp++; }, clock);
  w.update('connected');
  w.update('disconnected');
  clock.advance(ICE_DISCONNECTED_MS);
  w.update('failed');
  clock.advance(ICE_GIVE_UP_MS - ICE_DISCONNECTED_MS - 1);
  assert.equal(gaveUp, 0);
  clock.advance(1);
  assert.equal(gaveUp, 1);
});

test('a network change restarts a working connection, not a new or closed one', () => {
  const clock = fakeClock();
  let restarts = 0;
  const w = new IceWatch(() => { restarts++; }, () => {}, clock);
  w.networkChanged();
  assert.equal(restarts, 0, 'not yet connecting');
  w.update('connected');
  w.networkChanged();
  w.networkChanged(); // a second event right after still restarts: forced
  assert.equal(restarts, 2);
  w.update('closed');
  w.networkChanged();
  w.update('failed');
  assert.equal(restarts, 2, 'closed: nothing more');
  assert.equal(clock.pending(), 0);
});

test('after a short outage the retry comes soon, whatever the attempt count', () => {
  assert.equal(retryDelay(8, () => 0.999999, 3000), 1500 - 1);
  assert.equal(retryDelay(8, () => 0.999999, 100), 2 * RETRY_BASE_MS - 1);
  assert.equal(retryDelay(8, () => 0.999999, 60_000), RETRY_MAX_MS - 1);
  assert.equal(retryDelay(1, () => 0.999999, 60_000), 2 * RETRY_BASE_MS - 1);
  assert.equal(retryDelay(8, () => 0.999999, Number.NaN), RETRY_MAX_MS - 1);
});
