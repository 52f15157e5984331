/**
 * Group commit of sends (PostgreSQL: packages/store/src/sendBatch.ts): a burst of concurrent sends from
 * several devices to several groups, with resends of one id inside the burst, a stale epoch and a
 * non-member among them, gets the same answers as one-by-one sends: every accepted send a distinct,
 * gap-free seq in its group, each resend the first one's answer, each refusal its own code, and every
 * recipient's mailbox all of it in seq order. On SQLite the same burst runs through its own group commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { bytes, groupOf, messageId, serverCases, type TestDevice, devicesOf } from './harness.ts';

describe.each(serverCases())('a burst of concurrent sends on $name', ({ name, start }) => {
  let server: RunningServer;
  let a: TestDevice, b: TestDevice, c: TestDevice, outsider: TestDevice;
  beforeAll(async () => {
    server = await start();
    [a, b, c, outsider] = await devicesOf(server, ['ann', 'ben', 'cat', 'oli'] as const);
  });
  afterAll(async () => server.close());

  it('answers each send as if it had run alone, with gap-free seqs per group', async () => {
    const g1 = await groupOf([a!, b!, c!]);
    const g2 = await groupOf([b!, c!]);
    const send = (d: TestDevice, groupId: string, clientMessageId = messageId(), epoch = 1) =>
      d.call<{ seq: number; code?: string }>('POST', `/v1/groups/${groupId}/messages`, { clientMessageId, epoch, ciphertext: bytes(50) });
    const batchedBefore = server.ctx.stores.delivery.batchedSends;
    const resent = messageId();
    const burst = [
      ...Array.from({ length: 20 }, (_, i) => ({ d: [a!, b!, c!][i % 3]!, g: g1 })),
      ...Array.from({ length: 10 }, (_, i) => ({ d: [b!, c!][i % 2]!, g: g2 })),
    ];
    const results = await Promise.all([
      ...burst.map(({ d, g }) => send(d, g)),
      send(a!, g1, resent),
      send(a!, g1, resent),
      send(outsider!, g1),
      send(b!, g2, messageId(), 7),
    ]);
    const [dupA, dupB, notMember, stale] = results.slice(burst.length);
    expect(results.slice(0, burst.length).map((r) => r.status)).toEqual(burst.map(() => 200));
    expect([dupA!.status, dupB!.status]).toEqual([200, 200]);
    expect(dupA!.body.seq).toBe(dupB!.body.seq);
    expect([notMember!.status, notMember!.body.code]).toEqual([403, 'not_member']);
    expect([stale!.status, stale!.body.code]).toEqual([409, 'stale_epoch']);
    if (name === 'postgres') expect(server.ctx.stores.delivery.batchedSends - batchedBefore).toBeGreaterThan(5);
    expect(server.ctx.stores.delivery.batchesRerun).toBe(0); // the batch statements themselves worked

    // Seqs: distinct and without gaps after the group's creation commit (seq 1) and Welcome (seq 2).
    const sent = [...burst.map(({ d, g }, i) => ({ d, g, r: results[i]! })), { d: a!, g: g1, r: dupA! }];
    const seqsOf = (g: string, except?: TestDevice) => [...new Set(sent.filter((x) => x.g === g && x.d !== except).map((x) => x.r.body.seq))].sort((x, y) => x - y);
    expect(seqsOf(g1)).toEqual(Array.from({ length: 21 }, (_, i) => i + 3));
    expect(seqsOf(g2)).toEqual(Array.from({ length: 10 }, (_, i) => i + 3));

    // Every recipient has every message of the groups it is in sent by others, once, in seq order.
    const mail = await c!.mailbox();
    const received = (g: string) => mail.filter((m) => m.kind === 'application' && m.groupId === g).map((m) => m.seq);
    expect(received(g1)).toEqual(seqsOf(g1, c));
    expect(received(g2)).toEqual(seqsOf(g2, c));
  });
});
