// Fetch wrapper for the HTTP JSON API of docs/api.md.

import { t } from './strings.js';

/** @typedef {import('./types.js').User} User */
/** @typedef {import('./types.js').Site} Site */
/** @typedef {import('./types.js').Lecture} Lecture */
/** @typedef {import('./types.js').AttendanceEvent} AttendanceEvent */
/** @typedef {import('./types.js').NewLecture} NewLecture */
/** @typedef {import('./types.js').Group} Group */
/** @typedef {import('./types.js').Series} Series */
/** @typedef {import('./types.js').SeriesBody} SeriesBody */
/** @typedef {import('./types.js').Conflict} Conflict */
/** @typedef {import('./types.js').PreviewOccurrence} PreviewOccurrence */
/** @typedef {import('./types.js').ImportResult} ImportResult */
/** @typedef {import('./types.js').Role} Role */

/** An error reply of the API ({"error": {"code", "message"}}) or a network failure. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure
   * @param {string} code e.g. "bad_request", "forbidden", "network"
   * @param {string} message human-readable, from the server
   * @param {string | undefined} [field] the request field at fault, if the server names one
   * @param {Conflict[]} [conflicts] a 409's `error.conflicts`
   */
  constructor(status, code, message, field, conflicts = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.conflicts = conflicts;
  }
}

/** @type {(() => void) | null} */
let onUnauthenticated = null;

/**
 * Called whenever a request (other than signing in) gets 401 unauthenticated.
 * @param {(() => void) | null} handler
 */
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{quiet401?: boolean}} [opts]
 * @returns {Promise<any>}
 */
async function request(method, path, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', t('error.network'));
  }
  if (res.status === 204) return null;
  /** @type {unknown} */
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = isObject(data) && isObject(data.error) ? data.error : {};
    const code = typeof err.code === 'string' ? err.code : `http_${res.status}`;
    const message = typeof err.message === 'string' && err.message ? err.message : res.statusText || code;
    const field = typeof err.field === 'string' ? err.field : undefined;
    const conflicts = Array.isArray(err.conflicts) ? /** @type {Conflict[]} */ (err.conflicts) : [];
    const e = new ApiError(res.status, code, message, field, conflicts);
    if (res.status === 401 && !opts.quiet401 && onUnauthenticated) onUnauthenticated();
    throw e;
  }
  return data;
}

/**
 * Sign in. Throws ApiError code "bad_credentials" on a wrong password.
 * @param {string} username
 * @param {string} password
 * @returns {Promise<User>}
 */
export async function signIn(username, password) {
  const r = await request('POST', '/api/session', { username, password }, { quiet401: true });
  return r.user;
}

/** @returns {Promise<void>} */
export async function signOut() {
  await request('DELETE', '/api/session', undefined, { quiet401: true });
}

/**
 * The signed-in user and their site. Throws ApiError 401 when signed out.
 * @param {{quiet401?: boolean}} [opts]
 * @returns {Promise<{user: User, site: Site, startEarlyMinutes?: number}>}
 */
export async function me(opts = { quiet401: true }) {
  return request('GET', '/api/me', undefined, opts);
}

/** @returns {Promise<Site[]>} */
export async function sites() {
  const r = await request('GET', '/api/sites');
  return r.sites ?? [];
}

/**
 * "?a=1&b=2" from the non-empty values, or "".
 * @param {Record<string, string | number | boolean | undefined | null>} params
 */
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** @param {string} id */
const enc = (id) => encodeURIComponent(id);

/**
 * Users (admins only). A role string filters by role.
 * @param {Role | {role?: string, siteId?: string, groupId?: string, active?: string}} [filter]
 * @returns {Promise<User[]>}
 */
export async function users(filter) {
  const f = typeof filter === 'string' ? { role: filter } : (filter ?? {});
  const r = await request('GET', `/api/users${query(f)}`);
  return r.users ?? [];
}

/**
 * @param {{username: string, displayName: string, role: Role, siteId: string, groupId: string, password: string}} body
 * @returns {Promise<User>}
 */
export async function createUser(body) {
  const r = await request('POST', '/api/users', body);
  return r.user;
}

