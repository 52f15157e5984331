/**
 * A device's keys and its certificate. The account identity key (Ed25519), or another device of the
 * account, signs each device's signature key (also Ed25519, and also the device's MLS leaf signature key),
 * per the protocol's deviceCertificateBytes; revocations likewise (devices/authority.ts checks both).
 */
import { deviceCertificateBytes, deviceIdFor, deviceRevocationBytes, fromBase64Url, toBase64Url, type DeviceCertificate } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';

export interface DeviceRecord {
  server: string;
  username: string;
  deviceId: string;
  deviceSecret: string;
  devicePublic: string;
  identityKey: string;
  /** Only on first devices registered before issue 10; new accounts destroy the identity secret (see registerAccount). */
  identitySecret?: string;
}

export function newDeviceKeys(): { secret: Uint8Array; publicKey: Uint8Array; deviceId: string } {
  const secret = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(secret);
  return { secret, publicKey, deviceId: deviceIdFor(publicKey) };
}

/** Who signs for the account: the identity key (`by` undefined) or a device of it (`by` = its id). */
export interface AccountSigner {
  secret: Uint8Array;
  by?: string;
}

export function signDeviceCertificate(signer: Uint8Array | AccountSigner, username: string, signatureKey: Uint8Array, name: string, createdAt = Date.now()): DeviceCertificate {
  const { secret, by } = signer instanceof Uint8Array ? { secret: signer, by: undefined } : signer;
  const signature = ed25519.sign(deviceCertificateBytes({ username, signatureKey, name, createdAt }), secret);
  return { signatureKey: toBase64Url(signatureKey), name, createdAt, accountSignature: toBase64Url(signature), ...(by && { certifiedBy: by }) };
}

export function signRevocation(signer: Uint8Array | AccountSigner, username: string, deviceId: string, revokedAt = Date.now()) {
  const { secret, by } = signer instanceof Uint8Array ? { secret: signer, by: undefined } : signer;
  return { revokedAt, accountSignature: toBase64Url(ed25519.sign(deviceRevocationBytes({ username, deviceId, revokedAt }), secret)), ...(by && { revokedBy: by }) };
}

export const deviceSecretOf = (d: DeviceRecord): Uint8Array => fromBase64Url(d.deviceSecret);
