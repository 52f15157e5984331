/**
 * Key transparency for the device directory. Every change to an account's devices appends the account's
 * whole new state to the transparency log as one entry; a client recomputes that entry from the account
 * it was shown and checks its inclusion in a signed checkpoint. A device the log does not show (a
 * "ghost" slipped into someone's chats) cannot pass.
 */
import { z } from 'zod';
import { bytes } from './common.ts';
import { utf8 } from './encoding.ts';

export const DIRECTORY_ENTRY_TYPE = 'doublelock/directory/v1';

export interface DirectoryState {
  username: string;
  /** base64url, as on the wire. */
  identityKey: string;
  devices: ReadonlyArray<{ deviceId: string; signatureKey: string; name: string; createdAt: number; accountSignature: string; revokedAt: number | null }>;
}

/** The canonical log entry for an account's state: fixed key order, devices sorted by id. */
export function directoryEntryBytes(state: DirectoryState): Uint8Array {
  const devices = [...state.devices]
    .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .map((d) => ({ deviceId: d.deviceId, signatureKey: d.signatureKey, name: d.name, createdAt: d.createdAt, accountSignature: d.accountSignature, revokedAt: d.revokedAt }));
  return utf8(JSON.stringify({ type: DIRECTORY_ENTRY_TYPE, username: state.username, identityKey: state.identityKey, devices }));
}

/** Where the account's current state sits in the log, against a signed checkpoint. */
export const directoryProof = z.object({
  leafIndex: z.number().int().nonnegative(),
  treeSize: z.number().int().positive(),
  inclusionProof: z.array(bytes({ exact: 32 })).max(64),
  /** The C2SP signed note of the checkpoint (log signature and any witness cosignatures). */
  checkpoint: z.string().max(64 * 1024),
});
export type DirectoryProof = z.infer<typeof directoryProof>;
