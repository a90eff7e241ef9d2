// Pure helpers of the live classroom (no DOM globals, so node tests run
// them): the participant list grouped by site, the hand queue, the floor
// message, and chat (merging, deletion, counting, and rendering as text).

/** @typedef {import('./types.js').Participant} Participant */

/** Longest chat message in characters (chat.MaxRunes on the server). */
export const CHAT_MAX_CHARS = 1000;

/** Sites in the order the list shows them; other sites follow by name. */
export const SITE_ORDER = Object.freeze(['Osh', 'Bishkek', 'Rezekne', 'Riga']);

/**
 * A participant's connection state (docs/protocol.md `participants`).
 * @typedef {'connected' | 'reconnecting' | 'audio-only'} ParticipantState
 */

/**
 * The badges a participant shows, in this order.
 * @typedef {'reconnecting' | 'audio-only' | 'connected' | 'hand' | 'floor' | 'muted'} Badge
 */

/**
 * @typedef {object} SiteGroup
 * @property {string} siteId
 * @property {string} siteName
 * @property {Participant[]} people
 */

/**
 * @param {unknown} v
 * @returns {v is Record<string, any>}
 */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {unknown} v */
const str = (v) => (typeof v === 'string' ? v : '');

/**
 * Read one `participants` entry defensively; null if it has no connId.
 * @param {unknown} v
 * @returns {Participant | null}
 */
export function parseParticipant(v) {
  if (!isObject(v) || !str(v.connId)) return null;
  const state = v.state === 'reconnecting' || v.state === 'audio-only' ? v.state : 'connected';
  const role = ['lecturer', 'student', 'admin', 'operator'].includes(v.role) ? v.role : 'student';
  return {
    connId: str(v.connId),
    userId: str(v.userId),
    displayName: str(v.displayName) || str(v.userId),
    role,
    siteId: str(v.siteId),
    siteName: str(v.siteName) || str(v.siteId),
    state,
    hand: v.hand === true,
    handAt: str(v.handAt),
    floor: v.floor === true,
    muted: v.muted === true,
  };
}

/** @param {string} role */
function roleRank(role) {
  switch (role) {
    case 'lecturer': return 0;
    case 'operator': return 1;
    case 'admin': return 2;
    default: return 3;
  }
}

/**
 * Group participants by site: Osh, Bishkek, Rezekne, Riga first (in that
 * order), then any other site by name, then those without a site. Inside a
 * site: the lecturer, the classroom computers, admins, then students, each
 * by name.
 * @param {Participant[]} list
 * @returns {SiteGroup[]}
 */
export function groupBySite(list) {
  /** @type {Map<string, SiteGroup>} */
  const groups = new Map();
  for (const p of list) {
    let g = groups.get(p.siteId);
    if (!g) {
      g = { siteId: p.siteId, siteName: p.siteName || p.siteId, people: [] };
      groups.set(p.siteId, g);
    }
    g.people.push(p);
  }
  const rank = (/** @type {SiteGroup} */ g) => {
    if (!g.siteId) return SITE_ORDER.length + 1;
    const i = SITE_ORDER.findIndex((n) => n.toLowerCase() === g.siteName.toLowerCase());
    return i < 0 ? SITE_ORDER.length : i;
  };
  const out = [...groups.values()];
  for (const g of out) {
    g.people.sort((a, b) => roleRank(a.role) - roleRank(b.role)
      || a.displayName.localeCompare(b.displayName) || a.connId.localeCompare(b.connId));
  }
  out.sort((a, b) => rank(a) - rank(b) || a.siteName.localeCompare(b.siteName) || a.siteId.localeCompare(b.siteId));
  return out;
}

/**
 * The badges of one participant: its connection state, then hand raised,
 * has the floor, muted.
 * @param {Participant} p
 * @returns {Badge[]}
 */
export function participantBadges(p) {
  /** @type {Badge[]} */
  const out = [p.state ?? 'connected'];
  if (p.hand) out.push('hand');
  if (p.floor) out.push('floor');
  if (p.muted) out.push('muted');
  return out;
}

/**
 * @typedef {object} Hand
 * @property {string} userId
 * @property {string} displayName
 * @property {string} siteId
 * @property {string} at RFC 3339
 */

/**
 * @typedef {object} FloorState
 * @property {{userId: string, displayName: string, camera: boolean} | null} holder
 * @property {Hand[]} hands oldest first
 * @property {boolean} locked
 */

/**
 * The hand queue in the order the lecturer should take it: oldest hand
 * first; equal times by user id, so every page shows the same order; one
 * entry per user (the oldest).
 * @param {Hand[]} hands
 * @returns {Hand[]}
 */
export function orderHands(hands) {
  const time = (/** @type {string} */ at) => {
    const ms = Date.parse(at);
    return Number.isFinite(ms) ? ms : Number.MAX_SAFE_INTEGER;
  };
  const sorted = hands.slice().sort((a, b) => time(a.at) - time(b.at) || a.userId.localeCompare(b.userId));
  const seen = new Set();
  return sorted.filter((hd) => {
    if (seen.has(hd.userId)) return false;
    seen.add(hd.userId);
    return true;
  });
}

