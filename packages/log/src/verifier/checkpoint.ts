/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): a signed note whose text is the log's
 * origin, its tree size (decimal, no leading zeros) and its root hash (base64), then optional
 * extension lines.
 */
import { fromBase64 } from './encoding.ts';
import { HASH_SIZE } from './hash.ts';
import { NoteError, openNote, parseVerifierKey, SIGNATURE_ED25519, type VerifiedSignature, type VerifierKey } from './note.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new NoteError('checkpoint text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('checkpoint needs origin, size and root hash lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new NoteError('checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new NoteError('checkpoint tree size is not a decimal without leading zeros');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new NoteError('checkpoint tree size is too large');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch {
    throw new NoteError('checkpoint root hash is not valid base64');
  }
  if (rootHash.length !== HASH_SIZE) throw new NoteError(`checkpoint root hash is not ${HASH_SIZE} bytes`);
  if (extensions.some((line) => line.length === 0)) throw new NoteError('checkpoint extension lines must not be empty');
  return { origin, size, rootHash, extensions };
}

export interface VerifiedCheckpoint extends Checkpoint {
  /** The note text the log signed (what witnesses cosign). */
  text: string;
  signatures: VerifiedSignature[];
}

/**
 * Verifies a checkpoint note against the log's verifier key (Ed25519, type 0x01) and parses it. The
 * origin must equal `origin` (default: the key's name, as C2SP recommends).
 */
export function openCheckpoint(note: string, logKey: VerifierKey | string, origin?: string): VerifiedCheckpoint {
  const key = typeof logKey === 'string' ? parseVerifierKey(logKey) : logKey;
  if (key.type !== SIGNATURE_ED25519) throw new NoteError('a log key must be an Ed25519 (type 0x01) key');
  const { text, verified } = openNote(note, [key]);
  const checkpoint = parseCheckpoint(text);
  const expected = origin ?? key.name;
  if (checkpoint.origin !== expected) throw new NoteError(`checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(expected)}`);
  return { ...checkpoint, text, signatures: verified };
}
