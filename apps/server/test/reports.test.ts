/** Message franking: a recipient proves who sent exactly this text; forgeries are refused. */
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { MailboxItem } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { frankedReport, groupOf, sendFranked as send, TestAccount, type TestDevice, devicesOf } from './harness.ts';

let server: RunningServer;
let alice: TestDevice, bob: TestDevice, carol: TestDevice;
let groupId: string;
beforeAll(async () => {
  server = await startTestServer();
  [alice, bob, carol] = await devicesOf(server, ['alice', 'bob', 'carol'] as const);
  groupId = await groupOf([alice, bob, carol]);
});
afterAll(async () => server.close());

const sendFranked = (from: TestDevice, text: string) => send(from, groupId, text);

async function received(d: TestDevice, clientMessageId: string): Promise<MailboxItem> {
  const item = (await d.mailbox()).find((m) => m.clientMessageId === clientMessageId);
  if (!item?.franking) throw new Error('franked message not delivered');
  return item;
}

const report = (item: MailboxItem, payload: Uint8Array, frankingKey: Uint8Array, overrides: Record<string, unknown> = {}) => frankedReport(groupId, item, payload, frankingKey, overrides);

describe('franked reports', () => {
  it('verifies a genuine report once', async () => {
    const sent = await sendFranked(alice, 'meet me at the usual place');
    const item = await received(bob, sent.clientMessageId);
    const r = await bob.call('POST', '/v1/reports', report(item, sent.payload, sent.frankingKey));
    expect(r).toMatchObject({ status: 200, body: { verified: true } });
    expect((await bob.call('POST', '/v1/reports', report(item, sent.payload, sent.frankingKey))).body).toMatchObject({ code: 'conflict' });
  });

  it('refuses changed text, another sender, another time, a borrowed tag, and a wrong key', async () => {
    const sent = await sendFranked(alice, 'original words');
    const item = await received(bob, sent.clientMessageId);
    const other = await sendFranked(carol, 'something else');
    const otherItem = await received(bob, other.clientMessageId);
    const attempts = [
      report(item, utf8ToBytes('words she never wrote'), sent.frankingKey),
      report(item, sent.payload, sent.frankingKey, { sender: { username: 'carol', deviceId: carol.deviceId } }),
      report(item, sent.payload, sent.frankingKey, { serverTime: item.serverTime + 1 }),
      report(item, sent.payload, sent.frankingKey, { tag: otherItem.franking!.tag }),
      report(item, sent.payload, randomBytes(32)),
    ];
    for (const attempt of attempts) {
      const r = await bob.call('POST', '/v1/reports', attempt);
      expect(r).toMatchObject({ status: 422, body: { code: 'report_rejected' } });
    }
  });

  it('accepts reports only from members of the group', async () => {
    const sent = await sendFranked(alice, 'members only');
    const item = await received(bob, sent.clientMessageId);
    const outsider = await (await new TestAccount(server, 'dave').register()).login();
    expect((await outsider.call('POST', '/v1/reports', report(item, sent.payload, sent.frankingKey))).body).toMatchObject({ code: 'not_member' });
  });
});