/**
 * @param {string} id
 * @param {Partial<{displayName: string, role: Role, siteId: string, groupId: string, active: boolean}>} body
 * @returns {Promise<User>}
 */
export async function updateUser(id, body) {
  const r = await request('PATCH', `/api/users/${enc(id)}`, body);
  return r.user;
}

/**
 * @param {string} id
 * @param {string} password
 */
export async function resetPassword(id, password) {
  await request('POST', `/api/users/${enc(id)}/password`, { password });
}

/**
 * @param {string} currentPassword
 * @param {string} newPassword
 */
export async function changeOwnPassword(currentPassword, newPassword) {
  await request('PUT', '/api/me/password', { currentPassword, newPassword });
}

/**
 * Check (dryRun) or import a CSV roster. The reply body is returned for
 * 200, 201 and for the 400 that lists the file's errors.
 * @param {string} csv
 * @param {boolean} dryRun
 * @returns {Promise<ImportResult>}
 */
export async function importUsers(csv, dryRun) {
  let res;
  try {
    res = await fetch(`/api/users/import${dryRun ? '?dryRun=true' : ''}`, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': 'text/csv; charset=utf-8' },
      body: csv,
    });
  } catch {
    throw new ApiError(0, 'network', t('error.network'));
  }
  /** @type {any} */
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (isObject(data) && typeof data.valid === 'boolean') {
    return { valid: data.valid, rows: Number(data.rows) || 0, created: Number(data.created) || 0,
      errors: Array.isArray(data.errors) ? data.errors : [], users: Array.isArray(data.users) ? data.users : [] };
  }
  const err = isObject(data) && isObject(data.error) ? data.error : {};
  if (res.status === 401 && onUnauthenticated) onUnauthenticated();
  throw new ApiError(res.status, typeof err.code === 'string' ? err.code : `http_${res.status}`,
    typeof err.message === 'string' && err.message ? err.message : res.statusText,
    typeof err.field === 'string' ? err.field : undefined);
}

/**
 * @param {{id: string, name: string, institution: string, timeZone: string, networkNotes: string, downlinkKbps: number}} body
 * @returns {Promise<Site>}
 */
export async function createSite(body) {
  const r = await request('POST', '/api/sites', body);
  return r.site;
}

/**
 * @param {string} id
 * @param {{name: string, institution: string, timeZone: string, networkNotes: string, downlinkKbps: number}} body
 * @returns {Promise<Site>}
 */
export async function updateSite(id, body) {
  const r = await request('PUT', `/api/sites/${enc(id)}`, body);
  return r.site;
}

/**
 * @param {string} [siteId]
 * @returns {Promise<Group[]>}
 */
export async function groups(siteId) {
  const r = await request('GET', `/api/groups${query({ siteId })}`);
  return r.groups ?? [];
}

/**
 * @param {{name: string, siteId: string}} body
 * @returns {Promise<Group>}
 */
export async function createGroup(body) {
  const r = await request('POST', '/api/groups', body);
  return r.group;
}

/**
 * Lectures in [from, to); without a range, today in the caller's site zone.
 * Admins may filter by siteId, lecturerId and groupId.
 * @param {{from: string, to: string, siteId?: string, lecturerId?: string, groupId?: string}} [range]
 * @returns {Promise<Lecture[]>}
 */
export async function lectures(range) {
  const r = await request('GET', `/api/lectures${range ? query(range) : ''}`);
  return r.lectures ?? [];
}

/**
 * Move, retopic or reassign one lecture (admins; scheduled only).
 * @param {string} id
 * @param {Partial<{title: string, topic: string, start: string, durationMinutes: number, lecturerId: string}>} body
 * @returns {Promise<Lecture>}
 */
export async function updateLecture(id, body) {
  const r = await request('PATCH', `/api/lectures/${enc(id)}`, body);
  return r.lecture;
}

/**
 * @param {string} id
 * @param {string} reason
 * @returns {Promise<Lecture>}
 */
export async function cancelLecture(id, reason) {
  const r = await request('POST', `/api/lectures/${enc(id)}/cancel`, { reason });
  return r.lecture;
}

/** @returns {Promise<Series[]>} */
export async function seriesList() {
  const r = await request('GET', '/api/series');
  return r.series ?? [];
}

