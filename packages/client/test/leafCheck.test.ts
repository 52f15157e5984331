/**
 * Group leaves re-checked against the logged directory (src/groups/leafCheck.ts), mid-group, with the real
 * server: a device revoked by its account whose own removal commit never went through is removed by another
 * member on its own (while syncing), also by a non-admin; an account whose identity key the server changes
 * (and logs) has its old leaves flagged by members who may not manage the group and removed by one who may.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeafFinding } from '../src/groups/leafCheck.ts';
import { linkSecondDevice, register, server, serverChangesIdentity, uniqueName, type TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const flagged = (d: TestDevice): LeafFinding[] => d.events.flatMap((e) => (e.type === 'leaf_flagged' ? [e.finding] : []));
const members = async (d: TestDevice, groupId: string) => (await d.messenger.group(groupId)).members.map((m) => m.deviceId).sort();

describe('leaves re-checked against key transparency', () => {
  it('a device revoked mid-group, whose revoker never committed its removal, is removed by a non-admin member while syncing', { timeout: 120_000 }, async () => {
    let refuseCommits = false;
    // Bob's laptop revokes his phone, then its removal commit is refused (as if it crashed right after).
    const laptopFetch: typeof fetch = (input, init) =>
      refuseCommits && String(input).includes('/commits') ? Promise.resolve(Response.json({ code: 'forbidden', message: 'not now' }, { status: 403 })) : fetch(input, init);
    const alice = await register(srv.url, uniqueName('al'));
    const phone = await register(srv.url, uniqueName('bo'));
    const laptop = await linkSecondDevice(phone, 'laptop', { fetch: laptopFetch });
    const carol = await register(srv.url, uniqueName('ca'), 6, { leafCheckIntervalMs: 1 });
    const group = await alice.messenger.createGroup('plans', [phone.messenger.username, carol.messenger.username], { admins: true });
    await Promise.all([phone.messenger.sync(), carol.messenger.sync()]);
    await laptop.messenger.sync();
    expect(await members(carol, group)).toContain(phone.messenger.deviceId);

    refuseCommits = true;
    await expect(laptop.messenger.revokeDevice(phone.messenger.deviceId)).rejects.toThrow(/not now/);
    expect(await members(alice, group)).toContain(phone.messenger.deviceId); // nobody removed it

    // Carol (not an admin) syncs: her periodic re-check finds the revoked leaf and commits its removal.
    await carol.messenger.sync();
    expect(flagged(carol)).toEqual([expect.objectContaining({ groupId: group, username: phone.messenger.username, deviceId: phone.messenger.deviceId, problem: 'revoked', removed: true })]);
    expect(await members(carol, group)).not.toContain(phone.messenger.deviceId);
    // Every other member accepts that commit (a validly revoked device may be removed by anyone).
    await alice.messenger.sync();
    expect(alice.rejections).toEqual([]);
    expect(await members(alice, group)).toEqual(await members(carol, group));
    await expect(phone.messenger.sync()).rejects.toThrow(/revoked/); // and the server no longer lets it in
    await alice.messenger.sendText(group, 'after the revocation');
    await laptop.messenger.sync();
    expect(laptop.texts).toContain(`${alice.messenger.username}: after the revocation`);
  });

  it('an identity key the server changes (and logs): old leaves flagged by a non-admin, removed by the admin', { timeout: 120_000 }, async () => {
    const [alice, bob, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('team', [bob.messenger.username, carol.messenger.username], { admins: true });
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    expect(await carol.messenger.recheckLeaves()).toEqual([]); // all leaves pass

    // The server shows Bob with a new identity key and a device certified by it, and logs that state.
    await serverChangesIdentity(srv, bob.messenger.username);

    const seenByCarol = await carol.messenger.recheckLeaves();
    expect(seenByCarol).toEqual([expect.objectContaining({ username: bob.messenger.username, deviceId: bob.messenger.deviceId, problem: 'not_vouched', removed: false })]);
    expect(seenByCarol[0]!.reason).toMatch(/identity key of .* changed|certif/);
    expect(await members(carol, group)).toContain(bob.messenger.deviceId);

    const seenByAlice = await alice.messenger.recheckLeaves([group]);
    expect(seenByAlice).toEqual([expect.objectContaining({ deviceId: bob.messenger.deviceId, problem: 'not_vouched', removed: true })]);
    await carol.messenger.sync();
    expect(carol.rejections).toEqual([]);
    expect(await members(carol, group)).toEqual([alice.messenger.deviceId, carol.messenger.deviceId].sort());
  });
});
