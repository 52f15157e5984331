/**
 * Accounts and their devices (the account identity key, or another device of the account, certifies each
 * device's signature key). Every change queues the account's new directory entry (v2: version and hash
 * chain, see @doublelock/protocol directory.ts) for the transparency log in the same transaction.
 */
import { directoryEntryBytes, directoryEntryHash, DomainError, ErrorCode, toBase64Url } from '@doublelock/protocol';
import type { Db, SqlRunner } from './db.ts';
import { asBytes } from './sql.ts';

export interface DeviceRecord {
  deviceId: string;
  username: string;
  signatureKey: Uint8Array;
  name: string;
  createdAt: number;
  accountSignature: Uint8Array;
  /** The device that certified this one; null: the identity key. */
  certifiedBy: string | null;
  revokedAt: number | null;
  revocationSignature: Uint8Array | null;
  revokedBy: string | null;
}

export interface AccountRecord {
  username: string;
  identityKey: Uint8Array;
  devices: DeviceRecord[];
  /** The directory version of the current state (0 if none was queued yet: accounts from before v2). */
  version: number;
  previous: Uint8Array;
}

type DeviceRow = {
  device_id: string;
  username: string;
  signature_key: Uint8Array;
  name: string;
  created_at: number;
  account_signature: Uint8Array;
  certified_by: string | null;
  revoked_at: number | null;
  revocation_signature: Uint8Array | null;
  revoked_by: string | null;
};

const toDevice = (row: DeviceRow): DeviceRecord => ({
  deviceId: row.device_id,
  username: row.username,
  signatureKey: asBytes(row.signature_key),
  name: row.name,
  createdAt: Number(row.created_at),
  accountSignature: asBytes(row.account_signature),
  certifiedBy: row.certified_by ?? null,
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  revocationSignature: row.revocation_signature ? asBytes(row.revocation_signature) : null,
  revokedBy: row.revoked_by ?? null,
});

export class AccountStore {
  constructor(private readonly db: Db) {}

  async create(account: { username: string; identityKey: Uint8Array; createdAt: number }, device: DeviceRecord): Promise<void> {
    await this.db.transaction(async (tx) => {
      const inserted = await tx.run(
        'INSERT INTO accounts (username, identity_key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        [account.username, account.identityKey, account.createdAt],
      );
      if (inserted.changes === 0) throw new DomainError(ErrorCode.usernameTaken, `The username "${account.username}" is already taken.`);
      await insertDevice(tx, device);
      await queueDirectoryEntry(tx, account.username);
    });
  }

  async addDevice(device: DeviceRecord, linkConfirmation?: Uint8Array, now = Date.now()): Promise<void> {
    await this.db.transaction(async (tx) => {
      await insertDevice(tx, device);
      if (linkConfirmation) {
        await tx.run('INSERT INTO device_links (device_id, link_confirmation, created_at) VALUES (?, ?, ?)', [device.deviceId, linkConfirmation, now]);
      }
      await queueDirectoryEntry(tx, device.username);
    });
  }

  /** The confirmation the approving device left for a device linked by code. */
  async linkConfirmation(deviceId: string): Promise<Uint8Array | undefined> {
    const row = await this.db.get<{ link_confirmation: Uint8Array }>('SELECT link_confirmation FROM device_links WHERE device_id = ?', [deviceId]);
    return row && asBytes(row.link_confirmation);
  }

