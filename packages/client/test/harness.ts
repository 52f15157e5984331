/** Test support: a real server (apps/server's in-process test server) and SDK devices on memory storage. */
import { fromBase64Url } from '@doublelock/protocol';
import { startTestServer } from '@doublelock/server/testing';
import { ed25519 } from '@noble/curves/ed25519.js';
import WebSocket from 'ws';
import { Messenger, type MessengerEvent, type MessengerOptions, type ReceivedMessage } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import type { WebSocketConstructor } from '../src/api/mailboxSocket.ts';
import { newDeviceKeys, signDeviceCertificate } from '../src/device.ts';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

export async function server() {
  return startTestServer();
}

/**
 * The server gives `username` a new identity key with a device certified by it (a reinstall, or a server
 * putting itself in the middle) and logs that state, so key transparency has nothing to object to.
 */
export async function serverChangesIdentity(srv: Awaited<ReturnType<typeof server>>, username: string): Promise<{ identityKey: Uint8Array; deviceId: string }> {
  const secret = ed25519.utils.randomSecretKey();
  const keys = newDeviceKeys();
  const cert = signDeviceCertificate(secret, username, keys.publicKey, 'new phone');
  const identityKey = ed25519.getPublicKey(secret);
  await srv.db.run('UPDATE accounts SET identity_key = ? WHERE username = ?', [identityKey, username]);
  await srv.ctx.stores.accounts.addDevice({
    deviceId: keys.deviceId,
    username,
    signatureKey: keys.publicKey,
    name: cert.name,
    createdAt: cert.createdAt,
    accountSignature: fromBase64Url(cert.accountSignature),
    certifiedBy: null,
    revokedAt: null,
    revocationSignature: null,
    revokedBy: null,
  });
  await srv.ctx.directory.publish();
  return { identityKey, deviceId: keys.deviceId };
}

/** A device plus everything it has seen, for assertions. */
export class TestDevice {
  readonly events: MessengerEvent[] = [];
  constructor(readonly messenger: Messenger) {
    messenger.on((e) => this.events.push(e));
  }
  get messages(): ReceivedMessage[] {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
  }
  get texts(): string[] {
    return this.messages.flatMap((m) => (m.content.type === 'text' ? [`${m.sender.username}: ${m.content.text}`] : []));
  }
  get rejections() {
    return this.events.flatMap((e) => (e.type === 'rejected' ? [e.error] : []));
  }
}

let counter = 0;
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 6)}`;
}

/** The deployment's log key, as an app pins it (key transparency is on for every test device). */
const logKeys = new Map<string, Promise<string>>();
export function logKeyOf(url: string): Promise<string> {
  let key = logKeys.get(url);
  if (!key) {
    key = fetch(`${url}/v1/app-config`).then(async (r) => ((await r.json()) as { logKey: string }).logKey);
    logKeys.set(url, key);
  }
  return key;
}

export async function deviceOptions(url: string, extra: Partial<MessengerOptions> = {}): Promise<MessengerOptions> {
  return { serverUrl: url, storage: new MemoryStorage(), webSocket: NodeWebSocket, keyPackageTarget: 6, transparency: { logKey: await logKeyOf(url) }, ...extra };
}

export async function register(url: string, username: string, keyPackageTarget = 6, options: Partial<MessengerOptions> = {}): Promise<TestDevice> {
  return new TestDevice(await Messenger.register(await deviceOptions(url, { keyPackageTarget, ...options }), username));
}

/**
 * Another device of the same account, linked Signal-style: it makes its keys and shows a code, `from`
 * approves the code (it has no groups until someone adds it: reconcileDevices, or a new chat).
 */
export async function linkSecondDevice(from: TestDevice, name = 'second', extra: Partial<MessengerOptions> = {}): Promise<TestDevice> {
  const pending = await Messenger.link(await deviceOptions(from.messenger.api.baseUrl, extra), from.messenger.username, name);
  const [messenger] = await Promise.all([pending.complete({ intervalMs: 50 }), from.messenger.approveDevice(pending.code, name, 0)]);
  return new TestDevice(messenger);
}
