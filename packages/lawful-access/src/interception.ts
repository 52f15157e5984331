/**
 * Prospective interception on the provider's side, as an ETSI LI task (TS 103 221-1 "X1": the warrant
 * becomes a task naming target identifiers, a period and the products to deliver). The provider turns a
 * logged, double-locked warrant into a task only after the same checks a custodian makes (both
 * signatures, in force, commitment in the witnessed log), then asks, for each delivered message, which
 * tasks cover it: messages no task covers are deleted after delivery as usual; covered ones are retained
 * (ciphertext + escrow field for CC/HI3, the signed delivery record for IRI/HI2) until exported.
 */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { type LogInclusion, type LogInclusionVerifier, warrantLogEntry } from './logEntries.ts';
import type { TrustConfig } from './trust.ts';
import { type Cancellation, type SignedWarrant, type WarrantProblem, commitToWarrant, warrantStatus } from './warrant.ts';

export interface InterceptionTask {
  /** base64url warrant commitment: how the public log and the release records name this warrant */
  taskId: string;
  warrantId: string;
  revision: number;
  targets: string[];
  from: number;
  until: number;
  products: Array<'iri' | 'cc'>;
}

export type TaskDecision = { task: InterceptionTask } | { refused: WarrantProblem | 'not_in_log'; reason: string };

export function interceptionTask(
  logged: { warrant: SignedWarrant; commitmentNonce: string; inclusion: LogInclusion },
  trust: TrustConfig,
  now: number,
  verifyInclusion: LogInclusionVerifier,
  cancellations: readonly Cancellation[] = [],
): TaskDecision {
  const status = warrantStatus(logged.warrant, trust, now, cancellations);
  if (!status.inForce) return { refused: status.problem, reason: status.detail };
  const w = logged.warrant.warrant;
  let commitment: Uint8Array;
  try {
    commitment = commitToWarrant(w, fromBase64Url(logged.commitmentNonce)).commitment;
  } catch {
    return { refused: 'not_in_log', reason: 'malformed commitment opening' };
  }
  if (!verifyInclusion(warrantLogEntry(commitment, w), logged.inclusion, logged.inclusion.checkpoint))
    return { refused: 'not_in_log', reason: 'the warrant is not proven to be in the transparency log: it cannot take effect' };
  return {
    task: { taskId: toBase64Url(commitment), warrantId: w.id, revision: w.revision, targets: [...w.targets], from: status.from, until: status.until, products: [...w.products] },
  };
}

/** The tasks covering one delivered message (a target is the sender or a recipient, at a time inside the task). */
export function tasksCovering(tasks: readonly InterceptionTask[], message: { sender: string; recipients: readonly string[]; serverTime: number }): InterceptionTask[] {
  return tasks.filter((task) => {
    if (message.serverTime < task.from || message.serverTime >= task.until) return false;
    const targets = new Set(task.targets);
    return targets.has(message.sender) || message.recipients.some((r) => targets.has(r));
  });
}

/** What to keep for a message: nothing (delete after delivery), metadata only, or content too. */
export function retentionFor(tasks: readonly InterceptionTask[], message: { sender: string; recipients: readonly string[]; serverTime: number }): { iri: boolean; cc: boolean; taskIds: string[] } {
  const covering = tasksCovering(tasks, message);
  return {
    iri: covering.some((t) => t.products.includes('iri')),
    cc: covering.some((t) => t.products.includes('cc')),
    taskIds: covering.map((t) => t.taskId),
  };
}
