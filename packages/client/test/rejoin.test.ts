/**
 * A device that lost its group state gets back in by a re-add (src/groups/rejoin.ts), against the real server,
 * where the server keeps no GroupInfo to rejoin from by external commit (a group too large to carry its tree in
 * one, or an older one; test/externalRejoin.test.ts covers the external commit): Bob's
 * device is restored from a backup taken before a commit it has since acknowledged (so that commit is gone
 * from its mailbox for good). Its next sync finds it cannot follow the group, asks to be re-added with a
 * signed request and a fresh KeyPackage; the chosen member re-adds it; every member sees `rejoined`; the
 * chat goes on both ways. A request replayed at a later epoch, and one another member posts as its own,
 * are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage, type Storage } from '../src/storage/storage.ts';
import { deviceOptions, register, server, TestDevice, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

/** A copy of a device's whole storage, as a backup holds it. */
async function backup(storage: Storage): Promise<MemoryStorage> {
  const copy = new MemoryStorage();
  const keys = await storage.keys('');
  await copy.write(await Promise.all(keys.map(async (key) => ({ key, value: (await storage.get(key))! }))));
  return copy;
}

describe('rejoin after lost state', () => {
  it('a device restored from an old backup asks to be re-added, is re-added by a member, and everyone sees it', { timeout: 120_000 }, async () => {
    const storage = new MemoryStorage();
    const [alice, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('ca'))]);
    const bob = new TestDevice(await Messenger.register(await deviceOptions(srv.url, { storage, keyPackageTarget: 6 }), uniqueName('bo')));
    const chat = await alice.messenger.createGroup('trip', [bob.messenger.username]);
    await bob.messenger.sync();
    const saved = await backup(storage);

    // After the backup: Carol is added, and Bob's device processes (and acknowledges) that commit.
    await alice.messenger.addMembers(chat, [carol.messenger.username]);
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    bob.messenger.close();

    // Bob's device is restored from the backup: one epoch behind, and the commit is gone from its mailbox.
    let requestBytes = '';
    const watching: typeof fetch = async (input, init) => {
      if (String(input).endsWith(`/v1/groups/${chat}/messages`) && typeof init?.body === 'string') requestBytes ||= (JSON.parse(init.body) as { ciphertext: string }).ciphertext;
      return fetch(input, init);
    };
    const restored = new TestDevice(await Messenger.open(await deviceOptions(srv.url, { storage: saved, fetch: watching })));
    // No GroupInfo kept for the group: rejoining by external commit is not possible, a re-add is.
    await srv.db.run('DELETE FROM group_infos WHERE group_id = ?', [chat]);
    await alice.messenger.sendText(chat, 'did everyone pack?');
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'buffered', groupId: chat, seq: expect.any(Number) });
    expect(restored.events).toContainEqual({ type: 'rejoin_requested', groupId: chat });
    expect(requestBytes).not.toBe('');

    // A modified client (Carol's) posts Bob's request as its own: refused, not acted on.
    const carolEpoch = (await carol.messenger.group(chat)).epoch;
    await carol.messenger.api.sendMessage(chat, { clientMessageId: 'AAAAAAAAAAAAAAAAAAAAAA', epoch: carolEpoch, ciphertext: requestBytes });

    // Alice (the first manager leaf) re-adds Bob's device; Carol sees it too.
    await alice.messenger.sync();
    expect(alice.rejections.map((r) => r.message)).toEqual([expect.stringMatching(/not for the device that sent it/)]);
    expect(alice.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    await carol.messenger.sync();
    expect(carol.events).toContainEqual({ type: 'rejoined', groupId: chat, username: bob.messenger.username, deviceId: bob.messenger.deviceId });
    expect(carol.rejections).toEqual([]); // her own post is not delivered back to her

    // The chat goes on, both ways, with the rejoined device.
    await alice.messenger.sendText(chat, 'welcome back');
    await restored.messenger.sendText(chat, 'thanks, I am back');
    await Promise.all([restored.messenger.sync(), alice.messenger.sync(), carol.messenger.sync()]);
    expect(restored.texts).toContain(`${alice.messenger.username}: welcome back`);
    expect(alice.texts).toContain(`${bob.messenger.username}: thanks, I am back`);
    expect(carol.texts).toContain(`${bob.messenger.username}: thanks, I am back`);
    expect((await restored.messenger.group(chat)).epoch).toBe((await alice.messenger.group(chat)).epoch);

    // The server (or anyone with Bob's session) replays Bob's request at the new epoch: refused, no re-add.
    const epoch = (await alice.messenger.group(chat)).epoch;
    await restored.messenger.api.sendMessage(chat, { clientMessageId: 'BBBBBBBBBBBBBBBBBBBBBB', epoch, ciphertext: requestBytes });
    await alice.messenger.sync();
    expect(alice.rejections.at(-1)?.message).toMatch(/rejoin request for epoch \d+, but the group is at epoch/);
    expect((await alice.messenger.group(chat)).epoch).toBe(epoch);
  });
});
