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
 * @property {number} [downlinkKbps] the site link's downlink budget in kbit/s, shared by everyone
 *   receiving media there; 0 or absent: no budget
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
 * @property {'join' | 'leave' | string} kind
 * @property {string} userId
 * @property {string} [role]
 * @property {string} siteId
 * @property {string} connId
 * @property {string} at server time
 * @property {string} reason
 * @property {string} [clientAt] the time the device reported with a join (information only)
 *
 * @typedef {object} AttendanceStatus
 * @property {string} acronym
 * @property {string} description
 * @property {number} grade
 *
 * @typedef {object} AttendanceRules
 * @property {AttendanceStatus[]} statuses
 * @property {number} presentShare 0–1
 * @property {number} lateAfterMinutes
 * @property {number} graceSeconds
 *
 * @typedef {object} RollCallMark
 * @property {string} siteId
 * @property {string} by
 * @property {string} at
 * @property {string | null} [from]
 * @property {string | null} [to]
 *
 * @typedef {object} AttendanceOverride
 * @property {string} status
 * @property {string} by
 * @property {string} at
 * @property {string} reason
 *
 * One expected or present person in one lecture.
 * @typedef {object} AttendanceRow
 * @property {string} userId
 * @property {string} username
 * @property {string} displayName
 * @property {string} siteId
 * @property {string} siteName
 * @property {string} groupId
 * @property {string} [groupName]
 * @property {string} [role]
 * @property {boolean} expected
 * @property {string | null} firstJoin
 * @property {string | null} lastLeave
 * @property {number} presentSeconds
 * @property {number} share 0–1 of the actual lecture
 * @property {boolean} connected
 * @property {number} connections
 * @property {string} status "" before the lecture started
 * @property {'automatic' | 'rollcall' | 'manual' | ''} source
 * @property {string} [automaticStatus]
 * @property {RollCallMark | null} rollCall
 * @property {AttendanceOverride | null} override
 *
 * @typedef {object} AuditEntry
 * @property {string} [id]
 * @property {string} [kind] "override" or "rollcall"
 * @property {string} lectureId
 * @property {string} userId
 * @property {string} by
 * @property {string} [byName]
 * @property {string} at
 * @property {string} old
 * @property {string} new
 * @property {string} reason
 *
 * @typedef {object} LiveAttendance
 * @property {Record<string, AttendanceRow[]>} present by site id
 * @property {AttendanceRow[]} missing
 *
 * @typedef {object} RollCallStudent
 * @property {string} userId
 * @property {string} displayName
 * @property {string} groupId
 * @property {string} [groupName]
 * @property {boolean} present
 *
 * @typedef {object} RollCall
 * @property {string} siteId
 * @property {RollCallStudent[]} students
 *
 * @typedef {object} AttendanceCell
 * @property {string} lectureId
 * @property {string} status
 * @property {string} [source]
 * @property {number} presentSeconds
 * @property {boolean} [expected]
 *
 * @typedef {object} MatrixStudent
 * @property {string} userId
 * @property {string} displayName
 * @property {string} [username]
 * @property {string} siteId
 * @property {string} [siteName]
 * @property {string} groupId
 * @property {string} [groupName]
 * @property {AttendanceCell[]} cells
 * @property {number | null} percent
 *
 * @typedef {object} SeriesMatrix
 * @property {Series} series
 * @property {Lecture[]} lectures
 * @property {MatrixStudent[]} students
 * @property {AttendanceRules | null} rules
 *
 * @typedef {object} HistoryLecture
 * @property {Lecture} lecture
 * @property {string} status
 * @property {string} [source]
 * @property {number} presentSeconds
 *
 * @typedef {object} HistorySeries
 * @property {Series} series
 * @property {number | null} percent
 * @property {HistoryLecture[]} lectures
 *
 * @typedef {object} UserHistory
 * @property {User} user
 * @property {HistorySeries[]} series
 *
 * @typedef {object} Participant
 * @property {string} connId
 * @property {string} userId
 * @property {string} displayName
 * @property {Role} role
 * @property {string} siteId
 * @property {string} [siteName]
 * @property {'connected' | 'reconnecting' | 'audio-only'} [state]
 * @property {boolean} [hand] a raised hand
 * @property {string} [handAt] when it was raised (RFC 3339)
 * @property {boolean} [floor] holds the floor
 * @property {boolean} [muted] muted by a moderator
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
