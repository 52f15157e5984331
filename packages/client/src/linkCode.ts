/**
 * Linking a device, as Signal does it: the NEW device makes its own keys and shows a code (text, and a QR
 * code in the web app); an EXISTING device of the account reads it and approves. No private key ever
 * leaves the device that made it.
 *
 * The code carries the new device's public signature key and a fresh 16-byte link secret:
 * `username.GROUPS`, GROUPS being Crockford base32 (RFC 4648 §6 alphabet replaced by Crockford's, no
 * padding) of key ‖ secret in groups of four, case-insensitive, O→0 and I/L→1 read leniently.
 * The approving device certifies the key (deviceCertificateBytes, signed with its own device key) and
 * leaves a confirmation for the new device: HMAC-SHA256(secret, linkConfirmationBytes(username, identity
 * key, deviceId)). The new device, once it can sign in, checks that confirmation against the identity key
 * the directory shows (and key transparency verifies): only whoever read its code could have made it, so a
 * server that shows another account key is caught before anything is trusted.
 * Whoever reads the code can approve it only into the account they control; show it only to your own device.
 */
import { authResponseBytes, deviceIdFor, fromBase64Url, linkConfirmationBytes, toBase64Url } from '@doublelock/protocol';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ApiError, ServerApi } from './api/serverApi.ts';
import type { MessengerOptions } from './core/types.ts';
import { newDeviceKeys, type DeviceRecord } from './device.ts';
import { equalBytes } from './envelope/bytes.ts';
import type { Messenger } from './messenger.ts';
import { getJson, jsonWrite } from './storage/storage.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const KEY_BYTES = 32;
const SECRET_BYTES = 16;

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

export interface LinkCode {
  username: string;
  /** The new device's public signature key. */
  signatureKey: Uint8Array;
  deviceId: string;
  secret: Uint8Array;
}

export function encodeLinkCode(code: Omit<LinkCode, 'deviceId'>): string {
  const body = new Uint8Array(KEY_BYTES + SECRET_BYTES);
  body.set(code.signatureKey);
  body.set(code.secret, KEY_BYTES);
  return `${code.username}.${base32(body).match(/.{1,4}/g)!.join('-')}`;
}

export function decodeLinkCode(text: string): LinkCode {
  const trimmed = text.trim();
  const dot = trimmed.lastIndexOf('.');
  if (dot <= 0) throw new LinkCodeError('A link code looks like name.XXXX-XXXX-…: the account name, a dot, then groups of letters and digits.');
  const username = trimmed.slice(0, dot);
  const body = unbase32(trimmed.slice(dot + 1).replace(/[\s-]/g, ''));
  if (body.length !== KEY_BYTES + SECRET_BYTES) throw new LinkCodeError('This link code is too short or too long: check every group.');
  const signatureKey = body.slice(0, KEY_BYTES);
  return { username, signatureKey, deviceId: deviceIdFor(signatureKey), secret: body.slice(KEY_BYTES) };
}

export function linkConfirmation(secret: Uint8Array, c: { username: string; identityKey: Uint8Array; deviceId: string }): Uint8Array {
  return hmac(sha256, secret, linkConfirmationBytes(c));
}

/** What a new device keeps while it waits for approval (storage key `pendingLink`). */
interface PendingLinkRecord {
  server: string;
  username: string;
  deviceName: string;
  deviceId: string;
  deviceSecret: string;
  devicePublic: string;
  linkSecret: string;
}

const PENDING = 'pendingLink';

/** The new device's side: its code, and the wait for an existing device to approve it. */
export class PendingLink {
  private constructor(
    private readonly options: MessengerOptions,
    private readonly record: PendingLinkRecord,
    /** Opens the linked device (Messenger.open; passed in so this module does not import the Messenger). */
    private readonly open: (options: MessengerOptions) => Promise<Messenger>,
  ) {}

