/** One-time authentication challenges and session tokens (stored only as hashes). */
import type { Db } from './db.ts';

export interface SessionRecord {
  deviceId: string;
  username: string;
  expiresAt: number;
}

export class SessionStore {
  constructor(private readonly db: Db) {}

  async addChallenge(challenge: Uint8Array, deviceId: string, expiresAt: number): Promise<void> {
    await this.db.run('INSERT INTO auth_challenges (challenge, device_id, expires_at) VALUES (?, ?, ?)', [challenge, deviceId, expiresAt]);
  }

  /** Deletes and returns the challenge: a second use (a replay) finds nothing. */
  async takeChallenge(challenge: Uint8Array, now: number): Promise<{ deviceId: string } | undefined> {
    const row = await this.db.get<{ device_id: string; expires_at: number }>(
      'DELETE FROM auth_challenges WHERE challenge = ? RETURNING device_id, expires_at',
      [challenge],
    );
    if (!row || Number(row.expires_at) < now) return undefined;
    return { deviceId: row.device_id };
  }

  async addSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void> {
    await this.db.run('INSERT INTO sessions (token_hash, device_id, username, expires_at) VALUES (?, ?, ?, ?)', [
      tokenHash,
      session.deviceId,
      session.username,
      session.expiresAt,
    ]);
  }

  async session(tokenHash: Uint8Array): Promise<SessionRecord | undefined> {
    const row = await this.db.get<{ device_id: string; username: string; expires_at: number }>(
      'SELECT device_id, username, expires_at FROM sessions WHERE token_hash = ?',
      [tokenHash],
    );
    return row && { deviceId: row.device_id, username: row.username, expiresAt: Number(row.expires_at) };
  }

  async sweep(now: number): Promise<void> {
    await this.db.run('DELETE FROM auth_challenges WHERE expires_at < ?', [now]);
    await this.db.run('DELETE FROM sessions WHERE expires_at < ?', [now]);
  }
}
