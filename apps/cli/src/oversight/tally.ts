/**
 * The auditor's counts, recomputed from the classified log entries alone (issue 5, "Oversight"): every
 * warrant commitment, every release, per-warrant counts and statistics per month. A message counts as
 * decrypted once `threshold` distinct custodians released a share for the same (warrant commitment,
 * message digest), in the month of the threshold-th release. Only release records whose signature
 * verifies under the custodian's key in the trust configuration count; every other one, and every
 * malformed entry, becomes a problem naming its leaf. Unsealing (unsealing.ts): an opening counts only
 * if it opens a logged commitment with signatures that verify (otherwise a problem), one published before
 * the warrant's secrecy period ended is a problem, and so is every warrant whose deadline passed (plus a
 * day's grace) with no valid opening.
 */
import type { SignedReleaseRecord } from '@doublelock/lawful-access/logEntries';
import { verifyReleaseRecord } from '@doublelock/lawful-access/logEntries';
import type { TrustConfig } from '@doublelock/lawful-access/trust';
import { type OverdueUnsealing, type WarrantLogFields, checkOpening, overdueUnsealings } from '@doublelock/lawful-access/unsealing';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import type { LogEntryKind } from './entries.ts';

export interface WarrantEntry {
  leafIndex: number;
  commitment: string;
  revision: number;
  /** YYYY-MM-DD (UTC) */
  issuedDay: string;
  /** YYYY-MM-DD (UTC): the end of its secrecy period; null for an entry logged before secrecy periods */
  unsealBy: string | null;
}

/** A valid opening of a logged warrant commitment (unsealing.ts). */
export interface UnsealingEntry {
  leafIndex: number;
  commitment: string;
  warrantId: string;
  revision: number;
  /** published before the warrant's secrecy period ended */
  early: boolean;
}

export interface ReleaseEntry {
  leafIndex: number;
  custodian: number;
  warrantCommitment: string;
  messageDigest: string;
  requestId: string;
  epoch: number;
  releasedAt: string;
}

export interface WarrantCounts {
  commitment: string;
  /** null when releases name a commitment the log did not show before them */
  leafIndex: number | null;
  revision: number | null;
  issuedDay: string | null;
  releases: number;
  /** distinct messages with at least one release */
  messagesWithReleases: number;
  /** distinct messages with releases from at least `threshold` distinct custodians */
  messagesDecrypted: number;
}

export interface MonthStatistics {
  /** YYYY-MM (UTC) */
  month: string;
  warrantsIssued: number;
  warrantsModified: number;
  messagesDecrypted: number;
}

export type ProblemKind =
  | 'malformed'
  | 'bad-signature'
  | 'unknown-custodian'
  | 'unlogged-warrant'
  | 'duplicate-warrant'
  | 'duplicate-release'
  | 'unverifiable'
  | 'bad-unsealing'
  | 'early-unsealing'
  | 'overdue-unsealing';

export interface Problem {
  leafIndex: number;
  kind: ProblemKind;
  detail: string;
}

export interface Tally {
  entries: { total: number; directory: number; warrant: number; release: number; unsealing: number; otherLawfulAccess: number; unrecognised: number; malformed: number };
  threshold: number | null;
  warrants: WarrantEntry[];
  releases: ReleaseEntry[];
  perWarrant: WarrantCounts[];
  months: MonthStatistics[];
  totals: { warrantsIssued: number; warrantsModified: number; releases: number; messagesDecrypted: number };
  /** valid openings, and warrants whose secrecy period ended (plus a day's grace) with none, at `asOf` */
  unsealings: { asOf: string; opened: UnsealingEntry[]; overdue: Array<OverdueUnsealing & { leafIndex: number }> };
  problems: Problem[];
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** Every month from the first to the last, so a chart shows quiet months as zero rather than skipping them. */
function monthRange(first: string, last: string): string[] {
  const out: string[] = [];
  let [y, m] = first.split('-').map(Number) as [number, number];
  for (let current = first; current <= last; current = `${y}-${String(m).padStart(2, '0')}`) {
    out.push(current);
    if (++m > 12) [y, m] = [y + 1, 1];
  }
  return out;
}

interface MessageReleases {
  commitment: string;
  /** custodian → time of its first release for this message */
  custodians: Map<number, number>;
}

/**
 * Tallies entries in log order. `trust` is null when the server has lawful access off: then no release
 * can be verified, and each one is reported as unverifiable.
 */
export class OversightTally {
  readonly #trust: TrustConfig | null;
  readonly #asOf: number;
  readonly #counts = { total: 0, directory: 0, warrant: 0, release: 0, unsealing: 0, otherLawfulAccess: 0, unrecognised: 0, malformed: 0 };
  readonly #logged = new Map<string, WarrantLogFields & { leafIndex: number }>();
  readonly #opened: UnsealingEntry[] = [];
  readonly #warrants: WarrantEntry[] = [];
  readonly #releases: ReleaseEntry[] = [];
  readonly #perWarrant = new Map<string, WarrantCounts>();
  readonly #messages = new Map<string, MessageReleases>();
  readonly #seenReleases = new Map<string, number>();
  readonly #problems: Problem[] = [];

