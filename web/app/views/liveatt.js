// The lecturer's (and admin's) live attendance panel in the lecture room:
// who is here now, by site, and who is expected and missing. Polls
// GET /api/lectures/{id}/attendance/live every 10 s while the lecture is
// live, and soon after every change of the participants.

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../strings.js';
import { formatTimeSeconds } from '../time.js';
import { lectureHash } from '../router.js';
import { errorText } from './common.js';

/** @typedef {import('../types.js').AppContext} AppContext */
/** @typedef {import('../types.js').AttendanceRow} AttendanceRow */

const POLL_MS = 10000;
const DEBOUNCE_MS = 1500;
const COLLAPSED_KEY = 'lecturelink.liveAttendance.collapsed';

/**
 * @param {AppContext} ctx
 * @param {string} lectureId
 * @param {string} originSiteId listed first
 */
export function liveAttendancePanel(ctx, lectureId, originSiteId) {
  let destroyed = false;
  let live = false;
  let loading = false;
  let again = false;
  let pollTimer = 0;
  let debounceTimer = 0;
  let collapsed = false;
  try {
    collapsed = localStorage.getItem(COLLAPSED_KEY) === '1';
  } catch {
    // storage unavailable
  }

  const summary = h('span', { class: 'live-att-summary muted small', id: 'live-attendance-summary' });
  const toggle = h('button', {
    type: 'button', class: 'live-att-toggle', id: 'live-attendance-toggle',
    'aria-expanded': collapsed ? 'false' : 'true', 'aria-controls': 'live-attendance-body',
  }, h('span', { class: 'live-att-chevron', 'aria-hidden': 'true' }), h('span', { class: 'live-att-title', text: t('live.title') }), summary);
  const content = h('div', { class: 'live-att-content' }, h('p', { class: 'muted small', text: t('app.loading') }));
  const foot = h('p', { class: 'muted small live-att-foot', role: 'status' });
  const body = h('div', { id: 'live-attendance-body', class: 'live-att-body', hidden: collapsed },
    content, foot,
    h('a', { href: lectureHash(lectureId, '/attendance'), class: 'button button-quiet live-att-full', text: t('live.full') }));
  const el = h('section', { class: 'live-att', id: 'live-attendance', 'aria-labelledby': 'live-attendance-toggle', dataset: { collapsed: collapsed ? 'true' : 'false' } },
    h('h2', { class: 'live-att-head' }, toggle), body);

  toggle.addEventListener('click', () => {
    collapsed = !collapsed;
    toggle.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
    body.hidden = collapsed;
    el.dataset.collapsed = collapsed ? 'true' : 'false';
    try {
      localStorage.setItem(COLLAPSED_KEY, collapsed ? '1' : '0');
    } catch {
      // storage unavailable
    }
  });

  /** @param {string} id */
  function siteName(id) {
    return ctx.sites.get(id)?.name ?? (id || t('room.unknownSite'));
  }

  /**
   * Sections per site, the origin first.
   * @param {Map<string, AttendanceRow[]>} bySite
   * @param {string} kind "here" or "missing"
   */
  function siteSections(bySite, kind) {
    const order = [...bySite.keys()].sort((a, b) => (a === originSiteId ? -1 : b === originSiteId ? 1 : siteName(a).localeCompare(siteName(b))));
    return order.map((siteId) => {
      const rows = (bySite.get(siteId) ?? []).slice().sort((a, b) => a.displayName.localeCompare(b.displayName));
      const hid = `live-${kind}-${siteId.replace(/[^\w-]/g, '_')}`;
      return h('section', { class: 'site-group', 'aria-labelledby': hid, dataset: { siteId } },
        h('h4', { id: hid }, siteName(siteId), ' ', h('span', { class: 'count', text: `(${rows.length})` })),
        h('ul', { class: 'people' }, rows.map((r) => h('li', { dataset: { userId: r.userId } },
          h('span', { class: 'person-name', text: r.displayName }),
          kind === 'here' && r.connections > 1 ? h('span', { class: 'muted small', text: ` ×${r.connections}` }) : null,
          kind === 'here' && r.rollCall && !r.connected ? h('span', { class: 'muted small', text: ` — ${t('live.rollcall')}` }) : null,
          kind === 'missing' && r.groupName ? h('span', { class: 'muted small', text: ` · ${r.groupName}` }) : null))));
    });
  }

  async function load() {
    if (destroyed) return;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    window.clearTimeout(pollTimer);
    try {
      const r = await api.liveAttendance(lectureId);
      if (destroyed) return;
      /** @type {Map<string, AttendanceRow[]>} */
      const here = new Map();
      let hereCount = 0;
      for (const [siteId, rows] of Object.entries(r.present)) {
        if (!rows?.length) continue;
        here.set(siteId, rows);
        hereCount += rows.length;
      }
      /** @type {Map<string, AttendanceRow[]>} */
      const missing = new Map();
      for (const m of r.missing) missing.set(m.siteId, [...(missing.get(m.siteId) ?? []), m]);
      summary.textContent = t('live.summary', { here: hereCount, missing: r.missing.length });
      replace(content,
        h('h3', { class: 'live-att-sub', id: 'live-here-h', text: t('live.hereCount', { count: hereCount }) }),
        h('div', { id: 'live-here', 'aria-labelledby': 'live-here-h' },
          hereCount === 0 ? h('p', { class: 'muted small', text: t('live.nobody') }) : siteSections(here, 'here')),
        h('h3', { class: 'live-att-sub', id: 'live-missing-h', text: t('live.missingCount', { count: r.missing.length }) }),
        h('div', { id: 'live-missing', 'aria-labelledby': 'live-missing-h' },
          r.missing.length === 0 ? h('p', { class: 'muted small', text: t('live.allHere') }) : siteSections(missing, 'missing')));
      foot.textContent = t('live.updated', { time: formatTimeSeconds(new Date(), ctx.site.timeZone) });
    } catch (err) {
      if (destroyed) return;
      foot.textContent = t('live.failed', { message: errorText(err) });
    } finally {
      loading = false;
      if (!destroyed) {
        if (again) {
          again = false;
          void load();
        } else if (live) {
          pollTimer = window.setTimeout(() => void load(), POLL_MS);
        }
      }
    }
  }

  void load();

  return {
    el,
    /** @param {boolean} on the lecture is live: poll */
    setLive(on) {
      if (on === live) return;
      live = on;
      window.clearTimeout(pollTimer);
      if (live && !loading) void load();
      if (!live && !loading) void load(); // one final picture when it ends
    },
    /** The participants changed: refresh soon (debounced). */
    participantsChanged() {
      window.clearTimeout(debounceTimer);
      debounceTimer = window.setTimeout(() => void load(), DEBOUNCE_MS);
    },
    destroy() {
      destroyed = true;
      window.clearTimeout(pollTimer);
      window.clearTimeout(debounceTimer);
    },
  };
}
