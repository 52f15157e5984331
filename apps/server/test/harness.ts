/** A minimal protocol client for server tests: real keys, real signatures, real HTTP and WebSocket. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  authResponseBytes,
  deviceCertificateBytes,
  deviceIdFor,
  fromBase64Url,
  toBase64Url,
  type MailboxItem,
  type ServerFrame,
} from '@doublelock/protocol';
import { createPostgresDatabase } from '@doublelock/store/testing';
import { inject } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import type { ClientState } from 'ts-mls';
import { commitRequest, createMlsGroup, type Changes } from './mls.ts';
import type { ServerConfig } from '../src/config.ts';

export type Json = Record<string, unknown>;

export interface Response<T = Json> {
  status: number;
  body: T;
}

export async function call<T = Json>(url: string, method: string, path: string, body?: unknown, token?: string): Promise<Response<T>> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url + path, { method, headers, ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface DeviceKeys {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  deviceId: string;
}

export function newDeviceKeys(): DeviceKeys {
  const secretKey = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(secretKey);
  return { secretKey, publicKey, deviceId: deviceIdFor(publicKey) };
}

export class TestAccount {
  readonly identitySecret = ed25519.utils.randomSecretKey();
  readonly identityKey = ed25519.getPublicKey(this.identitySecret);
  readonly devices: TestDevice[] = [];
  constructor(
    readonly server: { url: string },
    readonly username: string,
  ) {}

  certificate(keys: DeviceKeys, name = 'phone') {
    const createdAt = Date.now();
    const signature = ed25519.sign(deviceCertificateBytes({ username: this.username, signatureKey: keys.publicKey, name, createdAt }), this.identitySecret);
    return { signatureKey: toBase64Url(keys.publicKey), name, createdAt, accountSignature: toBase64Url(signature) };
  }

  async register(): Promise<TestDevice> {
    const keys = newDeviceKeys();
    const r = await call(this.server.url, 'POST', '/v1/accounts', { username: this.username, identityKey: toBase64Url(this.identityKey), device: this.certificate(keys) });
    if (r.status !== 201) throw new Error(`register failed: ${JSON.stringify(r.body)}`);
    const device = new TestDevice(this, keys);
    this.devices.push(device);
    return device;
  }

  async addDevice(): Promise<TestDevice> {
    const keys = newDeviceKeys();
    const r = await call(this.server.url, 'POST', `/v1/accounts/${this.username}/devices`, { device: this.certificate(keys, 'laptop') });
    if (r.status !== 201) throw new Error(`add device failed: ${JSON.stringify(r.body)}`);
    const device = new TestDevice(this, keys);
    this.devices.push(device);
    return device;
  }
}

export class TestDevice {
  token = '';
  /** This device's MLS view of its groups (test/mls.ts builds real commits from it). */
  readonly mls = new Map<string, ClientState>();
  constructor(
    readonly account: TestAccount,
    readonly keys: DeviceKeys,
  ) {}

  get deviceId(): string {
    return this.keys.deviceId;
  }
  get url(): string {
    return this.account.server.url;
  }

  async login(origin = new URL(this.url).origin): Promise<this> {
    const c = await call<{ challenge: string }>(this.url, 'POST', '/v1/auth/challenge', { username: this.account.username, deviceId: this.deviceId });
    if (c.status !== 200) throw new Error(`challenge failed: ${JSON.stringify(c.body)}`);
    const signature = ed25519.sign(authResponseBytes({ challenge: fromBase64Url(c.body.challenge), username: this.account.username, deviceId: this.deviceId, origin }), this.keys.secretKey);
    const s = await call<{ token: string }>(this.url, 'POST', '/v1/auth/session', { username: this.account.username, deviceId: this.deviceId, challenge: c.body.challenge, signature: toBase64Url(signature) });
    if (s.status !== 200) throw new Error(`session failed: ${JSON.stringify(s.body)}`);
    this.token = s.body.token;
    return this;
  }

  call<T = Json>(method: string, path: string, body?: unknown): Promise<Response<T>> {
    return call<T>(this.url, method, path, body, this.token);
  }

  async mailbox(): Promise<MailboxItem[]> {
    const r = await this.call<{ items: MailboxItem[] }>('GET', '/v1/mailbox?limit=1000');
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return r.body.items;
  }
}

/** Registers each username with one device and logs it in, in order. */
export function devicesOf<N extends readonly string[]>(server: { url: string }, usernames: N): Promise<{ [K in keyof N]: TestDevice }> {
  return Promise.all(usernames.map(async (u) => (await new TestAccount(server, u).register()).login())) as never;
}

