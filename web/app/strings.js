// Every user-facing string of the app, keyed by message id, so the app can be
// translated by replacing this one object. Parameters are written {name}.
// Plural forms use the ids "<base>.one" and "<base>.other" (Intl.PluralRules).

/** Locale for dates, times and plural rules. 24-hour clock. */
export const LOCALE = 'en-GB';

export const messages = {
  'app.name': 'LectureLink',
  'app.tagline': 'Live lectures between border-guard training centres',
  'app.skip': 'Skip to content',
  'app.loading': 'Loading…',
  'app.signOut': 'Sign out',
  'app.userSummary': '{name} · {role} · {site}',
  'app.notFound.title': 'Page not found',
  'app.notFound.body': 'There is nothing at this address.',
  'app.home': 'Back to the start page',
  'app.retry': 'Try again',

  'role.admin': 'Administrator',
  'role.lecturer': 'Lecturer',
  'role.student': 'Student',

  'error.network': 'The server cannot be reached. Check your connection and try again.',
  'error.generic': 'Something went wrong: {message}',
  'error.unauthenticated': 'Your session has expired. Please sign in again.',

  'login.title': 'Sign in',
  'login.intro': 'Sign in with the account your training centre gave you.',
  'login.username': 'User name',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.busy': 'Signing in…',
  'login.badCredentials': 'The user name or password is wrong.',
  'login.missing': 'Enter your user name and password.',

  'home.admin.title': 'Lectures',
  'home.lecturer.title': 'Your lectures',
  'home.student.title': 'Lectures',
  'home.today': 'Today',
  'home.prevDay': 'Previous day',
  'home.nextDay': 'Next day',
  'home.empty': 'No lectures on this day.',
  'home.loadFailed': 'The lectures could not be loaded: {message}',
  'home.timesIn': 'Times in {site} time ({zone})',
  'home.nowLive': '“{title}” is now live.',

  'lecture.state.scheduled': 'Scheduled',
  'lecture.state.live': 'Live',
  'lecture.state.ended': 'Ended',
  'lecture.by': 'by {name}',
  'lecture.from': 'from {site}',
  'lecture.duration': '{minutes} min',
  'lecture.timeAt': '{time} {site}',
  'lecture.start': 'Start',
  'lecture.startLabel': 'Start “{title}”',
  'lecture.open': 'Open',
  'lecture.openLabel': 'Open the room of “{title}”',
  'lecture.join': 'Join',
  'lecture.joinLabel': 'Join “{title}”',
  'lecture.wait': 'Waiting room',
  'lecture.waitLabel': 'Enter the waiting room of “{title}”',
  'lecture.watch': 'Watch',
  'lecture.attendance': 'Attendance',
  'lecture.attendanceLabel': 'Attendance of “{title}”',
  'lecture.endedNote': 'Ended',

  'form.title': 'New lecture',
  'form.field.title': 'Title',
  'form.field.topic': 'Topic',
  'form.field.topicHint': 'Optional, up to 500 characters.',
  'form.field.site': 'Origin site',
  'form.field.siteHint': 'The site the lecture is given from. The date and time below are in this site’s time zone.',
  'form.field.date': 'Date',
  'form.field.time': 'Start time',
  'form.field.duration': 'Duration (minutes)',
  'form.field.lecturer': 'Lecturer',
  'form.field.lecturerNone': 'Choose a lecturer',
  'form.noLecturers': 'There are no lecturers yet.',
  'form.zoneHint': 'Time in {site} ({zone}).',
  'form.preview': 'Starts {times}.',
  'form.previewSep': ' · ',
  'form.previewItem': '{time} in {site}',
  'form.previewUtc': '{time} UTC',
  'form.previewSites': '/',
  'form.submit': 'Create lecture',
  'form.busy': 'Creating…',
  'form.created': 'Lecture “{title}” created.',
  'form.fixErrors': 'Please correct the highlighted fields.',
  'form.err.title': 'Enter a title of 1 to 200 characters.',
  'form.err.topic': 'The topic may have at most 500 characters.',
  'form.err.date': 'Choose a date.',
  'form.err.time': 'Choose a start time.',
  'form.err.timeGap': 'This time does not exist in {zone} (the clocks change). Choose another time.',
  'form.err.duration': 'The duration must be between 5 and 720 minutes.',
  'form.err.lecturer': 'Choose a lecturer.',
  'form.err.site': 'Choose a site.',

  'room.title': 'Lecture room',
  'room.state.waiting': 'Waiting',
  'room.state.connecting': 'Connecting',
  'room.state.live': 'Live',
  'room.state.reconnecting': 'Reconnecting',
  'room.state.ended': 'Ended',
  'room.state.error': 'Error',
  'room.msg.waitingStudent': 'The lecture starts at {time}; you will be let in automatically.',
  'room.msg.waitingStudentLate': 'The lecture was due to start at {time}. Waiting for the lecturer; you will be let in automatically.',
  'room.msg.waitingLecturer': 'The lecture has not started yet (scheduled for {time}). Check your camera and microphone, then press Start.',
  'room.msg.connecting': 'Connecting…',
  'room.msg.connectingMedia': 'The lecture is live. Connecting to the lecturer’s video…',
  'room.msg.publishing': 'The lecture is live. Connecting your camera and microphone…',
  'room.msg.live': 'You are live.',
  'room.msg.liveStudent': 'The lecture is live.',
  'room.msg.liveNoMedia': 'The lecture is live, but your camera and microphone are not being sent.',
  'room.msg.reconnecting': 'The connection was lost. Reconnecting…',
  'room.msg.ended': 'The lecture has ended.',
  'room.msg.error': 'The lecture cannot be shown: {message}',
  'room.msg.signedOut': 'You have been signed out. Please sign in again.',
  'room.msg.version': 'The server speaks a protocol version this page does not understand. Reload the page.',
  'room.start': 'Start lecture',
  'room.starting': 'Starting…',
  'room.end': 'End lecture',
  'room.endConfirm.title': 'End the lecture?',
  'room.endConfirm.body': 'Everyone will be disconnected, and the lecture cannot be restarted.',
  'room.endConfirm.yes': 'End lecture',
  'room.endConfirm.no': 'Cancel',
  'room.leave': 'Leave',
  'room.enableSound': 'Click to enable sound',
  'room.noVideo': 'No video yet',
  'room.localPreview': 'Your camera',
  'room.remoteVideo': 'Lecturer’s video',
  'room.camera.starting': 'Starting your camera…',
  'room.camera.failed': 'Your camera or microphone could not be started: {message}',
  'room.camera.denied': 'Access to the camera or microphone was refused. Allow it in the browser’s site settings and try again.',
  'room.camera.retry': 'Try the camera again',
  'room.camera.unsupported': 'This browser cannot use a camera on this page (a secure HTTPS connection is needed).',
  'room.participants': 'Participants',
  'room.participants.one': '{count} participant',
  'room.participants.other': '{count} participants',
  'room.participantsNone': 'Nobody is here yet.',
  'room.you': '(you)',
  'room.unknownSite': 'Other site',
  'room.attendance': 'Attendance',
  'room.back': 'Back to lectures',
  'room.notice.too_early': 'It is too early to start this lecture.',
  'room.notice.forbidden': 'You are not allowed to do that: {message}',
  'room.notice.not_live': 'The lecture is not live.',
  'room.notice.rate_limited': 'Too many messages; slow down.',
  'room.notice.bad_sdp': 'The media connection could not be set up: {message}',
  'room.notice.other': '{message}',

  'att.title': 'Attendance',
  'att.refresh': 'Refresh',
  'att.refreshing': 'Refreshing…',
  'att.updated': 'Attendance updated at {time}.',
  'att.attendees': 'Attendees',
  'att.events': 'Events',
  'att.none': 'Nobody has attended yet.',
  'att.noEvents': 'No events yet.',
  'att.col.name': 'Name',
  'att.col.role': 'Role',
  'att.col.site': 'Site',
  'att.col.firstJoin': 'First join',
  'att.col.lastLeave': 'Last leave',
  'att.col.minutes': 'Minutes present',
  'att.col.connected': 'Connected now',
  'att.col.time': 'Time',
  'att.col.kind': 'Event',
  'att.col.user': 'Person',
  'att.col.conn': 'Connection',
  'att.col.reason': 'Reason',
  'att.yes': 'Yes',
  'att.yesConns': 'Yes ({count} connections)',
  'att.no': 'No',
  'att.stillHere': '—',
  'att.kind.join': 'Joined',
  'att.kind.leave': 'Left',
  'att.reason.left': 'left',
  'att.reason.disconnected': 'disconnected',
  'att.reason.timeout': 'timed out',
  'att.reason.ended': 'lecture ended',
  'att.reason.shutdown': 'server shut down',
  'att.reason.recovered': 'closed after a server restart',
  'att.summary.one': '{count} person attended.',
  'att.summary.other': '{count} people attended.',
  'att.timesIn': 'Times in {site} time ({zone}).',
  'att.loadFailed': 'The attendance could not be loaded: {message}',
  'att.back': 'Back to lectures',
  'att.room': 'Lecture room',
};

/** @typedef {keyof typeof messages} MessageId */

/**
 * Translate a message id, filling in {name} parameters.
 * Unknown parameters are left as written, so a mistake is visible.
 * @param {MessageId} id
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(id, params) {
  const text = messages[id] ?? id;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

/**
 * Is id a known message id?
 * @param {string} id
 * @returns {id is MessageId}
 */
export function hasMessage(id) {
  return Object.prototype.hasOwnProperty.call(messages, id);
}

const plurals = new Intl.PluralRules(LOCALE);

/**
 * Plural-aware translation: looks up "<base>.<category>", falling back to
 * "<base>.other". The count is passed as the {count} parameter.
 * @param {string} base
 * @param {number} count
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function tn(base, count, params) {
  const all = { count, ...params };
  const exact = `${base}.${plurals.select(count)}`;
  if (hasMessage(exact)) return t(exact, all);
  const other = `${base}.other`;
  if (hasMessage(other)) return t(other, all);
  return base;
}
