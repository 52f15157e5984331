/**
 * The store's health, and what a full disk does. A full disk must not stop acknowledgements (they are
 * what frees space), so:
 * - on SQLite a reserve file (`<dataDir>/storage-reserve`, `storageReserveBytes`) is kept beside the
 *   database; the first "disk full" deletes it, which gives acks, deletes and sessions room to run;
 * - while the store is full, new writes that add data (sends, commits, uploads…) are refused up front with
 *   507 storage_full instead of eating that room; acks, deletes, revocations and logins still work;
 * - the state clears once the disk has room again (checked on /healthz and every sweep): the reserve is
 *   recreated and writes are accepted again.
 * PostgreSQL keeps its own disk: its "disk full" (SQLSTATE 53100) also answers 507 and marks the state,
 * which clears after FULL_HOLD_MS without another such error.
 */
import { open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '@doublelock/store';
import { storeFailure } from './errors.ts';
import type { Metrics } from './metrics.ts';

const FULL_HOLD_MS = 30_000;

/** Writes still attempted on a full disk (besides DELETEs): they free space, or let a device in to acknowledge. */
export const WRITES_ALLOWED_WHEN_FULL = new Set([
  'POST /v1/mailbox/ack',
  'POST /v1/auth/challenge',
  'POST /v1/auth/session',
  'POST /v1/accounts/:username/devices/:deviceId/revoke',
]);

export interface StoreHealth {
  status: 'ok' | 'degraded' | 'unavailable';
  store: { dialect: string; reachable: boolean; full: boolean; freeBytes?: number };
}

export class StorageGuard {
  #fullSince: number | undefined;
  #lastFullError = 0;
  readonly #reservePath: string | undefined;

  constructor(
    private readonly db: Db,
    dataDir: string,
    private readonly reserveBytes: number,
    private readonly metrics: Metrics,
    private readonly now: () => number,
    private readonly onChange: (full: boolean) => void = () => undefined,
  ) {
    this.#reservePath = db.dialect === 'sqlite' && reserveBytes > 0 ? join(dataDir, 'storage-reserve') : undefined;
    this.#dataDir = dataDir;
  }
  readonly #dataDir: string;

  get full(): boolean {
    return this.#fullSince !== undefined;
  }

  /** Creates the reserve file if it is missing (at start, and once a full disk has room again). */
  async ensureReserve(): Promise<void> {
    if (!this.#reservePath) return;
    const file = await open(this.#reservePath, 'a+');
    try {
      const { size } = await file.stat();
      if (size < this.reserveBytes) {
        // Real blocks, not a sparse file: zeros written in 1 MB chunks.
        const chunk = Buffer.alloc(Math.min(1 << 20, this.reserveBytes));
        for (let at = size; at < this.reserveBytes; at += chunk.length) await file.write(chunk, 0, Math.min(chunk.length, this.reserveBytes - at), at);
        await file.sync();
      }
    } catch (error) {
      await file.close();
      await rm(this.#reservePath, { force: true }); // no room for it: nothing half-made is left behind
      throw error;
    }
    await file.close();
  }

  /** Looks at a failed store operation: a full disk switches the guard on (and frees the reserve). */
  noticed(error: unknown): void {
    if (storeFailure(error)?.code !== 'storage_full') return;
    this.#lastFullError = this.now();
    if (this.#fullSince !== undefined) return;
    this.#fullSince = this.now();
    this.metrics.storeFull.set(1);
    this.onChange(true);
    if (this.#reservePath) void rm(this.#reservePath, { force: true });
  }

  async #freeBytes(): Promise<number | undefined> {
    if (this.db.dialect !== 'sqlite') return undefined;
    const stats = await statfs(this.#dataDir);
    return stats.bavail * stats.bsize;
  }

  /** Clears the full state once there is room again (twice the reserve free on SQLite; a quiet spell on PostgreSQL). */
  async recheck(): Promise<void> {
    if (this.#fullSince === undefined) return;
    if (this.db.dialect === 'sqlite') {
      const free = (await this.#freeBytes()) ?? 0;
      if (free < 2 * Math.max(this.reserveBytes, 1 << 20)) return;
      try {
        await this.ensureReserve();
      } catch {
        return;
      }
    } else if (this.now() - this.#lastFullError < FULL_HOLD_MS) {
      return;
    }
    this.#fullSince = undefined;
    this.metrics.storeFull.set(0);
    this.onChange(false);
  }

  async health(): Promise<{ httpStatus: number; body: StoreHealth }> {
    let reachable = true;
    try {
      await this.db.get('SELECT 1 AS ok');
    } catch {
      reachable = false;
    }
    await this.recheck().catch(() => undefined);
    const freeBytes = await this.#freeBytes().catch(() => undefined);
    const status = !reachable ? 'unavailable' : this.full ? 'degraded' : 'ok';
    return {
      httpStatus: reachable ? 200 : 503,
      body: { status, store: { dialect: this.db.dialect, reachable, full: this.full, ...(freeBytes !== undefined && { freeBytes }) } },
    };
  }
}
