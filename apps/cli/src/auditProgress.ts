/** What the log audit and the oversight report share: a progress bar on large logs, and the checkpoint state file. */
import { FileWitnessState, seenCheckpoint } from '@doublelock/log';
import { SingleBar } from 'cli-progress';

const PROGRESS_THRESHOLD = 5000;

/** `onProgress` for an audit: a bar on stderr once the log has PROGRESS_THRESHOLD entries or more. */
export function auditProgressBar(): { onProgress: (done: number, total: number) => void; stop: () => void } {
  let bar: SingleBar | undefined;
  return {
    onProgress: (done, total) => {
      if (total < PROGRESS_THRESHOLD) return;
      bar ??= new SingleBar({ format: 'auditing {bar} {value}/{total} entries  {eta_formatted} left', stream: process.stderr });
      if (done === 0) bar.start(total, 0);
      else bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}

/** Remembers the audited checkpoint, per log origin, for the next run's consistency check. */
export async function rememberCheckpoint(state: FileWitnessState, checkpoint: Parameters<typeof seenCheckpoint>[0]): Promise<void> {
  const all = await state.load();
  all[checkpoint.origin] = seenCheckpoint(checkpoint);
  await state.save(all);
}