  /** Makes this device's keys (kept in `options.storage`, never sent) and its code; resumes a pending one. */
  static async start(options: MessengerOptions, username: string, deviceName: string, open: (options: MessengerOptions) => Promise<Messenger>): Promise<PendingLink> {
    const pending = await getJson<PendingLinkRecord>(options.storage, PENDING);
    if (pending && pending.username === username) return new PendingLink(options, pending, open);
    if (await options.storage.get('device')) throw new LinkCodeError('This storage already holds a device.');
    const keys = newDeviceKeys();
    const record: PendingLinkRecord = {
      server: options.serverUrl,
      username,
      deviceName,
      deviceId: keys.deviceId,
      deviceSecret: toBase64Url(keys.secret),
      devicePublic: toBase64Url(keys.publicKey),
      linkSecret: toBase64Url(randomBytes(SECRET_BYTES)),
    };
    await options.storage.write([jsonWrite(PENDING, record)]);
    return new PendingLink(options, record, open);
  }

  /** The pending link kept in this storage, if any. */
  static async resume(options: MessengerOptions, open: (options: MessengerOptions) => Promise<Messenger>): Promise<PendingLink | undefined> {
    const pending = await getJson<PendingLinkRecord>(options.storage, PENDING);
    return pending && new PendingLink(options, pending, open);
  }

  get code(): string {
    return encodeLinkCode({ username: this.record.username, signatureKey: fromBase64Url(this.record.devicePublic), secret: fromBase64Url(this.record.linkSecret) });
  }
  get deviceId(): string {
    return this.record.deviceId;
  }
  get deviceName(): string {
    return this.record.deviceName;
  }

  /**
   * Waits until an existing device has approved this one (polling every `intervalMs`), checks the approval's
   * confirmation against the identity key the directory shows, and opens this device. Throws LinkCodeError
   * when the server shows an identity key the approver did not confirm (nothing is kept then).
   */
  async complete(options: { intervalMs?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Messenger> {
    const { record } = this;
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    const api = new ServerApi(this.options.serverUrl || record.server, this.options.fetch);
    const secret = fromBase64Url(record.deviceSecret);
    const signIn = async () => {
      const { challenge } = await api.challenge(record.username, record.deviceId);
      const signature = ed25519.sign(authResponseBytes({ challenge: fromBase64Url(challenge), username: record.username, deviceId: record.deviceId, origin: api.origin }), secret);
      return (await api.createSession({ username: record.username, deviceId: record.deviceId, challenge, signature: toBase64Url(signature) })).token;
    };
    api.session = { token: signIn, renew: signIn };
    for (;;) {
      options.signal?.throwIfAborted();
      let confirmation: string | undefined;
      try {
        confirmation = (await api.linkConfirmation()).linkConfirmation;
      } catch (error) {
        // Not approved yet: the server does not know this device (sign-in answers 404).
        if (!(error instanceof ApiError && error.code === 'not_found')) throw error;
      }
      if (confirmation) return this.finish(api, fromBase64Url(confirmation));
      if (Date.now() > deadline) throw new LinkCodeError('No device approved this code in time: start again.');
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
    }
  }

  private async finish(api: ServerApi, confirmation: Uint8Array): Promise<Messenger> {
    const { record } = this;
    const { identityKey } = await api.account(record.username);
    const expected = linkConfirmation(fromBase64Url(record.linkSecret), { username: record.username, identityKey: fromBase64Url(identityKey), deviceId: record.deviceId });
    if (!equalBytes(expected, confirmation)) {
      throw new LinkCodeError(`The server shows an account key for ${record.username} that the approving device did not confirm: do not use this device.`);
    }
    const device: DeviceRecord = { server: record.server, username: record.username, deviceId: record.deviceId, deviceSecret: record.deviceSecret, devicePublic: record.devicePublic, identityKey };
    const { storage } = this.options;
    await storage.write([jsonWrite('device', device), { key: `pin/${record.username}`, value: fromBase64Url(identityKey) }]);
    const messenger = await this.open(this.options);
    try {
      await messenger.directory.account(record.username, { fresh: true }); // key transparency, when configured
      await messenger.topUpKeyPackages();
    } catch (error) {
      await messenger.close();
      await storage.write([{ key: 'device', value: undefined }, { key: `pin/${record.username}`, value: undefined }]);
      throw error;
    }
    await storage.write([{ key: PENDING, value: undefined }]);
    return messenger;
  }
}
