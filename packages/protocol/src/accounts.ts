/** Accounts, devices and sessions. */
import { z } from 'zod';
import { bytes, deviceId, ed25519PublicKey, ed25519Signature, storableText, username } from './common.ts';
import { directoryProof } from './directory.ts';

export const deviceCertificate = z.object({
  signatureKey: ed25519PublicKey,
  name: storableText(64).pipe(z.string().min(1)),
  createdAt: z.number().int().nonnegative(),
  /** Account identity key's signature over deviceCertificateBytes. */
  accountSignature: ed25519Signature,
});
export type DeviceCertificate = z.infer<typeof deviceCertificate>;

export const registerRequest = z.object({
  username,
  identityKey: ed25519PublicKey,
  device: deviceCertificate,
});
export type RegisterRequest = z.infer<typeof registerRequest>;
export const registerResponse = z.object({ username, deviceId });

export const addDeviceRequest = z.object({ device: deviceCertificate });
export const addDeviceResponse = z.object({ deviceId });

export const revokeDeviceRequest = z.object({
  revokedAt: z.number().int().nonnegative(),
  /** Account identity key's signature over deviceRevocationBytes. */
  accountSignature: ed25519Signature,
});

export const device = z.object({
  deviceId,
  signatureKey: ed25519PublicKey,
  name: z.string(),
  createdAt: z.number().int(),
  accountSignature: ed25519Signature,
  revokedAt: z.number().int().nullable(),
});
export type Device = z.infer<typeof device>;

export const accountResponse = z.object({
  username,
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
