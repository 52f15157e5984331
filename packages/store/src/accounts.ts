/** Accounts and their devices (the account identity key certifies each device's signature key). */
import { directoryEntryBytes, DomainError, ErrorCode, toBase64Url } from '@doublelock/protocol';
import type { Db, SqlRunner } from './db.ts';
import { asBytes } from './sql.ts';

export interface DeviceRecord {
  deviceId: string;
  username: string;
  signatureKey: Uint8Array;
  name: string;
  createdAt: number;
  accountSignature: Uint8Array;
  revokedAt: number | null;
}

export interface AccountRecord {
  username: string;
  identityKey: Uint8Array;
  devices: DeviceRecord[];
}

type DeviceRow = {
  device_id: string;
  username: string;
  signature_key: Uint8Array;
  name: string;
  created_at: number;
  account_signature: Uint8Array;
  revoked_at: number | null;
};

const toDevice = (row: DeviceRow): DeviceRecord => ({
  deviceId: row.device_id,
  username: row.username,
  signatureKey: asBytes(row.signature_key),
  name: row.name,
  createdAt: Number(row.created_at),
  accountSignature: asBytes(row.account_signature),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
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

  async addDevice(device: DeviceRecord): Promise<void> {
    await this.db.transaction(async (tx) => {
      await insertDevice(tx, device);
      await queueDirectoryEntry(tx, device.username);
    });
  }

  async get(username: string): Promise<AccountRecord | undefined> {
    const account = await this.db.get<{ username: string; identity_key: Uint8Array }>(
      'SELECT username, identity_key FROM accounts WHERE username = ?',
      [username],
    );
    if (!account) return undefined;
    const devices = await this.db.all<DeviceRow>('SELECT * FROM devices WHERE username = ? ORDER BY created_at, device_id', [username]);
    return { username: account.username, identityKey: asBytes(account.identity_key), devices: devices.map(toDevice) };
  }

  async device(deviceId: string): Promise<DeviceRecord | undefined> {
    const row = await this.db.get<DeviceRow>('SELECT * FROM devices WHERE device_id = ?', [deviceId]);
    return row && toDevice(row);
  }

  /**
   * Revokes a device: it loses its sessions, its unclaimed KeyPackages, its group memberships and its
   * pending mail at once. Members still have to remove its leaves from their MLS groups by commits.
   */
  async revokeDevice(deviceId: string, revokedAt: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const device = await tx.get<{ username: string }>('UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL RETURNING username', [revokedAt, deviceId]);
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
    `INSERT INTO devices (device_id, username, signature_key, name, created_at, account_signature, revoked_at)
     VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`,
    [device.deviceId, device.username, device.signatureKey, device.name, device.createdAt, device.accountSignature],
  );
  if (inserted.changes === 0) throw new DomainError(ErrorCode.conflict, 'This device is already registered.');
}

/** Writes the account's new state to the directory outbox (published to the transparency log). */
async function queueDirectoryEntry(tx: SqlRunner, username: string): Promise<void> {
  const account = await tx.get<{ identity_key: Uint8Array }>('SELECT identity_key FROM accounts WHERE username = ?', [username]);
  const devices = (await tx.all<DeviceRow>('SELECT * FROM devices WHERE username = ?', [username])).map(toDevice);
  const entry = directoryEntryBytes(directoryState(username, asBytes(account!.identity_key), devices));
  await tx.run('INSERT INTO directory_outbox (username, entry) VALUES (?, ?)', [username, entry]);
}

/** The account as the wire and the directory log show it. */
export function directoryState(username: string, identityKey: Uint8Array, devices: DeviceRecord[]) {
  return {
    username,
    identityKey: toBase64Url(identityKey),
    devices: devices.map((d) => ({
      deviceId: d.deviceId,
      signatureKey: toBase64Url(d.signatureKey),
      name: d.name,
      createdAt: d.createdAt,
      accountSignature: toBase64Url(d.accountSignature),
      revokedAt: d.revokedAt,
    })),
  };
}
