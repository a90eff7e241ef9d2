// Fetch wrapper for the HTTP JSON API of docs/api.md.

import { t } from './strings.js';

/** @typedef {import('./types.js').User} User */
/** @typedef {import('./types.js').Site} Site */
/** @typedef {import('./types.js').Lecture} Lecture */
/** @typedef {import('./types.js').Attendee} Attendee */
/** @typedef {import('./types.js').AttendanceEvent} AttendanceEvent */
/** @typedef {import('./types.js').NewLecture} NewLecture */

/** An error reply of the API ({"error": {"code", "message"}}) or a network failure. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure
   * @param {string} code e.g. "bad_request", "forbidden", "network"
   * @param {string} message human-readable, from the server
   * @param {string | undefined} [field] the request field at fault, if the server names one
   */
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
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
    const e = new ApiError(res.status, code, message, field);
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
 * @returns {Promise<{user: User, site: Site}>}
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
 * @param {import('./types.js').Role} [role]
 * @returns {Promise<User[]>}
 */
export async function users(role) {
  const q = role ? `?role=${encodeURIComponent(role)}` : '';
  const r = await request('GET', `/api/users${q}`);
  return r.users ?? [];
}

/**
 * Lectures in [from, to); without a range, today in the caller's site zone.
 * @param {{from: string, to: string}} [range]
 * @returns {Promise<Lecture[]>}
 */
export async function lectures(range) {
  const q = range ? `?from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}` : '';
  const r = await request('GET', `/api/lectures${q}`);
  return r.lectures ?? [];
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

/**
 * @param {string} id
 * @returns {Promise<{lecture: Lecture, attendees: Attendee[], events: AttendanceEvent[]}>}
 */
export async function attendance(id) {
  const r = await request('GET', `/api/lectures/${encodeURIComponent(id)}/attendance`);
  return { lecture: r.lecture, attendees: r.attendees ?? [], events: r.events ?? [] };
}
