/** Verified abuse reports from private chats (the franking check happens before they are stored). */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { Db } from './db.ts';
import { asBytes } from './sql.ts';

export interface AbuseReport {
  groupId: string;
  seq: number;
  clientMessageId: string;
  reporterDevice: string;
  reporterUsername: string;
  sender: { username: string; deviceId: string };
  payload: Uint8Array;
  reason: string;
  createdAt: number;
}

export class ReportStore {
  constructor(private readonly db: Db) {}

  async add(report: AbuseReport): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO abuse_reports (group_id, seq, client_message_id, reporter_device, reporter_username, sender_username, sender_device, payload, reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
      [
        report.groupId,
        report.seq,
        report.clientMessageId,
        report.reporterDevice,
        report.reporterUsername,
        report.sender.username,
        report.sender.deviceId,
        report.payload,
        report.reason,
        report.createdAt,
      ],
    );
    if (!row) throw new DomainError(ErrorCode.conflict, 'You have already reported this message.');
    return Number(row.id);
  }

  /** One report: the reported message and its sender, nothing else of the chat. */
  async get(id: number): Promise<{ id: number; sender: string; payload: Uint8Array; reason: string; createdAt: number } | undefined> {
    const r = await this.db.get<{ id: number; sender_username: string; payload: Uint8Array; reason: string; created_at: number }>('SELECT id, sender_username, payload, reason, created_at FROM abuse_reports WHERE id = ?', [id]);
    return r && { id: Number(r.id), sender: r.sender_username, payload: asBytes(r.payload), reason: r.reason, createdAt: Number(r.created_at) };
  }

  /** Reports after an id, oldest first: a cursor for readers that must see each report once (case intake). */
  async after(afterId: number, limit = 500): Promise<Array<{ id: number; sender: string; reason: string }>> {
    const rows = await this.db.all<{ id: number; sender_username: string; reason: string }>('SELECT id, sender_username, reason FROM abuse_reports WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
    return rows.map((r) => ({ id: Number(r.id), sender: r.sender_username, reason: r.reason }));
  }

  async list(limit = 100): Promise<Array<{ id: number; groupId: string; seq: number; sender: string; reason: string; createdAt: number }>> {
    const rows = await this.db.all<{ id: number; group_id: string; seq: number; sender_username: string; reason: string; created_at: number }>(
      'SELECT id, group_id, seq, sender_username, reason, created_at FROM abuse_reports ORDER BY id DESC LIMIT ?',
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), groupId: r.group_id, seq: Number(r.seq), sender: r.sender_username, reason: r.reason, createdAt: Number(r.created_at) }));
  }
}
