/**
 * A device that lost its group state rejoins by external commit (src/groups/externalRejoin.ts, RFC 9420
 * §12.4.3.2), against the real server, with nobody else needed online: Bob's device is restored from a backup
 * taken before a commit it has since acknowledged, while the group's only admin is offline; its next sync
 * rejoins from the GroupInfo the server keeps; every member sees `rejoined`; the chat goes on both ways.
 *
 * And the attack the GroupInfo at the server opens: the server (which holds the GroupInfo and its external key)
 * lets a device of its choosing — a real account whose credential the directory vouches for — in by external
 * commit, joining anew or in Bob's place. Every member refuses it (`external_commit_refused`). And a server that
 * serves a lost device the GroupInfo of a group of its own making (same id, the device's leaf in it): refused
 * by the device, which asks to be re-added instead. The happy path runs on SQLite and PostgreSQL.
 *
 * A group made with `externalRejoin: false` (its policy, in the group context): no GroupInfo is kept, a lost
 * device asks to be re-added instead, and an external commit — even a device's own — is refused by the members.
 */
import { createCommit, createGroup, createGroupInfoWithExternalPubAndRatchetTree, decodeMlsMessage, encodeMlsMessage, joinGroupExternal } from 'ts-mls';
import { fromBase64Url } from '@doublelock/protocol';
import { startTestServer } from '@doublelock/server/testing';
import { createPostgresDatabase } from '@doublelock/store/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MessengerContext } from '../src/core/context.ts';
import { Messenger } from '../src/messenger.ts';
import { parseDeviceCredential } from '../src/mls/credential.ts';
import { MemoryStorage, type Storage } from '../src/storage/storage.ts';
import { deviceOptions, register, server, TestDevice, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const internals = (d: TestDevice) => (d.messenger as unknown as { ctx: MessengerContext }).ctx;
const memberIds = async (d: TestDevice, group: string) => (await d.messenger.group(group)).members.map((m) => m.deviceId).sort();

/** A copy of a device's whole storage, as a backup holds it. */
async function backup(storage: Storage): Promise<MemoryStorage> {
  const copy = new MemoryStorage();
  await copy.write(await Promise.all((await storage.keys('')).map(async (key) => ({ key, value: (await storage.get(key))! }))));
  return copy;
}

/**
 * Bob's device is restored from a backup taken before a commit it has since acknowledged, while the group's
 * only admin (the one a re-add would wait for) is offline: it rejoins by itself; everyone sees it.
 */
async function restoredDeviceRejoinsAlone(url: string): Promise<void> {
  const storage = new MemoryStorage();
  const [alice, carol, dave] = await Promise.all(['al', 'ca', 'da'].map((p) => register(url, uniqueName(p))));
  const bob = new TestDevice(await Messenger.register(await deviceOptions(url, { storage }), uniqueName('bo')));
  const chat = await alice!.messenger.createGroup('trip', [bob.messenger.username, carol!.messenger.username], { admins: true });
  await Promise.all([bob.messenger.sync(), carol!.messenger.sync()]);
  const saved = await backup(storage);

  // After the backup: Dave is added; Bob's device processes (and acknowledges) that commit. Then Alice, the
  // only admin (the one a re-add would wait for), goes offline.
  await alice!.messenger.addMembers(chat, [dave!.messenger.username]);
  await Promise.all([bob.messenger.sync(), carol!.messenger.sync(), dave!.messenger.sync()]);
  bob.messenger.close();

  const restored = new TestDevice(await Messenger.open(await deviceOptions(url, { storage: saved })));
  await carol!.messenger.sendText(chat, 'anyone there?');
  await restored.messenger.sync();
  const me = { username: bob.messenger.username, deviceId: bob.messenger.deviceId };
  // Back in by external commit, but unconfirmed: the server chose the GroupInfo. Nothing is sent or shown yet.
  expect(restored.events).toContainEqual({ type: 'rejoin_pending', groupId: chat });
  expect(restored.events.some((e) => e.type === 'rejoined' || e.type === 'rejoin_requested')).toBe(false);
  await expect(restored.messenger.sendText(chat, 'too early')).rejects.toThrow(/waits for one of its members to confirm/);
  expect((await restored.messenger.group(chat)).members.map((m) => m.username)).toContain(dave!.messenger.username);

  // Carol and Dave process Bob's external commit: they see him rejoin and confirm it (a rejoin_ack in the new
  // epoch); Bob's device, on its next sync, counts itself back; the chat goes on both ways.
  for (const d of [carol!, dave!]) {
    await d.messenger.sync();
    expect(d.events).toContainEqual({ type: 'rejoined', groupId: chat, ...me });
    expect(d.rejections).toEqual([]);
  }
  await restored.messenger.sync();
  expect(restored.events).toContainEqual({ type: 'rejoined', groupId: chat, ...me });
  expect(restored.texts).toEqual([]); // the confirmations are not chat messages
  await restored.messenger.sendText(chat, 'back, from a backup');
  for (const d of [carol!, dave!]) {
    await d.messenger.sync();
    expect(d.texts).toContain(`${me.username}: back, from a backup`);
  }
  await carol!.messenger.sendText(chat, 'welcome back');
  await restored.messenger.sync();
  expect(restored.texts).toContain(`${carol!.messenger.username}: welcome back`);

  // Alice comes back online later and follows too.
  await alice!.messenger.sync();
  expect(alice!.events).toContainEqual({ type: 'rejoined', groupId: chat, ...me });
  expect(alice!.texts).toContain(`${me.username}: back, from a backup`);
  const epoch = (await alice!.messenger.group(chat)).epoch;
  for (const d of [restored, carol!, dave!]) expect((await d.messenger.group(chat)).epoch).toBe(epoch);
  expect(await memberIds(restored, chat)).toEqual(await memberIds(alice!, chat));
}

describe('rejoin by external commit', () => {
  it('a device restored from an old backup rejoins by itself while the admin is offline, and everyone sees it', { timeout: 120_000 }, () => restoredDeviceRejoinsAlone(srv.url));

  it('a restored device that hears nothing rejoins when its own send meets 409, and sends once a member confirms', { timeout: 120_000 }, async () => {
    const storage = new MemoryStorage();
    const [alice, carol] = await Promise.all(['al', 'ca'].map((p) => register(srv.url, uniqueName(p))));
    const bob = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage }), uniqueName('bo')));
    const chat = await alice!.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    const saved = await backup(storage);
    await alice!.messenger.addMembers(chat, [carol!.messenger.username]);
    await bob.messenger.sync();
    bob.messenger.close();

    // Nothing arrives for the restored device; its first send is refused (409), the drained mailbox does not
    // bring it to the server's epoch: it rejoins, and holds the message until a member confirms the rejoin.
    const restored = new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: saved })));
    await expect(restored.messenger.sendText(chat, 'sent after a restore')).rejects.toThrow(/waits for one of its members to confirm/);
    expect(restored.events).toContainEqual({ type: 'rejoin_pending', groupId: chat });
    await alice!.messenger.sync();
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    await restored.messenger.sendText(chat, 'sent after a restore');
    for (const d of [alice!, carol!]) {
      await d.messenger.sync();
      expect(d.texts).toContain(`${bob.messenger.username}: sent after a restore`);
    }
  });

  it('rejoins from a GroupInfo whose ratchet tree is kept beside it (a large group’s, RFC 9420 §12.4.3.3)', { timeout: 120_000 }, async () => {
    // Alice's device leaves the tree out of the GroupInfo, as it does when the GroupInfo would pass 1 MiB.
    const storage = new MemoryStorage();
    const alice = await register(srv.url, uniqueName('al'), 6, { mls: { ratchetTreeInGroupInfo: false } });
    const bob = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage }), uniqueName('bo')));
    const chat = await alice.messenger.createGroup('big one', [bob.messenger.username], { admins: true });
    await bob.messenger.sync();
    const saved = await backup(storage);
    await alice.messenger.setAdmins(chat, [alice.messenger.username, bob.messenger.username]);
    await bob.messenger.sync();
    bob.messenger.close();
    const epoch = (await alice.messenger.group(chat)).epoch;
    const row = await srv.db.get<{ tree: number }>('SELECT LENGTH(ratchet_tree) AS tree FROM group_infos WHERE group_id = ? AND epoch = ?', [chat, epoch]);
    expect(Number(row?.tree)).toBeGreaterThan(0);

    const restored = new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: saved })));
    await alice.messenger.sendText(chat, 'still there?');
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoin_pending', groupId: chat });
    await alice.messenger.sync();
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    await restored.messenger.sendText(chat, 'rebuilt from the tree beside it');
    await alice.messenger.sync();
    expect(alice.texts).toContain(`${bob.messenger.username}: rebuilt from the tree beside it`);
  });

  it('a malicious server letting its own (directory-listed) device in by external commit is refused by every member', { timeout: 120_000 }, async () => {
    const [alice, bob, mallory] = await Promise.all(['al', 'bo', 'ma'].map((p) => register(srv.url, uniqueName(p))));
    const chat = await alice!.messenger.createGroup('private', [bob!.messenger.username]);
    await bob!.messenger.sync();
    const epoch = (await alice!.messenger.group(chat)).epoch;
    const members = await memberIds(alice!, chat);

    // The server stops checking the group and delivers to Mallory's device (a real account, listed and logged:
    // our AS accepts its credential); Mallory's client makes external commits from the GroupInfo the server keeps.
    await srv.db.run('UPDATE chat_groups SET checked = 0 WHERE group_id = ?', [chat]);
    await srv.db.run('INSERT INTO group_members (group_id, device_id) VALUES (?, ?)', [chat, mallory!.messenger.deviceId]);
    const m = internals(mallory!);
    const kept = await m.api.groupInfo(chat);
    const external = async (inPlaceOf?: string) => {
      const message = decodeMlsMessage(fromBase64Url(kept.groupInfo), 0)![0];
      if (message.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
      const own = await m.keyPackages.create(false);
      // ts-mls finds "our old leaf" with this comparison: pointed at Bob's leaf, it removes Bob's (validly signed by Mallory).
      const config = inPlaceOf
        ? { ...m.config, keyPackageEqualityConfig: { compareKeyPackageToLeafNode: (_: unknown, leaf: { credential: Parameters<typeof parseDeviceCredential>[0] }) => parseDeviceCredential(leaf.credential)?.deviceId === inPlaceOf } }
        : m.config;
      const { publicMessage } = await joinGroupExternal(message.groupInfo, own.publicPackage, own.privatePackage, inPlaceOf !== undefined, m.cs, undefined, config as typeof m.config);
      await m.api.commit(chat, { clientMessageId: `AAAAAAAAAAAAAAAAAAAAA${inPlaceOf ? 'B' : 'A'}`, epoch: kept.epoch, commit: Buffer.from(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage })).toString('base64url'), adds: [], removes: [] });
    };

    await external(); // joining anew
    for (const d of [alice!, bob!]) {
      await d.messenger.sync();
      expect(d.rejections.map((r) => r.reason)).toEqual(['external_commit_refused']);
      expect(d.rejections[0]!.message).toMatch(/would join from outside/);
    }
    // The server puts the group back at that epoch; Mallory tries again, in Bob's place.
    await srv.db.run('UPDATE chat_groups SET epoch = ? WHERE group_id = ?', [epoch, chat]);
    await external(bob!.messenger.deviceId);
    for (const d of [alice!, bob!]) {
      await d.messenger.sync();
      expect(d.rejections.map((r) => r.reason)).toEqual(['external_commit_refused', 'external_commit_refused']);
      expect(d.rejections[1]!.message).toMatch(/only a device can rejoin in its own place/);
      expect((await d.messenger.group(chat)).epoch).toBe(epoch);
      expect(await memberIds(d, chat)).toEqual(members);
      expect(d.events.some((e) => e.type === 'rejoined')).toBe(false);
    }
    // The group goes on without her.
    await srv.db.run('UPDATE chat_groups SET epoch = ? WHERE group_id = ?', [epoch, chat]);
    await alice!.messenger.sendText(chat, 'still just us');
    await bob!.messenger.sync();
    expect(bob!.texts).toContain(`${alice!.messenger.username}: still just us`);
  });

  it('a malicious server serving a GroupInfo of its own group (same id, the lost device’s leaf in it) is refused: the device asks to be re-added', { timeout: 120_000 }, async () => {
    const storage = new MemoryStorage();
    const [alice, mallory] = await Promise.all(['al', 'ma'].map((p) => register(srv.url, uniqueName(p))));
    const bob = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage }), uniqueName('bo')));
    const chat = await alice!.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    const saved = await backup(storage);
    await alice!.messenger.setAdmins(chat, [alice!.messenger.username]); // a commit Bob's backup misses
    await bob.messenger.sync();
    bob.messenger.close();
    const epoch = (await alice!.messenger.group(chat)).epoch;

    // The server's own group with the chat's id: Mallory's device (a real, logged account) and Bob's device, from
    // one of Bob's KeyPackages the server holds, brought to the chat's epoch; its GroupInfo, signed by Mallory,
    // is what the server now serves for the chat. A device that took it would talk to a group whose secrets the
    // server knows.
    const m = internals(mallory!);
    const creator = await m.keyPackages.create(false);
    let fake = await createGroup(fromBase64Url(chat), creator.publicPackage, creator.privatePackage, [], m.cs, m.config);
    const [bobsPackage] = (await m.api.claimKeyPackages(bob.messenger.username)).keyPackages;
    const claimed = decodeMlsMessage(fromBase64Url(bobsPackage!.keyPackage), 0)![0];
    if (claimed.wireformat !== 'mls_key_package') throw new Error('not a KeyPackage');
    fake = (await createCommit({ state: fake, cipherSuite: m.cs }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: claimed.keyPackage } }] })).newState;
    while (Number(fake.groupContext.epoch) < epoch) fake = (await createCommit({ state: fake, cipherSuite: m.cs })).newState;
    const forged = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: await createGroupInfoWithExternalPubAndRatchetTree(fake, [], m.cs) });
    await srv.db.run('UPDATE group_infos SET group_info = ? WHERE group_id = ? AND epoch = ?', [forged, chat, epoch]);

    const restored = new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: saved })));
    await alice!.messenger.sendText(chat, 'are you there?');
    await restored.messenger.sync();
    expect(restored.events.some((e) => e.type === 'rejoined')).toBe(false);
    expect(restored.events).toContainEqual(expect.objectContaining({ type: 'error', error: expect.objectContaining({ message: expect.stringMatching(/signed by .* who was not in the group/) }) }));
    expect(restored.events).toContainEqual({ type: 'rejoin_requested', groupId: chat });
    // Alice re-adds Bob's device into the real group.
    await alice!.messenger.sync();
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    expect((await restored.messenger.group(chat)).members.map((x) => x.username).sort()).toEqual([alice!.messenger.username, bob.messenger.username].sort());
  });

  it('a group whose policy allows no external commits: no GroupInfo kept, a lost device is re-added, an external commit is refused', { timeout: 120_000 }, async () => {
    const storage = new MemoryStorage();
    const [alice, carol, dave] = await Promise.all(['al', 'ca', 'da'].map((p) => register(srv.url, uniqueName(p))));
    const bob = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage }), uniqueName('bo')));
    const chat = await alice!.messenger.createGroup('closed', [bob.messenger.username, carol!.messenger.username], { externalRejoin: false });
    await Promise.all([bob.messenger.sync(), carol!.messenger.sync()]);
    const saved = await backup(storage);
    await alice!.messenger.addMembers(chat, [dave!.messenger.username]);
    await Promise.all([bob.messenger.sync(), carol!.messenger.sync(), dave!.messenger.sync()]);
    await expect(internals(alice!).api.groupInfo(chat)).rejects.toMatchObject({ code: 'not_found' });
    bob.messenger.close();

    // Restored from the backup: nothing to rejoin from; it asks, and a member re-adds it.
    const restored = new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: saved })));
    await carol!.messenger.sendText(chat, 'anyone there?');
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoin_requested', groupId: chat });
    await alice!.messenger.sync();
    await restored.messenger.sync();
    const me = { username: bob.messenger.username, deviceId: bob.messenger.deviceId };
    expect(restored.events).toContainEqual({ type: 'rejoined', groupId: chat, ...me });
    for (const d of [carol!, dave!]) await d.messenger.sync();

    // Bob's modified client rejoins by external commit anyway, from a GroupInfo it makes from its own state (in
    // its own place). An honest server refuses (it keeps no GroupInfo for the group); one that keeps it anyway
    // takes the commit: the members refuse it, as the group's policy says.
    const b = internals(restored);
    const { state } = await b.groupStore.require(chat);
    const own = await b.keyPackages.create(false);
    const info = await createGroupInfoWithExternalPubAndRatchetTree(state, [], b.cs);
    const forced = async () => {
      const { publicMessage } = await joinGroupExternal(info, own.publicPackage, own.privatePackage, true, b.cs, undefined, b.config);
      const commit = Buffer.from(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage })).toString('base64url');
      return b.api.commit(chat, { clientMessageId: 'CCCCCCCCCCCCCCCCCCCCCC', epoch: Number(state.groupContext.epoch), commit, adds: [], removes: [] });
    };
    await expect(forced()).rejects.toMatchObject({ code: 'commit_rejected', message: expect.stringMatching(/keeps no group info/) });
    await srv.db.run('INSERT INTO group_infos (group_id, epoch, group_info, created_at) VALUES (?, ?, ?, ?)', [chat, Number(state.groupContext.epoch), encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: info }), Date.now()]);
    await forced();
    const epoch = Number(state.groupContext.epoch);
    for (const d of [alice!, carol!]) {
      await d.messenger.sync();
      expect(d.rejections.map((r) => r.reason)).toEqual(['external_commit_refused']);
      expect(d.rejections[0]!.message).toMatch(/does not allow rejoining by external commit/);
      expect((await d.messenger.group(chat)).epoch).toBe(epoch);
    }
    // Their signed reports are a majority of the other accounts: the server voided it before Dave fetched it.
    expect((await b.api.group(chat)).epoch).toBe(epoch);
    await dave!.messenger.sync();
    expect(dave!.events).toContainEqual(expect.objectContaining({ type: 'commit_voided', groupId: chat, appliedHere: false }));
    expect((await dave!.messenger.group(chat)).epoch).toBe(epoch);
  });
});

