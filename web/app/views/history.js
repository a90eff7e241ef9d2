// A person's attendance across series: the student's own "My attendance"
// (#/attendance) and, for admins, anyone's (#/people/ID/attendance).

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../strings.js';
import { dateKeyIn, formatDateKey, formatTime } from '../time.js';
import { reload } from '../router.js';
import { alertBox, errorText, heading, setTitle } from './common.js';
import { percentClass, percentText, sourceLabel, statusBadge } from './attcommon.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').HistorySeries} HistorySeries */
/** @typedef {import('../types.js').AttendanceRules} AttendanceRules */

/**
 * @param {HTMLElement} root
 * @param {AppContext} ctx
 * @param {string} userId
 * @returns {() => void}
 */
export function mountHistory(root, ctx, userId) {
  const own = userId === ctx.user.id;
  setTitle(own ? t('hist.title') : t('att.title'));
  let destroyed = false;
  const zone = ctx.site.timeZone;
  const title = heading(own ? t('hist.title') : t('att.title'));
  const body = h('div', { class: 'history', id: 'history', dataset: { userId } }, h('p', { class: 'muted', text: t('app.loading') }));
  root.append(h('div', { class: 'page-head' },
    own ? null : h('a', { href: '#/people', class: 'back-link', text: `‹ ${t('hist.back')}` }),
    title,
    h('p', { class: 'muted', text: own ? t('hist.intro') : t('hist.introOf') })),
  body);

  async function load() {
    try {
      const r = await api.userAttendance(userId);
      if (destroyed) return;
      if (!own && r.user) {
        title.textContent = t('hist.titleOf', { name: r.user.displayName });
        setTitle(t('hist.titleOf', { name: r.user.displayName }));
      }
      // Rules give the descriptions of custom statuses; the defaults cover P/L/E/A.
      const defaults = api.defaultRules();
      render(r.series, defaults);
    } catch (err) {
      if (destroyed) return;
      const retry = h('button', { type: 'button', class: 'button', text: t('app.retry') });
      retry.addEventListener('click', () => reload());
      replace(body, alertBox(t('common.loadFailed', { message: errorText(err) }), retry));
    }
  }

  /**
   * @param {HistorySeries[]} series
   * @param {AttendanceRules} rules
   */
  function render(series, rules) {
    if (series.length === 0) {
      replace(body, h('p', { class: 'lecture-empty muted', text: t('hist.empty') }));
      return;
    }
    replace(body, series.map((s) => {
      const hid = `hist-${s.series.id}`;
      const lectures = s.lectures.slice().sort((a, b) => a.lecture.start.localeCompare(b.lecture.start));
      return h('section', { class: 'card history-series', 'aria-labelledby': hid, dataset: { seriesId: s.series.id } },
        h('div', { class: 'history-head' },
          h('h2', { id: hid, text: s.series.title }),
          h('p', { class: `history-percent ${percentClass(s.percent)}`, dataset: { percent: s.percent === null || s.percent === undefined ? '' : String(s.percent) } },
            s.percent === null || s.percent === undefined ? t('hist.percentNone') : t('hist.percent', { value: percentText(s.percent) }))),
        lectures.length === 0 ? h('p', { class: 'muted', text: t('hist.empty') }) : h('div', { class: 'table-wrap' },
          h('table', { class: 'table table-compact history-table' },
            h('thead', null, h('tr', null,
              h('th', { scope: 'col', class: 'num', text: t('series.col.index') }),
              h('th', { scope: 'col', text: t('hist.col.date') }),
              h('th', { scope: 'col', text: t('hist.col.topic') }),
              h('th', { scope: 'col', text: t('hist.col.status') }),
              h('th', { scope: 'col', class: 'num', text: t('hist.col.minutes') }))),
            h('tbody', null, lectures.map((x, i) => {
              const l = x.lecture;
              const held = l.state === 'ended' || l.state === 'live';
              return h('tr', { class: `row-${l.state}`, dataset: { lectureId: l.id, status: x.status } },
                h('td', { class: 'num', text: String(l.index || i + 1) }),
                h('td', null, h('time', { datetime: l.start, text: `${formatDateKey(dateKeyIn(zone, new Date(l.start)))}, ${formatTime(l.start, zone)}` })),
                h('td', { class: 'wrap', text: l.topic || l.title }),
                h('td', { class: 'status' },
                  x.status ? statusBadge(rules, x.status) : h('span', { class: 'muted', text: l.state === 'cancelled' ? t('lecture.state.cancelled') : held ? t('att.noStatus') : t('hist.upcoming') }),
                  x.status && x.source && x.source !== 'automatic' ? h('span', { class: `source source-${x.source}`, text: sourceLabel(x.source) }) : null),
                h('td', { class: 'num', text: held ? String(Math.round(x.presentSeconds / 60)) : t('common.none') }));
            })))));
    }));
  }

  void load();
  return () => { destroyed = true; };
}
