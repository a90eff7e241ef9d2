import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHAT_MAX_CHARS, chatCharsLeft, chatSegments, compareChatIds, deleteChat, groupBySite, mergeChat,
  orderHands, parseChatMessage, parseFloor, parseParticipant, participantBadges, renderChatText,
} from '../app/classroom.js';

/** @param {Record<string, unknown>} o */
const part = (o) => /** @type {import('../app/types.js').Participant} */ (parseParticipant({ connId: `c-${o.displayName}`, userId: `u-${o.displayName}`, ...o }));

test('participants are grouped by site: Osh, Bishkek, Rezekne, Riga, then others by name', () => {
  const list = [
    part({ displayName: 'Zane', siteId: 'riga', siteName: 'Riga', role: 'student' }),
    part({ displayName: 'Riga classroom', siteId: 'riga', siteName: 'Riga', role: 'operator' }),
    part({ displayName: 'Aibek', siteId: 'osh', siteName: 'Osh', role: 'student' }),
    part({ displayName: 'Visitor', siteId: 'tallinn', siteName: 'Tallinn', role: 'student' }),
    part({ displayName: 'Marat', siteId: 'osh', siteName: 'Osh', role: 'lecturer' }),
    part({ displayName: 'Anna', siteId: 'riga', siteName: 'Riga', role: 'student' }),
    part({ displayName: 'Nurlan', siteId: 'bishkek', siteName: 'Bishkek', role: 'student' }),
    part({ displayName: 'Ilze', siteId: 'rez', siteName: 'Rezekne', role: 'student' }),
    part({ displayName: 'Aigul', siteId: 'almaty', siteName: 'Almaty', role: 'student' }),
    part({ displayName: 'Nobody', siteId: '', role: 'admin' }),
  ];
  const groups = groupBySite(list);
  assert.deepEqual(groups.map((g) => g.siteName), ['Osh', 'Bishkek', 'Rezekne', 'Riga', 'Almaty', 'Tallinn', '']);
  assert.deepEqual(groups[0].people.map((p) => p.displayName), ['Marat', 'Aibek'], 'the lecturer first');
  assert.deepEqual(groups[3].people.map((p) => p.displayName), ['Riga classroom', 'Anna', 'Zane'], 'the classroom, then students by name');
  assert.equal(groups.reduce((n, g) => n + g.people.length, 0), list.length, 'nobody lost');
  assert.deepEqual(groupBySite([]), []);
});

test('participant entries are read defensively, with badges in a fixed order', () => {
  const p = parseParticipant({ connId: 'c1', userId: 'u1', displayName: 'Anna', role: 'root', siteId: 'riga', state: 'weird', hand: 'yes', floor: true, muted: true });
  assert.ok(p);
  assert.equal(p.role, 'student');
  assert.equal(p.state, 'connected');
  assert.equal(p.siteName, 'riga', 'the id stands in for a missing name');
  assert.equal(p.hand, false, 'only true is true');
  assert.deepEqual(participantBadges(p), ['connected', 'floor', 'muted']);
  assert.deepEqual(participantBadges(part({ displayName: 'x', state: 'reconnecting', hand: true })), ['reconnecting', 'hand']);
  assert.deepEqual(participantBadges(part({ displayName: 'x', state: 'audio-only' })), ['audio-only']);
  assert.equal(parseParticipant({ userId: 'u' }), null);
  assert.equal(parseParticipant('x'), null);
});

test('the hand queue is oldest first, stable on ties, one entry per user', () => {
  const hands = [
    { userId: 'u3', displayName: 'C', siteId: 'osh', at: '2026-11-27T08:00:03Z' },
    { userId: 'u2', displayName: 'B', siteId: 'riga', at: '2026-11-27T08:00:01Z' },
    { userId: 'u1', displayName: 'A', siteId: 'riga', at: '2026-11-27T08:00:01Z' },
    { userId: 'u4', displayName: 'D', siteId: 'riga', at: 'not a time' },
    { userId: 'u3', displayName: 'C', siteId: 'osh', at: '2026-11-27T08:00:05Z' },
  ];
  assert.deepEqual(orderHands(hands).map((x) => x.userId), ['u1', 'u2', 'u3', 'u4']);
  const floor = parseFloor({ holder: { userId: 'u9', displayName: 'Holder', camera: true }, hands, locked: true });
  assert.deepEqual(floor.hands.map((x) => x.userId), ['u1', 'u2', 'u3', 'u4']);
  assert.deepEqual(floor.holder, { userId: 'u9', displayName: 'Holder', camera: true });
  assert.equal(floor.locked, true);
  assert.deepEqual(parseFloor({ holder: null, hands: [null, { displayName: 'no id' }] }), { holder: null, hands: [], locked: false });
});

