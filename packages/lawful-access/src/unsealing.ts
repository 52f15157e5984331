/**
 * Unsealing (issue 9, break 11; DESIGN.md "Log before release"): a warrant's hiding commitment is in the
 * log from before it takes effect; when its secrecy period ends (`unsealBy`, in its log entry), the
 * opening — the signed warrant and the commitment nonce — is published in the log (by the provider, which
 * received them with the warrant, or by a custodian, which was shown them with each share request).
 * Anyone reading the log can then check what was done against what was authorised (oversight.ts), and
 * anyone can tell when an opening is overdue. This module holds the verifier's checks, shared by every
 * auditor (the CLI's `oversight report`, the web transparency page, the provider's publishing route):
 *   - an opening counts only if it opens a warrant commitment the log holds, and the signatures it
 *     carries verify under the trust configuration (a forged or mismatched opening counts for nothing);
 *   - an opening published before the warrant's deadline is flagged as early (it exposed an
 *     investigation the secrecy period protected);
 *   - a warrant whose deadline passed more than UNSEAL_GRACE_MS ago without a valid opening is overdue.
 */
import { splitLengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { z } from 'zod';
import { DAY_MS } from './epoch.ts';
import { UNSEAL_ENTRY_LABEL, WARRANT_ENTRY_LABEL, WARRANT_ENTRY_V2_LABEL } from './logEntries.ts';
import type { TrustConfig } from './trust.ts';
import { type SignedWarrant, commitToWarrant, signedWarrantSchema, warrantSignaturesValid } from './warrant.ts';

/**
 * An opening presented for publication (POST /v1/lawful-access/unsealings on the provider): the signed
 * warrant and the commitment nonce, base64url. It authenticates itself: it must open a commitment the
 * provider logged, with signatures that verify, and the secrecy period must be over.
 */
export const unsealingSchema = z.object({ warrant: signedWarrantSchema, nonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/, '32 bytes, base64url') });
export type Unsealing = z.infer<typeof unsealingSchema>;

/** How long after its deadline an opening may take to appear before the warrant is reported overdue. */
export const UNSEAL_GRACE_MS = DAY_MS;

const strict = new TextDecoder('utf-8', { fatal: true });
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function decimal(field: Uint8Array, name: string): number {
  let text: string;
  try {
    text = strict.decode(field);
  } catch {
    throw new RangeError(`${name} is not a decimal integer`);
  }
  if (!DECIMAL.test(text) || !Number.isSafeInteger(Number(text))) throw new RangeError(`${name} is not a decimal integer`);
  return Number(text);
}

function label(entry: Uint8Array): string | undefined {
  if (entry.length < 4) return undefined;
  const length = new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getUint32(0);
  if (length > 255 || 4 + length > entry.length) return undefined;
  try {
    return strict.decode(entry.subarray(4, 4 + length));
  } catch {
    return undefined;
  }
}

export interface WarrantLogFields {
  commitment: string;
  revision: number;
  /** UTC midnight, ms */
  issuedDay: number;
  /** UTC midnight, ms; null for a v1 entry (logged before secrecy periods) */
  unsealBy: number | null;
}

/** The fields of a warrant entry (v1 or v2); undefined when the entry is not one; a RangeError naming the fault when it is malformed. */
export function parseWarrantLogEntry(entry: Uint8Array): WarrantLogFields | undefined {
  const kind = label(entry);
  if (kind !== WARRANT_ENTRY_LABEL && kind !== WARRANT_ENTRY_V2_LABEL) return undefined;
  const fields = splitLengthPrefixed(entry, kind === WARRANT_ENTRY_LABEL ? 4 : 5);
  const commitment = fields[1]!;
  if (commitment.length !== 32) throw new RangeError(`commitment is ${commitment.length} bytes, not 32`);
  const issuedDay = decimal(fields[3]!, 'issue day');
  if (issuedDay % DAY_MS !== 0) throw new RangeError('issue day is not a UTC midnight');
  let unsealBy: number | null = null;
  if (kind === WARRANT_ENTRY_V2_LABEL) {
    unsealBy = decimal(fields[4]!, 'unsealing deadline');
    if (unsealBy % DAY_MS !== 0) throw new RangeError('unsealing deadline is not a UTC midnight');
  }
  return { commitment: toBase64Url(commitment), revision: decimal(fields[2]!, 'revision'), issuedDay, unsealBy };
}

