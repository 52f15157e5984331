/**
 * Key transparency wired to a device's storage: the KeyTransparency verifier with the last accepted
 * checkpoint and each account's last accepted directory version persisted (so a split view or a replayed
 * account state is caught across restarts), anchored on a witness-cosigned checkpoint when the device has
 * none yet, and the device's own-account monitor.
 */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import type { ServerApi } from '../api/serverApi.ts';
import type { TransparencyConfig } from '../core/types.ts';
import type { Verify } from '../devices/authority.ts';
import { getJson, jsonWrite, type Storage } from '../storage/storage.ts';
import { KeyTransparency, type AccountVersions } from './keyTransparency.ts';
import { OwnAccountMonitor } from './monitor.ts';

const CHECKPOINT_KEY = 'kt/checkpoint';
const versionKey = (username: string) => `kt/version/${username}`;

export interface DeviceTransparency {
  kt: KeyTransparency;
  monitor: OwnAccountMonitor;
  /** Anchors a device that has seen no checkpoint yet (witness-cosigned, when witnesses are configured). */
  anchor(): Promise<void>;
}

export async function deviceTransparency(
  config: TransparencyConfig,
  api: ServerApi,
  storage: Storage,
  account: { username: string; identityKey: string; deviceId: string },
  verify: Verify,
): Promise<DeviceTransparency> {
  const seen = await getJson<{ size: number; rootHash: string }>(storage, CHECKPOINT_KEY);
  const versions: AccountVersions = {
    get: async (username) => {
      const v = await getJson<{ version: number; entryHash: string }>(storage, versionKey(username));
      return v && { version: v.version, entryHash: fromBase64Url(v.entryHash) };
    },
    put: (username, v) => storage.write([jsonWrite(versionKey(username), { version: v.version, entryHash: toBase64Url(v.entryHash) })]),
  };
  const kt = new KeyTransparency({
    logKey: config.logKey,
    ...(seen && { lastSeen: { size: seen.size, rootHash: fromBase64Url(seen.rootHash) } }),
    consistencyProof: (from, to) => api.consistencyProof(from, to),
    onCheckpoint: (c) => storage.write([jsonWrite(CHECKPOINT_KEY, { size: c.size, rootHash: toBase64Url(c.rootHash) })]),
    versions,
  });
  return {
    kt,
    monitor: new OwnAccountMonitor(api, kt, storage, account, verify),
    anchor: async () => {
      if (kt.lastSeen) return;
      await kt.acceptCheckpoint(await api.logCheckpoint(config.witnesses?.k), config.witnesses);
    },
  };
}
