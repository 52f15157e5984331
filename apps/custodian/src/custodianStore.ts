/**
 * The custodian's persistent state over the store seam (@doublelock/store Db, migration 0300): epoch
 * shares and their erasure, answered request ids, release records, warrant revisions, cancellations.
 */
import { asBytes, type Db, type SqlRunner } from '@doublelock/store';
import { type Cancellation, type RefusalNotice, type SignedReleaseRecord, isErasable } from '@doublelock/lawful-access';

export interface EpochRow {
  epoch: number;
  publicKey: Uint8Array;
  certificate: string;
  /** x_i wrapped under the epoch's wrapping key (shareWrapping.ts); NULL once erased */
  share: Uint8Array | null;
  erasedAt: number | null;
}

export interface DkgRow {
  epoch: number;
  state: 'signed' | 'certified';
  transcript: Uint8Array;
  messages: string;
  publicKey: Uint8Array;
  /** wrapped (shareWrapping.ts) */
  share: Uint8Array;
  certificate: string | null;
  completion: string | null;
}

export class CustodianStore {
  constructor(readonly db: Db) {}

  async epoch(epoch: number, tx: SqlRunner = this.db): Promise<EpochRow | undefined> {
    const row = await tx.get<{ epoch: number; public_key: Uint8Array; certificate: string; share: Uint8Array | null; erased_at: number | null }>(
      'SELECT epoch, public_key, certificate, share, erased_at FROM custodian_epochs WHERE epoch = ?',
      [epoch],
    );
    return row && { epoch: Number(row.epoch), publicKey: asBytes(row.public_key), certificate: row.certificate, share: row.share ? asBytes(row.share) : null, erasedAt: row.erased_at === null ? null : Number(row.erased_at) };
  }

  async saveEpoch(epoch: number, publicKey: Uint8Array, certificate: string, share: Uint8Array, now: number): Promise<boolean> {
    const { changes } = await this.db.run(
      'INSERT INTO custodian_epochs (epoch, public_key, certificate, share, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (epoch) DO NOTHING',
      [epoch, publicKey, certificate, share, now],
    );
    return changes === 1;
  }

  async dkg(epoch: number, tx: SqlRunner = this.db): Promise<DkgRow | undefined> {
    const row = await tx.get<{ epoch: number; state: string; transcript: Uint8Array; messages: string; public_key: Uint8Array; share: Uint8Array; certificate: string | null; completion: string | null }>(
      'SELECT epoch, state, transcript, messages, public_key, share, certificate, completion FROM custodian_dkg WHERE epoch = ?',
      [epoch],
    );
    return (
      row && {
        epoch: Number(row.epoch),
        state: row.state === 'certified' ? 'certified' : 'signed',
        transcript: asBytes(row.transcript),
        messages: row.messages,
        publicKey: asBytes(row.public_key),
        share: asBytes(row.share),
        certificate: row.certificate,
        completion: row.completion,
      }
    );
  }