  /** `asOf`: the time deadlines (unsealing) are held against, by default now. */
  constructor(trust: TrustConfig | null, asOf = Date.now()) {
    this.#trust = trust;
    this.#asOf = asOf;
  }

  add(leafIndex: number, entry: LogEntryKind): void {
    this.#counts.total++;
    switch (entry.kind) {
      case 'directory':
        this.#counts.directory++;
        return;
      case 'other-lawful-access':
        this.#counts.otherLawfulAccess++;
        return;
      case 'unrecognised':
        this.#counts.unrecognised++;
        return;
      case 'malformed':
        this.#counts.malformed++;
        this.#problems.push({ leafIndex, kind: 'malformed', detail: `malformed ${entry.label} entry: ${entry.reason}` });
        return;
      case 'warrant':
        this.#counts.warrant++;
        this.#addWarrant(leafIndex, entry);
        return;
      case 'release':
        this.#counts.release++;
        this.#addRelease(leafIndex, entry.signed);
        return;
      case 'unsealing':
        this.#counts.unsealing++;
        this.#addUnsealing(leafIndex, entry);
    }
  }

  /** An opening counts only if it opens a logged commitment with signatures that verify; an early one is flagged. */
  #addUnsealing(leafIndex: number, opening: { signed: SignedWarrant; nonce: Uint8Array }): void {
    const check = checkOpening(opening, (c) => this.#logged.get(c), this.#trust, this.#asOf);
    if (!check.valid) {
      this.#problems.push({ leafIndex, kind: 'bad-unsealing', detail: `${check.detail}: not counted as unsealed` });
      return;
    }
    const w = check.signed.warrant;
    this.#opened.push({ leafIndex, commitment: check.commitment, warrantId: w.id, revision: w.revision, early: check.early });
    if (check.early)
      this.#problems.push({ leafIndex, kind: 'early-unsealing', detail: `warrant ${w.id} was unsealed before its secrecy period ended (${new Date(this.#logged.get(check.commitment)!.unsealBy!).toISOString().slice(0, 10)})` });
  }

  #addWarrant(leafIndex: number, entry: WarrantLogFields): void {
    const existing = this.#perWarrant.get(entry.commitment);
    if (existing?.leafIndex != null) {
      this.#problems.push({ leafIndex, kind: 'duplicate-warrant', detail: `warrant commitment ${entry.commitment} was already logged at leaf ${existing.leafIndex}` });
      return;
    }
    const warrant = { leafIndex, commitment: entry.commitment, revision: entry.revision, issuedDay: day(entry.issuedDay), unsealBy: entry.unsealBy === null ? null : day(entry.unsealBy) };
    this.#warrants.push(warrant);
    this.#logged.set(entry.commitment, { ...entry, leafIndex });
    // Releases seen before it (already reported as unlogged-warrant) stay counted under it.
    const counts = existing ?? { commitment: entry.commitment, releases: 0, messagesWithReleases: 0, messagesDecrypted: 0 };
    this.#perWarrant.set(entry.commitment, { ...counts, leafIndex, revision: entry.revision, issuedDay: warrant.issuedDay });
  }

  #addRelease(leafIndex: number, signed: SignedReleaseRecord): void {
    const { record } = signed;
    if (!this.#trust) {
      this.#problems.push({ leafIndex, kind: 'unverifiable', detail: `release by custodian ${record.custodian} cannot be verified: the server has lawful access off, so there is no trust configuration` });
      return;
    }
    const custodian = this.#trust.custodians.find((c) => c.index === record.custodian);
    if (!custodian) {
      this.#problems.push({ leafIndex, kind: 'unknown-custodian', detail: `release names custodian ${record.custodian}, which the trust configuration does not list` });
      return;
    }
    if (!verifyReleaseRecord(signed, custodian.signingKey)) {
      this.#problems.push({ leafIndex, kind: 'bad-signature', detail: `release record is not signed by custodian ${record.custodian} (${custodian.name}): not counted` });
      return;
    }
    const key = `${record.custodian}/${record.requestId}/${record.warrantCommitment}/${record.messageDigest}`;
    const earlier = this.#seenReleases.get(key);
    if (earlier !== undefined) {
      this.#problems.push({ leafIndex, kind: 'duplicate-release', detail: `the same release was already logged at leaf ${earlier}: counted once` });
      return;
    }
    this.#seenReleases.set(key, leafIndex);
    this.#releases.push({ leafIndex, custodian: record.custodian, warrantCommitment: record.warrantCommitment, messageDigest: record.messageDigest, requestId: record.requestId, epoch: record.epoch, releasedAt: new Date(record.releasedAt).toISOString() });

