// Time zone arithmetic and formatting with Intl.DateTimeFormat only.
// The server speaks UTC (RFC 3339); people think in their site's zone.

import { LOCALE, t } from './strings.js';

/** @typedef {{year: number, month: number, day: number, hour: number, minute: number, second: number}} WallClock */

/** @type {Map<string, Intl.DateTimeFormat>} */
const partsFormats = new Map();

/** @param {string} timeZone */
function partsFormat(timeZone) {
  let f = partsFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsFormats.set(timeZone, f);
  }
  return f;
}

/**
 * The wall clock reading in timeZone at the instant date.
 * @param {Date} date
 * @param {string} timeZone
 * @returns {WallClock}
 */
export function wallClock(date, timeZone) {
  /** @type {Record<string, number>} */
  const p = {};
  for (const part of partsFormat(timeZone).formatToParts(date)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return {
    year: p.year ?? 0, month: p.month ?? 1, day: p.day ?? 1,
    // Some engines print midnight as 24 even with h23.
    hour: (p.hour ?? 0) % 24, minute: p.minute ?? 0, second: p.second ?? 0,
  };
}

/**
 * Offset of timeZone from UTC at instant ms, in milliseconds (east positive).
 * @param {number} ms
 * @param {string} timeZone
 */
export function zoneOffsetMs(ms, timeZone) {
  const whole = Math.floor(ms / 1000) * 1000;
  const w = wallClock(new Date(whole), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
}

/**
 * Convert a wall-clock date ("YYYY-MM-DD") and time ("HH:MM") in timeZone to
 * the UTC instant. `exists` is false when the clock skips that time (the
 * spring DST gap); the instant is then the one after the gap.
 * @param {string} dateKey
 * @param {string} hhmm
 * @param {string} timeZone
 * @returns {{date: Date, exists: boolean} | null} null if the input is malformed
 */
export function zonedToUtc(dateKey, hhmm, timeZone) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dateKey);
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(hhmm);
  if (!d || !m) return null;
  const want = { year: +d[1], month: +d[2], day: +d[3], hour: +m[1], minute: +m[2] };
  if (want.month < 1 || want.month > 12 || want.day < 1 || want.day > 31 || want.hour > 23 || want.minute > 59) return null;
  const asUtc = Date.UTC(want.year, want.month - 1, want.day, want.hour, want.minute, 0);
  // Two passes settle on the right offset, also next to a DST change.
  const off1 = zoneOffsetMs(asUtc - zoneOffsetMs(asUtc, timeZone), timeZone);
  let ms = asUtc - off1;
  const off2 = zoneOffsetMs(ms, timeZone);
  if (off2 !== off1) ms = asUtc - off2;
  const back = wallClock(new Date(ms), timeZone);
  const exists = back.year === want.year && back.month === want.month && back.day === want.day &&
    back.hour === want.hour && back.minute === want.minute;
  if (!exists) {
    // In a gap: take the later offset, which lands just after the gap.
    ms = asUtc - Math.min(off1, off2);
  }
  return { date: new Date(ms), exists };
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, '0');

/**
 * Today's (or the instant's) calendar date in timeZone, as "YYYY-MM-DD".
 * @param {string} timeZone
 * @param {Date} [at]
 */
export function dateKeyIn(timeZone, at = new Date()) {
  const w = wallClock(at, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/**
 * "HH:MM" now in timeZone.
 * @param {string} timeZone
 * @param {Date} [at]
 */
export function hhmmIn(timeZone, at = new Date()) {
  const w = wallClock(at, timeZone);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/**
 * Add days to a "YYYY-MM-DD" calendar date.
 * @param {string} dateKey
 * @param {number} days
 */
export function addDays(dateKey, days) {
  const [y, m, d] = dateKey.split('-').map(Number);
  const x = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days, 12));
  return `${x.getUTCFullYear()}-${pad(x.getUTCMonth() + 1)}-${pad(x.getUTCDate())}`;
}

/**
 * The UTC range [from, to) of a calendar day in timeZone, as RFC 3339.
 * @param {string} dateKey
 * @param {string} timeZone
 */
export function dayRange(dateKey, timeZone) {
  const from = zonedToUtc(dateKey, '00:00', timeZone);
  const to = zonedToUtc(addDays(dateKey, 1), '00:00', timeZone);
  if (!from || !to) throw new Error(`bad date ${dateKey}`);
  return { from: toRfc3339(from.date), to: toRfc3339(to.date) };
}

/**
 * RFC 3339 in UTC without fractional seconds, e.g. "2026-11-27T09:00:00Z".
 * @param {Date} date
 */
export function toRfc3339(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** @type {Map<string, Intl.DateTimeFormat>} */
const formats = new Map();

/**
 * @param {string} key
 * @param {Intl.DateTimeFormatOptions} options
 */
function cachedFormat(key, options) {
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALE, options);
    formats.set(key, f);
  }
  return f;
}

/**
 * @param {string | Date} when
 * @returns {Date}
 */
function toDate(when) {
  return typeof when === 'string' ? new Date(when) : when;
}

/**
 * "09:00" in timeZone.
 * @param {string | Date} when
 * @param {string} timeZone
 */
export function formatTime(when, timeZone) {
  return cachedFormat(`t|${timeZone}`, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(toDate(when));
}

/**
 * "09:00:05" in timeZone.
 * @param {string | Date} when
 * @param {string} timeZone
 */
export function formatTimeSeconds(when, timeZone) {
  return cachedFormat(`ts|${timeZone}`, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    .format(toDate(when));
}

/**
 * "Fri 27 Nov, 09:00" in timeZone.
 * @param {string | Date} when
 * @param {string} timeZone
 */
export function formatDateTime(when, timeZone) {
  return cachedFormat(`dt|${timeZone}`, {
    timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(toDate(when));
}

/**
 * A calendar date "YYYY-MM-DD" as "Friday 27 November 2026".
 * @param {string} dateKey
 */
export function formatDateKey(dateKey) {
  const [y, m, d] = dateKey.split('-').map(Number);
  return cachedFormat('day|UTC', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })
    .format(new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, 12)));
}

/**
 * @typedef {object} ZoneLabel
 * @property {string} timeZone
 * @property {string} label e.g. the site name
 */

/**
 * A time shown in the viewer's zone and the lecture's origin zone side by
 * side. One entry when both zones show the same wall clock.
 * @param {string | Date} when
 * @param {ZoneLabel} viewer
 * @param {ZoneLabel} origin
 * @returns {{label: string, time: string, timeZone: string, viewer: boolean}[]}
 */
export function dualTimes(when, viewer, origin) {
  const mine = { label: viewer.label, time: formatTime(when, viewer.timeZone), timeZone: viewer.timeZone, viewer: true };
  const theirs = { label: origin.label, time: formatTime(when, origin.timeZone), timeZone: origin.timeZone, viewer: false };
  if (mine.timeZone === theirs.timeZone ||
      zoneOffsetMs(toDate(when).getTime(), viewer.timeZone) === zoneOffsetMs(toDate(when).getTime(), origin.timeZone)) {
    return [mine];
  }
  return [mine, theirs];
}

/**
 * dualTimes as one string: "09:00 Riga · 12:00 Osh".
 * @param {string | Date} when
 * @param {ZoneLabel} viewer
 * @param {ZoneLabel} origin
 */
export function dualTimesText(when, viewer, origin) {
  return dualTimes(when, viewer, origin)
    .map((x) => t('lecture.timeAt', { time: x.time, site: x.label }))
    .join(' · ');
}
