/**
 * The Delivery Service reads commits instead of trusting the routing a client declares (issue 10), on SQLite
 * and PostgreSQL. Each case is a modified client sending real MLS bytes (test/mls.ts): a declared add/remove
 * list other than the commit's, a private commit, a forged or revoked device's KeyPackage, a commit signed as
 * another member's leaf, a removal of an empty leaf, and non-admins changing membership or the admin list.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { commitRejectionBytes, deviceRevocationBytes, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { bytes, call, commit, groupOf, messageId, serverCases, type TestDevice, devicesOf, postCommit } from './harness.ts';
import { commitRequest, keyPackage, newSigningKeys, tamper } from './mls.ts';

describe.each(serverCases())('the Delivery Service checks commits on $name', ({ start }) => {
  let server: RunningServer;
  let n = 0;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => server.close());

  const people = (count: number): Promise<TestDevice[]> => devicesOf(server, Array.from({ length: count }, () => `cc${++n}x`));
  const members = async (d: TestDevice, groupId: string) => ((await d.call<{ members: string[] }>('GET', `/v1/groups/${groupId}`)).body.members ?? []).sort();

  it('refuses a declared add or remove list that is not the commit’s, and accepts the honest one', async () => {
    const [a, b, c, d] = await people(4);
    const groupId = await groupOf([a!, b!]);
    // The commit adds c; the request claims it adds d (c would get no Welcome, d one it cannot use).
    const adding = await commitRequest(a!, groupId, { add: [c!] });
    for (const adds of [[d!.deviceId], [], [c!.deviceId, d!.deviceId]]) {
      expect(await postCommit(a!, groupId, { ...adding.body, adds })).toMatchObject({ status: 422, body: { code: 'commit_rejected' } });
    }
    // The commit removes b; the request claims it removes nobody (b would keep getting mail).
    const removing = await commitRequest(a!, groupId, { remove: [b!] });
    expect(await postCommit(a!, groupId, { ...removing.body, removes: [] })).toMatchObject({ status: 422, body: { code: 'commit_rejected' } });
    expect(await members(a!, groupId)).toEqual([a!.deviceId, b!.deviceId].sort());
    expect((await postCommit(a!, groupId, adding.body)).status).toBe(200);
    expect(await members(a!, groupId)).toEqual([a!.deviceId, b!.deviceId, c!.deviceId].sort());
  });

  it('refuses private commits and bytes that are not MLS', async () => {
    const [a, b] = await people(2);
    const groupId = await groupOf([a!, b!]);
    const { body } = await commitRequest(a!, groupId, { private: true });
    expect(await postCommit(a!, groupId, body)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/PublicMessage/) } });
    expect(await postCommit(a!, groupId, { ...body, commit: toBase64Url(new Uint8Array(40).fill(7)) })).toMatchObject({ status: 422, body: { code: 'commit_rejected' } });
  });

  it('refuses adding a revoked device, a KeyPackage its device did not sign, or a credential naming another account', async () => {
    const [a, b] = await people(2);
    const groupId = await groupOf([a!, b!]);
    const laptop = await b!.account.addDevice();
    const revokedAt = Date.now();
    const accountSignature = toBase64Url(ed25519.sign(deviceRevocationBytes({ username: b!.account.username, deviceId: laptop.deviceId, revokedAt }), b!.account.identitySecret));
    expect((await call(server.url, 'POST', `/v1/accounts/${b!.account.username}/devices/${laptop.deviceId}/revoke`, { revokedAt, accountSignature })).status).toBe(200);
    expect(await postCommit(a!, groupId, (await commitRequest(a!, groupId, { add: [laptop] })).body)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/revoked/) } });

    // Mallory makes a KeyPackage for carol's device id and key but signs it herself: nobody could join with it.
    const [carol] = await people(1);
    const forgedPackage = (await keyPackage(carol!, newSigningKeys())).publicPackage;
    const forged = tamper((await commitRequest(a!, groupId, { add: [carol!] })).body, (m) => {
      if (m.wireformat !== 'mls_public_message' || m.publicMessage.content.contentType !== 'commit') throw new Error('not a public commit');
      const p = m.publicMessage.content.commit.proposals[0]!;
      if (p.proposalOrRefType === 'proposal' && p.proposal.proposalType === 'add') p.proposal.add.keyPackage = forgedPackage;
    });
    expect(await postCommit(a!, groupId, forged)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/not signed/) } });
    // A credential naming b's account for carol's device.
    const misnamed = await commitRequest(a!, groupId, { add: [{ ...carol!, account: b!.account, deviceId: carol!.deviceId, keys: carol!.keys, mls: carol!.mls }] });
    expect(await postCommit(a!, groupId, misnamed.body)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/key directory/) } });
    expect(await members(a!, groupId)).toEqual([a!.deviceId, b!.deviceId].sort());
  });

  it('refuses a commit signed as another member’s leaf, and a removal of an empty leaf', async () => {
    const [a, b, c] = await people(3);
    const groupId = await groupOf([a!, b!, c!]);
    // b sends a's commit (sender: a's leaf) as its own.
    const asA = await commitRequest(a!, groupId, { remove: [c!] });
    expect(await postCommit(b!, groupId, asA.body)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/leaf/) } });
    // A modified client removes leaf 5 (nobody) and declares it removes c.
    const { body } = await commitRequest(a!, groupId, { remove: [c!] });
    const emptyLeaf = tamper(body, (m) => {
      if (m.wireformat !== 'mls_public_message' || m.publicMessage.content.contentType !== 'commit') throw new Error('not a public commit');
      const p = m.publicMessage.content.commit.proposals[0]!;
      if (p.proposalOrRefType === 'proposal' && p.proposal.proposalType === 'remove') p.proposal.remove.removed = 5;
    });
    expect(await postCommit(a!, groupId, emptyLeaf)).toMatchObject({ status: 422, body: { code: 'commit_rejected', message: expect.stringMatching(/empty/) } });
    expect(await members(a!, groupId)).toEqual([a!.deviceId, b!.deviceId, c!.deviceId].sort());
    // The honest commit goes through, and the leaves stay in step with the members' trees: c's leaf is free again.
    await commit(a!, groupId, { remove: [c!] });
    const [d] = await people(1);
    await commit(b!, groupId, { add: [d!] });
    expect((await commit(d!, groupId, { remove: [b!] })).status).toBe(200);
    expect(await members(a!, groupId)).toEqual([a!.deviceId, d!.deviceId].sort());
  });

  it('lets only admins add or remove others and change the admin list; anyone manages their own devices', async () => {
    const [admin, member, outsider] = await people(3);
    const groupId = await groupOf([admin!, member!]);
    await commit(admin!, groupId, { admins: [admin!.account.username] });
    const refused = { status: 403, body: { code: 'not_admin' } };
    expect(await postCommit(member!, groupId, (await commitRequest(member!, groupId, { add: [outsider!] })).body)).toMatchObject(refused);
    expect(await postCommit(member!, groupId, (await commitRequest(member!, groupId, { remove: [admin!] })).body)).toMatchObject(refused);
    expect(await postCommit(member!, groupId, (await commitRequest(member!, groupId, { admins: [member!.account.username] })).body)).toMatchObject(refused);
    // The member's own new device: allowed.
    const laptop = await (await member!.account.addDevice()).login();
    expect((await commit(member!, groupId, { add: [laptop] })).status).toBe(200);
    // The admin adds and removes others.
    expect((await commit(admin!, groupId, { add: [outsider!] })).status).toBe(200);
    // Anyone may re-add a device (remove it and add it back in one commit, e.g. one that lost its state).
    expect((await commit(member!, groupId, { remove: [outsider!], add: [outsider!] })).status).toBe(200);
    expect((await commit(admin!, groupId, { remove: [member!, laptop] })).status).toBe(200);
    expect(await members(admin!, groupId)).toEqual([admin!.deviceId, outsider!.deviceId].sort());
  });

  /** A member's signed report that the commit (request body `body`, accepted at `seq`) is invalid. */
  const reject = (d: TestDevice, groupId: string, seq: number, body: { epoch: number; commit: string }) =>
    d.call<{ voided: boolean; rejecting: number; needed: number }>('POST', `/v1/groups/${groupId}/commits/${seq}/rejections`, {
      reason: 'decryption_failed: signature invalid',
      signature: toBase64Url(ed25519.sign(commitRejectionBytes({ groupId, epoch: body.epoch, seq, commitHash: sha256(fromBase64Url(body.commit)) }), d.keys.secretKey)),
    });

  it('voids a commit on signed reports from a majority of the accounts that stay, and restores the group as it was', async () => {
    const [a, b, c, d, e] = await people(5);
    const groupId = await groupOf([a!, b!, c!, d!]);
    const { body } = await commitRequest(a!, groupId, { add: [e!], remove: [d!] });
    const accepted = await postCommit(a!, groupId, body);
    expect(accepted.status).toBe(200);
    const seq = (accepted.body as { seq: number }).seq;
    // Not counted: the removed device, the added one, a signature over another commit, the committer's own account.
    expect(await reject(d!, groupId, seq, body)).toMatchObject({ status: 403, body: { code: 'not_member' } });
    expect(await reject(e!, groupId, seq, body)).toMatchObject({ status: 403, body: { code: 'not_member' } });
    expect(await reject(b!, groupId, seq, { ...body, commit: bytes(40) })).toMatchObject({ status: 401, body: { code: 'bad_signature' } });
    expect((await reject(b!, groupId, seq, body)).body).toEqual({ voided: false, rejecting: 1, needed: 2 });
    expect((await reject(b!, groupId, seq, body)).body).toEqual({ voided: false, rejecting: 1, needed: 2 }); // once per device
    expect((await reject(c!, groupId, seq, body)).body).toEqual({ voided: true, rejecting: 2, needed: 2 });
    const group = (await a!.call<{ epoch: number; members: string[] }>('GET', `/v1/groups/${groupId}`)).body;
    expect(group.epoch).toBe(body.epoch);
    expect(group.members.sort()).toEqual([a!, b!, c!, d!].map((x) => x.deviceId).sort());
    // Everyone concerned gets the void item; the commit and its Welcome are gone from mailboxes not yet read.
    for (const x of [a!, b!, c!, d!, e!]) {
      const mail = (await x.mailbox()).filter((m) => m.seq >= seq);
      expect(mail.map((m) => m.kind)).toEqual(['void']);
      expect(JSON.parse(new TextDecoder().decode(fromBase64Url(mail[0]!.payload)))).toMatchObject({ voidedSeq: seq, epoch: body.epoch });
    }
    expect((await reject(c!, groupId, seq, body)).body).toMatchObject({ voided: true });
    // The group goes on from the restored epoch: the next commit wins it.
    expect((await postCommit(b!, groupId, (await commitRequest(b!, groupId, { remove: [d!] })).body)).status).toBe(200);
  });

  it('does not void a commit someone else built on, or one a later commit followed', async () => {
    const [a, b, c] = await people(3);
    const groupId = await groupOf([a!, b!, c!]);
    const first = await commitRequest(a!, groupId);
    const accepted = await postCommit(a!, groupId, first.body);
    await first.apply();
    const seq = (accepted.body as { seq: number }).seq;
    // c sends in the new epoch: it accepted the commit.
    expect((await c!.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: first.body.epoch + 1, ciphertext: bytes(20) })).status).toBe(200);
    await reject(b!, groupId, seq, first.body);
    expect((await reject(c!, groupId, seq, first.body)).body).toMatchObject({ voided: false, rejecting: 2 });
    await commit(a!, groupId);
    expect(await reject(b!, groupId, seq, first.body)).toMatchObject({ status: 409, body: { code: 'conflict' } });
  });
});
