// "My lectures" (lecturer): today first, then the next 14 days. Start is
// enabled from ctx.startEarlyMinutes before the start.

import { h } from '../dom.js';
import { t } from '../strings.js';
import { dateKeyIn, formatDateTime, formatTime } from '../time.js';
import { lectureHash, navigate } from '../router.js';
import { heading, setTitle } from './common.js';
import { upcomingList } from './upcoming.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @returns {() => void}
 */
export function mountMyLectures(root, ctx) {
  setTitle(t('my.title'));
  const zone = ctx.site.timeZone;
  const early = ctx.startEarlyMinutes * 60000;

  const list = upcomingList(ctx, {
    days: 14,
    pollMs: 20000,
    tickMs: 15000,
    showEmptyToday: true,
    empty: t('my.empty'),
    actions: (l, now) => {
      /** @type {Node[]} */
      const out = [];
      const open = (/** @type {boolean} */ primary) => h('a', {
        class: primary ? 'button button-primary' : 'button', href: lectureHash(l.id), text: t('lecture.open'),
        'aria-label': t('lecture.openLabel', { title: l.title }), dataset: { action: 'open', lectureId: l.id },
      });
      if (l.state === 'scheduled') {
        const startMs = new Date(l.start).getTime();
        const from = startMs - early;
        const ready = now >= from;
        const noteId = `start-note-${l.id}`;
        const start = h('button', {
          type: 'button', class: 'button button-primary', text: t('lecture.start'), disabled: !ready,
          'aria-label': t('lecture.startLabel', { title: l.title }),
          'aria-describedby': ready ? undefined : noteId,
          dataset: { action: 'start', lectureId: l.id },
        });
        start.addEventListener('click', () => navigate(`${lectureHash(l.id)}?start=1`));
        const at = new Date(from);
        const when = dateKeyIn(zone, at) === dateKeyIn(zone) ? formatTime(at, zone) : formatDateTime(at, zone);
        out.push(h('div', { class: 'start-wrap' }, start,
          ready ? null : h('span', { class: 'start-note muted small', id: noteId, text: t('my.startAt', { time: when }) })));
        out.push(open(false));
      } else if (l.state === 'live') {
        out.push(open(true));
      }
      if (l.state !== 'cancelled') {
        out.push(h('a', {
          class: 'button', href: lectureHash(l.id, '/attendance'), text: t('lecture.attendance'),
          'aria-label': t('lecture.attendanceLabel', { title: l.title }), dataset: { action: 'attendance', lectureId: l.id },
        }));
      }
      return out;
    },
  });

  root.append(
    h('div', { class: 'page-head' },
      heading(t('my.title')),
      h('p', { class: 'muted', text: t('my.intro', { site: ctx.site.name, zone }) }),
      h('p', { class: 'muted small', text: t('my.startHint', { minutes: ctx.startEarlyMinutes }) })),
    list.el);
  return () => list.destroy();
}