    let warrant = this.#perWarrant.get(record.warrantCommitment);
    if (!warrant) {
      // Warrants are logged before they take effect, so a custodian releasing under one the log has not shown is an anomaly.
      this.#problems.push({ leafIndex, kind: 'unlogged-warrant', detail: `release names warrant commitment ${record.warrantCommitment}, which the log did not show before it` });
      warrant = { commitment: record.warrantCommitment, leafIndex: null, revision: null, issuedDay: null, releases: 0, messagesWithReleases: 0, messagesDecrypted: 0 };
      this.#perWarrant.set(record.warrantCommitment, warrant);
    }
    warrant.releases++;
    const messageKey = `${record.warrantCommitment}/${record.messageDigest}`;
    let message = this.#messages.get(messageKey);
    if (!message) {
      message = { commitment: record.warrantCommitment, custodians: new Map() };
      this.#messages.set(messageKey, message);
      warrant.messagesWithReleases++;
    }
    const previous = message.custodians.get(record.custodian);
    if (previous === undefined || record.releasedAt < previous) message.custodians.set(record.custodian, record.releasedAt);
  }

  result(): Tally {
    const threshold = this.#trust?.threshold ?? null;
    const months = new Map<string, MonthStatistics>();
    const at = (m: string) => {
      let s = months.get(m);
      if (!s) months.set(m, (s = { month: m, warrantsIssued: 0, warrantsModified: 0, messagesDecrypted: 0 }));
      return s;
    };
    for (const w of this.#warrants) {
      if (w.revision === 0) at(w.issuedDay.slice(0, 7)).warrantsIssued++;
      else at(w.issuedDay.slice(0, 7)).warrantsModified++;
    }
    const perWarrant = [...this.#perWarrant.values()].map((w) => ({ ...w }));
    const byCommitment = new Map(perWarrant.map((w) => [w.commitment, w]));
    if (threshold !== null) {
      for (const message of this.#messages.values()) {
        if (message.custodians.size < threshold) continue;
        const decryptedAt = [...message.custodians.values()].sort((a, b) => a - b)[threshold - 1]!;
        at(month(decryptedAt)).messagesDecrypted++;
        byCommitment.get(message.commitment)!.messagesDecrypted++;
      }
    }
    const known = [...months.keys()].sort();
    const series = known.length === 0 ? [] : monthRange(known[0]!, known.at(-1)!).map((m) => months.get(m) ?? { month: m, warrantsIssued: 0, warrantsModified: 0, messagesDecrypted: 0 });
    const sum = (f: (s: MonthStatistics) => number) => series.reduce((n, s) => n + f(s), 0);
    const overdue = overdueUnsealings(this.#logged.values(), new Set(this.#opened.map((o) => o.commitment)), this.#asOf).map((o) => ({ ...o, leafIndex: this.#logged.get(o.commitment)!.leafIndex }));
    const problems = [
      ...this.#problems,
      ...overdue.map((o) => ({
        leafIndex: o.leafIndex,
        kind: 'overdue-unsealing' as const,
        detail: `warrant commitment ${o.commitment} (revision ${o.revision}) was due to be unsealed by ${day(o.unsealBy)}: ${o.daysOverdue} days overdue, no valid opening in the log`,
      })),
    ];
    return {
      entries: { ...this.#counts },
      threshold,
      warrants: this.#warrants,
      releases: this.#releases,
      perWarrant,
      months: series,
      totals: { warrantsIssued: sum((s) => s.warrantsIssued), warrantsModified: sum((s) => s.warrantsModified), releases: this.#releases.length, messagesDecrypted: sum((s) => s.messagesDecrypted) },
      unsealings: { asOf: new Date(this.#asOf).toISOString(), opened: [...this.#opened], overdue },
      problems: problems.sort((a, b) => a.leafIndex - b.leafIndex),
    };
  }
}
