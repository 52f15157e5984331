/**
 * The exact bytes each signature in the protocol covers. Every context starts with a distinct label so a
 * signature made for one purpose can never be replayed as another.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { lengthPrefixed, toBase64Url } from './encoding.ts';

export const DEVICE_CERTIFICATE_LABEL = 'doublelock/device-certificate/v1';
export const AUTH_LABEL = 'doublelock/auth/v1';
export const DEVICE_REVOCATION_LABEL = 'doublelock/device-revocation/v1';
export const LINK_CONFIRMATION_LABEL = 'doublelock/link-confirmation/v1';
export const COMMIT_REJECTION_LABEL = 'doublelock/commit-rejection/v1';

/** Device ids are derived from the device's signature key: 22 base64url chars (132 bits) of SHA-256. */
export function deviceIdFor(signatureKey: Uint8Array): string {
  return toBase64Url(sha256(signatureKey)).slice(0, 22);
}

/**
 * MACed (HMAC-SHA256) under the secret of a new device's link code by the device that approved it: the new
 * device checks it to know the account identity key it is shown came from whoever read its code.
 */
export function linkConfirmationBytes(c: { username: string; identityKey: Uint8Array; deviceId: string }): Uint8Array {
  return lengthPrefixed(LINK_CONFIRMATION_LABEL, c.username, c.identityKey, c.deviceId);
}

/** Signed by the account identity key or another device of the account: "this signature key is a device of this account". */
export function deviceCertificateBytes(cert: { username: string; signatureKey: Uint8Array; name: string; createdAt: number }): Uint8Array {
  return lengthPrefixed(DEVICE_CERTIFICATE_LABEL, cert.username, cert.signatureKey, cert.name, String(cert.createdAt));
}

/** Signed by the account identity key or another device of the account: "revoke this device". */
export function deviceRevocationBytes(r: { username: string; deviceId: string; revokedAt: number }): Uint8Array {
  return lengthPrefixed(DEVICE_REVOCATION_LABEL, r.username, r.deviceId, String(r.revokedAt));
}

/** Signed by the device key to answer a server challenge. The origin binds it to one server. */
export function authResponseBytes(a: { challenge: Uint8Array; username: string; deviceId: string; origin: string }): Uint8Array {
  return lengthPrefixed(AUTH_LABEL, a.challenge, a.username, a.deviceId, a.origin);
}

/**
 * Signed by a member device (its MLS leaf key) that found commit `seq` of the group invalid: the exact commit
 * (SHA-256 of its bytes) at that epoch. The server voids a commit only on enough of these, and the committer
 * rolls back only when it checks them itself, so a server cannot undo a commit on its own word.
 */
export function commitRejectionBytes(r: { groupId: string; epoch: number; seq: number; commitHash: Uint8Array }): Uint8Array {
  return lengthPrefixed(COMMIT_REJECTION_LABEL, r.groupId, String(r.epoch), String(r.seq), r.commitHash);
}
