/**
 * The rule table: how long each kind of tip-off may wait, by the law it arrives under.
 *
 * - TCO Regulation (EU) 2021/784 Art. 3(3): a removal order is complied with "as soon as possible and in
 *   any event within one hour of receipt of the removal order" — a fixed clock.
 * - DSA (EU) 2022/2065 Art. 16(6): notices are processed "in a timely, diligent, non-arbitrary and
 *   objective manner"; Art. 22(1): trusted flaggers' notices "with priority and … without undue delay".
 *   No number in the law: the operator sets the target.
 * - UK Online Safety Act 2023 s.10(3)(b): "swiftly take down" illegal content once aware — operator target.
 * - NetzDG §3(2) Nr. 2 and 3 (Germany, legacy since the DSA): manifestly unlawful content within 24 hours
 *   of the complaint, other unlawful content generally within 7 days.
 * - Appeals: DSA Art. 20 (timely; operator target); TCO Art. 10(2): a complaint about a removal decided
 *   "without undue delay and in any event within two weeks".
 * Every case also has an escalation time, when a deadline nears, set by the operator as a fraction of
 * its window.
 */
import { z } from 'zod';

export const LEGAL_BASES = ['tco', 'dsa', 'osa', 'netzdg_manifest', 'netzdg', 'terms'] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/** Where a case came from (the same words as the intake). */
export const CASE_SOURCES = ['notice', 'trusted_flagger', 'removal_order', 'franked_report', 'upload_hold', 'sweep_hold', 'crisis_hold', 'automated'] as const;
export type CaseSource = (typeof CASE_SOURCES)[number];

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** Targets the operator sets where the law names no number (ms). */
export const operatorTargets = z
  .object({
    dsa: z.number().int().positive().default(24 * HOUR),
    trustedFlagger: z.number().int().positive().default(4 * HOUR),
    osa: z.number().int().positive().default(24 * HOUR),
    terms: z.number().int().positive().default(72 * HOUR),
    held: z.number().int().positive().default(4 * HOUR),
    crisisHold: z.number().int().positive().default(1 * HOUR),
    appeal: z.number().int().positive().default(7 * DAY),
    /** Escalate when this fraction of a case's window remains (0.25: the last quarter). */
    escalateFraction: z.number().gt(0).lt(1).default(0.25),
  })
  .strict();
export type OperatorTargets = z.infer<typeof operatorTargets>;
export const defaultTargets = (): OperatorTargets => operatorTargets.parse({});

export interface RuleRow {
  basis: LegalBasis;
  law: string;
  clock: string;
  /** Fixed by law (ms), or null when the operator's target applies. */
  fixedMs: number | null;
}

export const RULES: Record<LegalBasis, RuleRow> = {
  tco: { basis: 'tco', law: 'Regulation (EU) 2021/784 (TCO) Art. 3(3)', clock: 'within one hour of receipt of the removal order', fixedMs: HOUR },
  dsa: { basis: 'dsa', law: 'Regulation (EU) 2022/2065 (DSA) Art. 16(6), Art. 22(1)', clock: 'timely and diligent; trusted flaggers with priority (operator target)', fixedMs: null },
  osa: { basis: 'osa', law: 'Online Safety Act 2023 s.10(3)(b)', clock: 'swiftly take down (operator target)', fixedMs: null },
  netzdg_manifest: { basis: 'netzdg_manifest', law: 'NetzDG §3(2) Nr. 2', clock: 'manifestly unlawful: within 24 hours of the complaint', fixedMs: 24 * HOUR },
  netzdg: { basis: 'netzdg', law: 'NetzDG §3(2) Nr. 3', clock: 'unlawful: generally within 7 days of the complaint', fixedMs: 7 * DAY },
  terms: { basis: 'terms', law: 'the service’s terms and conditions', clock: 'operator target', fixedMs: null },
};

/** TCO Art. 10(2): complaints about a removal under a removal order are decided within two weeks. */
export const TCO_COMPLAINT_MS = 14 * DAY;

export interface Clock {
  dueAt: number;
  escalateAt: number;
}

/** The window a case gets from its legal basis and source. */
export function windowFor(basis: LegalBasis, source: CaseSource, targets: OperatorTargets): number {
  const fixed = RULES[basis].fixedMs;
  if (fixed !== null) return fixed;
  if (source === 'trusted_flagger') return Math.min(targets.trustedFlagger, basis === 'osa' ? targets.osa : targets.dsa);
  if (source === 'crisis_hold') return targets.crisisHold;
  if (source === 'upload_hold' || source === 'sweep_hold') return targets.held;
  if (basis === 'dsa') return targets.dsa;
  if (basis === 'osa') return targets.osa;
  return targets.terms;
}

export function clockFor(receivedAt: number, windowMs: number, targets: OperatorTargets): Clock {
  return { dueAt: receivedAt + windowMs, escalateAt: receivedAt + Math.round(windowMs * (1 - targets.escalateFraction)) };
}

/** Queue priority (lower first) when deadlines do not decide: orders, crisis, trusted flaggers, the rest. */
export function priorityOf(source: CaseSource): number {
  switch (source) {
    case 'removal_order':
      return 0;
    case 'crisis_hold':
      return 1;
    case 'trusted_flagger':
      return 2;
    case 'upload_hold':
    case 'sweep_hold':
      return 3;
    case 'notice':
      return 4;
    default:
      return 5;
  }
}

export type Urgency = 'overdue' | 'escalated' | 'normal';

export function urgencyOf(clock: Clock, now: number): Urgency {
  return now >= clock.dueAt ? 'overdue' : now >= clock.escalateAt ? 'escalated' : 'normal';
}

/** "due in 42m", "OVERDUE by 1h 5m": what a moderator sees counting down. */
export function describeCountdown(dueAt: number, now: number): string {
  const ms = dueAt - now;
  const span = formatSpan(Math.abs(ms));
  return ms > 0 ? `due in ${span}` : `OVERDUE by ${span}`;
}

export function formatSpan(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (minutes > 0) return `${m}m`;
  return `${Math.floor(ms / 1000)}s`;
}

/** Adds calendar months in UTC (6 months of preservation, 6 months to complain). */
export function addMonths(time: number, months: number): number {
  const d = new Date(time);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}
