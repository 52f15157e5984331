/**
 * Prospective interception records. Tasks come from warrants the server has verified and logged; the
 * retention check runs inside the transaction that accepts a message, so a message is retained exactly
 * when it is delivered to or from a target inside a task's window.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { Db, SqlRunner } from './db.ts';
import { asBytes, placeholders } from './sql.ts';

export interface InterceptionTask {
  warrantId: string;
  revision: number;
  targets: string[];
  agency: string;
  products: string[];
  windowStart: number;
  windowEnd: number;
  maxMessages: number;
  commitment: Uint8Array;
  leafIndex: number;
}

export interface Intercept {
  id: number;
  warrantId: string;
  groupId: string;
  seq: number;
  clientMessageId: string;
  sender: string;
  senderDevice: string;
  recipients: string[];
  /** the devices it was delivered to (the group's other member devices) */
  recipientDevices: string[];
  serverTime: number;
  size: number;
  frame: Uint8Array;
}

export interface RetentionInput {
  groupId: string;
  seq: number;
  clientMessageId: string;
  senderUsername: string;
  senderDevice: string;
  recipientDevices: string[];
  serverTime: number;
  frame: Uint8Array;
}

type TaskRow = {
  warrant_id: string;
  revision: number;
  target: string;
  agency: string;
  products: string;
  window_start: number;
  window_end: number;
  max_messages: number;
  commitment: Uint8Array;
  leaf_index: number;
};

export class InterceptionStore {
  constructor(private readonly db: Db) {}

