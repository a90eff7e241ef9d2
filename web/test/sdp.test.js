// node --test test/   (from web/)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeParams, preferCodecs, setOpusParams } from '../app/sdp.js';

const chromeOffer = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  '',
].join('\r\n');

test('adds usedtx and keeps existing Opus parameters', () => {
  const out = setOpusParams(chromeOffer);
  assert.match(out, /\r\na=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n/);
  assert.ok(out.endsWith('\r\n'));
  assert.ok(!/[^\r]\n/.test(out), 'CRLF preserved');
  // Other fmtp lines are untouched.
  assert.match(out, /\r\na=fmtp:63 111\/111\r\n/);
  assert.match(out, /\r\na=fmtp:97 apt=96\r\n/);
  assert.equal(out.split('\r\n').length, chromeOffer.split('\r\n').length);
});

test('is idempotent', () => {
  const once = setOpusParams(chromeOffer);
  assert.equal(setOpusParams(once), once);
});

test('overrides a disabled value', () => {
  const sdp = chromeOffer.replace('useinbandfec=1', 'useinbandfec=0;usedtx=0');
  const out = setOpusParams(sdp);
  assert.match(out, /a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n/);
});

test('adds an fmtp line when Opus has none', () => {
  const sdp = chromeOffer.replace('a=fmtp:111 minptime=10;useinbandfec=1\r\n', '');
  const out = setOpusParams(sdp);
  assert.match(out, /a=rtpmap:111 opus\/48000\/2\r\na=fmtp:111 useinbandfec=1;usedtx=1\r\n/);
});

test('LF-only SDP stays LF-only', () => {
  const lf = chromeOffer.replace(/\r\n/g, '\n');
  const out = setOpusParams(lf);
  assert.ok(!out.includes('\r'));
  assert.match(out, /a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\n/);
});

test('payload types are per media section', () => {
  // 111 is Opus in the audio section but something else in the video one.
  const sdp = chromeOffer
    .replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'm=video 9 UDP/TLS/RTP/SAVPF 111 97')
    .replace('a=rtpmap:96 VP8/90000', 'a=rtpmap:111 VP8/90000\r\na=fmtp:111 max-fs=12288')
    .replace('a=fmtp:97 apt=96', 'a=fmtp:97 apt=111');
  const out = setOpusParams(sdp);
  assert.match(out, /a=fmtp:111 max-fs=12288\r\n/);
  assert.match(out, /a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n/);
});

test('an SDP without Opus, and an empty one, are unchanged', () => {
  const noOpus = chromeOffer.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 ISAC/16000');
  assert.equal(setOpusParams(noOpus), noOpus);
  assert.equal(setOpusParams(''), '');
});

test('Opus in a second audio section is handled too', () => {
  const sdp = chromeOffer + [
    'm=audio 9 UDP/TLS/RTP/SAVPF 109',
    'a=mid:2',
    'a=rtpmap:109 OPUS/48000/2',
    'a=fmtp:109 stereo=1',
    '',
  ].join('\r\n');
  const out = setOpusParams(sdp);
  assert.match(out, /a=fmtp:109 stereo=1;useinbandfec=1;usedtx=1\r\n/);
  assert.match(out, /a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n/);
});

test('mergeParams', () => {
  assert.equal(mergeParams(' a=1 ; flag;b=2', { b: 3, c: 'x' }), 'a=1;flag;b=3;c=x');
  assert.equal(mergeParams('', { usedtx: 1 }), 'usedtx=1');
  assert.equal(mergeParams('UseDTX=0', { usedtx: 1 }), 'UseDTX=1');
});

test('preferCodecs puts VP8 then H.264 first and drops nothing', () => {
  const codecs = [
    { mimeType: 'video/VP9' },
    { mimeType: 'video/rtx' },
    { mimeType: 'video/H264', sdpFmtpLine: 'a' },
    { mimeType: 'video/vp8' },
    { mimeType: 'video/H264', sdpFmtpLine: 'b' },
    { mimeType: 'video/AV1' },
  ];
  const out = preferCodecs(codecs, ['video/VP8', 'video/H264']);
  assert.deepEqual(out.map((c) => c.mimeType + (c.sdpFmtpLine ?? '')),
    ['video/vp8', 'video/H264a', 'video/H264b', 'video/VP9', 'video/rtx', 'video/AV1']);
  assert.equal(codecs[0].mimeType, 'video/VP9', 'input not modified');
});

test('simulcastAccepted needs a=simulcast and the RID extension on each live video section', async () => {
  const { simulcastAccepted, RID_EXTENSION } = await import('../app/sdp.js');
  const video = (/** @type {string} */ mid, /** @type {boolean} */ rid, /** @type {boolean} */ sim, port = '9') => [
    `m=video ${port} UDP/TLS/RTP/SAVPF 96`,
    `a=mid:${mid}`,
    ...(rid ? [`a=extmap:4 ${RID_EXTENSION}`] : []),
    'a=rtpmap:96 VP8/90000',
    ...(sim ? ['a=rid:q recv', 'a=rid:h recv', 'a=simulcast:recv q;h'] : []),
  ];
  const sdp = (/** @type {string[][]} */ ...v) => ['v=0', 's=-', ...v.flat(), ''].join('\r\n');
  assert.equal(simulcastAccepted(sdp(video('1', true, true))), true);
  assert.equal(simulcastAccepted(sdp(video('1', false, true))), false, 'no RID extension');
  assert.equal(simulcastAccepted(sdp(video('1', true, false))), false, 'no a=simulcast');
  assert.equal(simulcastAccepted(sdp(video('1', true, true), video('2', false, false))), false);
  assert.equal(simulcastAccepted(sdp(video('1', true, true), video('2', false, false, '0'))), true, 'rejected section ignored');
  assert.equal(simulcastAccepted(chromeOffer), false, 'no simulcast at all');
  assert.equal(simulcastAccepted(sdp(video('1', true, true)).replace(/\r\n/g, '\n')), true);
  // A shared screen (one encoding) beside the simulcast camera.
  const both = sdp(video('0', true, true), video('2', true, false));
  assert.equal(simulcastAccepted(both, new Set(['0'])), true, 'only the camera section is checked');
  assert.equal(simulcastAccepted(both, new Set(['0', '2'])), false);
  assert.equal(simulcastAccepted(both, new Set(['7'])), false, 'no checked section');
  assert.equal(simulcastAccepted(sdp(video('0', false, true), video('2', true, false)), new Set(['0'])), false);
});
