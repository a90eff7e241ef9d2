// "My timetable" (student, operator): the next 14 days, Join for live
// lectures, the waiting room for the ones about to start, and a countdown to
// the next one.

import { h, replace } from '../dom.js';
import { t } from '../strings.js';
import { dateKeyIn, formatDateKey, formatTime } from '../time.js';
import { lectureHash, navigate } from '../router.js';
import { heading, setTitle } from './common.js';
import { durationText, upcomingList } from './upcoming.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').Lecture} Lecture */

/** The waiting room opens this long before the start. */
const WAIT_BEFORE_MS = 60 * 60000;

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @returns {() => void}
 */
export function mountTimetable(root, ctx) {
  setTitle(t('tt.title'));
  const zone = ctx.site.timeZone;
  const countdown = h('div', { class: 'countdown', id: 'next-countdown', role: 'timer', 'aria-live': 'off' });
  /** @type {Lecture[]} */
  let current = [];

  /**
   * @param {string} text
   * @param {string} action
   * @param {Lecture} l
   * @param {string} label
   * @param {boolean} primary
   */
  function go(text, action, l, label, primary) {
    const b = h('button', {
      type: 'button', class: primary ? 'button button-primary' : 'button', text, 'aria-label': label,
      dataset: { action, lectureId: l.id },
    });
    b.addEventListener('click', () => navigate(lectureHash(l.id)));
    return b;
  }

  function renderCountdown() {
    const now = Date.now();
    const live = current.find((l) => l.state === 'live');
    const next = current.find((l) => l.state === 'scheduled' && new Date(l.start).getTime() > now);
    /** @type {Node[]} */
    const parts = [];
    if (live) {
      parts.push(h('p', { class: 'countdown-live' }, h('span', { class: 'badge badge-live', text: t('lecture.state.live') }), ' ',
        t('tt.liveNow', { title: live.title }), ' ',
        go(t('lecture.join'), 'join-now', live, t('lecture.joinLabel', { title: live.title }), true)));
    }
    if (next) {
      const at = new Date(next.start);
      const key = dateKeyIn(zone, at);
      const day = key === dateKeyIn(zone) ? t('my.today').toLowerCase() : formatDateKey(key);
      parts.push(h('p', { class: 'countdown-next' },
        h('strong', { class: 'countdown-time', text: t('tt.next', { when: durationText(at.getTime() - now) }) }),
        h('span', { class: 'muted', text: ` — ${t('tt.nextTitle', { title: next.title, day, time: formatTime(at, zone) })}` })));
    } else if (!live) {
      parts.push(h('p', { class: 'muted', text: t('tt.noNext') }));
    }
    replace(countdown, parts);
  }

  const list = upcomingList(ctx, {
    days: 14,
    pollMs: 15000,
    tickMs: 15000,
    empty: t('tt.empty'),
    onTick: (lectures) => {
      current = lectures;
      renderCountdown();
    },
    actions: (l, now) => {
      const rollcall = ctx.user.role === 'operator' && l.state !== 'cancelled'
        ? h('a', {
          href: lectureHash(l.id, '/rollcall'), class: l.state === 'live' ? 'button' : 'button button-quiet', text: t('rc.title'),
          'aria-label': t('rc.linkLabel', { title: l.title }), dataset: { action: 'rollcall', lectureId: l.id },
        }) : null;
      if (l.state === 'live') {
        return [go(t('lecture.join'), 'join', l, t('lecture.joinLabel', { title: l.title }), true), rollcall].filter((x) => x !== null);
      }
      if (l.state === 'scheduled' && new Date(l.start).getTime() - now <= WAIT_BEFORE_MS) {
        return [go(t('lecture.wait'), 'wait', l, t('lecture.waitLabel', { title: l.title }), false), rollcall].filter((x) => x !== null);
      }
      if (l.state === 'ended') return [h('span', { class: 'muted small', text: t('lecture.endedNote') }), rollcall].filter((x) => x !== null);
      return rollcall ? [rollcall] : [];
    },
  });
  // The countdown moves faster than the rows.
  const fast = window.setInterval(renderCountdown, 5000);

  root.append(
    h('div', { class: 'page-head' },
      heading(t('tt.title')),
      h('p', { class: 'muted', text: t('tt.intro', { site: ctx.site.name, zone }) })),
    countdown,
    list.el);
  return () => {
    window.clearInterval(fast);
    list.destroy();
  };
}
