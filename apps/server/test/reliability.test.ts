/**
 * Issue 15's findings, each mounted as the attacker did it, on SQLite and PostgreSQL: one member's large
 * messages cannot make a mailbox read or a push unbounded; sockets per device are capped and slow readers
 * dropped; sockets close when their session ends; one byte string has one base64url name; text no store
 * can hold is refused alike on both stores; errors outside the app's handler keep the `{ code, message }` shape.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { deviceRevocationBytes, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../src/app.ts';
import { DEFAULT_PUSH_LIMITS } from '../src/push.ts';
import { commitRequest, createMlsGroup } from './mls.ts';
import { call, groupOf, messageId, serverCases, Socket, TestAccount, type TestDevice } from './harness.ts';

const KB = 1024;
const big = (n: number) => toBase64Url(new Uint8Array(randomBytes(n)));

/** Raw HTTP, for requests fetch() will not send (huge headers, a body shorter than its Content-Length). */
function rawHttp(url: string, request: string, endAfterWrite = true): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(request);
      if (endAfterWrite) socket.end();
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(head!.split(' ')[1]), body: JSON.parse(rest.join('\r\n\r\n')) });
    });
  });
}

const closed = async (socket: Socket): Promise<number | undefined> => {
  await socket.until(() => socket.closeCode !== undefined).catch(() => undefined);
  return socket.closeCode;
};