/**
 * @param {string} id
 * @returns {Promise<{series: Series, lectures: Lecture[]}>}
 */
export async function series(id) {
  const r = await request('GET', `/api/series/${enc(id)}`);
  return { series: r.series, lectures: r.lectures ?? [] };
}

/**
 * @param {SeriesBody} body
 * @returns {Promise<{occurrences: PreviewOccurrence[], conflicts: Conflict[]}>}
 */
export async function previewSeries(body) {
  const r = await request('POST', '/api/series/preview', body);
  return { occurrences: r.occurrences ?? [], conflicts: r.conflicts ?? [] };
}

/**
 * @param {SeriesBody} body
 * @returns {Promise<{series: Series, lectures: Lecture[]}>}
 */
export async function createSeries(body) {
  const r = await request('POST', '/api/series', body);
  return { series: r.series, lectures: r.lectures ?? [] };
}

/**
 * @param {string} id
 * @param {Partial<Pick<Series, 'title' | 'description' | 'topics' | 'lecturerIds' | 'siteIds' | 'groupIds'>>} body
 * @returns {Promise<Series>}
 */
export async function updateSeries(id, body) {
  const r = await request('PATCH', `/api/series/${enc(id)}`, body);
  return r.series;
}

/**
 * Cancel a series: its future scheduled occurrences are cancelled.
 * @param {string} id
 * @returns {Promise<Series>}
 */
export async function cancelSeries(id) {
  const r = await request('DELETE', `/api/series/${enc(id)}`);
  return r.series;
}

/**
 * A new secret feed URL for a series (the previous one stops working).
 * @param {string} id
 * @returns {Promise<string>}
 */
export async function seriesCalendar(id) {
  const r = await request('POST', `/api/series/${enc(id)}/calendar`);
  return r.url;
}

/**
 * The caller's calendar feed URL; renew=true makes a new one.
 * @param {boolean} [renew]
 * @returns {Promise<string>}
 */
export async function myCalendar(renew = false) {
  const r = await request(renew ? 'POST' : 'GET', '/api/me/calendar');
  return r.url;
}

/**
 * @param {string} id
 * @returns {Promise<Lecture>}
 */
export async function lecture(id) {
  const r = await request('GET', `/api/lectures/${encodeURIComponent(id)}`);
  return r.lecture;
}

/**
 * @param {NewLecture} body
 * @returns {Promise<Lecture>}
 */
export async function createLecture(body) {
  const r = await request('POST', '/api/lectures', body);
  return r.lecture;
}

/** @typedef {import('./types.js').AttendanceRow} AttendanceRow */
/** @typedef {import('./types.js').AttendanceRules} AttendanceRules */
/** @typedef {import('./types.js').AuditEntry} AuditEntry */
/** @typedef {import('./types.js').LiveAttendance} LiveAttendance */
/** @typedef {import('./types.js').RollCall} RollCall */
/** @typedef {import('./types.js').SeriesMatrix} SeriesMatrix */
/** @typedef {import('./types.js').UserHistory} UserHistory */

/** The default rules of docs/api-attendance.md, for replies that omit them. */
export function defaultRules() {
  return {
    statuses: [
      { acronym: 'P', description: 'Present', grade: 2 },
      { acronym: 'L', description: 'Late', grade: 1 },
      { acronym: 'E', description: 'Excused', grade: 1 },
      { acronym: 'A', description: 'Absent', grade: 0 },
    ],
    presentShare: 0.75, lateAfterMinutes: 10, graceSeconds: 60,
  };
}

/**
 * A row from the older attendance reply (`attendees`) in the shape of an
 * AttendanceRow, so the page works against either server.
 * @param {any} a
 * @returns {AttendanceRow}
 */
function rowFromAttendee(a) {
  return {
    userId: a.userId, username: a.username ?? '', displayName: a.displayName ?? a.userId, siteId: a.siteId ?? '', siteName: a.siteName ?? '',
    groupId: a.groupId ?? '', groupName: a.groupName ?? '', role: a.role, expected: false, firstJoin: a.firstJoin ?? null, lastLeave: a.lastLeave ?? null,
    presentSeconds: a.presentSeconds ?? 0, share: a.share ?? 0, connected: !!a.connected, connections: a.connections ?? 0,
    status: a.status ?? '', source: a.source ?? '', automaticStatus: a.automaticStatus ?? '', rollCall: a.rollCall ?? null, override: a.override ?? null,
  };
}