/**
 * A server colluding with a removed member. Alice, Bob and Mallory are in a group; Bob's device is backed up
 * (epoch 1); Alice makes the admin list (epoch 2: a GroupInfo of epoch 2 is kept), then removes Mallory
 * (epoch 3). Mallory keeps her state of epoch 2. Bob's device is restored from the backup. The server now
 * serves the genuine GroupInfo of epoch 2, puts the group back at that epoch (it stops checking it) and delivers
 * to Mallory again: a Bob that rejoined from it would be in a fork of epoch 2, whose secrets Mallory holds.
 */
async function forkedByServer(options: Partial<Parameters<typeof deviceOptions>[1]> = {}) {
  const [bobStorage, malloryStorage] = [new MemoryStorage(), new MemoryStorage()];
  const alice = await register(srv.url, uniqueName('al'));
  const bob = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage: bobStorage }), uniqueName('bo')));
  const mallory = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage: malloryStorage }), uniqueName('ma')));
  const chat = await alice.messenger.createGroup('plans', [bob.messenger.username, mallory.messenger.username]);
  await Promise.all([bob.messenger.sync(), mallory.messenger.sync()]);
  const bobsBackup = await backup(bobStorage);
  await alice.messenger.setAdmins(chat, [alice.messenger.username]);
  await Promise.all([bob.messenger.sync(), mallory.messenger.sync()]);
  const forkEpoch = (await alice.messenger.group(chat)).epoch;
  const mallorysState = await backup(malloryStorage); // what the removed member keeps
  await alice.messenger.removeMembers(chat, [mallory.messenger.username]);
  await bob.messenger.sync();
  bob.messenger.close();
  mallory.messenger.close();
  const serverLies = async () => {
    await srv.db.run('UPDATE chat_groups SET checked = 0, epoch = ? WHERE group_id = ?', [forkEpoch, chat]);
    await srv.db.run('INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [chat, mallory.messenger.deviceId]);
    // Mallory never processes her removal: the server drops it from her mailbox.
    await srv.db.run('DELETE FROM mailbox WHERE device_id = ? AND message_id IN (SELECT id FROM messages WHERE group_id = ?)', [mallory.messenger.deviceId, chat]);
    expect(await srv.db.get('SELECT 1 AS one FROM group_infos WHERE group_id = ? AND epoch = ?', [chat, forkEpoch])).toBeDefined(); // the genuine, stale GroupInfo
  };
  const restoreBob = async () => new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: bobsBackup, ...options })));
  const restoreMallory = async () => new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: mallorysState })));
  return { alice, bob, mallory, chat, forkEpoch, serverLies, restoreBob, restoreMallory };
}

