/**
 * What one leaf of the server's transparency log is, read by an auditor with nothing but the bytes:
 *   - a key-transparency directory entry: UTF-8 JSON with "type": "doublelock/directory/v1";
 *   - a warrant commitment: lengthPrefixed(WARRANT_ENTRY_V2_LABEL, commitment (32 bytes), revision, issue day
 *     in ms at UTC midnight, unsealing deadline in ms at UTC midnight), as written by `warrantLogEntry`
 *     (v1 entries, without the deadline, are still read);
 *   - an unsealing: lengthPrefixed(UNSEAL_ENTRY_LABEL, the signed warrant, its commitment nonce);
 *   - a custodian release record: lengthPrefixed(RELEASE_ENTRY_LABEL, canonical JSON of the record,
 *     signature), as written by `releaseLogEntry`;
 *   - another lawful-access entry (a `doublelock/log/…` label this auditor does not interpret, e.g. a
 *     refusal), or an entry nobody here recognises.
 * An entry carrying a lawful-access label that does not decode exactly as its writer encodes it is
 * malformed: the reason is kept so the report can name it. Signatures are checked later (tally.ts),
 * against the trust configuration.
 */
import { canonicalBytes } from '@doublelock/lawful-access/canonicalJson';
import { RELEASE_ENTRY_LABEL, UNSEAL_ENTRY_LABEL, WARRANT_ENTRY_LABEL, WARRANT_ENTRY_V2_LABEL, releaseRecordSchema, type SignedReleaseRecord } from '@doublelock/lawful-access/logEntries';
import { parseUnsealLogEntry, parseWarrantLogEntry } from '@doublelock/lawful-access/unsealing';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import { DIRECTORY_ENTRY_TYPE, splitLengthPrefixed } from '@doublelock/protocol';

export const LAWFUL_ACCESS_LABEL_PREFIX = 'doublelock/log/';

export type LogEntryKind =
  | { kind: 'directory'; username: string }
  | { kind: 'warrant'; commitment: string; revision: number; issuedDay: number; unsealBy: number | null }
  | { kind: 'unsealing'; signed: SignedWarrant; nonce: Uint8Array }
  | { kind: 'release'; signed: SignedReleaseRecord }
  | { kind: 'other-lawful-access'; label: string }
  | { kind: 'unrecognised' }
  | { kind: 'malformed'; label: string; reason: string };

const strict = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}


/** The first length-prefixed field as text, when the entry starts like a lawful-access entry. */
function leadingLabel(entry: Uint8Array): string | undefined {
  if (entry.length < 4) return undefined;
  const length = new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getUint32(0);
  if (length > 255 || 4 + length > entry.length) return undefined;
  const label = decodeUtf8(entry.subarray(4, 4 + length));
  return label?.startsWith(LAWFUL_ACCESS_LABEL_PREFIX) ? label : undefined;
}

function directoryEntry(entry: Uint8Array): LogEntryKind | undefined {
  if (entry[0] !== 0x7b) return undefined; // '{'
  const text = decodeUtf8(entry);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { type?: unknown; username?: unknown };
    if (value?.type !== DIRECTORY_ENTRY_TYPE) return undefined;
    return { kind: 'directory', username: typeof value.username === 'string' ? value.username : '' };
  } catch {
    return undefined;
  }
}

function warrantEntry(entry: Uint8Array): LogEntryKind {
  const fields = parseWarrantLogEntry(entry)!;
  return { kind: 'warrant', ...fields };
}

function releaseEntry(entry: Uint8Array): LogEntryKind {
  const [, recordBytes, signatureBytes] = splitLengthPrefixed(entry, 3) as [Uint8Array, Uint8Array, Uint8Array];
  const text = decodeUtf8(recordBytes);
  if (text === undefined) throw new RangeError('record is not UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RangeError('record is not JSON');
  }
  const parsed = releaseRecordSchema.safeParse(json);
  if (!parsed.success) throw new RangeError(`record does not match the release schema (${parsed.error.issues.map((i) => `${i.path.join('.') || '/'}: ${i.message}`).join('; ')})`);
  // One record, one encoding: the writer logs canonical JSON, so anything else was not written by it.
  const canonical = canonicalBytes(parsed.data);
  if (canonical.length !== recordBytes.length || canonical.some((b, i) => b !== recordBytes[i])) throw new RangeError('record is not in canonical JSON');
  const signature = decodeUtf8(signatureBytes);
  if (signature === undefined || !/^[A-Za-z0-9_-]+$/.test(signature)) throw new RangeError('signature is not base64url');
  return { kind: 'release', signed: { record: parsed.data, signature } };
}

export function classifyEntry(entry: Uint8Array): LogEntryKind {
  const directory = directoryEntry(entry);
  if (directory) return directory;
  const label = leadingLabel(entry);
  if (label === undefined) return { kind: 'unrecognised' };
  try {
    if (label === WARRANT_ENTRY_LABEL || label === WARRANT_ENTRY_V2_LABEL) return warrantEntry(entry);
    if (label === UNSEAL_ENTRY_LABEL) return { kind: 'unsealing', ...parseUnsealLogEntry(entry)! };
    if (label === RELEASE_ENTRY_LABEL) return releaseEntry(entry);
  } catch (error) {
    return { kind: 'malformed', label, reason: error instanceof Error ? error.message : String(error) };
  }
  return { kind: 'other-lawful-access', label };
}