test('chat ids order numerically; merging drops repeats and keeps deletions', () => {
  assert.equal(compareChatIds('9-0', '10-0'), -1);
  assert.equal(compareChatIds('10-2', '10-11'), -1);
  assert.equal(compareChatIds('10-2', '10-2'), 0);
  const msg = (/** @type {string} */ id, text = 'hi') => /** @type {import('../app/classroom.js').ChatMessage} */ (parseChatMessage({ id, userId: 'u', name: 'A', text, at: '' }));
  let list = mergeChat([], [msg('10-0'), msg('9-0')]);
  list = mergeChat(list, [msg('10-0'), msg('11-0')]);
  assert.deepEqual(list.map((m) => m.id), ['9-0', '10-0', '11-0']);
  list = deleteChat(list, '10-0', 'lecturer');
  assert.equal(list[1].deleted, true);
  assert.equal(list[1].text, '');
  list = mergeChat(list, [msg('10-0', 'late copy')]);
  assert.equal(list[1].deleted, true, 'a late copy does not bring a deleted message back');
  assert.deepEqual(mergeChat([], [msg('1-0'), msg('2-0'), msg('3-0')], 2).map((m) => m.id), ['2-0', '3-0']);
  assert.equal(parseChatMessage({ id: '<script>', text: 'x' }), null);
  assert.equal(parseChatMessage({ id: '1-0', text: 'secret', deleted: true })?.text, '', 'a tombstone has no text');
});

test('the length counter counts characters as the server does', () => {
  assert.equal(chatCharsLeft(''), CHAT_MAX_CHARS);
  assert.equal(chatCharsLeft('  hi  '), CHAT_MAX_CHARS - 2);
  assert.equal(chatCharsLeft('😀😀'), CHAT_MAX_CHARS - 2, 'code points, not UTF-16 units');
  assert.equal(chatCharsLeft('a'.repeat(1001)), -1);
});

/**
 * A fake document that records how content is set and refuses innerHTML,
 * insertAdjacentHTML and outerHTML.
 */
function fakeDocument() {
  /** @type {any[]} */
  const made = [];
  const refuse = () => { throw new Error('HTML parsing used'); };
  return {
    made,
    /** @param {string} tag */
    createElement(tag) {
      const el = {
        tag, className: '', textContent: /** @type {string | null} */ (''), children: /** @type {any[]} */ ([]),
        /** @param {...any} nodes */
        append(...nodes) { this.children.push(...nodes); },
        set innerHTML(_v) { refuse(); },
        get innerHTML() { return refuse(); },
        set outerHTML(_v) { refuse(); },
        insertAdjacentHTML: refuse,
      };
      made.push(el);
      return el;
    },
    /** @param {string} text */
    createTextNode(text) { return { tag: '#text', text }; },
  };
}

/** @param {any} node */
function textOf(node) {
  if (node.tag === '#text') return node.text;
  return node.children.length ? node.children.map(textOf).join('') : node.textContent;
}

test('chat text is rendered as text only: markup and scripts stay literal, links are text', () => {
  const attacks = [
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(document.cookie)">',
    'see https://example.org/a?b=<i>c</i> and javascript:alert(1)',
    '&lt;b&gt; &amp; </span><span class="chat-link">',
  ];
  for (const text of attacks) {
    const doc = fakeDocument();
    const body = renderChatText(doc, text);
    assert.equal(textOf(body), text, 'what is shown is exactly what was typed');
    assert.ok(doc.made.every((el) => el.tag === 'span'), 'only spans are made: no script, img or a elements');
  }
  const segs = chatSegments('read www.example.org/x and https://a.example/b?c=1, then stop');
  assert.deepEqual(segs.filter((s) => s.kind === 'link').map((s) => s.text), ['www.example.org/x', 'https://a.example/b?c=1']);
  assert.equal(segs.map((s) => s.text).join(''), 'read www.example.org/x and https://a.example/b?c=1, then stop');
  assert.deepEqual(chatSegments(''), []);
});