/**
 * One lecture's attendance: rows, raw events and the audit trail.
 * @param {string} id
 * @returns {Promise<{lecture: Lecture, rules: AttendanceRules, rows: AttendanceRow[], events: AttendanceEvent[], audit: AuditEntry[], legacy: boolean}>}
 */
export async function attendance(id) {
  const r = await request('GET', `/api/lectures/${enc(id)}/attendance`);
  const legacy = !Array.isArray(r.rows);
  const rows = legacy ? (r.attendees ?? []).map(rowFromAttendee) : r.rows;
  return { lecture: r.lecture, rules: r.rules ?? defaultRules(), rows, events: r.events ?? [], audit: r.audit ?? [], legacy };
}

/**
 * Who is here now (by site) and who is expected and missing.
 * @param {string} id
 * @returns {Promise<LiveAttendance>}
 */
export async function liveAttendance(id) {
  const r = await request('GET', `/api/lectures/${enc(id)}/attendance/live`);
  return { present: r.present ?? {}, missing: r.missing ?? [] };
}

/**
 * Override a student's status (admin, the lecture's lecturer).
 * @param {string} id
 * @param {{userId: string, status: string, reason: string}} body
 * @returns {Promise<AttendanceRow>}
 */
export async function overrideAttendance(id, body) {
  const r = await request('POST', `/api/lectures/${enc(id)}/attendance/overrides`, body);
  return r.row;
}

/**
 * The operator's site's expected students with their roll-call marks.
 * @param {string} id
 * @returns {Promise<RollCall>}
 */
export async function rollCall(id) {
  const r = await request('GET', `/api/lectures/${enc(id)}/rollcall`);
  return { siteId: r.siteId ?? '', students: r.students ?? [] };
}

/**
 * Mark a student as in the room (or not).
 * @param {string} id
 * @param {string} userId
 * @param {boolean} present
 * @returns {Promise<AttendanceRow | null>}
 */
export async function setRollCall(id, userId, present) {
  const r = await request('PUT', `/api/lectures/${enc(id)}/rollcall/${enc(userId)}`, { present, from: null, to: null });
  return r?.row ?? null;
}

/**
 * Download addresses of a lecture's attendance.
 * @param {string} id
 */
export function attendanceExports(id) {
  const base = `/api/lectures/${enc(id)}`;
  return { csv: `${base}/attendance.csv`, excel: `${base}/attendance.csv?bom=true`, moodle: `${base}/attendance.moodle.csv` };
}

/**
 * The student × lecture matrix of a series.
 * @param {string} id
 * @returns {Promise<SeriesMatrix>}
 */
export async function seriesAttendance(id) {
  const r = await request('GET', `/api/series/${enc(id)}/attendance`);
  return { series: r.series, lectures: r.lectures ?? [], students: r.students ?? [], rules: r.rules ?? null };
}

/**
 * Download addresses of a series' matrix.
 * @param {string} id
 */
export function seriesAttendanceExports(id) {
  const base = `/api/series/${enc(id)}/attendance.csv`;
  return { csv: base, excel: `${base}?bom=true` };
}

/**
 * @param {string} id
 * @returns {Promise<AttendanceRules>}
 */
export async function attendanceRules(id) {
  const r = await request('GET', `/api/series/${enc(id)}/attendance-rules`);
  return r.rules ?? defaultRules();
}

/**
 * Replace a series' attendance rules (admin). A 400 names the field.
 * @param {string} id
 * @param {AttendanceRules} rules
 * @returns {Promise<AttendanceRules>}
 */
export async function saveAttendanceRules(id, rules) {
  const r = await request('PUT', `/api/series/${enc(id)}/attendance-rules`, rules);
  return r.rules ?? rules;
}

/**
 * A person's attendance across series (admin; a student for themselves).
 * @param {string} id
 * @returns {Promise<UserHistory>}
 */
export async function userAttendance(id) {
  const r = await request('GET', `/api/users/${enc(id)}/attendance`);
  return { user: r.user, series: r.series ?? [] };
}
