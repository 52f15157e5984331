/**
 * Policy: matches in, a verdict out. Pure (no store, no clock), so the upload check and the retro-sweep
 * decide alike and tests can state the rules directly:
 *   - a disabled bank's matches are ignored;
 *   - a PDQ match beyond its bank's threshold, outside its rollout share, on a `review:false_positive`
 *     signal, or inside an allow-listed span is kept but does not count (`skipped`);
 *   - a negative bank's match vetoes every other match on the same item (known-good content);
 *   - each counted match asks for its signal's action, else its bank's; a match that may not be acted on
 *     automatically (PDQ quality < 50, a `review:disputed` signal) asks for `hold` instead of `block`;
 *   - the strongest wins: block > hold > label > publish; a video still being hashed makes a verdict
 *     that is not block `pending`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { TAXONOMY } from '../taxonomy.ts';
import type { BankSettings } from './bankSettings.ts';
import { defaultBankSettings } from './bankSettings.ts';
import type { DecisionMatch, PublicReason, RuleAction, Verdict } from './decision.ts';

/** A match as the matcher (or the text rules) found it, before policy. */
export type FoundMatch = Omit<DecisionMatch, 'negative' | 'skipped' | 'action'> & {
  /** the signal's own action, if it has one */
  signalAction: RuleAction | null;
  /** text: inside an allow-listed span */
  allowed?: boolean;
};

export interface ItemMatches {
  item: string;
  /** stable key of the item's content (SHA-256 of the bytes, the text, the canonical URL): picks its rollout bucket */
  key: string;
  matches: FoundMatch[];
}

export interface PolicyResult {
  verdict: Verdict;
  matches: DecisionMatch[];
  reasons: PublicReason[];
  labels: string[];
}

const RANK: Record<Exclude<Verdict, 'pending'>, number> = { publish: 0, label: 1, hold: 2, block: 3 };

/** Is this item inside the bank's rollout share? A hash of (bank, item key): stable, evenly spread. */
export function inRollout(bank: string, key: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  const h = sha256(new TextEncoder().encode(`${bank}\n${key}`));
  const bucket = ((h[0]! << 8) | h[1]!) % 10_000;
  return bucket < Math.round(percent * 100);
}

export function decide(items: readonly ItemMatches[], settings: ReadonlyMap<string, BankSettings>, pendingItems: readonly string[] = []): PolicyResult {
  const all: DecisionMatch[] = [];
  const reasons: PublicReason[] = [];
  const labels = new Set<string>();
  let verdict: Exclude<Verdict, 'pending'> = 'publish';
  for (const item of items) {
    const judged: DecisionMatch[] = [];
    for (const m of item.matches) {
      const s = settings.get(m.bank) ?? defaultBankSettings(m.bank);
      if (!s.enabled) continue;
      const { signalAction, allowed, ...rest } = m;
      const d: DecisionMatch = { ...rest, action: signalAction ?? s.action, negative: s.negative };
      if (m.distance !== undefined && m.signalType === 'pdq' && m.distance > s.pdqThreshold) d.skipped = 'threshold';
      else if (!inRollout(m.bank, item.key, s.rolloutPercent)) d.skipped = 'rollout';
      else if (m.labels.includes('review:false_positive')) d.skipped = 'false_positive';
      else if (allowed) d.skipped = 'allow_list';
      if (m.labels.includes('review:disputed') && !d.needsReview) d.needsReview = 'disputed';
      judged.push(d);
    }
    if (judged.some((d) => d.negative && !d.skipped)) for (const d of judged) if (!d.negative && !d.skipped) d.skipped = 'negative_bank';
    for (const d of judged) {
      all.push(d);
      if (d.skipped || d.negative || d.action === 'allow') continue;
      const action: Exclude<Verdict, 'pending'> = d.action === 'block' && d.needsReview ? 'hold' : d.action;
      if (RANK[action] > RANK[verdict]) verdict = action;
      for (const l of d.labels) labels.add(l);
      const source = (settings.get(d.bank) ?? defaultBankSettings(d.bank)).publicLabel;
      for (const label of d.labels.length ? d.labels : ['custom:unlabelled']) {
        if (reasons.some((r) => r.item === d.item && r.label === label && r.span?.start === d.span?.start)) continue;
        reasons.push({
          item: d.item,
          label,
          description: (TAXONOMY as Record<string, string>)[label] ?? label.replace(/^custom:/, '').replaceAll('_', ' '),
          source,
          action: action === 'hold' ? 'hold' : d.action,
          ...(d.span && { span: { start: d.span.start, end: d.span.end } }),
        });
      }
    }
  }
  const final: Verdict = verdict !== 'block' && pendingItems.length > 0 ? 'pending' : verdict;
  return { verdict: final, matches: all, reasons, labels: [...labels].sort() };
}
