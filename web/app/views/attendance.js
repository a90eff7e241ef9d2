// Attendance of one lecture (#/lecture/ID/attendance): who was there, from
// where, how long, and the raw join/leave events.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { hasMessage, t, tn } from '../strings.js';
import { formatDateTime, formatTime, formatTimeSeconds } from '../time.js';
import { lectureHash } from '../router.js';
import { alertBox, errorText, heading, lectureBadge, lectureTimes, roleLabel, setTitle } from './common.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */
/** @typedef {import('../types.js').Attendee} Attendee */
/** @typedef {import('../types.js').AttendanceEvent} AttendanceEvent */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} lectureId
 * @returns {() => void}
 */
export function mountAttendance(root, ctx, lectureId) {
  setTitle(t('att.title'));
  let destroyed = false;
  let loading = false;
  const zone = ctx.site.timeZone;

  const title = heading(t('att.title'));
  const sub = h('p', { class: 'muted' });
  const refresh = h('button', { type: 'button', id: 'attendance-refresh', class: 'button', text: t('att.refresh') });
  const status = h('p', { class: 'muted small', id: 'attendance-status', role: 'status' });
  const body = h('div', { class: 'attendance-body' }, h('p', { class: 'muted', text: t('app.loading') }));

  root.append(h('section', { class: 'attendance' },
    h('div', { class: 'page-head page-head-split' },
      h('div', null, title, sub),
      h('div', { class: 'page-actions' },
        h('a', { href: lectureHash(lectureId), class: 'button button-quiet', text: t('att.room') }),
        h('a', { href: '#/', class: 'button button-quiet', text: t('att.back') }),
        refresh)),
    status,
    body));

  refresh.addEventListener('click', () => void load(true));

  /** @param {boolean} byUser */
  async function load(byUser) {
    if (loading) return;
    loading = true;
    refresh.disabled = true;
    refresh.textContent = t('att.refreshing');
    try {
      const data = await api.attendance(lectureId);
      if (destroyed) return;
      render(data.lecture, data.attendees, data.events);
      status.textContent = t('att.updated', { time: formatTimeSeconds(new Date(), zone) });
      if (byUser) announce(status.textContent);
    } catch (err) {
      if (destroyed) return;
      replace(body, alertBox(t('att.loadFailed', { message: errorText(err) })));
    } finally {
      loading = false;
      if (!destroyed) {
        refresh.disabled = false;
        refresh.textContent = t('att.refresh');
      }
    }
  }

  /** @param {string | null} iso */
  function when(iso) {
    if (!iso) return h('span', { class: 'muted', text: t('att.stillHere') });
    return h('time', { datetime: iso, title: formatDateTime(iso, zone), text: formatTime(iso, zone) });
  }

  /**
   * @param {Lecture} lecture
   * @param {Attendee[]} attendees
   * @param {AttendanceEvent[]} events
   */
  function render(lecture, attendees, events) {
    title.textContent = `${t('att.title')}: ${lecture.title}`;
    setTitle(`${t('att.title')}: ${lecture.title}`);
    replace(sub, lectureTimes(lecture, ctx), ' · ', t('lecture.by', { name: lecture.lecturerName }), ' ', lectureBadge(lecture.state));

    const names = new Map(attendees.map((a) => [a.userId, a.displayName]));
    const sorted = attendees.slice().sort((a, b) =>
      a.siteName.localeCompare(b.siteName) || a.displayName.localeCompare(b.displayName));

    const attendeesTable = sorted.length === 0
      ? h('p', { class: 'muted', text: t('att.none') })
      : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'att-attendees' },
        h('table', { class: 'table', id: 'attendees-table' },
          h('thead', null, h('tr', null,
            ...[t('att.col.name'), t('att.col.role'), t('att.col.site'), t('att.col.firstJoin'), t('att.col.lastLeave'),
              t('att.col.minutes'), t('att.col.connected')].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', null, sorted.map((a) => h('tr', { dataset: { userId: a.userId } },
            h('th', { scope: 'row', text: a.displayName }),
            h('td', { text: roleLabel(a.role) }),
            h('td', { text: a.siteName || a.siteId }),
            h('td', null, when(a.firstJoin)),
            h('td', null, when(a.lastLeave)),
            h('td', { class: 'num', text: Math.round(a.presentSeconds / 60) }),
            h('td', null, a.connected
              ? h('span', { class: 'badge badge-live', text: a.connections > 1 ? t('att.yesConns', { count: a.connections }) : t('att.yes') })
              : h('span', { class: 'muted', text: t('att.no') })))))));

    const eventsTable = events.length === 0
      ? h('p', { class: 'muted', text: t('att.noEvents') })
      : h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'att-events' },
        h('table', { class: 'table table-compact', id: 'events-table' },
          h('thead', null, h('tr', null,
            ...[t('att.col.time'), t('att.col.kind'), t('att.col.user'), t('att.col.site'), t('att.col.conn'), t('att.col.reason')]
              .map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', null, events.map((e) => {
            const reasonId = `att.reason.${e.reason}`;
            return h('tr', { dataset: { eventId: e.id } },
              h('td', null, h('time', { datetime: e.at, title: formatDateTime(e.at, zone), text: formatTimeSeconds(e.at, zone) })),
              h('td', { text: e.kind === 'join' ? t('att.kind.join') : t('att.kind.leave') }),
              h('td', { text: names.get(e.userId) ?? e.userId }),
              h('td', { text: ctx.sites.get(e.siteId)?.name ?? e.siteId }),
              h('td', { class: 'mono small', text: e.connId }),
              h('td', { text: e.reason ? (hasMessage(reasonId) ? t(reasonId) : e.reason) : '' }));
          }))));

    replace(body,
      h('p', { class: 'muted small', text: t('att.timesIn', { site: ctx.site.name, zone }) }),
      h('h2', { id: 'att-attendees' }, t('att.attendees'), ' ', h('span', { class: 'muted small', text: tn('att.summary', attendees.length) })),
      attendeesTable,
      h('h2', { id: 'att-events', text: t('att.events') }),
      eventsTable);
  }

  void load(false);
  return () => { destroyed = true; };
}
