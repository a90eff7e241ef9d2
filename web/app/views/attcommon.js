// Shared pieces of the attendance screens: status badges (colour and
// letter, never colour alone), percentages, download links.

import { h } from '../dom.js';
import { hasMessage, LOCALE, t } from '../strings.js';

/** @typedef {import('../types.js').AttendanceRules} AttendanceRules */
/** @typedef {import('../types.js').AttendanceStatus} AttendanceStatus */

/** The acronyms with their own colour; any other status is "other". */
const KNOWN = new Set(['P', 'L', 'E', 'A']);

/**
 * The CSS class of a status: status-P, status-L, status-E, status-A,
 * status-other, or status-none for "".
 * @param {string} acronym
 */
export function statusClass(acronym) {
  if (!acronym) return 'status-none';
  return KNOWN.has(acronym) ? `status-${acronym}` : 'status-other';
}

/**
 * The description of a status in the rules, or a readable fallback.
 * @param {AttendanceRules | null | undefined} rules
 * @param {string} acronym
 */
export function statusDescription(rules, acronym) {
  if (!acronym) return t('att.noStatus');
  const s = rules?.statuses.find((x) => x.acronym === acronym);
  return s ? s.description : t('att.status.unknown', { acronym });
}

/**
 * A status badge: the letter in a coloured chip and (unless compact) the
 * description beside it. The full description is always in the text for
 * screen readers.
 * @param {AttendanceRules | null | undefined} rules
 * @param {string} acronym
 * @param {{compact?: boolean}} [opts]
 */
export function statusBadge(rules, acronym, opts = {}) {
  const description = statusDescription(rules, acronym);
  if (opts.compact) {
    return h('span', { class: `status-chip ${statusClass(acronym)}`, title: description, dataset: { status: acronym } },
      h('span', { 'aria-hidden': 'true', text: acronym || '·' }),
      h('span', { class: 'visually-hidden', text: description }));
  }
  return h('span', { class: `status-badge ${statusClass(acronym)}`, dataset: { status: acronym } },
    h('span', { class: 'status-letter', 'aria-hidden': 'true', text: acronym || '–' }),
    h('span', { class: 'status-text', text: description }));
}

/**
 * The label of a source ("automatic", "roll call", "manual").
 * @param {string} source
 */
export function sourceLabel(source) {
  const id = `att.source.${source}`;
  return hasMessage(id) ? t(id) : source;
}

const pctFormat = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const pctFormat1 = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 });

/**
 * "92 %" of a 0–1 share.
 * @param {number} share
 */
export function shareText(share) {
  return t('att.percent', { value: pctFormat.format(Math.max(0, share) * 100) });
}

/**
 * "87.5 %" of a 0–100 percentage; "—" for null.
 * @param {number | null | undefined} percent
 */
export function percentText(percent) {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return t('att.percentNone');
  return t('att.percent', { value: pctFormat1.format(percent) });
}

/**
 * A band class of a percentage, for the colour of the number (the number
 * itself is always shown).
 * @param {number | null | undefined} percent
 */
export function percentClass(percent) {
  if (percent === null || percent === undefined) return 'pct pct-none';
  if (percent >= 75) return 'pct pct-good';
  if (percent >= 50) return 'pct pct-mid';
  return 'pct pct-low';
}

/**
 * A row of plain download links.
 * @param {string} labelledBy id of the group's label
 * @param {{id: string, href: string, text: string, label: string}[]} links
 */
export function downloadLinks(labelledBy, links) {
  return h('div', { class: 'download-links', role: 'group', 'aria-labelledby': labelledBy },
    links.map((l) => h('a', { class: 'button', id: l.id, href: l.href, download: '', text: l.text, title: l.label, 'aria-label': l.label })));
}

/**
 * Statuses for a legend.
 * @param {AttendanceRules | null | undefined} rules
 * @param {string} labelId
 */
export function statusLegend(rules, labelId) {
  const statuses = rules?.statuses ?? [];
  return h('ul', { class: 'status-legend', 'aria-labelledby': labelId },
    statuses.map((s) => h('li', null, statusBadge(rules, s.acronym))));
}
