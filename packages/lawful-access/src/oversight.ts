/**
 * The auditor's view, recomputed from the public transparency log alone (never asserted by a party):
 * warrants issued and modified per month, messages decrypted per month (a message counts once at least
 * t distinct custodians released a share for it), per-warrant counts, and anomalies — release records
 * that do not verify under the custodian's key, or that name a warrant commitment the log never saw, and,
 * for warrants unsealed after their secrecy period, releases the warrant did not authorise (outside the
 * period it was in force, beyond its message limit, or content under a metadata-only warrant).
 * Entries that are not lawful-access entries (the log is shared with key transparency) are skipped.
 */
import { splitLengthPrefixed } from '@doublelock/protocol';
import { RELEASE_ENTRY_LABEL, type ReleaseRecord, type SignedReleaseRecord, parseReleaseLogEntry, releaseRecordSchema, verifyReleaseRecord } from './logEntries.ts';
import type { TrustConfig } from './trust.ts';
import { type OverdueUnsealing, type WarrantLogFields, checkOpening, overdueUnsealings, parseUnsealLogEntry, parseWarrantLogEntry } from './unsealing.ts';
import { type SignedWarrant, warrantStatus } from './warrant.ts';

const decoder = new TextDecoder();

/**
 * The fields of a log entry with this label and number of fields, or undefined when it is not one (the
 * log also holds other parties' entries, which are skipped, not errors).
 */
