/** Accounts, devices and sessions. */
import { z } from 'zod';
import { bytes, deviceId, ed25519PublicKey, ed25519Signature, storableText, username } from './common.ts';
import { directoryProof } from './directory.ts';

export const deviceCertificate = z.object({
  signatureKey: ed25519PublicKey,
  name: storableText(64).pipe(z.string().min(1)),
  createdAt: z.number().int().nonnegative(),
  /** Signature over deviceCertificateBytes by the account identity key, or by the device `certifiedBy`. */
  accountSignature: ed25519Signature,
  /** An active device of the account that certifies this one (any device can add devices); absent: the identity key. */
  certifiedBy: deviceId.optional(),
});
export type DeviceCertificate = z.infer<typeof deviceCertificate>;

export const registerRequest = z.object({
  username,
  identityKey: ed25519PublicKey,
  device: deviceCertificate,
});
export type RegisterRequest = z.infer<typeof registerRequest>;
export const registerResponse = z.object({ username, deviceId });

export const addDeviceRequest = z.object({
  device: deviceCertificate,
  /**
   * Device linking: HMAC-SHA256 under the secret in the new device's link code over linkConfirmationBytes,
   * kept for the new device (GET /v1/devices/me/link) so it knows the identity key came from whoever read its code.
   */
  linkConfirmation: bytes({ exact: 32 }).optional(),
});
export const linkConfirmationResponse = z.object({ linkConfirmation: bytes({ exact: 32 }), certifiedBy: deviceId.nullable() });
export const addDeviceResponse = z.object({ deviceId });

export const revokeDeviceRequest = z.object({
  revokedAt: z.number().int().nonnegative(),
  /** Signature over deviceRevocationBytes by the account identity key, or by the device `revokedBy`. */
  accountSignature: ed25519Signature,
  /** An active device of the account that revokes this one; absent: the identity key. */
  revokedBy: deviceId.optional(),
});

export const device = z.object({
  deviceId,
  signatureKey: ed25519PublicKey,
  name: z.string(),
  createdAt: z.number().int(),
  accountSignature: ed25519Signature,
  certifiedBy: deviceId.nullable().default(null),
  revokedAt: z.number().int().nullable(),
  /** The signed revocation, carried so every client can check it (not just the server). */
  revocationSignature: ed25519Signature.nullable().default(null),
  revokedBy: deviceId.nullable().default(null),
});
export type Device = z.infer<typeof device>;

export const accountResponse = z.object({
  username,
  /** The account's directory version (see directoryEntryBytes) and its previous entry's hash. */
  version: z.number().int().positive(),
  previous: z.string().max(64),
  identityKey: ed25519PublicKey,
  devices: z.array(device),
  /** Key transparency: this exact state's entry in the transparency log. */
  transparency: directoryProof.optional(),
});
export type AccountResponse = z.infer<typeof accountResponse>;

export const challengeRequest = z.object({ username, deviceId });
export const challengeResponse = z.object({ challenge: bytes({ exact: 32 }), expiresAt: z.number().int() });

export const sessionRequest = z.object({
  username,
  deviceId,
  challenge: bytes({ exact: 32 }),
  /** Device key's signature over authResponseBytes. */
  signature: ed25519Signature,
});
export const sessionResponse = z.object({ token: z.string(), expiresAt: z.number().int() });