describe('a server serving a stale GroupInfo, with a removed member', () => {
  it('is refused when the lost device keeps an item of a later epoch: it asks to be re-added, and the removed member hears nothing', { timeout: 120_000 }, async () => {
    const { alice, bob, chat, forkEpoch, serverLies, restoreBob, restoreMallory } = await forkedByServer();
    await alice.messenger.sendText(chat, 'just us now'); // epoch 3: in Bob's mailbox
    await serverLies();
    const restored = await restoreBob();
    await restored.messenger.sync();
    expect(restored.events).toContainEqual(expect.objectContaining({ type: 'error', error: expect.objectContaining({ message: expect.stringMatching(new RegExp(`group info of epoch ${forkEpoch}, but this device keeps items of epoch ${forkEpoch + 1}`)) }) }));
    expect(restored.events).toContainEqual({ type: 'rejoin_requested', groupId: chat });
    expect(restored.events.some((e) => e.type === 'rejoin_pending' || e.type === 'rejoined')).toBe(false);
    // Mallory, with her state of the fork's epoch, gets no external commit from Bob: no fork.
    const mallory = await restoreMallory();
    await mallory.messenger.sync();
    expect(mallory.events.some((e) => e.type === 'rejoined' && e.deviceId === bob.messenger.deviceId)).toBe(false);
    expect((await mallory.messenger.group(chat)).epoch).toBe(forkEpoch);
  });

  it('holds a rejoin no current member confirms: the device sends nothing into the fork, then asks to be re-added and says so', { timeout: 120_000 }, async () => {
    const { bob, chat, forkEpoch, serverLies, restoreBob, restoreMallory } = await forkedByServer({ rejoinConfirmMs: 50 });
    await serverLies();
    // Nothing kept to compare with: Bob's send meets 409, it rejoins from the stale GroupInfo — into the fork.
    const restored = await restoreBob();
    await expect(restored.messenger.sendText(chat, 'meet at the north gate')).rejects.toThrow(/waits for one of its members to confirm/);
    expect(restored.events).toContainEqual({ type: 'rejoin_pending', groupId: chat });
    expect((await restored.messenger.group(chat)).epoch).toBe(forkEpoch + 1);
    // Nobody in the real group saw that commit, so nobody confirms; past the wait, Bob asks to be re-added.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoin_unconfirmed', groupId: chat });
    expect(restored.events).toContainEqual({ type: 'rejoin_requested', groupId: chat });
    expect(restored.events.some((e) => e.type === 'rejoined')).toBe(false);
    await expect(restored.messenger.sendText(chat, 'meet at the north gate')).rejects.toThrow(/waits for one of its members to confirm/);
    // Mallory follows the fork (she processes Bob's external commit) but reads nothing Bob said.
    const mallory = await restoreMallory();
    await mallory.messenger.sync();
    expect(mallory.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    expect(mallory.texts).toEqual([]);
  });
});

// The Delivery Service's part (GroupInfo kept and served, the external commit taken) on PostgreSQL too.
describe.runIf(inject('postgresUrl'))('rejoin by external commit on PostgreSQL', () => {
  let pg: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    pg = await startTestServer({ databaseUrl: await createPostgresDatabase(inject('postgresUrl')) });
  });
  afterAll(async () => {
    await pg.close();
  });
  it('a device restored from an old backup rejoins by itself while the admin is offline', { timeout: 120_000 }, () => restoredDeviceRejoinsAlone(pg.url));
});
