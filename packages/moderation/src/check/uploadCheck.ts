/**
 * The upload check: a subject's content items in, a stored decision out. It runs the hasher where the
 * caller has not (images from bytes), asks the matcher and the text rules, lets policy decide, and
 * stores the decision with everything that matched. Content that may become visible keeps its signals
 * for the retro-sweep; a video without its vPDQ yet leaves the subject pending and a row for the
 * background worker (pendingChecks.ts). It knows nothing of channels: a subject is an opaque string.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Db, SqlRunner } from '@doublelock/store';
import { exactHashes } from '../exact.ts';
import { decodeImage, referenceLumaShared, type DecodedImage, type ImageLimits } from '../image.ts';
import { cropRgb, type Crop } from '../vpdq.ts';
import { md5 } from '@noble/hashes/legacy.js';
import { DIHEDRALS, pdqDihedralFromLuma, type Dihedral } from '../pdq.ts';
import { PdqHash } from '../pdqHash.ts';
import { canonicaliseUrl } from '../url.ts';
import { formatVpdqSignal, parseVpdqSignal, type VpdqFeature } from '../vpdqFormat.ts';
import type { Subject } from './actioner.ts';
import { ContentSignalStore, type ContentSignal } from './contentSignals.ts';
import type { ContentType, Decision, DecisionStage } from './decision.ts';
import { DecisionStore } from './decisionStore.ts';
import type { SignalMatch } from '../matcher.ts';
import type { LiveBanks } from './liveBanks.ts';
import { PendingCheckStore } from './pendingChecks.ts';
import { decide, type FoundMatch, type ItemMatches, type PolicyResult } from './policy.ts';

/** An image's signals, as the hasher makes them at upload (kept with the media, reused by every post). */
export interface ImageSignals {
  md5: string;
  sha256: string;
  /** hex PDQ of the image and of its seven rotations and flips */
  pdq: Record<Dihedral, string>;
  /** the same of the image without its uniform borders, when it has some (a letterboxed re-upload) */
  cropped?: Record<Dihedral, string>;
  quality: number;
  width: number;
  height: number;
  format: string;
}

export type CheckItem =
  | { id: string; kind: 'text'; text: string }
  | { id: string; kind: 'link'; url: string }
  | { id: string; kind: 'image'; signals: ImageSignals }
  /** vpdq: the HMA signal string once hashed; absent while the video waits for the worker */
  | { id: string; kind: 'video'; md5: string; sha256: string; vpdq?: string };

/** What the check found for a submission's items, before anything is stored (UploadCheck.evaluate). */
export interface Evaluation {
  readonly items: readonly CheckItem[];
  /** videos still waiting for their vPDQ */
  readonly waiting: string[];
  readonly result: PolicyResult;
}

export interface Submission {
  subject: Subject;
  uploader: string | null;
  /** when the content was posted (the DSA's content_date) */
  createdAt: number;
  items: CheckItem[];
  /** the subject is new (written in the same transaction as its decision): it has no stored signals to replace */
  fresh?: boolean;
}

/**
 * Hasher role for image bytes: one decode, the eight dihedral PDQ hashes with quality, MD5 and SHA-256
 * (the SHA-256 may be passed in when the blob store already computed it while receiving the bytes).
 */
export async function hashImage(bytes: Uint8Array, limits?: ImageLimits, known?: { sha256: string }): Promise<ImageSignals> {
  const exact = known ? { md5: bytesToHex(md5(bytes)), sha256: known.sha256 } : await exactHashes(bytes);
  const decoded = await decodeImage(bytes, limits);
  const { quality, pdq } = dihedralHex(decoded);
  const signals: ImageSignals = { md5: exact.md5, sha256: exact.sha256, pdq, quality, width: decoded.width, height: decoded.height, format: decoded.format };
  // Borders added around a known image (letterbox, pillarbox, a frame) are found as vPDQ finds them in
  // video frames, and the image inside is hashed too.
  const rgb = decoded.channels === 3 ? decoded.pixels : greyToRgb(decoded.pixels, decoded.width * decoded.height);
  const crop = uniformBorders(rgb, decoded.width, decoded.height);
  if (crop.width !== decoded.width || crop.height !== decoded.height) {
    const inner = cropRgb(rgb, decoded.width, crop);
    signals.cropped = dihedralHex({ pixels: inner, width: crop.width, height: crop.height, channels: 3, format: decoded.format }).pdq;
  }
  return signals;
}

function dihedralHex(image: DecodedImage): { quality: number; pdq: Record<Dihedral, string> } {
  const small = referenceLumaShared(image);
  const { quality, hashes } = pdqDihedralFromLuma(small.luma, small.width, small.height);
  const pdq = {} as Record<Dihedral, string>;
  for (const d of DIHEDRALS) pdq[d] = hashes[d].toHex();
  return { quality, pdq };
}

/**
 * The picture inside uniform borders, scanning from each edge inwards and stopping at the first line
 * that is not one colour (within 24 levels per channel, as vPDQ's letterbox detection): a photo without
 * borders costs four lines. Borders of up to a quarter of the picture on each side are cropped.
 */