  /** Queues a directory entry for an account that has none in the v2 format yet (created before it). */
  async requeueDirectoryEntry(username: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (await tx.get('SELECT 1 AS one FROM directory_versions WHERE username = ?', [username])) return;
      await queueDirectoryEntry(tx, username);
    });
  }

  async get(username: string): Promise<AccountRecord | undefined> {
    const account = await this.db.get<{ username: string; identity_key: Uint8Array }>(
      'SELECT username, identity_key FROM accounts WHERE username = ?',
      [username],
    );
    if (!account) return undefined;
    const devices = await this.db.all<DeviceRow>('SELECT * FROM devices WHERE username = ? ORDER BY created_at, device_id', [username]);
    const version = await this.db.get<{ version: number; previous: Uint8Array }>('SELECT version, previous FROM directory_versions WHERE username = ?', [username]);
    return {
      username: account.username,
      identityKey: asBytes(account.identity_key),
      devices: devices.map(toDevice),
      version: version ? Number(version.version) : 0,
      previous: version ? asBytes(version.previous) : new Uint8Array(),
    };
  }

  async device(deviceId: string): Promise<DeviceRecord | undefined> {
    const row = await this.db.get<DeviceRow>('SELECT * FROM devices WHERE device_id = ?', [deviceId]);
    return row && toDevice(row);
  }

  /**
   * Revokes a device: it loses its sessions, its unclaimed KeyPackages, its group memberships and its
   * pending mail at once. Members still have to remove its leaves from their MLS groups by commits.
   */
  async revokeDevice(deviceId: string, revokedAt: number, signature: Uint8Array = new Uint8Array(), revokedBy: string | null = null): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const device = await tx.get<{ username: string }>(
        'UPDATE devices SET revoked_at = ?, revocation_signature = ?, revoked_by = ? WHERE device_id = ? AND revoked_at IS NULL RETURNING username',
        [revokedAt, signature, revokedBy, deviceId],
      );
      if (!device) return false;
      await queueDirectoryEntry(tx, device.username);
      await tx.run('DELETE FROM sessions WHERE device_id = ?', [deviceId]);
      await tx.run('DELETE FROM key_packages WHERE device_id = ?', [deviceId]);
      await tx.run('DELETE FROM group_members WHERE device_id = ?', [deviceId]);
      await tx.run('DELETE FROM mailbox WHERE device_id = ?', [deviceId]);
      return true;
    });
  }
}

async function insertDevice(tx: SqlRunner, device: DeviceRecord): Promise<void> {
  const inserted = await tx.run(
    `INSERT INTO devices (device_id, username, signature_key, name, created_at, account_signature, certified_by, revoked_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`,
    [device.deviceId, device.username, device.signatureKey, device.name, device.createdAt, device.accountSignature, device.certifiedBy ?? null],
  );
  if (inserted.changes === 0) throw new DomainError(ErrorCode.conflict, 'This device is already registered.');
}

/**
 * Writes the account's new state to the directory outbox (published to the transparency log), as the next
 * version chained to the previous entry. The account row is locked first (UPDATE), so concurrent changes
 * to one account get consecutive versions.
 */
async function queueDirectoryEntry(tx: SqlRunner, username: string): Promise<void> {
  const account = await tx.get<{ identity_key: Uint8Array }>('UPDATE accounts SET username = username WHERE username = ? RETURNING identity_key', [username]);
  const devices = (await tx.all<DeviceRow>('SELECT * FROM devices WHERE username = ?', [username])).map(toDevice);
  const last = await tx.get<{ version: number; entry_hash: Uint8Array }>('SELECT version, entry_hash FROM directory_versions WHERE username = ?', [username]);
  const version = last ? Number(last.version) + 1 : 1;
  const previous = last ? asBytes(last.entry_hash) : new Uint8Array();
  const entry = directoryEntryBytes(directoryState({ username, identityKey: asBytes(account!.identity_key), devices, version, previous }));
  await tx.run(
    `INSERT INTO directory_versions (username, version, previous, entry_hash) VALUES (?, ?, ?, ?)
     ON CONFLICT (username) DO UPDATE SET version = excluded.version, previous = excluded.previous, entry_hash = excluded.entry_hash`,
    [username, version, previous, directoryEntryHash(entry)],
  );
  await tx.run('INSERT INTO directory_outbox (username, entry) VALUES (?, ?)', [username, entry]);
}

/** The account as the wire and the directory log show it. */
export function directoryState(account: Pick<AccountRecord, 'username' | 'identityKey' | 'devices' | 'version' | 'previous'>) {
  return {
    username: account.username,
    version: account.version,
    previous: toBase64Url(account.previous),
    identityKey: toBase64Url(account.identityKey),
    devices: account.devices.map((d) => ({
      deviceId: d.deviceId,
      signatureKey: toBase64Url(d.signatureKey),
      name: d.name,
      createdAt: d.createdAt,
      accountSignature: toBase64Url(d.accountSignature),
      certifiedBy: d.certifiedBy,
      revokedAt: d.revokedAt,
      revocationSignature: d.revocationSignature && d.revocationSignature.length > 0 ? toBase64Url(d.revocationSignature) : null,
      revokedBy: d.revokedBy,
    })),
  };
}
