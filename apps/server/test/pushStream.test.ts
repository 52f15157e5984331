/**
 * A pushed item larger than the stream threshold leaves as one WebSocket message in many fragments
 * (apps/server/src/frameWriter.ts), never encoded into one string: a raw client that reads the frames
 * off the wire sees a 1 MB item (the largest a message may be) arrive in ≥ 20 fragments of at most
 * ~64 KiB, both from the backlog read at connect and from a direct push, and the reassembled message is
 * exactly the item. A small message after it still arrives whole, in its own message, in order.
 * A peer that stops reading in the middle of such a message is dropped once a fragment has waited
 * push.stallMs for the network (its unsent bytes stay under one fragment, so the buffered-bytes limit
 * alone would keep it, and the items, until TCP gives up).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { fromBase64Url, toBase64Url, type MailboxItem, type ServerFrame } from '@doublelock/protocol';
import { randomBytes } from 'node:crypto';
import { connect, type Socket as NetSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { DEFAULT_PUSH_LIMITS } from '../src/push.ts';
import { bytes, groupOf, messageId, serverCases, type TestDevice, devicesOf, ackAll } from './harness.ts';

/** A WebSocket client that keeps each message's fragments as they came (RFC 6455 §5.2 framing by hand). */
class RawWebSocket {
  readonly messages: Array<{ fragments: number[]; text: string }> = [];
  #buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];

  closed = false;

  private constructor(private readonly socket: NetSocket) {
    socket.on('close', () => (this.closed = true));
  }

  /** Stops reading: the kernel buffers fill, then the server's writes wait. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  static open(url: string): Promise<RawWebSocket> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(`GET /v1/ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      const client = new RawWebSocket(socket);
      let head = Buffer.alloc(0);
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        if (!head.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return reject(new Error(head.toString()));
        socket.on('data', (data: Buffer) => client.#read(data));
        client.#read(head.subarray(end + 4));
        resolve(client);
      };
      socket.on('data', onHead);
      socket.on('error', reject);
    });
  }

  #read(data: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, data]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const payload = b.subarray(offset, offset + length);
      this.#buffer = b.subarray(offset + length);
      if (opcode >= 8) continue; // control frames (close, ping) are not messages
      this.#fragments.push(Buffer.from(payload));
      if (fin) {
        this.messages.push({ fragments: this.#fragments.map((f) => f.length), text: Buffer.concat(this.#fragments).toString('utf8') });
        this.#fragments = [];
      }
    }
  }

  /** A client's frame is masked (§5.3). */
  send(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  frames(): ServerFrame[] {
    return this.messages.map((m) => JSON.parse(m.text) as ServerFrame);
  }

  async until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting on the raw socket');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const MB = 1024 * 1024;
const digest = (b: Uint8Array) => bytesToHex(sha256(b));

describe.each(serverCases())('streamed push of a large item on $name', ({ start }) => {
  let server: RunningServer;
  let alice: TestDevice, bob: TestDevice;
  beforeAll(async () => {
    server = await start();
    [alice, bob] = await devicesOf(server, ['alice', 'bob'] as const);
  });
  afterAll(async () => server.close());

  it('sends a 1 MB item as one message in many small fragments, from the backlog and directly', async () => {
    const groupId = await groupOf([alice, bob]);
    await ackAll(bob);
    const send = async (payload: Uint8Array) => {
      const clientMessageId = messageId();
      expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId, epoch: 1, ciphertext: toBase64Url(payload) })).status).toBe(200);
      return clientMessageId;
    };
    const backlog = randomBytes(MB - 7); // not a multiple of 3: the last slice's base64url has no padding either
    const backlogId = await send(backlog);

    const ws = await RawWebSocket.open(server.url);
    ws.send(JSON.stringify({ type: 'auth', token: bob.token }));
    const items = () => ws.frames().flatMap((f) => (f.type === 'items' ? f.items : []));
    await ws.until(() => items().length >= 1);
    const direct = randomBytes(MB);
    const directId = await send(direct);
    const smallId = await send(fromBase64Url(bytes(40)));
    await ws.until(() => items().length >= 3);

    const got = items();
    expect(got.map((i) => i.clientMessageId)).toEqual([backlogId, directId, smallId]);
    expect(digest(fromBase64Url(got[0]!.payload))).toBe(digest(backlog));
    expect(digest(fromBase64Url(got[1]!.payload))).toBe(digest(direct));
    // Each large item came alone, in fragments of at most 64 KiB of base64url (never the ~1.4 MB whole).
    const carrying = (id: string) => ws.messages.find((m) => (JSON.parse(m.text) as { items?: MailboxItem[] }).items?.some((i) => i.clientMessageId === id))!;
    for (const id of [backlogId, directId]) {
      const message = carrying(id);
      expect((JSON.parse(message.text) as { items: MailboxItem[] }).items).toHaveLength(1);
      expect(message.fragments.length).toBeGreaterThanOrEqual(20);
      expect(Math.max(...message.fragments)).toBeLessThanOrEqual(64 * 1024 + 512);
    }
    expect(carrying(smallId).fragments).toHaveLength(1);
    ws.close();
  });
});

