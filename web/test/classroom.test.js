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
