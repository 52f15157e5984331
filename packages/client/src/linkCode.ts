/**
 * A device-link code: what an existing device shows (as a QR code, or as text to type) so a new device of
 * the same account can start from it. It carries the new device's secret key (made and registered by the
 * existing device, see Messenger.provisionDevice) and the first 10 bytes of SHA-256 of the account's
 * identity key, so the new device refuses a directory that shows another identity key. Text form:
 * `username.GROUPS` where GROUPS is Crockford base32 (RFC 4648 §6 alphabet replaced by Crockford's, no
 * padding) in groups of four, case-insensitive, with O→0 and I/L→1 read leniently. Whoever reads the
 * code can become that device: show it only to the new device, and revoke a device whose code leaked.
 */
import { authResponseBytes, deviceIdFor, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ServerApi } from './api/serverApi.ts';
import type { DeviceProvisioning } from './device.ts';
import { Messenger, type MessengerOptions } from './messenger.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const SECRET_BYTES = 32;
const IDENTITY_CHECK_BYTES = 10;

export class LinkCodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkCodeError';
  }
}

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const raw of text) {
    const c = raw.toUpperCase().replace('O', '0').replace(/[IL]/, '1');
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new LinkCodeError(`"${raw}" cannot appear in a link code`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

export function identityCheck(identityKey: Uint8Array): Uint8Array {
  return sha256(identityKey).subarray(0, IDENTITY_CHECK_BYTES);
}

/** The code for a provisioned device. */
export function encodeLinkCode(p: DeviceProvisioning): string {
  const body = new Uint8Array(SECRET_BYTES + IDENTITY_CHECK_BYTES);
  body.set(fromBase64Url(p.deviceSecret));
  body.set(identityCheck(fromBase64Url(p.identityKey)), SECRET_BYTES);
  return `${p.username}.${base32(body).match(/.{1,4}/g)!.join('-')}`;
}

export interface DecodedLinkCode {
  username: string;
  deviceSecret: Uint8Array;
  deviceId: string;
  identityCheck: Uint8Array;
}

export function decodeLinkCode(code: string): DecodedLinkCode {
  const trimmed = code.trim();
  const dot = trimmed.lastIndexOf('.');
  if (dot <= 0) throw new LinkCodeError('A link code looks like name.XXXX-XXXX-…: the account name, a dot, then groups of letters and digits.');
  const username = trimmed.slice(0, dot);
  const body = unbase32(trimmed.slice(dot + 1).replace(/[\s-]/g, ''));
  if (body.length !== SECRET_BYTES + IDENTITY_CHECK_BYTES) throw new LinkCodeError('This link code is too short or too long: check every group.');
  const deviceSecret = body.slice(0, SECRET_BYTES);
  return { username, deviceSecret, deviceId: deviceIdFor(ed25519.getPublicKey(deviceSecret)), identityCheck: body.slice(SECRET_BYTES) };
}

/** The provisioning bundle, once the account's identity key (from the directory) matches the code's check. */
export function provisioningFromCode(code: DecodedLinkCode, server: string, identityKey: Uint8Array): DeviceProvisioning {
  const expected = identityCheck(identityKey);
  if (expected.some((b, i) => b !== code.identityCheck[i])) throw new LinkCodeError(`The server shows an identity key for ${code.username} that does not match this code: do not link.`);
  return { server, username: code.username, deviceId: code.deviceId, deviceSecret: toBase64Url(code.deviceSecret), identityKey: toBase64Url(identityKey) };
}

/**
 * Starts this device from a link code: reads the account's identity key from the server's directory,
 * checks it against the code (and against key transparency, when the options configure it: the
 * messenger's directory verifies the account on first use), then provisions.
 */
export async function linkDevice(options: MessengerOptions, code: string): Promise<Messenger> {
  const decoded = decodeLinkCode(code);
  // The directory answers signed-in devices only: sign in as the new device (the server registered it).
  const api = new ServerApi(options.serverUrl, options.fetch);
  const signIn = async () => {
    const { challenge } = await api.challenge(decoded.username, decoded.deviceId);
    const signature = ed25519.sign(authResponseBytes({ challenge: fromBase64Url(challenge), username: decoded.username, deviceId: decoded.deviceId, origin: api.origin }), decoded.deviceSecret);
    return (await api.createSession({ username: decoded.username, deviceId: decoded.deviceId, challenge, signature: toBase64Url(signature) })).token;
  };
  api.session = { token: signIn, renew: signIn };
  const account = await api.account(decoded.username);
  if (!account.devices.some((d) => d.deviceId === decoded.deviceId && d.revokedAt === null)) {
    throw new LinkCodeError('The account does not list the device this code is for (it was never added, or was revoked). Ask the other device for a new code.');
  }
  const messenger = await Messenger.fromProvisioning(options, provisioningFromCode(decoded, options.serverUrl, fromBase64Url(account.identityKey)));
  await messenger.directory.account(decoded.username, { fresh: true });
  return messenger;
}