  /** Round 2 done: replaces an earlier uncertified attempt for the epoch, never a certified one. */
  async saveSignedDkg(r: { epoch: number; transcript: Uint8Array; messages: string; publicKey: Uint8Array; share: Uint8Array; now: number }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const existing = await this.dkg(r.epoch, tx);
      if (existing?.state === 'certified' || (await this.epoch(r.epoch, tx))) return false;
      await tx.run('DELETE FROM custodian_dkg WHERE epoch = ?', [r.epoch]);
      await tx.run('INSERT INTO custodian_dkg (epoch, state, transcript, messages, public_key, share, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        r.epoch,
        'signed',
        r.transcript,
        r.messages,
        r.publicKey,
        r.share,
        r.now,
      ]);
      return true;
    });
  }

  async markDkgCertified(epoch: number, certificate: string, completion: string, now: number): Promise<void> {
    await this.db.run("UPDATE custodian_dkg SET state = 'certified', certificate = ?, completion = ?, updated_at = ? WHERE epoch = ? AND state = 'signed'", [certificate, completion, now, epoch]);
  }

  /** Activation: the epoch (with all n completions in its certificate) becomes usable, in one transaction. */
  async activateDkg(epoch: number, publicKey: Uint8Array, certificate: string, share: Uint8Array, now: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'INSERT INTO custodian_epochs (epoch, public_key, certificate, share, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (epoch) DO NOTHING',
        [epoch, publicKey, certificate, share, now],
      );
      await tx.run('DELETE FROM custodian_dkg WHERE epoch = ?', [epoch]);
      return changes === 1;
    });
  }

  async epochs(): Promise<Array<{ epoch: number; erasedAt: number | null }>> {
    const rows = await this.db.all<{ epoch: number; erased_at: number | null }>('SELECT epoch, erased_at FROM custodian_epochs ORDER BY epoch');
    return rows.map((r) => ({ epoch: Number(r.epoch), erasedAt: r.erased_at === null ? null : Number(r.erased_at) }));
  }

  /**
   * Erases every share past its retention; returns the epochs erased now. `eraseKey` destroys the epoch's
   * wrapping key first (shareWrapping.ts): that is the erasure that counts, since the database may keep
   * old copies of the wrapped share in its WAL, freed pages or backups.
   */
  async eraseExpired(now: number, retentionDays: number, epochLengthMs: number, eraseKey: (epoch: number) => void = () => {}): Promise<number[]> {
    const live = await this.db.all<{ epoch: number }>('SELECT epoch FROM custodian_epochs WHERE erased_at IS NULL');
    const due = live.map((r) => Number(r.epoch)).filter((e) => isErasable(e, now, retentionDays, epochLengthMs));
    // Ceremonies that never completed hold wrapped shares too.
    const pending = await this.db.all<{ epoch: number }>('SELECT epoch FROM custodian_dkg');
    for (const epoch of pending.map((r) => Number(r.epoch)).filter((e) => isErasable(e, now, retentionDays, epochLengthMs))) {
      eraseKey(epoch);
      await this.db.run('DELETE FROM custodian_dkg WHERE epoch = ?', [epoch]);
    }
    for (const epoch of due) {
      eraseKey(epoch);
      // Then overwrite and drop the wrapped share too (SQLite secure_delete zeroes freed content in the main file).
      await this.db.run('UPDATE custodian_epochs SET share = ? WHERE epoch = ?', [new Uint8Array(72), epoch]);
      await this.db.run('UPDATE custodian_epochs SET share = NULL, erased_at = ? WHERE epoch = ?', [now, epoch]);
    }
    return due;
  }

  async requestSeen(tx: SqlRunner, requestId: string): Promise<boolean> {
    return (await tx.get('SELECT 1 AS seen FROM custodian_requests WHERE request_id = ?', [requestId])) !== undefined;
  }

  async releasedMessages(tx: SqlRunner, warrantId: string): Promise<number> {
    const row = await tx.get<{ n: number }>('SELECT COUNT(DISTINCT message_id) AS n FROM custodian_releases WHERE warrant_id = ?', [warrantId]);
    return Number(row?.n ?? 0);
  }

  async messageReleased(tx: SqlRunner, warrantId: string, messageId: string): Promise<boolean> {
    return (await tx.get('SELECT 1 AS seen FROM custodian_releases WHERE warrant_id = ? AND message_id = ?', [warrantId, messageId])) !== undefined;
  }

  async highestRevision(tx: SqlRunner, warrantId: string): Promise<number | undefined> {
    const row = await tx.get<{ r: number }>('SELECT highest_revision AS r FROM custodian_warrants WHERE warrant_id = ?', [warrantId]);
    return row ? Number(row.r) : undefined;
  }

  async cancellations(tx: SqlRunner, warrantId: string): Promise<Cancellation[]> {
    const rows = await tx.all<{ document: string }>("SELECT document FROM custodian_warrant_decisions WHERE warrant_id = ? AND kind = 'cancellation'", [warrantId]);
    return rows.map((r) => JSON.parse(r.document) as Cancellation);
  }

  async refusals(tx: SqlRunner, warrantId: string): Promise<RefusalNotice[]> {
    const rows = await tx.all<{ document: string }>("SELECT document FROM custodian_warrant_decisions WHERE warrant_id = ? AND kind = 'refusal'", [warrantId]);
    return rows.map((r) => JSON.parse(r.document) as RefusalNotice);
  }

  /** Keeps every cancellation (each names its revision and nonce); verify signatures before calling. */
  async saveCancellation(c: Cancellation): Promise<void> {
    await this.db.run('INSERT INTO custodian_warrant_decisions (decision_key, warrant_id, kind, document) VALUES (?, ?, ?, ?) ON CONFLICT (decision_key) DO NOTHING', [
      `cancellation:${c.nonce}`,
      c.warrantId,
      'cancellation',
      JSON.stringify(c),
    ]);
  }

  /** A refusal makes the warrant id dead here; verify the judge's signature before calling. */
  async saveRefusal(n: RefusalNotice): Promise<void> {
    await this.db.run('INSERT INTO custodian_warrant_decisions (decision_key, warrant_id, kind, document) VALUES (?, ?, ?, ?) ON CONFLICT (decision_key) DO NOTHING', [
      `refusal:${n.warrantId}:${n.warrantDigest}`,
      n.warrantId,
      'refusal',
      JSON.stringify(n),
    ]);
  }

  async recordRelease(tx: SqlRunner, r: { warrantId: string; revision: number; messageId: string; requestId: string; record: SignedReleaseRecord; now: number }): Promise<void> {
    await tx.run('INSERT INTO custodian_requests (request_id, warrant_id, received_at) VALUES (?, ?, ?)', [r.requestId, r.warrantId, r.now]);
    await tx.run('INSERT INTO custodian_releases (warrant_id, message_id, request_id, record, released_at) VALUES (?, ?, ?, ?, ?)', [
      r.warrantId,
      r.messageId,
      r.requestId,
      JSON.stringify(r.record),
      r.now,
    ]);
    await tx.run(
      'INSERT INTO custodian_warrants (warrant_id, highest_revision) VALUES (?, ?) ON CONFLICT (warrant_id) DO UPDATE SET highest_revision = CASE WHEN custodian_warrants.highest_revision > excluded.highest_revision THEN custodian_warrants.highest_revision ELSE excluded.highest_revision END',
      [r.warrantId, r.revision],
    );
  }

  async releases(afterId = 0, limit = 1000): Promise<Array<{ id: number; record: SignedReleaseRecord }>> {
    const rows = await this.db.all<{ id: number; record: string }>('SELECT id, record FROM custodian_releases WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
    return rows.map((r) => ({ id: Number(r.id), record: JSON.parse(r.record) as SignedReleaseRecord }));
  }
}
