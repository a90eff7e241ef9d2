// The debugging handle for tests and support: window.lecturelink.session is
// the LectureSession of the open lecture room (or null), so that
// `lecturelink.session.pub.getStats()` / `.sub.getStats()` work.

/** @type {{session: import('./session.js').LectureSession | null}} */
export const handle = { session: null };

/** @type {any} */ (window).lecturelink = handle;
