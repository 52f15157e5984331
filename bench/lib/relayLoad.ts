/**
 * Shared by bench:relay and bench:scale: devices registered and signed in over the real API, groups made
 * with a real MLS commit (the server reads every commit), a server process waited for, and the closed-loop
 * send load both drive over WebSockets.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { authResponseBytes, deviceCertificateBytes, deviceIdFor, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import type { ChildProcess } from 'node:child_process';
import type WebSocket from 'ws';
import { commitRequest, createMlsGroup, type MlsDevice } from '../../apps/server/test/mls.ts';

export type SignedInDevice = MlsDevice & { token: string };

export async function post<T>(url: string, path: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

/** fn(0 … count − 1), `concurrency` at a time; the results in order. */
export async function inBatches<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Resolves once the process prints `text` on stdout; rejects if it exits first. */
export async function waitForLine(child: ChildProcess, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`process exited with ${code} before "${text}"`)));
  });
}

/** `count` accounts named `${prefix}${i}`, one device each, signed in (16 at a time). */
export async function registerDevices(url: string, count: number, prefix: string): Promise<SignedInDevice[]> {
  const origin = new URL(url).origin;
  return inBatches(count, 16, async (i) => {
    const identitySecret = ed25519.utils.randomSecretKey();
    const secretKey = ed25519.utils.randomSecretKey();
    const publicKey = ed25519.getPublicKey(secretKey);
    const username = `${prefix}${i}`;
    const createdAt = Date.now();
    const accountSignature = ed25519.sign(deviceCertificateBytes({ username, signatureKey: publicKey, name: 'bench', createdAt }), identitySecret);
    await post(url, '/v1/accounts', { username, identityKey: toBase64Url(ed25519.getPublicKey(identitySecret)), device: { signatureKey: toBase64Url(publicKey), name: 'bench', createdAt, accountSignature: toBase64Url(accountSignature) } });
    const deviceId = deviceIdFor(publicKey);
    const { challenge } = await post<{ challenge: string }>(url, '/v1/auth/challenge', { username, deviceId });
    const signature = ed25519.sign(authResponseBytes({ challenge: fromBase64Url(challenge), username, deviceId, origin }), secretKey);
    const { token } = await post<{ token: string }>(url, '/v1/auth/session', { username, deviceId, challenge, signature: toBase64Url(signature) });
    return { deviceId, token, account: { username }, keys: { secretKey, publicKey }, mls: new Map() };
  });
}

/** A group of `members`: the first creates it and adds the others with a real MLS commit. Returns its id. */
export async function createGroup(url: string, members: SignedInDevice[]): Promise<string> {
  const groupId = toBase64Url(randomBytes(16));
  await post(url, '/v1/groups', { groupId }, members[0]!.token);
  await createMlsGroup(members[0]!, groupId);
  await post(url, `/v1/groups/${groupId}/commits`, (await commitRequest(members[0]!, groupId, { add: members.slice(1) })).body, members[0]!.token);
  return groupId;
}

/**
 * The closed loop: `inflight` loops, each sending a 160-byte message from a random device and waiting for
 * the server's answer to it (`answered`, from the caller's socket handler) before the next. After `warmupMs`,
 * `measuring` is on for `seconds`; the caller counts deliveries while it is. Returns the measured seconds and
 * how many sends were answered in them.
 */
export class SendLoad {
  /** when each message was sent (performance.now()), by client message id */
  readonly sentAt = new Map<string, number>();
  measuring = false;
  private readonly pending = new Map<string, () => void>();

  /** The server answered this message (`sent`, or an error naming it). */
  answered(clientMessageId: string): void {
    this.pending.get(clientMessageId)?.();
  }

  async run(options: {
    sockets: WebSocket[];
    groupOf: (i: number) => string;
    inflight: number;
    warmupMs: number;
    seconds: number;
    /** stop waiting for an answer after this long (none: wait) */
    answerTimeoutMs?: number;
    /** told when measuring starts (true) and stops (false) */
    onMeasuring?: (on: boolean) => void;
  }): Promise<{ elapsed: number; sends: number }> {
    let stop = false;
    let sends = 0;
    const loop = async () => {
      while (!stop) {
        const i = Math.floor(Math.random() * options.sockets.length);
        const clientMessageId = toBase64Url(randomBytes(12));
        const done = new Promise<void>((resolve) => this.pending.set(clientMessageId, resolve));
        this.sentAt.set(clientMessageId, performance.now());
        options.sockets[i]!.send(JSON.stringify({ type: 'send', groupId: options.groupOf(i), message: { clientMessageId, epoch: 1, ciphertext: toBase64Url(randomBytes(160)) } }));
        await (options.answerTimeoutMs === undefined ? done : Promise.race([done, new Promise((resolve) => setTimeout(resolve, options.answerTimeoutMs))]));
        this.pending.delete(clientMessageId);
        if (this.measuring) sends++;
      }
    };
    const loops = Array.from({ length: options.inflight }, loop);
    await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
    this.measuring = true;
    options.onMeasuring?.(true);
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
    this.measuring = false;
    options.onMeasuring?.(false);
    const elapsed = (performance.now() - started) / 1000;
    stop = true;
    await Promise.all(loops);
    for (const ws of options.sockets) ws.close();
    return { elapsed, sends };
  }
}