  /** Installs (or replaces, for a modification) the tasks of a warrant revision. */
  async putTask(task: InterceptionTask): Promise<void> {
    await this.db.transaction(async (tx) => {
      const current = await tx.get<{ revision: number }>('SELECT MAX(revision) AS revision FROM interception_tasks WHERE warrant_id = ?', [task.warrantId]);
      if (current?.revision != null && Number(current.revision) >= task.revision) {
        throw new DomainError(ErrorCode.conflict, `Warrant ${task.warrantId} revision ${task.revision} (or later) is already in place.`);
      }
      await tx.run('DELETE FROM interception_tasks WHERE warrant_id = ?', [task.warrantId]);
      for (const target of task.targets) {
        await tx.run(
          `INSERT INTO interception_tasks (warrant_id, revision, target, agency, products, window_start, window_end, max_messages, commitment, leaf_index)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [task.warrantId, task.revision, target, task.agency, task.products.join(','), task.windowStart, task.windowEnd, task.maxMessages, task.commitment, task.leafIndex],
        );
      }
    });
  }

  async recordWarrant(warrantId: string, revision: number, document: string, now: number): Promise<void> {
    await this.db.run('INSERT INTO lawful_warrants (warrant_id, revision, document, accepted_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [warrantId, revision, document, now]);
  }

  async latestWarrant(warrantId: string): Promise<{ revision: number; document: string } | undefined> {
    const row = await this.db.get<{ revision: number; document: string }>('SELECT revision, document FROM lawful_warrants WHERE warrant_id = ? ORDER BY revision DESC LIMIT 1', [warrantId]);
    return row && { revision: Number(row.revision), document: row.document };
  }

  async loggedRelease(key: string): Promise<number | undefined> {
    const row = await this.db.get<{ leaf_index: number }>('SELECT leaf_index FROM logged_releases WHERE release_key = ?', [key]);
    return row && Number(row.leaf_index);
  }

  async recordRelease(key: string, leafIndex: number): Promise<void> {
    await this.db.run('INSERT INTO logged_releases (release_key, leaf_index) VALUES (?, ?) ON CONFLICT DO NOTHING', [key, leafIndex]);
  }

  /** Remembers a request nonce; false if it was seen before (a replay). */
  async useNonce(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    await this.db.run('DELETE FROM agency_nonces WHERE expires_at < ?', [now]);
    const r = await this.db.run('INSERT INTO agency_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING', [nonce, expiresAt]);
    return r.changes > 0;
  }

  /** Whether any interception window is open at `now` (when none is, sends skip retention entirely). */
  async anyOpen(tx: SqlRunner, now: number): Promise<boolean> {
    return (await tx.get('SELECT 1 AS one FROM interception_tasks WHERE window_start <= ? AND window_end > ? LIMIT 1', [now, now])) !== undefined;
  }

  /** A judge's refusal, logged at `leafIndex`: the warrant id is dead on this provider. */
  async recordRefusal(warrantId: string, notice: string, leafIndex: number): Promise<void> {
    await this.db.run('INSERT INTO lawful_refusals (warrant_id, notice, leaf_index) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [warrantId, notice, leafIndex]);
  }

  async refused(warrantId: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS one FROM lawful_refusals WHERE warrant_id = ?', [warrantId])) !== undefined;
  }

  /** Claims a cancellation's nonce; false if it was used before (a replay). */
  async claimCancellation(c: { nonce: string; warrantId: string; revision: number; cancelledAt: number }): Promise<boolean> {
    const r = await this.db.run('INSERT INTO lawful_cancellations (nonce, warrant_id, revision, cancelled_at, leaf_index) VALUES (?, ?, ?, ?, -1) ON CONFLICT DO NOTHING', [
      c.nonce,
      c.warrantId,
      c.revision,
      c.cancelledAt,
    ]);
    return r.changes > 0;
  }

  async cancellationLogged(nonce: string, leafIndex: number): Promise<void> {
    await this.db.run('UPDATE lawful_cancellations SET leaf_index = ? WHERE nonce = ?', [leafIndex, nonce]);
  }

  /** The highest cancelled revision of a warrant, if any. */
  async cancelledRevision(warrantId: string): Promise<number | undefined> {
    const row = await this.db.get<{ r: number | null }>('SELECT MAX(revision) AS r FROM lawful_cancellations WHERE warrant_id = ?', [warrantId]);
    return row?.r == null ? undefined : Number(row.r);
  }

  async recordUrgent(warrantId: string, targets: readonly string[], approveBy: number, approvedAt: number | null): Promise<void> {
    for (const target of targets) {
      await this.db.run('INSERT INTO lawful_urgent_warrants (warrant_id, target, approve_by, approved_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [warrantId, target, approveBy, approvedAt]);
    }
  }

  async approveUrgent(warrantId: string, at: number): Promise<void> {
    await this.db.run('UPDATE lawful_urgent_warrants SET approved_at = ? WHERE warrant_id = ? AND approved_at IS NULL', [at, warrantId]);
  }

  /** Urgent warrants on any of `targets` (other than `except`) that went unapproved past their deadline, or were refused. */
  async unapprovedUrgent(targets: readonly string[], now: number, except: string): Promise<string[]> {
    if (targets.length === 0) return [];
    const rows = await this.db.all<{ warrant_id: string }>(
      `SELECT DISTINCT u.warrant_id FROM lawful_urgent_warrants u LEFT JOIN lawful_refusals r ON r.warrant_id = u.warrant_id
       WHERE u.target IN (${targets.map(() => '?').join(', ')}) AND u.warrant_id <> ?
         AND ((u.approved_at IS NULL AND u.approve_by <= ?) OR r.warrant_id IS NOT NULL)`,
      [...targets, except, now],
    );
    return rows.map((r) => r.warrant_id);
  }

  /** Keeps a warrant revision's opening until its secrecy period ends (migration 0341). */
  async recordOpening(o: { commitment: string; warrantId: string; revision: number; signedWarrant: string; nonce: string; unsealBy: number }): Promise<void> {
    await this.db.run(
      'INSERT INTO lawful_unsealings (commitment, warrant_id, revision, signed_warrant, nonce, unseal_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (commitment) DO NOTHING',
      [o.commitment, o.warrantId, o.revision, o.signedWarrant, o.nonce, o.unsealBy],
    );
  }

  async opening(commitment: string): Promise<{ unsealBy: number; leafIndex: number | null } | undefined> {
    const row = await this.db.get<{ unseal_by: number; leaf_index: number | null }>('SELECT unseal_by, leaf_index FROM lawful_unsealings WHERE commitment = ?', [commitment]);
    return row && { unsealBy: Number(row.unseal_by), leafIndex: row.leaf_index === null ? null : Number(row.leaf_index) };
  }

  /** Openings whose secrecy period has ended and that are not published yet. */
  async dueOpenings(now: number, limit = 100): Promise<Array<{ commitment: string; signedWarrant: string; nonce: string }>> {
    const rows = await this.db.all<{ commitment: string; signed_warrant: string; nonce: string }>(
      'SELECT commitment, signed_warrant, nonce FROM lawful_unsealings WHERE leaf_index IS NULL AND unseal_by <= ? ORDER BY unseal_by LIMIT ?',
      [now, limit],
    );
    return rows.map((r) => ({ commitment: r.commitment, signedWarrant: r.signed_warrant, nonce: r.nonce }));
  }

  async openingPublished(commitment: string, leafIndex: number): Promise<void> {
    await this.db.run('UPDATE lawful_unsealings SET leaf_index = ? WHERE commitment = ? AND leaf_index IS NULL', [leafIndex, commitment]);
  }

  /** Sets a warrant's interception end (an urgent warrant approved in time continues to its window's end). */
  async setTaskEnd(warrantId: string, end: number): Promise<boolean> {
    const r = await this.db.run('UPDATE interception_tasks SET window_end = ? WHERE warrant_id = ?', [end, warrantId]);
    return r.changes > 0;
  }

  /** Ends a warrant's interception at `at` (cancellation, s.39). */
  async endTask(warrantId: string, at: number): Promise<boolean> {
    const r = await this.db.run('UPDATE interception_tasks SET window_end = ? WHERE warrant_id = ? AND window_end > ?', [at, warrantId, at]);
    return r.changes > 0;
  }

  async task(warrantId: string): Promise<InterceptionTask | undefined> {
    const rows = await this.db.all<TaskRow>('SELECT * FROM interception_tasks WHERE warrant_id = ? ORDER BY target', [warrantId]);
    const first = rows[0];
    if (!first) return undefined;
    return {
      warrantId: first.warrant_id,
      revision: Number(first.revision),
      targets: rows.map((r) => r.target),
      agency: first.agency,
      products: first.products.split(','),
      windowStart: Number(first.window_start),
      windowEnd: Number(first.window_end),
      maxMessages: Number(first.max_messages),
      commitment: asBytes(first.commitment),
      leafIndex: Number(first.leaf_index),
    };
  }

  /** Targets with a window open at `now` or later (the server keeps them in memory for its fast path). */
  async watchedTargets(now: number): Promise<Set<string>> {
    const rows = await this.db.all<{ target: string }>('SELECT DISTINCT target FROM interception_tasks WHERE window_end > ?', [now]);
    return new Set(rows.map((r) => r.target));
  }

  /**
   * Inside the accepting transaction: retains the message once per warrant whose target sent or receives
   * it and whose window holds its server time, up to the warrant's message limit.
   */
  async retain(tx: SqlRunner, m: RetentionInput): Promise<number> {
    if (!(await this.anyOpen(tx, m.serverTime))) return 0;
    const recipients =
      m.recipientDevices.length === 0
        ? []
        : (await tx.all<{ username: string }>(`SELECT DISTINCT username FROM devices WHERE device_id IN (${placeholders(m.recipientDevices.length)})`, m.recipientDevices)).map(
            (r) => r.username,
          );
    const parties = [...new Set([m.senderUsername, ...recipients])];
    const warrants = await tx.all<{ warrant_id: string; max_messages: number }>(
      `SELECT DISTINCT warrant_id, max_messages FROM interception_tasks
       WHERE target IN (${placeholders(parties.length)}) AND window_start <= ? AND window_end > ?`,
      [...parties, m.serverTime, m.serverTime],
    );
    let retained = 0;
    for (const w of warrants) {
      const count = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM intercepts WHERE warrant_id = ?', [w.warrant_id]);
      if (Number(count?.n ?? 0) >= Number(w.max_messages)) continue;
      await tx.run(
        `INSERT INTO intercepts (warrant_id, group_id, seq, client_message_id, sender, sender_device, recipients, recipient_devices, server_time, size, frame)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [w.warrant_id, m.groupId, m.seq, m.clientMessageId, m.senderUsername, m.senderDevice, JSON.stringify(recipients.sort()), JSON.stringify([...m.recipientDevices].sort()), m.serverTime, m.frame.length, m.frame],
      );
      retained++;
    }
    return retained;
  }

  async intercepts(warrantId: string, afterId: number, limit: number): Promise<Intercept[]> {
    const rows = await this.db.all<{
      id: number;
      warrant_id: string;
      group_id: string;
      seq: number;
      client_message_id: string;
      sender: string;
      sender_device: string;
      recipients: string;
      recipient_devices: string;
      server_time: number;
      size: number;
      frame: Uint8Array;
    }>('SELECT * FROM intercepts WHERE warrant_id = ? AND id > ? ORDER BY id LIMIT ?', [warrantId, afterId, limit]);
    return rows.map((r) => ({
      id: Number(r.id),
      warrantId: r.warrant_id,
      groupId: r.group_id,
      seq: Number(r.seq),
      clientMessageId: r.client_message_id,
      sender: r.sender,
      senderDevice: r.sender_device,
      recipients: JSON.parse(r.recipients) as string[],
      recipientDevices: JSON.parse(r.recipient_devices) as string[],
      serverTime: Number(r.server_time),
      size: Number(r.size),
      frame: asBytes(r.frame),
    }));
  }
}