export function uniformBorders(rgb: Uint8Array, w: number, h: number, tolerance = 24): Crop {
  const uniform = (start: number, step: number, n: number) => {
    let lo0 = 255, lo1 = 255, lo2 = 255, hi0 = 0, hi1 = 0, hi2 = 0; // prettier-ignore
    for (let k = 0, p = start; k < n; k++, p += step) {
      const r = rgb[p]!, g = rgb[p + 1]!, b = rgb[p + 2]!; // prettier-ignore
      if (r < lo0) lo0 = r;
      if (r > hi0) hi0 = r;
      if (g < lo1) lo1 = g;
      if (g > hi1) hi1 = g;
      if (b < lo2) lo2 = b;
      if (b > hi2) hi2 = b;
      if (hi0 - lo0 > tolerance || hi1 - lo1 > tolerance || hi2 - lo2 > tolerance) return false;
    }
    return true;
  };
  let top = 0;
  while (top < h / 4 && uniform(top * w * 3, 3, w)) top++;
  let bottom = h;
  while (bottom > h - h / 4 && uniform((bottom - 1) * w * 3, 3, w)) bottom--;
  let left = 0;
  while (left < w / 4 && uniform(left * 3, w * 3, h)) left++;
  let right = w;
  while (right > w - w / 4 && uniform((right - 1) * 3, w * 3, h)) right--;
  return { x: left, y: top, width: right - left, height: bottom - top };
}

function greyToRgb(grey: Uint8Array, n: number): Uint8Array {
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = grey[i]!;
  return rgb;
}

const textKey = (text: string) => bytesToHex(sha256(new TextEncoder().encode(text)));

function contentTypes(items: readonly CheckItem[]): ContentType[] {
  const types = new Set<ContentType>(items.map((i) => (i.kind === 'link' ? 'link' : i.kind)));
  return (['text', 'image', 'video', 'link'] as const).filter((t) => types.has(t));
}

/** What the retro-sweep will compare against later. */
export function signalsOf(items: readonly CheckItem[]): ContentSignal[] {
  const out: ContentSignal[] = [];
  for (const i of items) {
    if (i.kind === 'text') out.push({ item: i.id, type: 'text', value: i.text });
    else if (i.kind === 'link') {
      try {
        out.push({ item: i.id, type: 'url', value: canonicaliseUrl(i.url) });
      } catch {
        // not an http(s) URL: nothing a URL rule could match
      }
    } else if (i.kind === 'image') {
      for (const d of DIHEDRALS) out.push({ item: i.id, type: 'pdq', value: i.signals.pdq[d], quality: i.signals.quality, variant: d });
      // the picture inside its borders too, in all eight variants: a letterboxed and mirrored copy is found
      if (i.signals.cropped) for (const d of DIHEDRALS) out.push({ item: i.id, type: 'pdq', value: i.signals.cropped[d], quality: i.signals.quality, variant: d });
      out.push({ item: i.id, type: 'md5', value: i.signals.md5 }, { item: i.id, type: 'sha256', value: i.signals.sha256 });
    } else {
      out.push({ item: i.id, type: 'md5', value: i.md5 }, { item: i.id, type: 'sha256', value: i.sha256 });
      if (i.vpdq) out.push({ item: i.id, type: 'vpdq', value: i.vpdq });
    }
  }
  return out;
}

export class UploadCheck {
  readonly decisions: DecisionStore;
  readonly contentSignals: ContentSignalStore;
  readonly pending: PendingCheckStore;

  constructor(
    readonly db: Db,
    readonly banks: LiveBanks,
    private readonly now: () => number = Date.now,
  ) {
    this.decisions = new DecisionStore(db);
    this.contentSignals = new ContentSignalStore(db);
    this.pending = new PendingCheckStore(db);
  }

  /** Matches of every item, as policy reads them. */
  async matchItems(items: readonly CheckItem[]): Promise<ItemMatches[]> {
    return Promise.all(
      items.map(async (item) => {
        const matches = await this.matchItem(item);
        // the key only picks a match's rollout bucket: an item without matches (most) is not hashed for it
        return { item: item.id, key: matches.length ? keyOf(item) : '', matches };
      }),
    );
  }

  private async matchItem(item: CheckItem): Promise<FoundMatch[]> {
    if (item.kind === 'text') {
      return (await this.banks.matchText(item.text)).map((m) => ({
        item: item.id,
        bank: m.signal.bank,
        signalId: m.signal.id,
        signalType: 'text',
        labels: m.signal.labels,
        signalAction: m.signal.action,
        severity: m.signal.severity,
        span: { start: m.start, end: m.end, text: m.text },
        ...(m.allowed && { allowed: true }),
      }));
    }
    let query;
    if (item.kind === 'link') {
      try {
        query = { url: canonicaliseUrl(item.url) };
      } catch {
        return [];
      }
    } else if (item.kind === 'image') {
      const variants = Object.fromEntries(DIHEDRALS.map((d) => [d, PdqHash.fromHex(item.signals.pdq[d])]));
      query = { pdqVariants: variants, quality: item.signals.quality, md5: item.signals.md5, sha256: item.signals.sha256 };
      if (item.signals.cropped) {
        // the image inside its borders: its matches join the others, closest first
        const inner = Object.fromEntries(DIHEDRALS.map((d) => [d, PdqHash.fromHex(item.signals.cropped![d])]));
        const [whole, cropped] = await Promise.all([this.banks.matchHashes(query), this.banks.matchHashes({ pdqVariants: inner, quality: item.signals.quality })]);
        return this.found(item.id, [...whole, ...cropped.filter((c) => !whole.some((w) => w.signalId === c.signalId && (w.distance ?? 0) <= (c.distance ?? 0)))]);
      }
    } else {
      query = { md5: item.md5, sha256: item.sha256, ...(item.vpdq && { vpdq: parseVpdqSignal(item.vpdq) }) };
    }
    return this.found(item.id, await this.banks.matchHashes(query));
  }

