import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { bytes, groupOf, messageId, TestAccount } from './harness.ts';

let clock = Date.now();
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ mailboxTtlMs: 60_000, sweepIntervalMs: 50, sessionTtlMs: 10 * 60_000 }, { now: () => clock });
});
afterAll(async () => server.close());

describe('expiry', () => {
  it('drops undelivered mail after the configured time', async () => {
    const [a, b] = await Promise.all(['xavi', 'yuri'].map(async (u) => (await new TestAccount(server, u).register()).login()));
    const groupId = await groupOf([a!, b!]);
    await a!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) });
    expect(await b!.mailbox()).toHaveLength(2);
    clock += 61_000;
    for (let i = 0; i < 100 && (await b!.mailbox()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await b!.mailbox()).toEqual([]);
  });
});
