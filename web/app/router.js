// Hash routing helpers shared by the views (app.js owns the routes).

/** @type {() => void} */
let rerender = () => {};

/**
 * Register the function that renders the current route (app.js).
 * @param {() => void} fn
 */
export function setRenderer(fn) {
  rerender = fn;
}

/**
 * Go to a hash route such as "#/lecture/lec_1"; re-renders if already there.
 * @param {string} hash
 */
export function navigate(hash) {
  if (location.hash === hash) rerender();
  else location.hash = hash;
}

/** Render the current route again (e.g. a "Try again" button). */
export function reload() {
  rerender();
}

/**
 * Change the address without rendering again (e.g. remember a date).
 * @param {string} hash
 */
export function replaceHash(hash) {
  history.replaceState(history.state, '', hash);
}

/**
 * The current route: path segments and query of the hash.
 * "#/lecture/lec_1?start=1" → {segments: ["lecture", "lec_1"], query: start=1}
 */
export function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const segments = path.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { segments, query };
}

/**
 * @param {string} id
 * @param {string} [suffix] e.g. "/attendance"
 */
export function lectureHash(id, suffix = '') {
  return `#/lecture/${encodeURIComponent(id)}${suffix}`;
}
