/**
 * Checks that finish later: a video's vPDQ takes seconds to minutes, so its subject stays `pending`
 * (never visible) while a background worker hashes it, runs the check again with the vPDQ, and applies
 * the verdict through the actioner. Rows live in the store, so a restart picks up where it stopped; a
 * row claimed by a worker that died is claimed again after its lease.
 */
import type { Db, SqlRunner } from '@doublelock/store';
import { ContentError } from '../errors.ts';
import { vpdqHashVideo, type VideoOptions } from '../vpdq.ts';
import { formatVpdqSignal } from '../vpdqFormat.ts';
import type { ContentAction, ContentActioner, Subject } from './actioner.ts';
import type { Decision } from './decision.ts';
import type { Submission, UploadCheck } from './uploadCheck.ts';

const LEASE_MS = 15 * 60 * 1000;
const MAX_ATTEMPTS = 3;

export interface PendingCheck {
  id: number;
  subject: Subject;
  items: string[];
  submission: Submission;
  attempts: number;
}

export class PendingCheckStore {
  constructor(private readonly db: Db) {}

  async add(submission: Submission, items: readonly string[], now: number, tx: SqlRunner = this.db): Promise<void> {
    await tx.run("UPDATE moderation_pending_checks SET status = 'cancelled' WHERE subject = ? AND status IN ('waiting', 'running')", [submission.subject]);
    await tx.run(
      "INSERT INTO moderation_pending_checks (subject, item, content_ref, submission, status, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, 'waiting', 0, ?, ?)",
      [submission.subject, JSON.stringify(items), JSON.stringify(submission.items.filter((i) => items.includes(i.id)).map((i) => (i.kind === 'video' ? i.sha256 : ''))), JSON.stringify(submission), now, now],
    );
  }

  async cancel(subject: Subject): Promise<void> {
    await this.db.run("UPDATE moderation_pending_checks SET status = 'cancelled' WHERE subject = ? AND status IN ('waiting', 'running')", [subject]);
  }

  /** Claims the oldest waiting row (or one whose worker's lease ran out). */
  async claim(now: number): Promise<PendingCheck | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ id: number; subject: string; item: string; submission: string; attempts: number }>(
        "SELECT id, subject, item, submission, attempts FROM moderation_pending_checks WHERE status = 'waiting' OR (status = 'running' AND updated_at < ?) ORDER BY id LIMIT 1",
        [now - LEASE_MS],
      );
      if (!row) return undefined;
      await tx.run("UPDATE moderation_pending_checks SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?", [now, row.id]);
      return { id: Number(row.id), subject: row.subject, items: JSON.parse(row.item) as string[], submission: JSON.parse(row.submission) as Submission, attempts: Number(row.attempts) + 1 };
    });
  }

  async finish(id: number, status: 'done' | 'failed' | 'waiting', now: number, error?: string): Promise<void> {
    await this.db.run('UPDATE moderation_pending_checks SET status = ?, error = ?, updated_at = ? WHERE id = ?', [status, error ?? null, now, id]);
  }

  async count(status = 'waiting'): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM moderation_pending_checks WHERE status = ?', [status]))?.n ?? 0);
  }
}

export interface PendingWorkerOptions {
  check: UploadCheck;
  actioner: ContentActioner;
  /** a local file holding the video with this SHA-256 (the blob store's) */
  videoPath: (sha256: string) => Promise<string>;
  video?: VideoOptions;
  now?: () => number;
}

/** What the verdict of a finished check does to the pending subject. */
export function actionsFor(decision: Decision): ContentAction[] {
  switch (decision.verdict) {
    case 'publish':
      return [{ type: 'publish' }];
    case 'label':
      return [{ type: 'label', labels: decision.labels }, { type: 'publish' }];
    case 'block':
      return [{ type: 'block' }];
    case 'hold':
    case 'pending':
      return [{ type: 'hold' }];
  }
}

/**
 * Finishes one pending check, if there is one: hashes its videos, checks again, applies the verdict.
 * A video that cannot be hashed is never published unchecked: after its retries it is held for review.
 */
export async function runPendingCheck(options: PendingWorkerOptions): Promise<Decision | undefined> {
  const now = options.now ?? Date.now;
  const job = await options.check.pending.claim(now());
  if (!job) return undefined;
  const submission = job.submission;
  try {
    for (const item of submission.items) {
      if (item.kind !== 'video' || !job.items.includes(item.id)) continue;
      const { features } = await vpdqHashVideo(await options.videoPath(item.sha256), options.video);
      item.vpdq = formatVpdqSignal(features);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const retry = !(error instanceof ContentError) && job.attempts < MAX_ATTEMPTS;
    await options.check.pending.finish(job.id, retry ? 'waiting' : 'failed', now(), message);
    if (retry) return undefined;
    // cannot be checked: a person decides
    const held = await options.check.decisions.add({
      subject: submission.subject,
      uploader: submission.uploader,
      stage: 'video_check',
      verdict: 'hold',
      reasons: [{ item: job.items[0] ?? 'video', label: 'custom:unchecked_video', description: `the video could not be checked automatically (${message.slice(0, 200)}); a person will review it`, source: 'upload check', action: 'hold' }],
      matches: [],
      labels: [],
      contentTypes: ['video'],
      automatedDetection: true,
      automatedDecision: false,
      contentCreatedAt: submission.createdAt,
      createdAt: now(),
      sweepId: null,
    });
    await options.actioner.apply(submission.subject, { type: 'hold' }, { decisionId: held.id, actor: 'video_check', reason: held.reasons[0]!.description });
    return held;
  }
  const decision = await options.check.check(submission, 'video_check');
  for (const action of actionsFor(decision)) {
    await options.actioner.apply(submission.subject, action, { decisionId: decision.id, actor: 'video_check', reason: decision.reasons.map((r) => r.label).join(', ') || 'checked' });
  }
  await options.check.pending.finish(job.id, 'done', now());
  return decision;
}