/**
 * Read a `floor` message defensively.
 * @param {Record<string, unknown>} msg
 * @returns {FloorState}
 */
export function parseFloor(msg) {
  /** @type {FloorState['holder']} */
  let holder = null;
  if (isObject(msg.holder) && str(msg.holder.userId)) {
    holder = { userId: str(msg.holder.userId), displayName: str(msg.holder.displayName) || str(msg.holder.userId), camera: msg.holder.camera === true };
  }
  const hands = (Array.isArray(msg.hands) ? msg.hands : [])
    .filter((x) => isObject(x) && str(x.userId))
    .map((x) => ({ userId: str(x.userId), displayName: str(x.displayName) || str(x.userId), siteId: str(x.siteId), at: str(x.at) }));
  return { holder, hands: orderHands(hands), locked: msg.locked === true };
}

// ---- chat ------------------------------------------------------------------

/**
 * One chat message as the server sends it (chat.Message).
 * @typedef {object} ChatMessage
 * @property {string} id Redis stream id "ms-seq"; orders the chat
 * @property {string} userId
 * @property {string} name
 * @property {string} role
 * @property {string} siteId
 * @property {string} text "" once deleted
 * @property {string} at
 * @property {boolean} deleted
 * @property {string} deletedBy
 */

/**
 * @param {unknown} v
 * @returns {ChatMessage | null}
 */
export function parseChatMessage(v) {
  if (!isObject(v) || !/^\d+-\d+$/.test(str(v.id))) return null;
  return {
    id: str(v.id), userId: str(v.userId), name: str(v.name) || str(v.userId), role: str(v.role),
    siteId: str(v.siteId), text: v.deleted === true ? '' : str(v.text), at: str(v.at),
    deleted: v.deleted === true, deletedBy: str(v.deletedBy),
  };
}

/**
 * Compare two stream ids ("ms-seq") numerically.
 * @param {string} a
 * @param {string} b
 */
export function compareChatIds(a, b) {
  const [am, as] = a.split('-').map((x) => BigInt(x || '0'));
  const [bm, bs] = b.split('-').map((x) => BigInt(x || '0'));
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/**
 * Add messages to a chat: a repeat of a known id is dropped (history and
 * broadcast may overlap by one), the result is in id order, and at most
 * limit are kept (the newest).
 * @param {ChatMessage[]} list
 * @param {ChatMessage[]} incoming
 * @param {number} [limit]
 * @returns {ChatMessage[]}
 */
export function mergeChat(list, incoming, limit = 500) {
  /** @type {Map<string, ChatMessage>} */
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of incoming) {
    const known = byId.get(m.id);
    // A deletion wins over a late copy of the message.
    if (!known || (m.deleted && !known.deleted)) byId.set(m.id, m);
  }
  const out = [...byId.values()].sort((a, b) => compareChatIds(a.id, b.id));
  return out.length > limit ? out.slice(out.length - limit) : out;
}

/**
 * Mark a message deleted (its text is dropped).
 * @param {ChatMessage[]} list
 * @param {string} id
 * @param {string} by
 * @returns {ChatMessage[]}
 */
export function deleteChat(list, id, by) {
  return list.map((m) => (m.id === id ? { ...m, text: '', deleted: true, deletedBy: by } : m));
}

/**
 * How many characters are left, counted as the server counts them (code
 * points of the trimmed text).
 * @param {string} text
 * @returns {number}
 */
export function chatCharsLeft(text) {
  return CHAT_MAX_CHARS - [...text.trim()].length;
}

/**
 * A chat text split into plain runs and links. Links are shown as text
 * (marked so they can be styled and copied), never made clickable and never
 * parsed as HTML.
 * @param {string} text
 * @returns {{kind: 'text' | 'link', text: string}[]}
 */
export function chatSegments(text) {
  /** @type {{kind: 'text' | 'link', text: string}[]} */
  const out = [];
  // A link ends before trailing punctuation ("see https://x.org.").
  const re = /\b(?:https?:\/\/|www\.)[^\s<>"']*[^\s<>"'.,;:!?)]/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index ?? 0;
    if (at > last) out.push({ kind: 'text', text: text.slice(last, at) });
    out.push({ kind: 'link', text: m[0] });
    last = at + m[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

/**
 * The smallest document a chat text needs: elements and text nodes.
 * @typedef {{createElement(tag: string): {className: string, textContent: string | null, append(...nodes: any[]): void}, createTextNode(text: string): any}} TextDocument
 */

/**
 * Build the body of a chat message with textContent and text nodes only:
 * whatever the text holds (markup, scripts, links) is shown as typed.
 * @param {TextDocument} doc
 * @param {string} text
 */
export function renderChatText(doc, text) {
  const body = doc.createElement('span');
  body.className = 'chat-text';
  for (const seg of chatSegments(text)) {
    if (seg.kind === 'link') {
      const link = doc.createElement('span');
      link.className = 'chat-link';
      link.textContent = seg.text;
      body.append(link);
    } else {
      body.append(doc.createTextNode(seg.text));
    }
  }
  return body;
}