describe.each(serverCases())('reliability on $name', ({ name, start }) => {
  let server: RunningServer;
  let n = 0;
  beforeAll(async () => {
    server = await start({ mailboxReadBytes: 1024 * KB, push: { ...DEFAULT_PUSH_LIMITS, maxSockets: 8, windowBytes: 1024 * KB, maxBuffered: 1024 * KB }, sessionTtlMs: 60 * 60 * 1000 });
  });
  afterAll(async () => server.close());
  const person = async () => (await new TestAccount(server, `rel${name}${++n}`).register()).login();

  async function flood(from: TestDevice, groupId: string, count: number, size: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const clientMessageId = messageId();
      const r = await from.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId, epoch: 1, ciphertext: big(size) });
      expect(r.status).toBe(200);
      ids.push(clientMessageId);
    }
    return ids;
  }

  it('bounds a mailbox read by bytes, not only by count, and still drains everything (finding 1)', async () => {
    const [mallory, victim] = [await person(), await person()];
    const groupId = await groupOf([mallory, victim]);
    const sent = await flood(mallory, groupId, 8, 300 * KB);
    const received: string[] = [];
    for (let reads = 0; ; reads++) {
      const page = await victim.mailbox(); // the SDK's page size (limit=1000)
      if (page.length === 0) break;
      const bytes = page.reduce((n, m) => n + (m.payload.length * 3) / 4, 0);
      // At most the read budget plus the one item that crosses it.
      expect(bytes).toBeLessThanOrEqual(1024 * KB + 300 * KB + 16);
      received.push(...page.filter((m) => m.kind === 'application').map((m) => m.clientMessageId));
      await victim.call('POST', '/v1/mailbox/ack', { ids: page.map((m) => m.id) });
      expect(reads).toBeLessThan(10);
    }
    expect(received).toEqual(sent);
  });

  it('pushes a large backlog in bounded frames within a byte window, the rest after acknowledgements (finding 1)', async () => {
    const [mallory, victim] = [await person(), await person()];
    const groupId = await groupOf([mallory, victim]);
    const sent = await flood(mallory, groupId, 8, 300 * KB);
    const socket = await Socket.open(server.url, victim.token);
    await socket.until(() => socket.items.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing acknowledged yet: the window (1 MB here) holds at most four 300 KB items, not the whole backlog.
    expect(socket.items.length).toBeLessThanOrEqual(5);
    let acked = 0;
    while (socket.items.length < 9) {
      const ids = socket.items.slice(acked).map((m) => m.id);
      acked = socket.items.length;
      socket.ack(ids);
      const before = socket.items.length;
      await socket.until(() => socket.items.length > before);
    }
    expect(socket.items.filter((m) => m.kind === 'application').map((m) => m.clientMessageId)).toEqual(sent);
    socket.close();
  });

  it('caps the sockets of one device: the oldest close for new ones (finding 2)', async () => {
    const device = await person();
    const sockets: Socket[] = [];
    for (let i = 0; i < 11; i++) sockets.push(await Socket.open(server.url, device.token));
    const codes = await Promise.all(sockets.slice(0, 3).map((s) => closed(s)));
    expect(codes).toEqual([4008, 4008, 4008]);
    expect(sockets.slice(3).every((s) => s.ws.readyState === WebSocket.OPEN)).toBe(true);
    for (const s of sockets) s.close();
  });

  it('closes a socket when its device is revoked, and refuses its sends from then on (finding 5)', async () => {
    const account = new TestAccount(server, `rel${name}${++n}`);
    await (await account.register()).login();
    const laptop = await (await account.addDevice()).login();
    const socket = await Socket.open(server.url, laptop.token);
    expect(socket.frames[0]).toEqual({ type: 'ready' });
    const revokedAt = Date.now();
    const accountSignature = toBase64Url(ed25519.sign(deviceRevocationBytes({ username: account.username, deviceId: laptop.deviceId, revokedAt }), account.identitySecret));
    expect((await call(server.url, 'POST', `/v1/accounts/${account.username}/devices/${laptop.deviceId}/revoke`, { revokedAt, accountSignature })).status).toBe(200);
    expect(await closed(socket)).toBe(4001);
  });

  it('drops a reader that acknowledges without reading, and forgets its connection (finding 2)', async () => {
    const [mallory, victim] = [await person(), await person()];
    const groupId = await groupOf([mallory, victim]);
    await flood(mallory, groupId, 24, 500 * KB);
    const first = (await victim.call<{ items: Array<{ id: number }> }>('GET', '/v1/mailbox?limit=1')).body.items[0]!.id;
    // Mailbox ids are sequential: easy to guess. Acknowledging what was (probably) pushed frees the window.
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/v1/ws');
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'auth', token: victim.token }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never reads again
    // …but acknowledges every id it can guess, which frees the window again and again.
    for (let i = 0; i < 24 && ws.readyState === WebSocket.OPEN; i++) {
      ws.send(JSON.stringify({ type: 'ack', ids: [first + 2 * i, first + 2 * i + 1] }));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const before = server.ctx.push.connectedDevices;
    const metrics = await (await fetch(server.url + '/metrics')).text();
    expect(metrics).toMatch(/doublelock_websocket_slow_readers_total 1/);
    expect(before).toBe(0);
    ws.terminate();
  });

  it('refuses non-canonical base64url: one group id cannot be created again under an alias (finding 8)', async () => {
    const device = await person();
    const groupId = toBase64Url(new Uint8Array(randomBytes(15))) + 'AQ'; // 17 bytes: the last character carries 4 unused bits
    expect((await device.call('POST', '/v1/groups', { groupId })).status).toBe(201);
    const alias = groupId.slice(0, -1) + 'R'; // 'Q' = 010000, 'R' = 010001: same bytes, a set unused bit
    const r = await device.call('POST', '/v1/groups', { groupId: alias });
    expect(r).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect((await device.call('GET', `/v1/groups/${alias}`)).status).toBe(400);
  });

  it('refuses U+0000 and lone surrogates in any text field with a 400, the same on both stores (finding 4)', async () => {
    const account = new TestAccount(server, `rel${name}${++n}`);
    const device = await (await account.register()).login();
    // A device name (free text stored as TEXT), a report reason, a path parameter, a query.
    const certificate = account.certificate((await import('./harness.ts')).newDeviceKeys(), 'lap\u0000top');
    const cases = [
      await call(server.url, 'POST', `/v1/accounts/${account.username}/devices`, { device: certificate }),
      await device.call('POST', '/v1/reports', { groupId: 'AAAAAAAAAAAAAAAAAAAAAA', seq: 1, reason: 'spam\u0000' }),
      await device.call('GET', '/v1/accounts/ab%00c'),
      await device.call('GET', '/v1/mailbox?limit=1&x=%00'),
      await device.call('POST', '/v1/reports', { groupId: 'AAAAAAAAAAAAAAAAAAAAAA', seq: 1, reason: 'lone \uD800 surrogate' }),
      await device.call('POST', '/v1/groups', { groupId: 'AAAAAAAAAAAAAAAAAAAAAA', ['\u0000']: 1 }),
    ];
    for (const r of cases) expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code: 'validation_failed' });
  });

  it('keeps { code, message } for 431, malformed requests, a short body, and /v1/ws without Upgrade (finding 10)', async () => {
    const huge = await rawHttp(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * KB)}\r\n\r\n`);
    expect(huge).toEqual({ status: 431, body: { code: 'headers_too_large', message: expect.any(String) } });
    const malformed = await rawHttp(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n`);
    expect(malformed).toEqual({ status: 400, body: { code: 'bad_request', message: expect.any(String) } });
    const short = await rawHttp(server.url, `POST /v1/auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
    expect(short.status).toBeGreaterThanOrEqual(400);
    expect(short.status).toBeLessThan(500);
    expect(short.body).toEqual({ code: expect.any(String), message: expect.any(String) });
    const plain = await call(server.url, 'GET', '/v1/ws');
    expect(plain).toEqual({ status: 426, body: { code: 'upgrade_required', message: expect.any(String) } });
  });

  it('describes /v1/ws and the text/plain cosignature route in the OpenAPI document (finding 10)', async () => {
    type Doc = { paths: Record<string, Record<string, { description?: string; requestBody?: { content: Record<string, unknown> } }>> };
    const doc = (await call<Doc>(server.url, 'GET', '/v1/openapi.json')).body;
    expect(doc.paths['/v1/ws']?.get?.description).toMatch(/Upgrade to a WebSocket/);
    expect(Object.keys(doc.paths['/v1/log/cosignatures']!.post!.requestBody!.content)).toEqual(['text/plain']);
  });
});

describe.each(serverCases().filter((c) => c.name === 'sqlite'))('session expiry on $name', ({ start }) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ sessionTtlMs: 1500 });
  });
  afterAll(async () => server.close());

  it('writes SQLite with fsync on: synchronous=FULL on the connection the server writes through (WAL)', async () => {
    // An acknowledged send must survive power loss, not only SIGKILL: OFF or NORMAL would pass a kill test.
    const raw = (server.db as unknown as { raw: { pragma(sql: string, options: { simple: true }): unknown } }).raw;
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('synchronous', { simple: true })).toBe(2); // 0 OFF, 1 NORMAL, 2 FULL
  });

  it('closes a socket when its session expires: no send is accepted after the token expired (finding 5)', async () => {
    const [a, b] = [await (await new TestAccount(server, 'expa').register()).login(), await (await new TestAccount(server, 'expb').register()).login()];
    const groupId = await groupOf([a, b]);
    const socket = await Socket.open(server.url, a.token);
    expect(socket.frames[0]).toEqual({ type: 'ready' });
    const code = await closed(socket);
    expect(code).toBe(4001);
    expect(socket.frames.at(-1)).toMatchObject({ type: 'error', code: 'token_expired' });
    expect((await a.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: big(10) })).body).toMatchObject({ code: 'token_expired' });
  });

});

describe.each(serverCases())('quotas on $name (finding 6)', ({ name, start }) => {
  let server: RunningServer;
  let n = 0;
  beforeAll(async () => {
    server = await start({
      sweepIntervalMs: 200,
      quotas: { sendsPerMinute: 6, sendBytesPerMinute: 2048 * KB, groupsPerHour: 3, addedPerHour: 2, claimsPerHour: 100, claimsPerAccountPerHour: 2, keyPackagesStored: 3, mailboxBytes: 700 * KB },
    });
  });
  afterAll(async () => server.close());
  const person = async () => (await new TestAccount(server, `quota${name}${++n}`).register()).login();
  const exceeded = { status: 429, body: { code: 'quota_exceeded' } };

  it('limits sends per device over HTTP and the socket, and bytes sent', async () => {
    const [a, b] = [await person(), await person()];
    const groupId = await groupOf([a, b]); // the commit counts as one send
    for (let i = 0; i < 5; i++) expect((await a.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: big(10) })).status).toBe(200);
    expect(await a.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: big(10) })).toMatchObject(exceeded);
    const socket = await Socket.open(server.url, a.token);
    const clientMessageId = messageId();
    socket.ws.send(JSON.stringify({ type: 'send', groupId, message: { clientMessageId, epoch: 1, ciphertext: big(10) } }));
    await socket.until(() => socket.frames.some((f) => f.type === 'error'));
    expect(socket.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'quota_exceeded', clientMessageId });
    socket.close();
    // Bytes: b may send 6 messages a minute, but not more than 2 MB (encoded) of them.
    expect((await b.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: big(800 * KB) })).status).toBe(200);
    expect(await b.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: big(800 * KB) })).toMatchObject(exceeded);
  });

  it('limits groups created, and how often strangers may add one device to groups', async () => {
    const [mallory, victim, other] = [await person(), await person(), await person()];
    const groups = [];
    for (let i = 0; i < 3; i++) {
      const groupId = `${toBase64Url(new Uint8Array(randomBytes(15)))}AA`;
      expect((await mallory.call('POST', '/v1/groups', { groupId })).status).toBe(201);
      await createMlsGroup(mallory, groupId);
      groups.push(groupId);
    }
    expect(await mallory.call('POST', '/v1/groups', { groupId: `${toBase64Url(new Uint8Array(randomBytes(15)))}AA` })).toMatchObject(exceeded);
    const add = async (groupId: string) => mallory.call('POST', `/v1/groups/${groupId}/commits`, (await commitRequest(mallory, groupId, { add: [victim] })).body);
    expect((await add(groups[0]!)).status).toBe(200);
    expect((await add(groups[1]!)).status).toBe(200);
    expect(await add(groups[2]!)).toMatchObject(exceeded);
    expect((await mallory.call('POST', `/v1/groups/${groups[2]}/commits`, (await commitRequest(mallory, groups[2]!, { add: [other] })).body)).status).toBe(200);
  });

  it('limits KeyPackages stored per device, and claims of one account by one claimer', async () => {
    const [alice, bob] = [await person(), await person()];
    const kp = () => big(99);
    expect((await bob.call('POST', '/v1/keypackages', { keyPackages: [kp(), kp(), kp()] })).status).toBe(200);
    expect(await bob.call('POST', '/v1/keypackages', { keyPackages: [kp()] })).toMatchObject(exceeded);
    const claim = () => alice.call<{ keyPackages: unknown[] }>('POST', '/v1/keypackages/claim', { username: bob.account.username });
    expect((await claim()).status).toBe(200);
    expect((await claim()).status).toBe(200);
    expect(await claim()).toMatchObject(exceeded); // alice cannot drain bob's one-time packages
    expect((await bob.call('GET', '/v1/keypackages/count')).body).toMatchObject({ oneTime: 1 });
  });

  it("bounds the mailbox of a device that never connects by bytes, keeping its commits and Welcomes", async () => {
    const [a, offline] = [await person(), await person()];
    const groupId = await groupOf([a, offline]);
    for (let i = 0; i < 4; i++) expect((await a.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: big(250 * KB) })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a few sweeps
    const mail = await offline.mailbox();
    const bytes = mail.reduce((sum, m) => sum + (m.payload.length * 3) / 4, 0);
    expect(bytes).toBeLessThanOrEqual(700 * KB);
    expect(mail[0]!.kind).toBe('welcome');
    expect(mail.filter((m) => m.kind === 'application')).toHaveLength(2); // the two newest
  });
});
