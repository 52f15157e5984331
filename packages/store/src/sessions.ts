/** One-time authentication challenges and session tokens (stored only as hashes). */
import type { Db } from './db.ts';
import { asBytes } from './sql.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

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

  /** Several sessions in one query (the server's checks of one tick share it), by the hex of their token hash; unknown ones are absent. */
  async sessions(tokenHashes: Uint8Array[]): Promise<Map<string, SessionRecord>> {
    const found = new Map<string, SessionRecord>();
    if (tokenHashes.length === 0) return found;
    const rows = await this.db.all<{ token_hash: Uint8Array; device_id: string; username: string; expires_at: number }>(
      `SELECT token_hash, device_id, username, expires_at FROM sessions WHERE token_hash IN (${tokenHashes.map(() => '?').join(', ')})`,
      tokenHashes,
    );
    for (const row of rows) found.set(hex(asBytes(row.token_hash)), { deviceId: row.device_id, username: row.username, expiresAt: Number(row.expires_at) });
    return found;
  }

  async sweep(now: number): Promise<void> {
    await this.db.run('DELETE FROM auth_challenges WHERE expires_at < ?', [now]);
    await this.db.run('DELETE FROM sessions WHERE expires_at < ?', [now]);
  }
}
