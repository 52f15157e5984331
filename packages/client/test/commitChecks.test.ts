/**
 * Commits checked by the Delivery Service and by every member (issue 10), with real devices on a real
 * server: a modified client declaring another add list than its commit carries; a non-admin's modified
 * client changing membership (refused by the server); and a malicious server that lets such a commit
 * through (refused by every member, whatever the server accepted).
 */
import { commitRejectionBytes, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/serverApi.ts';
import type { MessengerContext } from '../src/core/context.ts';
import { register, server, uniqueName, type TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const internals = (d: TestDevice) => (d.messenger as unknown as { ctx: MessengerContext }).ctx;
/** A modified client: commits through the SDK's commit loop, skipping the SDK's own admin check. */
const bypass = (d: TestDevice, fn: (ctx: MessengerContext) => Promise<unknown>) => internals(d).exclusive(() => fn(internals(d)));
const memberNames = async (d: TestDevice, group: string) => [...new Set((await d.messenger.group(group)).members.map((m) => m.username))].sort();
const names = (...ds: TestDevice[]) => ds.map((d) => d.messenger.username).sort();

describe('commits are checked by the Delivery Service and by the members', () => {
  it('refuses a commit whose declared adds are not the commit’s (a client hiding an add from the server)', { timeout: 60_000 }, async () => {
    let rewrite = false;
    const lying: typeof fetch = async (input, init) => {
      if (rewrite && String(input).endsWith('/commits') && typeof init?.body === 'string') {
        const body = JSON.parse(init.body) as { adds: string[] };
        return fetch(input, { ...init, body: JSON.stringify({ ...body, adds: [] }) });
      }
      return fetch(input, init);
    };
    const alice = await register(srv.url, uniqueName('al'), 6, { fetch: lying });
    const [bob, carol] = await Promise.all([register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('declared', [bob.messenger.username]);
    await bob.messenger.sync();
    rewrite = true;
    const error = await alice.messenger.addMembers(group, [carol.messenger.username]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('commit_rejected');
    const server = await internals(bob).api.group(group);
    expect(server.members).toHaveLength(2);
    await carol.messenger.sync();
    expect(await carol.messenger.groups()).toEqual([]);
  });

  it('a non-admin’s membership change: refused by the server; let through by a malicious server, refused by every member', { timeout: 90_000 }, async () => {
    const [alice, bob, carol] = await Promise.all(['al', 'bo', 'ca'].map((p) => register(srv.url, uniqueName(p))));
    const group = await alice!.messenger.createGroup('admins', [bob!.messenger.username, carol!.messenger.username], { admins: true });
    for (const d of [bob!, carol!]) await d.messenger.sync();
    expect(await carol!.messenger.admins(group)).toEqual([alice!.messenger.username]);
    const epoch = (await alice!.messenger.group(group)).epoch;

    // Bob's modified client removes Carol: the Delivery Service reads the commit and refuses it.
    const refused = await bypass(bob!, (ctx) => ctx.membership.removeUsersLocked(group, [carol!.messenger.username])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe('not_admin');

    // A malicious server stops checking this group and accepts the same commit.
    await srv.db.run('UPDATE chat_groups SET checked = 0 WHERE group_id = ?', [group]);
    await bypass(bob!, (ctx) => ctx.membership.removeUsersLocked(group, [carol!.messenger.username]));
    for (const d of [alice!, carol!]) {
      await d.messenger.sync();
      expect(d.rejections.map((r) => r.reason)).toContain('not_admin');
      expect((await d.messenger.group(group)).epoch).toBe(epoch);
      expect(await memberNames(d, group)).toEqual(names(alice!, bob!, carol!));
    }
    expect(carol!.events.some((e) => e.type === 'removed')).toBe(false);
  });
});

describe('a commit invalid for everyone', () => {
  it('is refused by every member, voided by the server on their signed reports, and the sender’s next commit wins', { timeout: 120_000 }, async () => {
    // Bob's modified client signs its commits wrongly: well framed, public, and invalid for every member. (It
    // leaves no GroupInfo beside them: the server checks that signature, and would refuse the commit.)
    let breakSignatures = false;
    const withoutGroupInfo: typeof fetch = async (input, init) => {
      if (breakSignatures && String(input).endsWith('/commits') && typeof init?.body === 'string') {
        const { groupInfo: _, ...body } = JSON.parse(init.body) as { groupInfo?: string };
        return fetch(input, { ...init, body: JSON.stringify(body) });
      }
      return fetch(input, init);
    };
    const [alice, bob, carol, dave] = await Promise.all(['al', 'bo', 'ca', 'da'].map((p) => register(srv.url, uniqueName(p), 6, p === 'bo' ? { fetch: withoutGroupInfo } : {})));
    const bobCtx = internals(bob!) as { cs: MessengerContext['cs'] };
    const honest = bobCtx.cs.signature;
    bobCtx.cs = {
      ...bobCtx.cs,
      signature: { ...honest, sign: async (key: Uint8Array, message: Uint8Array) => {
        const signature = await honest.sign(key, message);
        if (breakSignatures) signature[0]! ^= 1;
        return signature;
      } },
    };
    const group = await alice!.messenger.createGroup('void', [bob!.messenger.username, carol!.messenger.username, dave!.messenger.username]);
    for (const d of [bob!, carol!, dave!]) await d.messenger.sync();
    const epoch = (await alice!.messenger.group(group)).epoch;

    breakSignatures = true;
    await bob!.messenger.removeMembers(group, [dave!.messenger.username]); // the server cannot tell: it accepts
    breakSignatures = false;
    await bob!.messenger.sendText(group, 'in the broken epoch');
    expect((await internals(alice!).api.group(group)).epoch).toBe(epoch + 1);

    for (const d of [alice!, carol!]) {
      await d.messenger.sync();
      expect(d.rejections.map((r) => r.reason)).toEqual(['decryption_failed']); // "Signature invalid"
      expect((await d.messenger.group(group)).epoch).toBe(epoch);
    }
    // Alice's and Carol's signed reports are a majority of the accounts that stay (Dave is removed by it):
    // the server voided it, and dropped it from Dave's mailbox before he fetched it.
    const server = await internals(alice!).api.group(group);
    expect(server.epoch).toBe(epoch);
    expect(server.members.sort()).toEqual([alice!, bob!, carol!, dave!].map((d) => d.messenger.deviceId).sort());
    for (const d of [alice!, bob!, carol!, dave!]) await d.messenger.sync();
    expect(bob!.events).toContainEqual(expect.objectContaining({ type: 'commit_voided', groupId: group, appliedHere: true, rolledBack: true }));
    expect((await bob!.messenger.group(group)).epoch).toBe(epoch);
    for (const d of [alice!, carol!, dave!]) {
      expect(d.events).toContainEqual(expect.objectContaining({ type: 'commit_voided', groupId: group, appliedHere: false }));
      expect(d.texts).not.toContain(`${bob!.messenger.username}: in the broken epoch`);
    }

    // The group goes on: Bob's next (honest) commit wins the epoch, and everyone follows it.
    await bob!.messenger.removeMembers(group, [dave!.messenger.username]);
    await bob!.messenger.sendText(group, 'after the void');
    for (const d of [alice!, carol!]) {
      await d.messenger.sync();
      expect(d.texts).toContain(`${bob!.messenger.username}: after the void`);
      expect((await d.messenger.group(group)).epoch).toBe(epoch + 1);
    }
    await dave!.messenger.sync();
    expect(dave!.events).toContainEqual(expect.objectContaining({ type: 'removed', groupId: group }));
  });

  it('one member’s report does not void a valid commit, nor does a void notice the server makes up roll its committer back', { timeout: 90_000 }, async () => {
    const [alice, bob, carol, dave] = await Promise.all(['al', 'bo', 'ca', 'da'].map((p) => register(srv.url, uniqueName(p))));
    const group = await alice!.messenger.createGroup('valid', [bob!.messenger.username, carol!.messenger.username, dave!.messenger.username]);
    for (const d of [bob!, carol!, dave!]) await d.messenger.sync();
    await alice!.messenger.removeMembers(group, [dave!.messenger.username]);
    const { epoch, seq } = await lastCommit(alice!, group);
    const { commitHash } = (await internals(alice!).groupStore.undoFor(group, seq))!;

    // Bob's modified client reports Alice's valid removal of Dave as invalid, properly signed: one of the two
    // other accounts that stayed (Bob, Carol) is not a majority.
    const bobCtx = internals(bob!);
    const signature = await bobCtx.cs.signature.sign(fromBase64Url(bobCtx.device.deviceSecret), commitRejectionBytes({ groupId: group, epoch, seq, commitHash }));
    expect(await bobCtx.api.rejectCommit(group, seq, 'decryption_failed: made up', toBase64Url(signature))).toEqual({ voided: false, rejecting: 1, needed: 2 });
    // Dave, removed by the commit, cannot report it; nor can a forged signature count.
    const daveCtx = internals(dave!);
    const daveSignature = await daveCtx.cs.signature.sign(fromBase64Url(daveCtx.device.deviceSecret), commitRejectionBytes({ groupId: group, epoch, seq, commitHash }));
    await expect(daveCtx.api.rejectCommit(group, seq, 'not_admin: made up', toBase64Url(daveSignature))).rejects.toMatchObject({ code: 'not_member' });
    await expect(internals(carol!).api.rejectCommit(group, seq, 'forged', toBase64Url(signature))).rejects.toMatchObject({ code: 'bad_signature' });
    expect((await bobCtx.api.group(group)).epoch).toBe(epoch + 1);

    // A malicious server voids it anyway, with Bob's signed rejection and one it forged for Carol: Alice
    // checks the rejections herself and does not go back (Dave's removal cannot be undone on the server's word).
    await srv.db.run('UPDATE chat_groups SET epoch = ? WHERE group_id = ?', [epoch, group]);
    const rejections = [
      { username: bob!.messenger.username, deviceId: bob!.messenger.deviceId, signature: toBase64Url(signature) },
      { username: carol!.messenger.username, deviceId: carol!.messenger.deviceId, signature: toBase64Url(signature) },
    ];
    const notice = new TextEncoder().encode(JSON.stringify({ voidedSeq: seq, epoch, rejections }));
    const next = await srv.db.get<{ next_seq: number }>('UPDATE chat_groups SET next_seq = next_seq + 1 WHERE group_id = ? RETURNING next_seq', [group]);
    const message = await srv.db.get<{ id: number }>(
      `INSERT INTO messages (group_id, seq, kind, epoch, sender_username, sender_device, client_message_id, payload, server_time) VALUES (?, ?, 'void', ?, ?, ?, ?, ?, ?) RETURNING id`,
      [group, Number(next!.next_seq) - 1, epoch, alice!.messenger.username, alice!.messenger.deviceId, `voided-commit-${seq}`, notice, Date.now()],
    );
    await srv.db.run('INSERT INTO mailbox (device_id, message_id, expires_at) VALUES (?, ?, ?)', [alice!.messenger.deviceId, message!.id, Date.now() + 60_000]);
    await alice!.messenger.sync();
    expect(alice!.events).toContainEqual(expect.objectContaining({ type: 'commit_voided', appliedHere: true, rolledBack: false }));
    expect((await alice!.messenger.group(group)).epoch).toBe(epoch + 1);
    expect((await alice!.messenger.group(group)).members.map((m) => m.username)).not.toContain(dave!.messenger.username);
  });
});

/**
 * A commit every member but one refuses: Carol's modified client signs its commits wrongly (and leaves no
 * GroupInfo, which the server would check), and Bob's modified client finds it valid (it skips signature checks
 * while it processes that commit). Alice and Erin report it: a majority of the accounts that stay (Carol's aside),
 * so the server voids it. Bob had applied it.
 */
async function voidedAfterBobApplied() {
  let breakSignatures = false;
  let bobLenient = false;
  const withoutGroupInfo: typeof fetch = async (input, init) => {
    if (breakSignatures && String(input).endsWith('/commits') && typeof init?.body === 'string') {
      const { groupInfo: _, ...body } = JSON.parse(init.body) as { groupInfo?: string };
      return fetch(input, { ...init, body: JSON.stringify(body) });
    }
    return fetch(input, init);
  };
  const [alice, bob, carol, dave, erin] = await Promise.all(['al', 'bo', 'ca', 'da', 'er'].map((p) => register(srv.url, uniqueName(p), 6, p === 'ca' ? { fetch: withoutGroupInfo } : {})));
  const wrap = (d: TestDevice, change: (honest: MessengerContext['cs']['signature']) => Partial<MessengerContext['cs']['signature']>) => {
    const ctx = internals(d) as { cs: MessengerContext['cs'] };
    ctx.cs = { ...ctx.cs, signature: { ...ctx.cs.signature, ...change(ctx.cs.signature) } };
  };
  wrap(carol!, (honest) => ({
    sign: async (key: Uint8Array, message: Uint8Array) => {
      const signature = await honest.sign(key, message);
      if (breakSignatures) signature[0]! ^= 1;
      return signature;
    },
  }));
  wrap(bob!, (honest) => ({ verify: async (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => bobLenient || honest.verify(key, message, signature) }));
  const group = await alice!.messenger.createGroup('void', [bob!, carol!, dave!, erin!].map((d) => d.messenger.username));
  for (const d of [bob!, carol!, dave!, erin!]) await d.messenger.sync();
  const epoch = (await alice!.messenger.group(group)).epoch;

  breakSignatures = true;
  await carol!.messenger.removeMembers(group, [dave!.messenger.username]);
  breakSignatures = false;
  bobLenient = true;
  await bob!.messenger.sync();
  bobLenient = false;
  expect((await bob!.messenger.group(group)).epoch).toBe(epoch + 1); // Bob applied it
  for (const d of [alice!, erin!]) {
    await d.messenger.sync();
    expect(d.rejections.map((r) => r.reason)).toEqual(['decryption_failed']);
  }
  expect((await internals(alice!).api.group(group)).epoch).toBe(epoch); // voided
  return { alice: alice!, bob: bob!, carol: carol!, dave: dave!, erin: erin!, group, epoch };
}

describe('a member that had applied a commit the group voided', () => {
  it('goes back to the state before it (kept until the next commit), on the others’ signed rejections, and follows the group', { timeout: 120_000 }, async () => {
    const { alice, bob, group, epoch } = await voidedAfterBobApplied();
    await bob.messenger.sync();
    expect(bob.events).toContainEqual(expect.objectContaining({ type: 'commit_voided', groupId: group, appliedHere: true, rolledBack: true }));
    expect((await bob.messenger.group(group)).epoch).toBe(epoch);
    await alice.messenger.sendText(group, 'after the void');
    await bob.messenger.sync();
    expect(bob.texts).toContain(`${alice.messenger.username}: after the void`);
    expect(bob.rejections).toEqual([]);
  });

  it('without the state before it kept, rejoins as a lost device (external commit) and follows the group', { timeout: 120_000 }, async () => {
    const { alice, bob, erin, group, epoch } = await voidedAfterBobApplied();
    // The undo point's state is gone (only the commit's hash is left: what the rejections are checked against).
    const storage = internals(bob).storage;
    await storage.write(['state', 'tree', 'meta'].map((part) => ({ key: `undo/${group}/${part}`, value: undefined })));
    await bob.messenger.sync();
    expect(bob.events).toContainEqual(expect.objectContaining({ type: 'commit_voided', groupId: group, appliedHere: true, rolledBack: false }));
    expect(bob.events).toContainEqual({ type: 'rejoin_pending', groupId: group });
    for (const d of [alice, erin]) {
      await d.messenger.sync();
      expect(d.events).toContainEqual({ type: 'rejoined', groupId: group, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    }
    await bob.messenger.sync();
    expect(bob.events).toContainEqual({ type: 'rejoined', groupId: group, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    expect((await bob.messenger.group(group)).epoch).toBe(epoch + 1);
    await alice.messenger.sendText(group, 'welcome back');
    await bob.messenger.sync();
    expect(bob.texts).toContain(`${alice.messenger.username}: welcome back`);
  });
});

/** The epoch a device's latest commit was made in, and its seq (from the device's own bookkeeping). */
async function lastCommit(d: TestDevice, group: string): Promise<{ epoch: number; seq: number }> {
  const meta = (await internals(d).groupStore.meta(group))!;
  const [epoch, seq] = Object.entries(meta.epochEnds).map(([e, s]) => [Number(e), s] as const).sort((a, b) => b[0] - a[0])[0]!;
  return { epoch, seq };
}

describe('a member cut out of delivery', () => {
  it('notices it, and so do the others: the server’s member list is compared with the group’s MLS members', { timeout: 60_000 }, async () => {
    const [alice, carol] = await Promise.all(['al', 'ca'].map((p) => register(srv.url, uniqueName(p))));
    const bob = await register(srv.url, uniqueName('bo'), 6, { deliveryCheckMs: 0 }); // checks after every sync
    const group = await alice!.messenger.createGroup('delivery', [bob!.messenger.username, carol!.messenger.username]);
    for (const d of [bob!, carol!]) await d.messenger.sync();
    expect(await alice!.messenger.checkDelivery()).toEqual([]);
    expect(bob!.events.filter((e) => e.type === 'delivery_mismatch')).toEqual([]);
    // A malicious server stops delivering the group to Bob without any commit.
    await srv.db.run('DELETE FROM group_members WHERE group_id = ? AND device_id = ?', [group, bob!.messenger.deviceId]);
    await alice!.messenger.sendText(group, 'bob never gets this');
    const seen = await alice!.messenger.checkDelivery();
    expect(seen).toEqual([{ groupId: group, notDelivered: [{ username: bob!.messenger.username, deviceId: bob!.messenger.deviceId }], unknown: [], cutOut: false }]);
    // Bob's device notices on its next sync (the check runs after syncs).
    await bob!.messenger.sync();
    expect(bob!.events).toContainEqual(expect.objectContaining({ type: 'delivery_mismatch', groupId: group, cutOut: true }));
  });
});
