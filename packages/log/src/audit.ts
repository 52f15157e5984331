/**
 * Auditing a log from the outside, with the verifier only: check the signed checkpoint, recompute the
 * root from every entry, check that the log only grew since the checkpoint the auditor saw last (by
 * recomputing that older root from the same entries and by the server's consistency proof), and check
 * single entries by inclusion proof. Any mismatch throws AuditError.
 */
import type { LogHttpClient } from './http.ts';
import type { SeenCheckpoint } from './witness.ts';
import { openCheckpoint, type VerifiedCheckpoint } from './verifier/checkpoint.ts';
import { equalBytes, fromBase64, toBase64 } from './verifier/encoding.ts';
import { hashLeaf } from './verifier/hash.ts';
import { ProofError, verifyConsistency, verifyInclusion } from './verifier/proof.ts';
import { RootBuilder } from './verifier/rootBuilder.ts';
import { requireWitnesses } from './verifier/witnesses.ts';

export class AuditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditError';
  }
}

export interface TrustPolicy {
  /** The log's verifier key (type 0x01). */
  logKey: string;
  /** Witness verifier keys (type 0x04) and how many of them must have cosigned. */
  witnessKeys?: readonly string[];
  witnesses?: number;
}

/** Fetches and verifies the latest checkpoint under the policy. */
export async function fetchCheckpoint(client: LogHttpClient, policy: TrustPolicy): Promise<VerifiedCheckpoint & { note: string }> {
  const required = policy.witnesses ?? 0;
  const note = required > 0 ? await client.witnessedCheckpoint(required) : await client.checkpoint();
  const checkpoint = openCheckpoint(note, policy.logKey);
  if (required > 0) requireWitnesses(note, policy.witnessKeys ?? [], required);
  return { ...checkpoint, note };
}

/** Checks that `checkpoint` extends `seen` (same tree or a consistent larger one). */
export async function checkConsistency(client: LogHttpClient, seen: SeenCheckpoint | undefined, checkpoint: VerifiedCheckpoint): Promise<void> {
  if (!seen || seen.size === 0) return;
  const seenRoot = fromBase64(seen.rootHash);
  if (checkpoint.size < seen.size) throw new AuditError(`the log shrank: it now shows size ${checkpoint.size}, earlier ${seen.size}`);
  if (checkpoint.size === seen.size) {
    if (!equalBytes(seenRoot, checkpoint.rootHash)) throw new AuditError(`SPLIT VIEW: two different roots for size ${seen.size}`);
    return;
  }
  try {
    verifyConsistency(seen.size, checkpoint.size, await client.consistencyProof(seen.size, checkpoint.size), seenRoot, checkpoint.rootHash);
  } catch (error) {
    if (error instanceof ProofError) throw new AuditError(`SPLIT VIEW: size ${checkpoint.size} is not consistent with size ${seen.size} seen before: ${error.message}`);
    throw error;
  }
}

export const seenCheckpoint = (checkpoint: VerifiedCheckpoint & { note: string }): SeenCheckpoint => ({
  size: checkpoint.size,
  rootHash: toBase64(checkpoint.rootHash),
  note: checkpoint.note,
});

export interface AuditOptions extends TrustPolicy {
  /** The checkpoint seen at the previous audit, if any. */
  seen?: SeenCheckpoint;
  pageSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AuditResult {
  checkpoint: VerifiedCheckpoint & { note: string };
  entries: number;
}

/** Downloads every entry of the tree the checkpoint commits to and recomputes its root. */
export async function auditLog(client: LogHttpClient, options: AuditOptions): Promise<AuditResult> {
  const checkpoint = await fetchCheckpoint(client, options);
  const { seen } = options;
  if (seen && checkpoint.size < seen.size) throw new AuditError(`the log shrank: it now shows size ${checkpoint.size}, earlier ${seen.size}`);
  const pageSize = options.pageSize ?? 1000;
  const builder = new RootBuilder();
  options.onProgress?.(0, checkpoint.size);
  while (builder.size < checkpoint.size) {
    const page = await client.entries(builder.size, Math.min(builder.size + pageSize, checkpoint.size));
    for (const entry of page) {
      builder.addEntry(entry);
      if (seen && seen.size < checkpoint.size && builder.size === seen.size && !equalBytes(builder.root(), fromBase64(seen.rootHash))) {
        throw new AuditError(`SPLIT VIEW: the first ${seen.size} entries no longer hash to the root seen before`);
      }
    }
    options.onProgress?.(builder.size, checkpoint.size);
  }
  if (!equalBytes(builder.root(), checkpoint.rootHash)) throw new AuditError(`the ${checkpoint.size} entries do not hash to the signed root: the log serves entries it did not sign`);
  await checkConsistency(client, seen, checkpoint);
  return { checkpoint, entries: builder.size };
}

/** Verifies that `entry` is leaf `index` of the tree of the given checkpoint. */
export async function verifyEntry(client: LogHttpClient, checkpoint: VerifiedCheckpoint, index: number, entry?: Uint8Array): Promise<Uint8Array> {
  if (index >= checkpoint.size) throw new AuditError(`entry ${index} is not in the tree of size ${checkpoint.size}`);
  const data = entry ?? (await client.entries(index, index + 1))[0]!;
  try {
    verifyInclusion(index, checkpoint.size, hashLeaf(data), await client.inclusionProof(index, checkpoint.size), checkpoint.rootHash);
  } catch (error) {
    if (error instanceof ProofError) throw new AuditError(`entry ${index} is not included in the signed tree: ${error.message}`);
    throw error;
  }
  return data;
}