  private async found(itemId: string, found: SignalMatch[]): Promise<FoundMatch[]> {
    const byId = new Map<number, SignalMatch>();
    for (const m of found) if (!byId.has(m.signalId) || (m.distance ?? 0) < (byId.get(m.signalId)!.distance ?? 0)) byId.set(m.signalId, m);
    found = [...byId.values()];
    const rows = new Map((await this.banks.store.getSignalsByIds([...new Set(found.map((m) => m.signalId))])).map((s) => [s.id, s]));
    return found.map((m) => {
      const row = rows.get(m.signalId);
      return {
        item: itemId,
        bank: m.bank,
        signalId: m.signalId,
        signalType: m.type,
        labels: m.labels,
        signalAction: row?.action ?? null,
        severity: row?.severity ?? null,
        ...(m.distance !== undefined && { distance: m.distance }),
        ...(m.variant && { variant: m.variant }),
        ...(m.vpdq && { vpdq: m.vpdq }),
        ...(m.reason === 'low_quality' && { needsReview: 'low_quality' as const }),
      };
    });
  }

  /**
   * Checks a submission and stores the decision. `stage` 'video_check' is the worker finishing a
   * pending subject. The caller applies the verdict to its content (or, for the worker, the actioner).
   */
  async check(submission: Submission, stage: DecisionStage = 'upload'): Promise<Decision> {
    const evaluation = await this.evaluate(submission.items);
    // the decision, the signals kept for the sweep and a pending row commit together (one fsync)
    return this.db.transaction((tx) => this.record(tx, submission, evaluation, stage));
  }

  /**
   * The check without writing: matchers, text rules and policy. A caller that writes the content
   * anyway (a new post) evaluates first, then records the decision in its own transaction with the
   * content (`record`), so the decision costs no commit of its own and neither exists without the other.
   */
  async evaluate(items: readonly CheckItem[]): Promise<Evaluation> {
    const matched = await this.matchItems(items);
    const waiting = items.filter((i) => i.kind === 'video' && !i.vpdq).map((i) => i.id);
    return { items, waiting, result: decide(matched, this.banks.settings, waiting) };
  }

  /** Stores an evaluation's decision inside the caller's transaction: the decision, the signals kept for the sweep, a pending row. */
  async record(tx: SqlRunner, submission: Submission, evaluation: Evaluation, stage: DecisionStage = 'upload'): Promise<Decision> {
    if (evaluation.items !== submission.items) throw new TypeError('an evaluation is recorded with the submission it was made for');
    const { result, waiting } = evaluation;
    const now = this.now();
    const decision = await this.decisions.add(
      {
        subject: submission.subject,
        uploader: submission.uploader,
        stage,
        verdict: result.verdict,
        reasons: result.reasons,
        matches: result.matches,
        labels: result.labels,
        contentTypes: contentTypes(submission.items),
        automatedDetection: true,
        automatedDecision: result.verdict !== 'hold' && result.verdict !== 'pending',
        contentCreatedAt: submission.createdAt,
        createdAt: now,
        sweepId: null,
      },
      tx,
    );
    const kept = result.verdict === 'block' ? [] : signalsOf(submission.items);
    if (submission.fresh) await this.contentSignals.add(submission.subject, kept, now, tx);
    else await this.contentSignals.put(submission.subject, kept, now, tx);
    if (result.verdict === 'pending') {
      // the worker's later check replaces the signals stored now: the subject is not fresh for it
      const { fresh: _fresh, ...later } = submission;
      await this.pending.add(later, waiting, now, tx);
    }
    return decision;
  }

  /** The subject is gone (deleted, removed): nothing to sweep, nothing to finish. */
  async forget(subject: Subject): Promise<void> {
    await this.contentSignals.forget(subject);
    await this.pending.cancel(subject);
  }
}

function keyOf(item: CheckItem): string {
  switch (item.kind) {
    case 'text':
      return textKey(item.text);
    case 'link':
      return item.url;
    case 'image':
      return item.signals.sha256;
    case 'video':
      return item.sha256;
  }
}

/** A vPDQ hash result as the signal string banks and checks exchange. */
export function vpdqSignal(features: readonly VpdqFeature[]): string {
  return formatVpdqSignal(features);
}
