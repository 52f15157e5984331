/**
 * The agency console's requests, each signed with the agency key: the SDK's agency workflow
 * (packages/client/src/agency/workflow.ts, the same code `doublelock agency …` runs) against this page's
 * own server. The key is unwrapped for one call and wiped (keyring.ts).
 */
import { collectIntercepts as collect, openIntercepts, submitWarrant as submit, waitForInclusion, type BatchOutcome } from '@doublelock/client/agency/workflow';
import type { ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import { inclusionSchema, type LogInclusion } from '@doublelock/lawful-access/logEntries';
import type { SignedTrustConfig, TrustConfig } from '@doublelock/lawful-access/trust';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import { z } from 'zod';
import { withSecretKey } from './keyring.ts';

const server = () => window.location.origin;

/** What the agency keeps of a submission (as `doublelock agency submit --out` writes it): the nonce unseals the warrant later. */
export const submissionSchema = z.object({ warrantId: z.string(), commitmentNonce: z.string(), commitment: z.string(), leafIndex: z.number().int(), inclusion: inclusionSchema.optional() });
export type Submission = z.infer<typeof submissionSchema>;

export async function submitWarrant(warrant: SignedWarrant): Promise<Submission> {
  return withSecretKey('agency', (id, secretKey) => submit(server(), { id, secretKey }, warrant));
}

/**
 * The proof that the warrant is in a witnessed checkpoint, waited for right after submitting: custodians
 * start the warrant's window at the first such checkpoint's time, so it is kept from the start.
 */
export function witnessedInclusion(trust: TrustConfig, leafIndex: number, timeoutMs = 60_000): Promise<LogInclusion | undefined> {
  return waitForInclusion(server(), trust, leafIndex, timeoutMs);
}

export function collectIntercepts(warrantId: string): Promise<ExportedIntercept[]> {
  return withSecretKey('agency', (id, secretKey) => collect(server(), { id, secretKey }, warrantId));
}

/**
 * A batch of retained messages decrypted with t custodians, a few at a time (every proof checked, each
 * message checked against the warrant on its own), with an evidence bundle per message. The key is
 * unwrapped once for the batch and wiped when it ends.
 */
export function decryptIntercepts(
  options: { signedTrust: SignedTrustConfig; trust: TrustConfig; warrant: SignedWarrant; submission: Submission & { inclusion: LogInclusion } },
  intercepts: readonly ExportedIntercept[],
  on: { result: (outcome: BatchOutcome) => void; signal: AbortSignal },
): Promise<BatchOutcome[]> {
  const { submission } = options;
  return withSecretKey('agency', (id, secretKey) =>
    openIntercepts(
      { signedTrust: options.signedTrust, trust: options.trust, agency: { id, secretKey }, warrant: options.warrant, commitmentNonce: submission.commitmentNonce, inclusion: submission.inclusion },
      intercepts,
      { ...on, concurrency: 4 },
    ),
  );
}
