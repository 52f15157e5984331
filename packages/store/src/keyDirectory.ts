/**
 * The key directory: MLS KeyPackages per device. One-time packages are consumed by a claim; the
 * last-resort package is handed out (and kept) only when a device has no one-time package left.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { Db } from './db.ts';
import { asBytes } from './sql.ts';

export interface ClaimedKeyPackage {
  deviceId: string;
  keyPackage: Uint8Array;
  lastResort: boolean;
}

export class KeyDirectoryStore {
  constructor(private readonly db: Db) {}

  /** Stores a device's KeyPackages; refuses (quota_exceeded) if it would then hold more than `maxOneTime` one-time packages. */
  async upload(deviceId: string, oneTime: Uint8Array[], lastResort?: Uint8Array, maxOneTime = Number.MAX_SAFE_INTEGER): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (oneTime.length > 0) {
        const held = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM key_packages WHERE device_id = ? AND last_resort = 0', [deviceId]);
        if (Number(held?.n ?? 0) + oneTime.length > maxOneTime) {
          throw new DomainError(ErrorCode.quotaExceeded, `A device may keep at most ${maxOneTime} one-time KeyPackages (it holds ${Number(held?.n ?? 0)}).`, { quota: 'key_packages_stored' });
        }
      }
      for (const data of oneTime) {
        await tx.run('INSERT INTO key_packages (device_id, data, last_resort) VALUES (?, ?, 0)', [deviceId, data]);
      }
      if (lastResort) {
        await tx.run('DELETE FROM key_packages WHERE device_id = ? AND last_resort = 1', [deviceId]);
        await tx.run('INSERT INTO key_packages (device_id, data, last_resort) VALUES (?, ?, 1)', [deviceId, lastResort]);
      }
    });
  }

  async count(deviceId: string): Promise<{ oneTime: number; lastResort: boolean }> {
    const rows = await this.db.all<{ last_resort: number; n: number }>(
      'SELECT last_resort, COUNT(*) AS n FROM key_packages WHERE device_id = ? GROUP BY last_resort',
      [deviceId],
    );
    return {
      oneTime: Number(rows.find((r) => Number(r.last_resort) === 0)?.n ?? 0),
      lastResort: rows.some((r) => Number(r.last_resort) === 1),
    };
  }

  /** One KeyPackage for each of the devices, in one transaction: a one-time package is never handed out twice. */
  async claim(deviceIds: string[]): Promise<ClaimedKeyPackage[]> {
    return this.db.transaction(async (tx) => {
      const claimed: ClaimedKeyPackage[] = [];
      for (const deviceId of deviceIds) {
        const oneTime = await tx.get<{ data: Uint8Array }>(
          `DELETE FROM key_packages WHERE id = (
             SELECT id FROM key_packages WHERE device_id = ? AND last_resort = 0 ORDER BY id LIMIT 1
           ) RETURNING data`,
          [deviceId],
        );
        if (oneTime) {
          claimed.push({ deviceId, keyPackage: asBytes(oneTime.data), lastResort: false });
          continue;
        }
        const lastResort = await tx.get<{ data: Uint8Array }>('SELECT data FROM key_packages WHERE device_id = ? AND last_resort = 1', [deviceId]);
        if (lastResort) claimed.push({ deviceId, keyPackage: asBytes(lastResort.data), lastResort: true });
      }
      return claimed;
    });
  }
}