export const randomGroupId = (): string => toBase64Url(randomBytes(16));
export const bytes = (n: number): string => toBase64Url(randomBytes(n));
export const messageId = (): string => toBase64Url(randomBytes(12));

/** A device acknowledges everything waiting in its mailbox (e.g. its Welcome), so later reads start empty. */
export async function ackAll(d: TestDevice): Promise<void> {
  await d.call('POST', '/v1/mailbox/ack', { ids: (await d.mailbox()).map((m) => m.id) });
}

/** A device posts a commit request to a group. */
export const postCommit = (d: TestDevice, groupId: string, body: unknown) => d.call('POST', `/v1/groups/${groupId}/commits`, body);

/** Creates a group of these devices (the first creates it and adds the rest in one commit). */
export async function groupOf(devices: TestDevice[]): Promise<string> {
  const groupId = randomGroupId();
  const [creator, ...rest] = devices;
  const created = await creator!.call('POST', '/v1/groups', { groupId });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  await createMlsGroup(creator!, groupId);
  if (rest.length > 0) await commit(creator!, groupId, { add: rest });
  return groupId;
}

/** Sends a real commit from `d` making these changes (test/mls.ts) and, once accepted, moves the MLS states on. */
export async function commit(d: TestDevice, groupId: string, changes: Changes = {}): Promise<Response> {
  const { body, apply } = await commitRequest(d, groupId, changes);
  const r = await d.call('POST', `/v1/groups/${groupId}/commits`, body);
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  await apply();
  return r;
}

/** Sends a franked message to a group (as a client would: commitment = HMAC(frankingKey, payload)). */
export async function sendFranked(from: TestDevice, groupId: string, text: string) {
  const payload = new TextEncoder().encode(text);
  const frankingKey = randomBytes(32);
  const commitment = hmac(sha256, frankingKey, payload);
  const clientMessageId = messageId();
  const r = await from.call<{ seq: number; serverTime: number; frankingTag: string }>('POST', `/v1/groups/${groupId}/messages`, { clientMessageId, epoch: 1, ciphertext: bytes(64), frankingCommitment: toBase64Url(commitment) });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return { payload, frankingKey, clientMessageId, seq: r.body.seq };
}

/** The body of POST /v1/reports for a received franked message. */
export function frankedReport(groupId: string, item: MailboxItem, payload: Uint8Array, frankingKey: Uint8Array, overrides: Record<string, unknown> = {}) {
  return {
    groupId,
    seq: item.seq,
    clientMessageId: item.clientMessageId,
    sender: item.sender,
    serverTime: item.serverTime,
    payload: toBase64Url(payload),
    frankingKey: toBase64Url(frankingKey),
    commitment: item.franking!.commitment,
    tag: item.franking!.tag,
    reason: 'threat',
    ...overrides,
  };
}

/** An authenticated WebSocket that collects pushed items. */
export class Socket {
  readonly items: MailboxItem[] = [];
  readonly frames: ServerFrame[] = [];
  /** The close code, once the socket has closed. */
  closeCode: number | undefined;
  #waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      this.frames.push(frame);
      if (frame.type === 'items') this.items.push(...frame.items);
      for (const w of this.#waiters.splice(0)) w();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(url: string, token?: string): Promise<Socket> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const socket = new Socket(ws);
    if (token !== undefined) {
      ws.send(JSON.stringify({ type: 'auth', token }));
      await socket.until(() => socket.frames.length > 0);
    }
    return socket;
  }

  async until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting on the socket');
      if (this.ws.readyState === WebSocket.CLOSED && !predicate()) throw new Error('socket closed');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  ack(ids: number[]): void {
    this.ws.send(JSON.stringify({ type: 'ack', ids }));
  }

  close(): void {
    this.ws.close();
  }
}

export type ServerCase = { name: 'sqlite' | 'postgres'; start: (overrides?: Partial<ServerConfig>, options?: { now?: () => number }) => Promise<RunningServer> };

/** The server on SQLite, and on PostgreSQL when the test run has one. */
export function serverCases(): ServerCase[] {
  const cases: ServerCase[] = [{ name: 'sqlite', start: (o, opts) => startTestServer(o, opts) }];
  const pg = inject('postgresUrl');
  if (pg) cases.push({ name: 'postgres', start: async (o, opts) => startTestServer({ ...o, databaseUrl: await createPostgresDatabase(pg) }, opts) });
  return cases;
}
