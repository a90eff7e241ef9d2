// Shared JSDoc types for the objects of docs/api.md and docs/protocol.md.
// This module has no runtime content; import types with
//   /** @typedef {import('./types.js').Lecture} Lecture */

/**
 * @typedef {'admin' | 'lecturer' | 'operator' | 'student'} Role
 *
 * @typedef {object} User
 * @property {string} id
 * @property {string} username
 * @property {string} displayName
 * @property {Role} role
 * @property {string} siteId
 * @property {string} [groupId] students' cohort; empty otherwise
 * @property {boolean} [active]
 *
 * @typedef {object} Site
 * @property {string} id
 * @property {string} name
 * @property {string} institution
 * @property {string} timeZone IANA zone, e.g. "Asia/Bishkek"
 * @property {string} [networkNotes]
 *
 * @typedef {object} Group a cohort of students
 * @property {string} id
 * @property {string} name
 * @property {string} siteId
 *
 * @typedef {'scheduled' | 'live' | 'ended' | 'cancelled'} LectureState
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
 * @property {string} [seriesId] "" for a one-off lecture
 * @property {number} [index] 1-based occurrence number, 0 for a one-off
 * @property {string[] | null} [siteIds] participating sites
 * @property {string[] | null} [groupIds]
 * @property {string} [timeZone] the series' zone
 * @property {boolean} [modified] edited individually
 * @property {string} [cancelReason]
 *
 * @typedef {object} Series
 * @property {string} id
 * @property {string} title
 * @property {string} description
 * @property {string[]} lecturerIds
 * @property {string} originSiteId
 * @property {string[]} siteIds
 * @property {string[]} groupIds
 * @property {string} timeZone
 * @property {string} firstStart wall clock "YYYY-MM-DDTHH:MM" in timeZone
 * @property {string} rrule without DTSTART
 * @property {string[]} exdates local dates "YYYY-MM-DD"
 * @property {number} durationMinutes
 * @property {string[]} topics
 * @property {number} [occurrences]
 * @property {boolean} [cancelled]
 * @property {string} [createdAt]
 *
 * @typedef {Omit<Series, 'id' | 'occurrences' | 'cancelled' | 'createdAt'>} SeriesBody
 *
 * @typedef {object} PreviewOccurrence
 * @property {number} index
 * @property {string} start
 * @property {string} end
 * @property {string} topic
 * @property {string} lecturerId
 *
 * @typedef {object} Conflict
 * @property {number} index
 * @property {string} start
 * @property {'lecturer' | 'site'} kind
 * @property {string} resourceId
 * @property {string} lectureId
 * @property {string} lectureTitle
 *
 * @typedef {object} ImportError
 * @property {number} line
 * @property {string} column
 * @property {string} reason
 *
 * @typedef {object} ImportUser
 * @property {number} line
 * @property {string} username
 * @property {string} displayName
 * @property {string} siteId
 * @property {string} groupId
 * @property {string} [password]
 *
 * @typedef {object} ImportResult
 * @property {boolean} valid
 * @property {number} rows
 * @property {number} created
 * @property {ImportError[]} errors
 * @property {ImportUser[]} users
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
 * @property {string[]} [siteIds] participating sites
 * @property {string[]} [groupIds]
 *
 * What every signed-in view gets from the app shell.
 * @typedef {object} AppContext
 * @property {User} user
 * @property {Site} site the user's own site
 * @property {Map<string, Site>} sites all sites by id
 * @property {number} startEarlyMinutes how long before the start a lecturer may start
 * @property {() => Promise<void>} refreshSites reload ctx.sites (after an admin edits sites)
 */

export {};
