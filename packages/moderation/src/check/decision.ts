/**
 * Decisions: what the upload check or the retro-sweep decided about a subject, and everything that
 * matched. Every later stage (notices, statements of reasons, appeals, transparency reports, ad
 * eligibility) reads these stored records; nothing downstream re-derives them.
 */
import type { Dihedral } from '../pdq.ts';
import type { SignalType } from '../signal.ts';
import type { Subject } from './actioner.ts';

/** The outcome for a subject: publish, block (refuse), hold for human review, label, or pending (video). */
export type Verdict = 'publish' | 'block' | 'hold' | 'label' | 'pending';

/** What a rule or bank asks for when it matches; `allow` marks allow-list entries of a text bank. */
export const RULE_ACTIONS = ['block', 'hold', 'label', 'allow'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type DecisionStage = 'upload' | 'video_check' | 'retro_sweep';

/** Why a match did not count toward the verdict (it is still stored, for review and reports). */
export type SkipReason =
  | 'rollout' // the bank is rolled out to a share of content and this item is outside it
  | 'threshold' // within the matcher's radius but beyond the bank's own distance threshold
  | 'negative_bank' // the item also matches a negative (known-good) bank
  | 'allow_list' // text: inside an allow-listed word
  | 'false_positive'; // the signal is labelled review:false_positive

export interface DecisionMatch {
  /** the content item within the subject: 'text', 'link:<n>', 'media:<id>' */
  item: string;
  bank: string;
  signalId: number;
  signalType: SignalType;
  labels: string[];
  action: RuleAction;
  severity: Severity | null;
  /** PDQ: Hamming distance; which dihedral variant of the upload matched */
  distance?: number;
  variant?: Dihedral;
  vpdq?: { queryMatchPercent: number; targetMatchPercent: number };
  /** text: where in the original text (UTF-16 offsets, end exclusive) and what it said there */
  span?: { start: number; end: number; text: string };
  /** from a negative bank: known-good content that must never be blocked */
  negative: boolean;
  /** a person must decide: low PDQ quality, a disputed signal */
  needsReview?: 'low_quality' | 'disputed';
  skipped?: SkipReason;
}

/**
 * What the uploader is told at once: the rule's or bank's label and what it means, never the list itself
 * (no hash, no signal id, no distance, no other entries).
 */
export interface PublicReason {
  item: string;
  /** taxonomy label, e.g. tvec:branded_content */
  label: string;
  description: string;
  /** the bank's public name, e.g. "Known terrorist content (hash-sharing database)" */
  source: string;
  action: RuleAction;
  /** text items: the part of the uploader's own text that matched */
  span?: { start: number; end: number };
}

export type ContentType = 'text' | 'image' | 'video' | 'link';

export interface Decision {
  id: number;
  subject: Subject;
  uploader: string | null;
  stage: DecisionStage;
  verdict: Verdict;
  reasons: PublicReason[];
  matches: DecisionMatch[];
  /** labels of the matches that counted (for ads, statements of reasons, reports) */
  labels: string[];
  contentTypes: ContentType[];
  /** detection by hashes/rules: always true here; a decision without a person is automated */
  automatedDetection: boolean;
  automatedDecision: boolean;
  contentCreatedAt: number;
  createdAt: number;
  sweepId: number | null;
}