/** The signed warrant and nonce an unsealing entry reveals; undefined when not one; a RangeError when malformed. */
export function parseUnsealLogEntry(entry: Uint8Array): { signed: SignedWarrant; nonce: Uint8Array } | undefined {
  if (label(entry) !== UNSEAL_ENTRY_LABEL) return undefined;
  const [, document, nonce] = splitLengthPrefixed(entry, 3) as [Uint8Array, Uint8Array, Uint8Array];
  if (nonce.length !== 32) throw new RangeError(`nonce is ${nonce.length} bytes, not 32`);
  let json: unknown;
  try {
    json = JSON.parse(strict.decode(document));
  } catch {
    throw new RangeError('the revealed warrant is not JSON');
  }
  const parsed = signedWarrantSchema.safeParse(json);
  if (!parsed.success) throw new RangeError(`the revealed warrant does not match the warrant schema (${parsed.error.issues[0]?.message ?? ''})`);
  return { signed: parsed.data, nonce };
}

export type OpeningCheck =
  | { valid: true; commitment: string; signed: SignedWarrant; early: boolean }
  | { valid: false; commitment: string | null; problem: 'no_commitment' | 'bad_signatures' | 'no_trust'; detail: string };

/**
 * Whether an opening counts: it opens a warrant commitment the log holds (`logged`), and the signatures it
 * carries verify under `trust`. `asOf` (the auditor's time) decides whether it came early.
 */
export function checkOpening(opening: { signed: SignedWarrant; nonce: Uint8Array }, logged: (commitment: string) => WarrantLogFields | undefined, trust: TrustConfig | null, asOf: number): OpeningCheck {
  const w = opening.signed.warrant;
  const commitment = toBase64Url(commitToWarrant(w, opening.nonce).commitment);
  const entry = logged(commitment);
  if (!entry) return { valid: false, commitment: null, problem: 'no_commitment', detail: `the revealed warrant ${w.id} and nonce open no warrant commitment in the log (forged or mismatched)` };
  if (!trust) return { valid: false, commitment, problem: 'no_trust', detail: `no trust configuration to check warrant ${w.id}'s signatures against` };
  if (!warrantSignaturesValid(opening.signed, trust))
    return { valid: false, commitment, problem: 'bad_signatures', detail: `warrant ${w.id} was revealed with signatures that do not verify under the trust configuration` };
  return { valid: true, commitment, signed: opening.signed, early: entry.unsealBy !== null && asOf < entry.unsealBy };
}

export interface OverdueUnsealing {
  commitment: string;
  revision: number;
  issuedDay: number;
  unsealBy: number;
  /** whole days past the deadline at `asOf` */
  daysOverdue: number;
}

/** Warrants whose deadline passed more than the grace period before `asOf` without a valid opening. */
export function overdueUnsealings(warrants: Iterable<WarrantLogFields>, opened: ReadonlySet<string>, asOf: number): OverdueUnsealing[] {
  const overdue: OverdueUnsealing[] = [];
  for (const w of warrants) {
    if (w.unsealBy === null || opened.has(w.commitment) || asOf <= w.unsealBy + UNSEAL_GRACE_MS) continue;
    overdue.push({ commitment: w.commitment, revision: w.revision, issuedDay: w.issuedDay, unsealBy: w.unsealBy, daysOverdue: Math.floor((asOf - w.unsealBy) / DAY_MS) });
  }
  return overdue;
}
