/**
 * The background half of moderation, for whichever process runs it (the server on a timer, the CLI on
 * demand): finish pending video checks, then run queued (or abandoned) retro-sweeps. One pass does all
 * the work there is and returns; calling it again while a pass runs just waits for that pass.
 */
import type { ContentActioner } from './actioner.ts';
import { runPendingCheck } from './pendingChecks.ts';
import type { UploadCheck } from './uploadCheck.ts';
import { runSweep, SweepStore, type Sweep } from '../sweep/sweep.ts';
import type { VideoOptions } from '../vpdq.ts';

export interface ModerationWorkOptions {
  check: UploadCheck;
  actioner: ContentActioner;
  videoPath: (sha256: string) => Promise<string>;
  video?: VideoOptions;
  now?: () => number;
  onSweepProgress?: (sweep: Sweep) => void;
  /** stop starting new jobs (shutdown) */
  stopping?: () => boolean;
}

export async function moderationWorkPass(options: ModerationWorkOptions): Promise<{ videos: number; sweeps: number }> {
  let videos = 0;
  let sweeps = 0;
  while (!options.stopping?.()) {
    const done = await runPendingCheck(options);
    if (!done) break;
    videos++;
  }
  const store = new SweepStore(options.check.db);
  while (!options.stopping?.()) {
    // new signals must be in the live banks before content is swept against them
    await options.check.banks.refresh();
    const sweep = await store.claim(options.now?.() ?? Date.now());
    if (!sweep) break;
    await runSweep({
      db: options.check.db,
      sweepId: sweep.id,
      actioner: options.actioner,
      ...(options.now && { now: options.now }),
      ...(options.onSweepProgress && { onProgress: options.onSweepProgress }),
      ...(options.stopping && { stopping: options.stopping }),
    });
    sweeps++;
  }
  return { videos, sweeps };
}
