/** Delivery semantics against the real server: offline catch-up, commit races (409), late and out-of-order messages, duplicates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, server, uniqueName, type TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

describe('delivery', () => {
  it('offline catch-up: a device that missed messages and commits applies them all in order', async () => {
    const [alice, bob, carol, dave, erin] = (await Promise.all(['al', 'bo', 'ca', 'da', 'er'].map((p) => register(srv.url, uniqueName(p))))) as [TestDevice, TestDevice, TestDevice, TestDevice, TestDevice];
    const groupId = await alice.messenger.createGroup('catch-up', [bob, carol, dave].map((d) => d.messenger.username));
    await Promise.all([bob, carol, dave].map((d) => d.messenger.sync()));
    // carol goes offline
    await alice.messenger.sendText(groupId, 'one');
    await bob.messenger.sendText(groupId, 'two');
    await alice.messenger.addMembers(groupId, [erin.messenger.username]);
    await erin.messenger.sync();
    await erin.messenger.sendText(groupId, 'three (erin)');
    await bob.messenger.sync();
    await bob.messenger.removeMembers(groupId, [dave.messenger.username]);
    await alice.messenger.sync();
    await alice.messenger.sendText(groupId, 'four');
    // carol comes back
    const fetched = await carol.messenger.sync();
    expect(fetched).toBeGreaterThanOrEqual(6);
    expect(carol.texts).toEqual([
      `${alice.messenger.username}: one`,
      `${bob.messenger.username}: two`,
      `${erin.messenger.username}: three (erin)`,
      `${alice.messenger.username}: four`,
    ]);
    const mine = await carol.messenger.group(groupId);
    expect(mine.epoch).toBe((await alice.messenger.group(groupId)).epoch);
    expect(new Set(mine.members.map((m) => m.username))).toEqual(new Set([alice, bob, carol, erin].map((d) => d!.messenger.username)));
    await carol.messenger.sendText(groupId, 'back');
    await alice.messenger.sync();
    expect(alice.texts).toContain(`${carol.messenger.username}: back`);
    expect(carol.rejections).toEqual([]);
  });

  it('a commit that loses the race for an epoch (409) catches up and is rebuilt', async () => {
    const [alice, bob, carol, dave] = (await Promise.all(['al', 'bo', 'ca', 'da'].map((p) => register(srv.url, uniqueName(p))))) as [TestDevice, TestDevice, TestDevice, TestDevice];
    const groupId = await alice.messenger.createGroup('race', [bob.messenger.username]);
    await bob.messenger.sync();
    let conflicts = 0;
    const original = bob.messenger.api.commit.bind(bob.messenger.api);
    bob.messenger.api.commit = async (...args) => {
      try {
        return await original(...args);
      } catch (error) {
        if ((error as { code?: string }).code === 'stale_epoch') conflicts++;
        throw error;
      }
    };
    // Alice commits first; bob's commit was built at the same epoch and must be retried.
    await alice.messenger.addMembers(groupId, [carol.messenger.username]);
    await bob.messenger.addMembers(groupId, [dave.messenger.username]);
    expect(conflicts).toBe(1);
    await Promise.all([alice, carol, dave].map((d) => d.messenger.sync()));
    const epochs = await Promise.all([alice, bob, carol, dave].map(async (d) => (await d.messenger.group(groupId)).epoch));
    expect(new Set(epochs).size).toBe(1);
    expect((await alice.messenger.group(groupId)).members).toHaveLength(4);
  });

  it('a late message from an earlier epoch is accepted; out-of-order messages within an epoch too; duplicates are dropped', async () => {
    const [alice, bob, carol] = (await Promise.all(['al', 'bo', 'ca'].map((p) => register(srv.url, uniqueName(p))))) as [TestDevice, TestDevice, TestDevice];
    const groupId = await alice.messenger.createGroup('late', [bob.messenger.username]);
    await bob.messenger.sync();
    await alice.messenger.sendText(groupId, 'sent in epoch 1');
    // Bob commits before fetching: alice's message is now from an epoch bob has left.
    await bob.messenger.addMembers(groupId, [carol.messenger.username]);
    await bob.messenger.sync();
    expect(bob.texts).toEqual([`${alice.messenger.username}: sent in epoch 1`]);

    // Three messages handed to bob out of order (as a racing push and fetch could): all open.
    await alice.messenger.sync();
    for (const t of ['m1', 'm2', 'm3']) await alice.messenger.sendText(groupId, t);
    const { items } = await bob.messenger.api.mailbox();
    expect(items).toHaveLength(3);
    await bob.messenger.processItems([items[2]!, items[0]!, items[1]!]);
    // At-least-once delivery: the same items again change nothing.
    await bob.messenger.processItems(items);
    await bob.messenger.api.ack(items.map((i) => i.id));
    expect(bob.texts.slice(1)).toEqual(['m3', 'm1', 'm2'].map((t) => `${alice.messenger.username}: ${t}`));
    expect(bob.rejections).toEqual([]);
  });
});
