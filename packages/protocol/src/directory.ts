/**
 * Key transparency for the device directory. Every change to an account's devices appends the account's
 * whole new state to the transparency log as one entry; a client recomputes that entry from the account
 * it was shown and checks its inclusion in a signed checkpoint. A device the log does not show (a
 * "ghost" slipped into someone's chats) cannot pass.
 *
 * v2 (issue 10): each entry carries the account's `version` (1, 2, … per username) and `previous`, the
 * SHA-256 of the account's previous entry (empty for the first), so the entries of one account form a hash
 * chain: a replay of an older state (lower version), two entries for one version, or an entry not chained
 * to the last one are all visible to clients that remember what they saw, and to the account's own devices,
 * which read every entry of their account (transparency/monitor.ts in the SDK). Devices carry who certified
 * them (the identity key, or another device of the account) and, once revoked, the signed revocation.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { bytes } from './common.ts';
import { utf8 } from './encoding.ts';

export const DIRECTORY_ENTRY_TYPE = 'doublelock/directory/v2';

export interface DirectoryDevice {
  deviceId: string;
  signatureKey: string;
  name: string;
  createdAt: number;
  /** Signature over deviceCertificateBytes by the identity key (certifiedBy null) or by device certifiedBy. */
  accountSignature: string;
  certifiedBy?: string | null | undefined;
  revokedAt: number | null;
  /** Signature over deviceRevocationBytes by the identity key (revokedBy null) or by device revokedBy. */
  revocationSignature?: string | null | undefined;
  revokedBy?: string | null | undefined;
}

export interface DirectoryState {
  username: string;
  /** 1 for the account's first entry, +1 with each change. */
  version: number;
  /** base64url SHA-256 of the account's previous entry; '' for version 1. */
  previous: string;
  /** base64url, as on the wire. */
  identityKey: string;
  devices: ReadonlyArray<DirectoryDevice>;
}

/** The canonical log entry for an account's state: fixed key order, devices sorted by id. */
export function directoryEntryBytes(state: DirectoryState): Uint8Array {
  const devices = [...state.devices]
    .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .map((d) => ({
      deviceId: d.deviceId,
      signatureKey: d.signatureKey,
      name: d.name,
      createdAt: d.createdAt,
      accountSignature: d.accountSignature,
      certifiedBy: d.certifiedBy ?? null,
      revokedAt: d.revokedAt,
      revocationSignature: d.revocationSignature ?? null,
      revokedBy: d.revokedBy ?? null,
    }));
  return utf8(
    JSON.stringify({ type: DIRECTORY_ENTRY_TYPE, username: state.username, version: state.version, previous: state.previous, identityKey: state.identityKey, devices }),
  );
}

/** What `previous` of the next entry holds: SHA-256 of this entry's bytes. */
export function directoryEntryHash(entry: Uint8Array): Uint8Array {
  return sha256(entry);
}

/** A directory entry read back from the log (the account's own devices monitor these). */
export const directoryEntry = z.object({
  type: z.literal(DIRECTORY_ENTRY_TYPE),
  username: z.string().max(64),
  version: z.number().int().positive(),
  previous: z.string().max(64),
  identityKey: z.string().max(64),
  devices: z
    .array(
      z.object({
        deviceId: z.string().max(64),
        signatureKey: z.string().max(64),
        name: z.string().max(64),
        createdAt: z.number().int(),
        accountSignature: z.string().max(128),
        certifiedBy: z.string().max(64).nullable(),
        revokedAt: z.number().int().nullable(),
        revocationSignature: z.string().max(128).nullable(),
        revokedBy: z.string().max(64).nullable(),
      }),
    )
    .max(1000),
});
export type DirectoryEntry = z.infer<typeof directoryEntry>;

/** Where the account's current state sits in the log, against a signed checkpoint. */
export const directoryProof = z.object({
  leafIndex: z.number().int().nonnegative(),
  treeSize: z.number().int().positive(),
  inclusionProof: z.array(bytes({ exact: 32 })).max(64),
  /** The C2SP signed note of the checkpoint (log signature and any witness cosignatures). */
  checkpoint: z.string().max(64 * 1024),
});
export type DirectoryProof = z.infer<typeof directoryProof>;