export function entryFields(entry: Uint8Array, label: string, count: number): Uint8Array[] | undefined {
  let fields: Uint8Array[];
  try {
    fields = splitLengthPrefixed(entry, count);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  return decoder.decode(fields[0]) === label ? fields : undefined;
}

export interface WarrantSummary {
  warrantCommitment: string;
  issuedDay: string;
  revisions: number;
  /** messages for which at least t custodians released */
  messagesDecrypted: number;
  releases: number;
  /** the day by which it must be unsealed (ISO date), from its log entry; null for an entry logged before secrecy periods */
  unsealBy: string | null;
  /** public once unsealed: what was authorised */
  unsealed: { id: string; agency: string; grounds: string[]; window: { start: number; end: number }; maxMessages: number; targets: number } | null;
}

export interface LawfulAccessStatistics {
  warrantsByMonth: Array<{ month: string; issued: number; modified: number }>;
  decryptedByMonth: Array<{ month: string; messages: number }>;
  warrants: WarrantSummary[];
  /** warrants whose secrecy period ended (plus a day's grace) with no valid opening in the log, at `asOf` */
  overdueUnsealings: OverdueUnsealing[];
  anomalies: string[];
}

const month = (t: number) => new Date(t).toISOString().slice(0, 7);
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/** `asOf`: the time the audit holds deadlines against (default now). */
export function lawfulAccessStatistics(entries: Iterable<Uint8Array>, trust: TrustConfig, asOf = Date.now()): LawfulAccessStatistics {
  const warrants = new Map<string, WarrantSummary>();
  const logged = new Map<string, WarrantLogFields>();
  const issued = new Map<string, { issued: number; modified: number }>();
  const releases: Array<{ index: number; record: ReleaseRecord }> = [];
  const unsealed = new Map<string, SignedWarrant>();
  const anomalies: string[] = [];
  let index = -1;
  for (const entry of entries) {
    index++;
    let fields: Uint8Array[] | undefined;
    let warrantEntry: WarrantLogFields | undefined;
    let opening: ReturnType<typeof parseUnsealLogEntry>;
    try {
      warrantEntry = parseWarrantLogEntry(entry);
      opening = warrantEntry ? undefined : parseUnsealLogEntry(entry);
    } catch (error) {
      anomalies.push(`entry ${index}: malformed warrant or unsealing entry (${(error as Error).message})`);
      continue;
    }
    if (warrantEntry) {
      const { commitment, revision, issuedDay: issuedAt } = warrantEntry;
      logged.set(commitment, warrantEntry);
      const m = issued.get(month(issuedAt)) ?? { issued: 0, modified: 0 };
      if (revision === 0) m.issued++;
      else m.modified++;
      issued.set(month(issuedAt), m);
      const w = warrants.get(commitment) ?? { warrantCommitment: commitment, issuedDay: day(issuedAt), revisions: 0, messagesDecrypted: 0, releases: 0, unsealBy: warrantEntry.unsealBy === null ? null : day(warrantEntry.unsealBy), unsealed: null };
      w.revisions++;
      warrants.set(commitment, w);
    } else if (opening) {
      // Only an opening of a logged commitment whose signatures verify counts; an early one is flagged.
      const check = checkOpening(opening, (c) => logged.get(c), trust, asOf);
      if (!check.valid) anomalies.push(`entry ${index}: unsealing refused: ${check.detail}`);
      else {
        if (check.early) anomalies.push(`entry ${index}: warrant ${check.signed.warrant.id} was unsealed before its secrecy period ended (${day(logged.get(check.commitment)!.unsealBy!)})`);
        unsealed.set(check.commitment, check.signed);
      }
    } else if ((fields = entryFields(entry, RELEASE_ENTRY_LABEL, 3))) {
      let record: ReleaseRecord;
      try {
        record = releaseRecordSchema.parse(JSON.parse(decoder.decode(fields[1])));
      } catch {
        anomalies.push(`entry ${index}: malformed release record`);
        continue;
      }
      const custodian = trust.custodians[record.custodian - 1];
      if (!custodian || !verifyReleaseRecord({ record, signature: decoder.decode(fields[2]) }, custodian.signingKey)) {
        anomalies.push(`entry ${index}: release record not signed by custodian ${record.custodian}`);
        continue;
      }
      releases.push({ index, record });
    }
  }
  // A message is decrypted when t distinct custodians released for it; count it in the month of the t-th release.
  const perMessage = new Map<string, { custodians: Set<number>; at: number[] }>();
  for (const { index: i, record } of releases) {
    const w = warrants.get(record.warrantCommitment);
    if (!w) {
      anomalies.push(`entry ${i}: release for warrant commitment ${record.warrantCommitment} that is not in the log`);
      continue;
    }
    w.releases++;
    const key = `${record.warrantCommitment}/${record.messageDigest}`;
    const m = perMessage.get(key) ?? { custodians: new Set<number>(), at: [] };
    if (!m.custodians.has(record.custodian)) {
      m.custodians.add(record.custodian);
      m.at.push(record.releasedAt);
    }
    perMessage.set(key, m);
  }
  // Unsealed warrants: every release must have been authorised.
  for (const [commitment, signed] of unsealed) {
    const w = signed.warrant;
    warrants.get(commitment)!.unsealed = { id: w.id, agency: w.agency, grounds: [...w.grounds], window: { ...w.window }, maxMessages: w.limits.maxMessages, targets: w.targets.length };
    for (const { index: i, record } of releases) {
      if (record.warrantCommitment !== commitment) continue;
      const status = warrantStatus(signed, trust, record.releasedAt);
      if (!status.inForce) anomalies.push(`entry ${i}: release under warrant ${w.id} when it was not in force (${status.problem})`);
      if (!w.products.includes('cc')) anomalies.push(`entry ${i}: content released under metadata-only warrant ${w.id}`);
    }
  }
  const decrypted = new Map<string, number>();
  for (const [key, m] of perMessage) {
    if (m.custodians.size < trust.threshold) continue;
    const when = [...m.at].sort((a, b) => a - b)[trust.threshold - 1]!;
    decrypted.set(month(when), (decrypted.get(month(when)) ?? 0) + 1);
    warrants.get(key.split('/')[0]!)!.messagesDecrypted++;
  }
  for (const [commitment, signed] of unsealed) {
    const w = warrants.get(commitment)!;
    if (w.messagesDecrypted > signed.warrant.limits.maxMessages)
      anomalies.push(`warrant ${signed.warrant.id}: ${w.messagesDecrypted} messages decrypted, limit ${signed.warrant.limits.maxMessages}`);
  }
  return {
    warrantsByMonth: [...issued].sort(([a], [b]) => a.localeCompare(b)).map(([m, c]) => ({ month: m, ...c })),
    decryptedByMonth: [...decrypted].sort(([a], [b]) => a.localeCompare(b)).map(([m, messages]) => ({ month: m, messages })),
    warrants: [...warrants.values()],
    overdueUnsealings: overdueUnsealings(logged.values(), new Set(unsealed.keys()), asOf),
    anomalies,
  };
}

export interface UnloggedRelease {
  custodian: number;
  requestId: string;
  warrantCommitment: string;
  messageDigest: string;
  releasedAt: number;
}

/**
 * The cross-check of each custodian's own list of releases (GET /v1/releases on the custodian) with the
 * log: every release a custodian signed that the log does not hold is flagged — a provider that dropped
 * it, or a custodian whose share left without its record being logged. Only records that verify under
 * that custodian's key count (a list cannot be padded with forgeries to accuse the log).
 */
export function unloggedReleases(lists: ReadonlyMap<number, readonly SignedReleaseRecord[]>, entries: Iterable<Uint8Array>, trust: TrustConfig): UnloggedRelease[] {
  const logged = new Set<string>();
  for (const entry of entries) {
    const release = parseReleaseLogEntry(entry);
    if (release) logged.add(`${release.record.custodian}\n${release.record.requestId}\n${release.signature}`);
  }
  const missing: UnloggedRelease[] = [];
  for (const [custodian, list] of lists) {
    const key = trust.custodians.find((c) => c.index === custodian)?.signingKey;
    for (const release of list) {
      if (!key || release.record.custodian !== custodian || !verifyReleaseRecord(release, key)) continue;
      if (logged.has(`${custodian}\n${release.record.requestId}\n${release.signature}`)) continue;
      const r = release.record;
      missing.push({ custodian, requestId: r.requestId, warrantCommitment: r.warrantCommitment, messageDigest: r.messageDigest, releasedAt: r.releasedAt });
    }
  }
  return missing;
}
