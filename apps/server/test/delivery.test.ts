/** The Delivery Service end to end over HTTP and WebSocket, on SQLite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { commitRequest } from './mls.ts';
import { bytes, commit, groupOf, messageId, randomGroupId, serverCases, Socket, TestAccount, type TestDevice } from './harness.ts';

describe.each(serverCases())('delivery on $name', ({ start }) => {
  let server: RunningServer;
  let n = 0;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => server.close());

  async function people(count: number): Promise<TestDevice[]> {
    return Promise.all(Array.from({ length: count }, async () => (await new TestAccount(server, `user${++n}`).register()).login()));
  }

  it('hands out one KeyPackage per device, each one-time package once, then the last resort', async () => {
    const [alice, bob] = await people(2);
    const laptop = await (await bob!.account.addDevice()).login();
    const kp = (tag: number) => bytes(99) + String(tag).padStart(4, 'A'); // canonical: 99 bytes end on a whole group
    expect((await bob!.call('POST', '/v1/keypackages', { keyPackages: [kp(1), kp(2)], lastResort: kp(9) })).status).toBe(200);
    expect((await laptop.call('POST', '/v1/keypackages', { keyPackages: [kp(3)] })).status).toBe(200);
    const claims = await Promise.all([1, 2, 3].map(() => alice!.call<{ keyPackages: Array<{ deviceId: string; keyPackage: string; lastResort: boolean }> }>('POST', '/v1/keypackages/claim', { username: bob!.account.username })));
    const phoneClaims = claims.map((c) => c.body.keyPackages.find((k) => k.deviceId === bob!.deviceId)!);
    expect(new Set(phoneClaims.filter((c) => !c.lastResort).map((c) => c.keyPackage)).size).toBe(2);
    expect(phoneClaims.filter((c) => c.lastResort)).toHaveLength(1);
    // The laptop had one package and no last resort: only one claim got something for it.
    expect(claims.filter((c) => c.body.keyPackages.some((k) => k.deviceId === laptop.deviceId))).toHaveLength(1);
    expect((await bob!.call('GET', '/v1/keypackages/count')).body).toEqual({ oneTime: 0, lastResort: true });
    expect((await alice!.call('POST', '/v1/keypackages/claim', { username: 'nobody-here' })).body).toMatchObject({ code: 'not_found' });
  });

  it('accepts exactly one of two concurrent commits for an epoch; the loser learns the current epoch', async () => {
    const [a, b, c] = await people(3);
    const groupId = await groupOf([a!, b!]);
    const commit = async (d: TestDevice) => d.call('POST', `/v1/groups/${groupId}/commits`, (await commitRequest(d, groupId, { add: [c!] })).body);
    const results = await Promise.all([commit(a!), commit(b!)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = results.find((r) => r.status === 409)!;
    expect(loser.body).toMatchObject({ code: 'stale_epoch', details: { currentEpoch: 2 } });
    expect((await a!.call('GET', `/v1/groups/${groupId}`)).body).toMatchObject({ epoch: 2 });
    // c was welcomed exactly once.
    expect((await c!.mailbox()).filter((m) => m.kind === 'welcome')).toHaveLength(1);
  });

  it('fans messages out to every other member device, in order, and deletes them on ack', async () => {
    const [a, b, c] = await people(3);
    const b2 = await (await b!.account.addDevice()).login();
    const groupId = await groupOf([a!, b!, b2, c!]);
    for (let i = 0; i < 10; i++) {
      const r = await a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: `m-${i}-${groupId.slice(0, 8)}`, epoch: 1, ciphertext: bytes(50) });
      expect(r.status).toBe(200);
    }
    for (const d of [b!, b2, c!]) {
      const mail = await d.mailbox();
      const app = mail.filter((m) => m.kind === 'application');
      expect(app).toHaveLength(10);
      expect(app.map((m) => m.seq)).toEqual([...app.map((m) => m.seq)].sort((x, y) => x - y));
      expect(app[0]!.sender).toEqual({ username: a!.account.username, deviceId: a!.deviceId });
      expect((await d.call('POST', '/v1/mailbox/ack', { ids: mail.map((m) => m.id) })).body).toEqual({ deleted: mail.length });
      expect(await d.mailbox()).toEqual([]);
    }
    expect((await a!.mailbox()).filter((m) => m.kind === 'application')).toEqual([]); // not echoed to the sender
  });

  it('makes sends idempotent by client message id', async () => {
    const [a, b] = await people(2);
    const groupId = await groupOf([a!, b!]);
    const body = { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(20) };
    const first = await a!.call('POST', `/v1/groups/${groupId}/messages`, body);
    const second = await a!.call('POST', `/v1/groups/${groupId}/messages`, body);
    expect(second.body).toEqual(first.body);
    expect((await b!.mailbox()).filter((m) => m.kind === 'application')).toHaveLength(1);
  });

  it('pushes over WebSocket in order, including the backlog, and deletes on ack frames', async () => {
    const [a, b] = await people(2);
    const groupId = await groupOf([a!, b!]);
    await a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) });
    const socket = await Socket.open(server.url, b!.token);
    expect(socket.frames[0]).toEqual({ type: 'ready' });
    await Promise.all(Array.from({ length: 20 }, () => a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) })));
    await socket.until(() => socket.items.length >= 22); // welcome + 21 messages
    const seqs = socket.items.map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(socket.items.map((i) => i.id)).size).toBe(socket.items.length);
    socket.ack(socket.items.map((i) => i.id));
    for (let i = 0; i < 50 && (await b!.mailbox()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await b!.mailbox()).toEqual([]);
    socket.close();
  });

  it('accepts sends over the socket, answering each, and keeps the socket open on a refused one', async () => {
    const [a, b] = await people(2);
    const groupId = await groupOf([a!, b!]);
    const sender = await Socket.open(server.url, a!.token);
    const receiver = await Socket.open(server.url, b!.token);
    const good = { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) };
    sender.ws.send(JSON.stringify({ type: 'send', groupId, message: good }));
    const stale = { clientMessageId: messageId(), epoch: 0, ciphertext: bytes(10) };
    sender.ws.send(JSON.stringify({ type: 'send', groupId, message: stale }));
    await sender.until(() => sender.frames.length >= 3);
    expect(sender.frames[1]).toMatchObject({ type: 'sent', clientMessageId: good.clientMessageId, result: { seq: expect.any(Number) } });
    expect(sender.frames[2]).toMatchObject({ type: 'error', code: 'stale_epoch', clientMessageId: stale.clientMessageId });
    await receiver.until(() => receiver.items.some((i) => i.clientMessageId === good.clientMessageId));
    expect(sender.ws.readyState).toBe(sender.ws.OPEN);
    // A large message goes over the socket as over HTTP (frames may be as large as a request body).
    const large = { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(48 * 1024) + bytes(48 * 1024) };
    sender.ws.send(JSON.stringify({ type: 'send', groupId, message: large }));
    await sender.until(() => sender.frames.some((f) => f.type === 'sent' && f.clientMessageId === large.clientMessageId));
    sender.ws.send(Buffer.from('binary'), { binary: true });
    await sender.until(() => sender.ws.readyState === sender.ws.CLOSED);
    expect(sender.frames.at(-1)).toMatchObject({ type: 'error', code: 'bad_request' });
    sender.close();
    receiver.close();
  });

  it('pushes commits and the messages right after them in group order', async () => {
    const [a, b, c] = await people(3);
    const groupId = await groupOf([a!, b!, c!]);
    const socket = await Socket.open(server.url, c!.token);
    let epoch = 1;
    for (let i = 0; i < 15; i++) {
      expect((await commit(a!, groupId)).status).toBe(200);
      epoch++;
      await Promise.all([
        b!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch, ciphertext: bytes(10) }),
        a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch, ciphertext: bytes(10) }),
      ]);
    }
    await socket.until(() => socket.items.length >= 1 + 15 * 3);
    const seqs = socket.items.map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    socket.close();
  });

  it('refuses sockets without a valid auth frame and malformed frames', async () => {
    const bad = await Socket.open(server.url, 'bogus-token');
    await bad.until(() => bad.ws.readyState === bad.ws.CLOSED);
    expect(bad.frames[0]).toMatchObject({ type: 'error', code: 'unauthenticated' });
    const [a] = await people(1);
    const s = await Socket.open(server.url, a!.token);
    s.ws.send('not json');
    await s.until(() => s.ws.readyState === s.ws.CLOSED);
    expect(s.frames.at(-1)).toMatchObject({ type: 'error', code: 'invalid_json' });
  });

  it('refuses unknown groups, non-members, stale epochs and other devices’ mail', async () => {
    const [a, b, outsider] = await people(3);
    const groupId = await groupOf([a!, b!]);
    const unknown = await a!.call('POST', `/v1/groups/${randomGroupId()}/messages`, { clientMessageId: messageId(), epoch: 0, ciphertext: bytes(10) });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await outsider!.call('GET', `/v1/groups/${groupId}`)).toMatchObject({ status: 403, body: { code: 'not_member' } });
    const intrude = await outsider!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) });
    expect(intrude).toMatchObject({ status: 403, body: { code: 'not_member' } });
    const stale = await a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 0, ciphertext: bytes(10) });
    expect(stale).toMatchObject({ status: 409, body: { code: 'stale_epoch', details: { currentEpoch: 1 } } });
    // Acknowledging another device's mail deletes nothing.
    const bMail = await b!.mailbox();
    expect((await outsider!.call('POST', '/v1/mailbox/ack', { ids: bMail.map((m) => m.id) })).body).toEqual({ deleted: 0 });
    expect(await b!.mailbox()).toHaveLength(bMail.length);
    const { body: adding } = await commitRequest(a!, groupId, { add: [outsider!] });
    const noWelcome = await a!.call('POST', `/v1/groups/${groupId}/commits`, { ...adding, welcome: undefined });
    expect(noWelcome).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    const badGroupId = await a!.call('GET', '/v1/groups/short');
    expect(badGroupId).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('removes devices from the group by commit: the removed device gets that commit and nothing after', async () => {
    const [a, b, c] = await people(3);
    const groupId = await groupOf([a!, b!, c!]);
    expect((await commit(a!, groupId, { remove: [c!] })).status).toBe(200);
    await a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 2, ciphertext: bytes(10) });
    const cMail = await c!.mailbox();
    expect(cMail.map((m) => m.kind)).toEqual(['welcome', 'commit']);
    expect((await b!.mailbox()).map((m) => m.kind)).toEqual(['welcome', 'commit', 'application']);
    const late = await c!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 2, ciphertext: bytes(10) });
    expect(late).toMatchObject({ status: 403, body: { code: 'not_member' } });
  });
});
