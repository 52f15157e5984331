/**
 * Witness policy for clients: a checkpoint is trusted only with cosignatures (c2sp.org/tlog-cosignature,
 * cosignature/v1) from at least k of the configured witnesses, which rules out a split view unless k
 * witnesses collude with the log.
 */
import { NoteError, parseNote, parseVerifierKey, SIGNATURE_COSIGNATURE_V1, keyIdHex, verifySignature, type VerifierKey } from './note.ts';

export interface WitnessCosignature {
  name: string;
  keyId: number;
  timestamp: bigint;
}

/**
 * Throws unless at least `k` distinct witnesses among `witnessKeys` cosigned the note's text. A
 * cosignature line from a configured witness that fails to verify rejects the note. This checks the
 * cosignatures only: check the log's own signature with openCheckpoint as well.
 */
export function requireWitnesses(checkpointNote: string, witnessKeys: readonly (VerifierKey | string)[], k: number): WitnessCosignature[] {
  if (!Number.isInteger(k) || k < 0) throw new NoteError('k must be a non-negative integer');
  const keys = witnessKeys.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key));
  const wrongType = keys.find((key) => key.type !== SIGNATURE_COSIGNATURE_V1);
  if (wrongType) throw new NoteError(`witness key ${wrongType.name} is not a cosignature/v1 (type 0x04) key`);
  if (k > keys.length) throw new NoteError(`cannot require ${k} witnesses out of ${keys.length} configured`);
  const { text, signatures } = parseNote(checkpointNote);
  const found: WitnessCosignature[] = [];
  for (const sig of signatures) {
    const key = keys.find((candidate) => candidate.name === sig.name && candidate.keyId === sig.keyId);
    if (!key) continue;
    const ok = verifySignature(text, key, sig.signature);
    if (!ok) throw new NoteError(`cosignature by witness ${key.name}+${keyIdHex(key.keyId)} does not verify`);
    if (!found.some((w) => w.name === key.name && w.keyId === key.keyId)) found.push({ name: key.name, keyId: key.keyId, timestamp: ok.timestamp! });
  }
  if (found.length < k) throw new NoteError(`checkpoint has ${found.length} valid witness cosignature(s); ${k} required`);
  return found;
}
