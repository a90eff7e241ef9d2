// Shared JSDoc types for the objects of docs/api.md and docs/protocol.md.
// This module has no runtime content; import types with
//   /** @typedef {import('./types.js').Lecture} Lecture */

/**
 * @typedef {'admin' | 'lecturer' | 'student'} Role
 *
 * @typedef {object} User
 * @property {string} id
 * @property {string} username
 * @property {string} displayName
 * @property {Role} role
 * @property {string} siteId
 *
 * @typedef {object} Site
 * @property {string} id
 * @property {string} name
 * @property {string} institution
 * @property {string} timeZone IANA zone, e.g. "Asia/Bishkek"
 *
 * @typedef {'scheduled' | 'live' | 'ended'} LectureState
 *
 * @typedef {object} Lecture
 * @property {string} id
 * @property {string} title
 * @property {string} topic
 * @property {string} start RFC 3339, UTC
 * @property {number} durationMinutes
 * @property {string} lecturerId
 * @property {string} lecturerName
 * @property {string} siteId
 * @property {string} siteName
 * @property {string} siteTimeZone
 * @property {LectureState} state
 * @property {string | null} startedAt
 * @property {string | null} endedAt
 *
 * @typedef {object} Attendee
 * @property {string} userId
 * @property {string} displayName
 * @property {Role} role
 * @property {string} siteId
 * @property {string} siteName
 * @property {string} firstJoin
 * @property {string | null} lastLeave
 * @property {number} presentSeconds
 * @property {boolean} connected
 * @property {number} connections
 *
 * @typedef {object} AttendanceEvent
 * @property {string} id
 * @property {'join' | 'leave'} kind
 * @property {string} userId
 * @property {string} siteId
 * @property {string} connId
 * @property {string} at
 * @property {string} reason
 *
 * @typedef {object} Participant
 * @property {string} connId
 * @property {string} userId
 * @property {string} displayName
 * @property {Role} role
 * @property {string} siteId
 *
 * @typedef {object} NewLecture
 * @property {string} title
 * @property {string} topic
 * @property {string} start
 * @property {number} durationMinutes
 * @property {string} lecturerId
 * @property {string} siteId
 *
 * What every signed-in view gets from the app shell.
 * @typedef {object} AppContext
 * @property {User} user
 * @property {Site} site the user's own site
 * @property {Map<string, Site>} sites all sites by id
 */

export {};
