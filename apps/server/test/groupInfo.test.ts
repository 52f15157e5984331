/**
 * The Delivery Service keeps the GroupInfo committers leave (RFC 9420 §12.4.3) and takes external commits only
 * as a member device's resync (§12.4.3.2), on SQLite and PostgreSQL, with real MLS bytes (test/mls.ts): the
 * GroupInfo is checked (group, epoch, external_pub, signed by the committer's leaf) and given only to the
 * group's member devices (others, removed members and anonymous callers are refused); an external commit that
 * does not re-add the sending device in its own place, comes from outside the group, or whose signature does not
 * verify (under its leaf's key, with the kept GroupInfo's group context), is refused.
 */
import { toBase64Url } from '@doublelock/protocol';
import { encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { call, commit, groupOf, randomGroupId, serverCases, type TestDevice, devicesOf, postCommit } from './harness.ts';
import { commitRequest, createMlsGroup, externalCommitRequest, groupInfoOf, leafOf, tamper } from './mls.ts';

describe.each(serverCases())('GroupInfo and external commits at the Delivery Service on $name', ({ start }) => {
  let server: RunningServer;
  let n = 0;
  // A small per-group quota for GroupInfos and their trees, so that one test can pass it cheaply.
  const QUOTA = 2 * 1024 * 1024;
  beforeAll(async () => {
    server = await start({ groupInfoQuotaBytes: QUOTA });
  });
  afterAll(async () => server.close());

  const people = (count: number): Promise<TestDevice[]> => devicesOf(server, Array.from({ length: count }, () => `gi${++n}x`));
  const info = (d: TestDevice, groupId: string) => d.call<{ epoch: number; groupInfo: string; code: string }>('GET', `/v1/groups/${groupId}/group-info`);

  it('keeps the committer’s GroupInfo for the new epoch and gives it to member devices only', async () => {
    const [a, b, c, outsider] = await people(4);
    const groupId = await groupOf([a!, b!, c!]);
    expect(await info(a!, groupId)).toMatchObject({ status: 404, body: { code: 'not_found' } }); // none left yet

    const update = await commitRequest(a!, groupId, { groupInfo: true });
    expect((await postCommit(a!, groupId, update.body)).status).toBe(200);
    await update.apply();
    const kept = await info(b!, groupId);
    expect(kept).toMatchObject({ status: 200, body: { epoch: 2, groupInfo: update.body.groupInfo } });
    expect(await info(outsider!, groupId)).toMatchObject({ status: 403, body: { code: 'not_member' } });
    expect((await call(server.url, 'GET', `/v1/groups/${groupId}/group-info`)).status).toBe(401);

    // Removed from the group: no more GroupInfo for c.
    await commit(a!, groupId, { remove: [c!], groupInfo: true });
    expect(await info(c!, groupId)).toMatchObject({ status: 403, body: { code: 'not_member' } });
    expect(await info(a!, groupId)).toMatchObject({ status: 200, body: { epoch: 3 } });

    // A commit without one: the old GroupInfo (of an epoch now gone) is not served any more.
    await commit(a!, groupId, {});
    expect(await info(b!, groupId)).toMatchObject({ status: 404 });
  });

  it('refuses a GroupInfo for another epoch, not signed by the committer, without external_pub, or too large', async () => {
    const [a, b] = await people(2);
    const groupId = await groupOf([a!, b!]);
    const honest = await commitRequest(a!, groupId, { groupInfo: true });
    const stale = await groupInfoOf(a!.mls.get(groupId)!); // the epoch the commit ends, not the one it starts
    const signatureFlipped = (() => {
      const bytes = Buffer.from(honest.body.groupInfo!, 'base64url');
      bytes[bytes.length - 1]! ^= 1;
      return toBase64Url(bytes);
    })();
    const cases: Array<[string, RegExp]> = [
      [stale, /epoch/],
      [signatureFlipped, /not signed by the committing device/],
      [toBase64Url(new Uint8Array(64).fill(3)), /not an MLS GroupInfo/],
    ];
    for (const [groupInfo, message] of cases) {
      expect(await postCommit(a!, groupId, { ...honest.body, groupInfo })).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(message) } });
    }
    // b's GroupInfo (b's signature, b's leaf) on a's commit.
    const fromB = await groupInfoOf(b!.mls.get(groupId)!);
    expect((await postCommit(a!, groupId, { ...honest.body, groupInfo: fromB })).status).toBe(422);
    // Larger than the schema's bound: a validation error, never stored.
    expect((await postCommit(a!, groupId, { ...honest.body, groupInfo: toBase64Url(new Uint8Array(1024 * 1024 + 1)) })).status).toBeGreaterThanOrEqual(400);
    expect(await info(a!, groupId)).toMatchObject({ status: 404 });
    expect((await postCommit(a!, groupId, honest.body)).status).toBe(200);
  });

  it('takes an external commit only from a member device re-adding itself in its own place', async () => {
    const [a, b, c, outsider] = await people(4);
    const groupId = await groupOf([a!, b!, c!]);
    // No GroupInfo kept for the epoch (a group whose policy allows no external commits): refused.
    const unkept = await externalCommitRequest(b!, await groupInfoOf(b!.mls.get(groupId)!), true);
    expect(await postCommit(b!, groupId, unkept.body)).toMatchObject({ status: 422, body: { message: expect.stringMatching(/keeps no group info/) } });
    await commit(a!, groupId, { groupInfo: true });
    const groupInfo = (await info(b!, groupId)).body.groupInfo;
    const before = await b!.call<{ epoch: number; members: string[] }>('GET', `/v1/groups/${groupId}`);

    // From outside the group: refused before anything is read.
    const joining = await externalCommitRequest(outsider!, groupInfo, false);
    expect(await postCommit(outsider!, groupId, joining.body)).toMatchObject({ status: 403, body: { code: 'not_member' } });
    // A member device joining anew (no Remove of its old leaf): refused.
    const extra = await externalCommitRequest(b!, groupInfo, false);
    expect(await postCommit(b!, groupId, extra.body)).toMatchObject({ status: 422, body: { message: expect.stringMatching(/own old leaf/) } });
    // b posts c's rejoin (c's device in the new leaf): refused (and its GroupInfo is not b's).
    const asC = await externalCommitRequest(c!, groupInfo, true);
    expect(await postCommit(b!, groupId, asC.body)).toMatchObject({ status: 422, body: { message: expect.stringMatching(/not signed by the committing device/) } });
    expect(await postCommit(b!, groupId, { ...asC.body, groupInfo: undefined })).toMatchObject({ status: 422, body: { message: expect.stringMatching(/only re-add the device that sends it/) } });
    // b rejoins but removes a's leaf instead of its own (a modified client, validly signed): refused.
    const removesA = await externalCommitRequest(b!, groupInfo, true, a!);
    expect(await postCommit(b!, groupId, removesA.body)).toMatchObject({ status: 422, body: { message: expect.stringMatching(/not this device’s leaf/) } });
    // b's own resync with its signature tampered (or its content changed after signing: a's leaf removed instead):
    // the Delivery Service verifies it under the leaf's key with the kept GroupInfo's group context.
    const resync = await externalCommitRequest(b!, groupInfo, true);
    const flipped = tamper(resync.body, (m) => {
      if (m.wireformat !== 'mls_public_message') throw new Error('not a public commit');
      m.publicMessage.auth.signature[0]! ^= 1;
    });
    const state = a!.mls.get(groupId)!;
    const edited = tamper(resync.body, (m) => {
      if (m.wireformat !== 'mls_public_message' || m.publicMessage.content.contentType !== 'commit') throw new Error('not a public commit');
      for (const p of m.publicMessage.content.commit.proposals) if (p.proposalOrRefType === 'proposal' && p.proposal.proposalType === 'remove') p.proposal.remove.removed = leafOf(state, a!);
    });
    for (const body of [flipped, edited]) {
      expect(await postCommit(b!, groupId, body)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/signature does not verify/) } });
    }
    // Declared routing on an external commit: refused.
    expect(await postCommit(b!, groupId, { ...resync.body, removes: [b!.deviceId] })).toMatchObject({ status: 422, body: { message: expect.stringMatching(/declares no adds or removes/) } });
    expect((await b!.call<{ epoch: number }>('GET', `/v1/groups/${groupId}`)).body.epoch).toBe(before.body.epoch);

    // The honest resync: accepted; b is still a member, at the same leaf; its GroupInfo is the new one.
    expect(await postCommit(b!, groupId, resync.body)).toMatchObject({ status: 200, body: { epoch: before.body.epoch + 1 } });
    const after = await b!.call<{ epoch: number; members: string[] }>('GET', `/v1/groups/${groupId}`);
    expect(after.body.members.sort()).toEqual(before.body.members.sort());
    expect(await info(c!, groupId)).toMatchObject({ status: 200, body: { epoch: before.body.epoch + 1, groupInfo: resync.body.groupInfo } });
    const leaves = await server.db.all<{ leaf_index: number; device_id: string }>('SELECT leaf_index, device_id FROM group_leaves WHERE group_id = ? ORDER BY leaf_index', [groupId]);
    expect(leaves.map((l) => [Number(l.leaf_index), l.device_id])).toEqual([[0, a!.deviceId], [1, b!.deviceId], [2, c!.deviceId]]);
    // The other members' MLS accepts it too (it is a valid external commit): c's mailbox has it, from b.
    const mail = await c!.call<{ items: Array<{ kind: string; sender: { deviceId: string } }> }>('GET', '/v1/mailbox?limit=50');
    expect(mail.body.items.at(-1)).toMatchObject({ kind: 'commit', sender: { deviceId: b!.deviceId } });
  });

  it('keeps a large group’s ratchet tree beside its GroupInfo (out of band), checked against the tree hash, within a per-group quota', async () => {
    // A tree over 1 MiB without thousands of members: the creator's leaf carries a 1.1 MiB extension.
    const [a, b, c] = await people(3);
    const groupId = randomGroupId();
    expect((await a!.call('POST', '/v1/groups', { groupId })).status).toBe(201);
    await createMlsGroup(a!, groupId, 1100 * 1024);
    await commit(a!, groupId, { add: [b!, c!] }); // the Welcome's tree (over 1 MiB) goes beside it too
    const update = await commitRequest(b!, groupId, { groupInfo: 'outOfBand' });
    const tree = Buffer.from(update.body.groupInfoTree!, 'base64url');
    expect(tree.length).toBeGreaterThan(1024 * 1024);
    // A tree that is not the one the GroupInfo's signed context names (the epoch before's), or no tree at all.
    const before = toBase64Url(encodeRatchetTree(b!.mls.get(groupId)!.ratchetTree));
    expect(await postCommit(b!, groupId, { ...update.body, groupInfoTree: before })).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/not the one its tree hash names/) } });
    expect(await postCommit(b!, groupId, { ...update.body, groupInfoTree: toBase64Url(new Uint8Array(64).fill(9)) })).toMatchObject({ status: 422, body: { message: expect.stringMatching(/does not decode/) } });
    expect(await postCommit(b!, groupId, { ...update.body, groupInfo: undefined })).toMatchObject({ status: 422, body: { message: expect.stringMatching(/without the group info/) } });
    expect((await postCommit(b!, groupId, update.body)).status).toBe(200);
    await update.apply();

    // Kept and served together; c (its state lost) rejoins from both.
    const kept = await info(c!, groupId);
    expect(kept).toMatchObject({ status: 200, body: { groupInfo: update.body.groupInfo, ratchetTree: update.body.groupInfoTree } });
    const resync = await externalCommitRequest(c!, kept.body.groupInfo, true, undefined, (kept.body as { ratchetTree?: string }).ratchetTree);
    // Its own GroupInfo and tree: together with the epoch before's, over the group's quota (2 MiB here).
    expect(Buffer.from(resync.body.groupInfoTree!, 'base64url').length + tree.length).toBeGreaterThan(QUOTA);
    expect(await postCommit(c!, groupId, resync.body)).toMatchObject({ status: 200 });
    // The commit stands; no GroupInfo is kept for its epoch (a lost device would ask to be re-added).
    expect(await info(a!, groupId)).toMatchObject({ status: 404 });
    const kept2 = await server.db.get<{ bytes: number }>('SELECT SUM(LENGTH(group_info) + COALESCE(LENGTH(ratchet_tree), 0)) AS bytes FROM group_infos WHERE group_id = ?', [groupId]);
    expect(Number(kept2!.bytes)).toBeLessThanOrEqual(QUOTA);
  });
});
