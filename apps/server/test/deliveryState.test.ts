/**
 * Delivery state (POST /v1/groups/:id/delivery): a sender learns, for each message it sent, how many
 * recipient devices have not fetched and acknowledged it yet — 0 once every device has. Another device,
 * even one in the same group or of the same account, is told nothing about it; bad input is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { bytes, groupOf, serverCases, TestAccount, type TestDevice } from './harness.ts';

describe.each(serverCases())('delivery state on $name', ({ start }) => {
  let server: RunningServer;
  let n = 0;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => server.close());
  const person = async () => (await new TestAccount(server, `dstate${++n}`).register()).login();
  const state = (d: TestDevice, groupId: string, seqs: number[]) => d.call<{ delivery: Array<{ seq: number; pending: number }> }>('POST', `/v1/groups/${groupId}/delivery`, { seqs });

  it('counts the devices still to fetch each message, down to 0 when all have acknowledged it', async () => {
    const [alice, bob, carol] = [await person(), await person(), await person()];
    const alice2 = await (await alice.account.addDevice()).login();
    const groupId = await groupOf([alice, alice2, bob, carol]);
    const seqs: number[] = [];
    for (let i = 0; i < 2; i++) seqs.push((await alice.call<{ seq: number }>('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: `d${i}-${groupId.slice(0, 10)}`, epoch: 1, ciphertext: bytes(40) })).body.seq);
    expect((await state(alice, groupId, seqs)).body.delivery).toEqual(seqs.map((seq) => ({ seq, pending: 3 })));

    const ack = async (d: TestDevice, seq: number) => {
      const item = (await d.mailbox()).find((m) => m.seq === seq)!;
      expect((await d.call('POST', '/v1/mailbox/ack', { ids: [item.id] })).status).toBe(200);
    };
    await ack(bob, seqs[0]!);
    await ack(alice2, seqs[0]!);
    expect((await state(alice, groupId, seqs)).body.delivery).toEqual([{ seq: seqs[0], pending: 1 }, { seq: seqs[1], pending: 3 }]);
    await ack(carol, seqs[0]!);
    expect((await state(alice, groupId, [seqs[0]!])).body.delivery).toEqual([{ seq: seqs[0], pending: 0 }]);

    // Nobody else learns when Alice's messages were fetched: not Bob, not Alice's other device.
    expect((await state(bob, groupId, seqs)).body.delivery).toEqual([]);
    expect((await state(alice2, groupId, seqs)).body.delivery).toEqual([]);
    // Nor does a seq of another group say anything.
    const other = await groupOf([alice, bob]);
    expect((await state(alice, other, seqs)).body.delivery).toEqual([]);
  });

  it('refuses bad input and requests without a session', async () => {
    const alice = await person();
    const groupId = await groupOf([alice]);
    for (const body of [{}, { seqs: [] }, { seqs: [0] }, { seqs: Array.from({ length: 201 }, (_, i) => i + 1) }, { seqs: ['1'] }, { seqs: [1], extra: true }]) {
      expect((await alice.call('POST', `/v1/groups/${groupId}/delivery`, body)).status).toBe(400);
    }
    expect((await alice.call('POST', '/v1/groups/not-a-group-id!/delivery', { seqs: [1] })).status).toBe(400);
    expect((await fetch(`${server.url}/v1/groups/${groupId}/delivery`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seqs: [1] }) })).status).toBe(401);
  });
});
