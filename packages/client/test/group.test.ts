/** Groups against the real server: 20 members, adds and removes with messages in flight; leave and rename. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, server, uniqueName, type TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const syncAll = (devices: TestDevice[]) => Promise.all(devices.map((d) => d.messenger.sync()));

describe('group chats', () => {
  it('a 20-member group: adds and removes race with messages, and everyone ends in the same state', async () => {
    const people = await Promise.all(Array.from({ length: 22 }, (_, i) => register(srv.url, uniqueName(`p${i}x`))));
    const [alice, bob, carol, ...rest] = people as [TestDevice, TestDevice, TestDevice, ...TestDevice[]];
    const initial = [bob, carol, ...rest.slice(0, 17)];
    const late = rest.slice(17); // two people added later
    const groupId = await alice.messenger.createGroup('twenty', initial.map((d) => d.messenger.username));
    await syncAll(initial);
    expect((await alice.messenger.group(groupId)).members).toHaveLength(20);

    const removed = initial.slice(2, 5);
    // Messages in flight while alice changes membership: senders that lose the epoch race (409) catch up and retry.
    await Promise.all([
      alice.messenger.addMembers(groupId, late.map((d) => d.messenger.username)),
      bob.messenger.sendText(groupId, 'bob during the add'),
      carol.messenger.sendText(groupId, 'carol during the add'),
      alice.messenger.removeMembers(groupId, removed.map((d) => d.messenger.username)),
      initial[5]!.messenger.sendText(groupId, 'sixth during the remove'),
    ]);
    await syncAll(people);
    await alice.messenger.sendText(groupId, 'after the changes');
    await syncAll(people);

    const remaining = people.filter((p) => !removed.includes(p));
    const expected = remaining.filter((p) => p !== alice).map((p) => p.messenger.username);
    const final = await alice.messenger.group(groupId);
    expect(final.members.map((m) => m.username).sort()).toEqual([alice.messenger.username, ...expected].sort());
    for (const p of remaining) {
      expect((await p.messenger.group(groupId)).epoch).toBe(final.epoch);
      if (p !== alice) expect(p.texts).toContain(`${alice.messenger.username}: after the changes`);
      expect(p.rejections).toEqual([]);
    }
    // Members there all along saw every message in flight.
    for (const p of [initial[6]!, initial[10]!]) {
      expect(p.texts).toEqual(expect.arrayContaining([`${bob.messenger.username}: bob during the add`, `${carol.messenger.username}: carol during the add`]));
    }
    for (const p of removed) {
      expect(p.events.some((e) => e.type === 'removed' && e.groupId === groupId)).toBe(true);
      expect(p.texts).not.toContain(`${alice.messenger.username}: after the changes`);
      await expect(p.messenger.sendText(groupId, 'still here?')).rejects.toThrow(/no longer in group/);
    }
  });

  it('leave: the others commit the removal of all the leaver’s devices; rename reaches everyone', async () => {
    const [alice, bob, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const groupId = await alice.messenger.createGroup('three', [bob.messenger.username, carol.messenger.username]);
    await syncAll([bob, carol]);
    await bob.messenger.rename(groupId, 'renamed');
    await syncAll([alice, carol]);
    expect((await alice.messenger.group(groupId)).name).toBe('renamed');
    expect((await carol.messenger.group(groupId)).name).toBe('renamed');

    await carol.messenger.leave(groupId);
    await syncAll([alice, bob]); // both race to commit carol's removal; one wins, the other finds nothing left to do
    await syncAll([alice, bob]);
    const a = await alice.messenger.group(groupId);
    const b = await bob.messenger.group(groupId);
    expect(a.members.map((m) => m.username).sort()).toEqual([alice.messenger.username, bob.messenger.username].sort());
    expect(b.epoch).toBe(a.epoch);
    await alice.messenger.sendText(groupId, 'just us');
    await syncAll([bob, carol]);
    expect(bob.texts).toContain(`${alice.messenger.username}: just us`);
    expect(carol.texts).not.toContain(`${alice.messenger.username}: just us`);
  });
});