describe.each(serverCases())('a peer that stops reading in the middle of a streamed item, on $name', ({ start }) => {
  let server: RunningServer;
  let alice: TestDevice, bob: TestDevice;
  const stallMs = 1000;
  beforeAll(async () => {
    // A window wide enough that the items in flight (~11 MB of frames) exceed what the kernel buffers on loopback.
    server = await start({ push: { ...DEFAULT_PUSH_LIMITS, windowBytes: 32 * MB, maxBuffered: 64 * MB, stallMs }, mailboxReadBytes: 32 * MB });
    [alice, bob] = await devicesOf(server, ['alice', 'bob'] as const);
  });
  afterAll(async () => server.close());

  it('is dropped once a fragment has waited stallMs, and its socket and items are let go', async () => {
    const groupId = await groupOf([alice, bob]);
    await ackAll(bob);
    const ws = await RawWebSocket.open(server.url);
    ws.send(JSON.stringify({ type: 'auth', token: bob.token }));
    await ws.until(() => ws.frames().some((f) => f.type === 'ready'));
    expect(server.ctx.push.connectedDevices).toBe(1);
    ws.pause();
    for (let i = 0; i < 8; i++) {
      const status = (await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: toBase64Url(randomBytes(MB)) })).status;
      expect(status).toBe(200);
    }
    // The server's writes now wait on a full network buffer: within a few stall periods the socket goes.
    const deadline = Date.now() + 20 * stallMs;
    while (server.ctx.push.connectedDevices > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.ctx.push.connectedDevices).toBe(0);
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/doublelock_websocket_closed_total\{reason="stalled"\} 1/);
    // Reading again, the peer gets what was already on the wire, then the end of the connection, not the 8 items.
    ws.resume();
    await ws.until(() => ws.closed);
    expect(ws.frames().flatMap((f) => (f.type === 'items' ? f.items : [])).length).toBeLessThan(8);
    // Nothing was lost: the mail waits in the mailbox for the next connection.
    expect((await bob.call<{ items: MailboxItem[] }>('GET', '/v1/mailbox?limit=8')).body.items.length).toBeGreaterThanOrEqual(2);
  });

  it('over HTTP too: a streamed mailbox page whose reader stops is cut after stallMs', async () => {
    const groupId = await groupOf([alice, bob]);
    await ackAll(bob);
    for (let i = 0; i < 8; i++) {
      const status = (await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: toBase64Url(randomBytes(MB)) })).status;
      expect(status).toBe(200);
    }
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    let received = 0;
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /v1/mailbox?limit=8 HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${bob.token}\r\n\r\n`);
    socket.pause(); // never read: the page (~11 MB of JSON) does not fit in the network buffers
    await new Promise((resolve) => setTimeout(resolve, 4 * stallMs));
    socket.resume();
    const deadline = Date.now() + 10 * stallMs;
    while (!closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(true);
    expect(received).toBeLessThan(8 * MB * 1.3); // cut short: not the whole page
    socket.destroy();
  });
});
