/**
 * A device's keys and its certificate. The account identity key (Ed25519) signs each device's signature
 * key (also Ed25519, and also the device's MLS leaf signature key), per the protocol's
 * deviceCertificateBytes; only devices holding the identity key can add or revoke devices.
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
  /** Present only on devices that hold the account key (the first one, by default). */
  identitySecret?: string;
}

/** What a new device needs, handed over from an existing device (e.g. as a file or QR code). */
export interface DeviceProvisioning {
  server: string;
  username: string;
  deviceId: string;
  deviceSecret: string;
  identityKey: string;
}

export function newDeviceKeys(): { secret: Uint8Array; publicKey: Uint8Array; deviceId: string } {
  const secret = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(secret);
  return { secret, publicKey, deviceId: deviceIdFor(publicKey) };
}

export function signDeviceCertificate(identitySecret: Uint8Array, username: string, signatureKey: Uint8Array, name: string, createdAt = Date.now()): DeviceCertificate {
  const signature = ed25519.sign(deviceCertificateBytes({ username, signatureKey, name, createdAt }), identitySecret);
  return { signatureKey: toBase64Url(signatureKey), name, createdAt, accountSignature: toBase64Url(signature) };
}

export function signRevocation(identitySecret: Uint8Array, username: string, deviceId: string, revokedAt = Date.now()) {
  return { revokedAt, accountSignature: toBase64Url(ed25519.sign(deviceRevocationBytes({ username, deviceId, revokedAt }), identitySecret)) };
}

export const deviceSecretOf = (d: DeviceRecord): Uint8Array => fromBase64Url(d.deviceSecret);
