/**
 * Everyday chat features against the real server (src/content/features.ts, conversation.ts): replies,
 * reactions, edits and deletes; read receipts and typing indicators (and turning them off); disappearing
 * messages; group admins; blocking; creating chats (no trace left for an unknown person, no second 1:1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../src/storage/storage.ts';
import { Messenger } from '../src/messenger.ts';
import { NodeWebSocket, register, server, TestDevice, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const textOf = (m: { content?: { type: string; text?: string } }) => (m.content?.type === 'text' ? m.content.text : undefined);

describe('everyday chat features', () => {
  it('replies, reactions, edits and deletes: folded the same on both sides; deletes remove the stored copy everywhere', { timeout: 60_000 }, async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    const first = await alice.messenger.sendText(chat, 'lunch at noon?');
    const typo = await alice.messenger.sendText(chat, 'at the usal place');
    await bob.messenger.sync();
    await bob.messenger.reply(chat, first.clientMessageId, 'yes!');
    await bob.messenger.react(chat, first.clientMessageId, '👍');
    await alice.messenger.sync();
    await alice.messenger.react(chat, first.clientMessageId, '👍');
    await alice.messenger.edit(chat, typo.clientMessageId, 'at the usual place');
    const oops = await alice.messenger.sendText(chat, 'my password is hunter2');
    await alice.messenger.deleteMessage(chat, oops.clientMessageId);
    // Bob may not edit or delete Alice's message: refused before sending.
    await expect(bob.messenger.edit(chat, first.clientMessageId, 'dinner')).rejects.toThrow(/own/);
    await bob.messenger.sync();

    for (const d of [alice, bob]) {
      const view = await d.messenger.conversation(chat);
      const byId = new Map(view.map((m) => [m.id, m]));
      expect(byId.get(first.clientMessageId)?.reactions['👍']?.sort()).toEqual([alice.messenger.username, bob.messenger.username].sort());
      expect(textOf(byId.get(typo.clientMessageId)!)).toBe('at the usual place');
      expect(byId.get(typo.clientMessageId)?.edited).toBe(true);
      const reply = view.find((m) => textOf(m) === 'yes!')!;
      expect(reply.replyTo).toMatchObject({ id: first.clientMessageId, sender: alice.messenger.username, excerpt: 'lunch at noon?' });
      expect(byId.get(oops.clientMessageId)).toMatchObject({ deleted: true, content: undefined });
      // The deleted text is gone from the device's storage, not just hidden.
      expect(JSON.stringify(await d.messenger.history(chat))).not.toContain('hunter2');
      expect(view.some((m) => textOf(m)?.includes('hunter2'))).toBe(false);
    }
    // A forged delete (a modified client of Bob's naming Alice's message) is not honoured on receipt.
    await (bob.messenger as unknown as { features: { send(g: string, c: unknown): Promise<unknown> } }).features.send(chat, { type: 'delete', target: first.clientMessageId });
    await alice.messenger.sync();
    expect((await alice.messenger.conversation(chat)).find((m) => m.id === first.clientMessageId)).toMatchObject({ deleted: false });
    expect(JSON.stringify(await alice.messenger.history(chat))).toContain('lunch at noon?');
  });

  it('read receipts and typing indicators, and a person who turned them off', { timeout: 60_000 }, async () => {
    const [alice, bob, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('receipts', [bob.messenger.username, carol.messenger.username]);
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    await carol.messenger.setPreferences({ readReceipts: false, typingIndicators: false });
    const hello = await alice.messenger.sendText(group, 'hello both');
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    expect(await bob.messenger.markRead(group)).toBe(1);
    expect(await carol.messenger.markRead(group)).toBe(0); // off: nothing sent
    expect(await bob.messenger.markRead(group)).toBe(0); // already acknowledged
    expect(await bob.messenger.typing(group, true)).toBe(true);
    expect(await carol.messenger.typing(group, true)).toBe(false);
    await alice.messenger.sync();
    const typing = alice.messages.filter((m) => m.content.type === 'typing').map((m) => m.sender.username);
    expect(typing).toEqual([bob.messenger.username]);
    const view = await alice.messenger.conversation(group);
    expect(view.find((m) => m.id === hello.clientMessageId)?.readBy).toEqual([bob.messenger.username]);
    // Receipts and typing indicators are folded away, not kept as messages.
    expect((await alice.messenger.history(group)).some((m) => m.content.type === 'receipt' || m.content.type === 'typing')).toBe(false);
    // Reciprocal: Carol, with receipts off, sees no one's.
    await carol.messenger.sync();
    expect((await carol.messenger.conversation(group)).find((m) => m.id === hello.clientMessageId)?.readBy).toEqual([]);
  });

  it('disappearing messages: after the timer, gone from every device, the sender\'s included', { timeout: 60_000 }, async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await alice.messenger.sendText(chat, 'kept');
    await alice.messenger.setDisappearingTimer(chat, 1);
    await alice.messenger.sendText(chat, 'gone soon');
    await bob.messenger.sync();
    expect((await bob.messenger.conversation(chat)).map(textOf)).toContain('gone soon');
    await new Promise((r) => setTimeout(r, 1500));
    for (const d of [alice, bob]) {
      expect((await d.messenger.conversation(chat)).map(textOf)).not.toContain('gone soon');
      expect(JSON.stringify(await d.messenger.history(chat))).not.toContain('gone soon');
      expect((await d.messenger.conversation(chat)).map(textOf)).toContain('kept');
    }
  });

  it('group admins: in a group created with admins the creator manages; others may not add, remove or rename until made admin', { timeout: 90_000 }, async () => {
    const [alice, bob, carol, dave] = (await Promise.all(['al', 'bo', 'ca', 'da'].map((p) => register(srv.url, uniqueName(p))))) as [TestDevice, TestDevice, TestDevice, TestDevice];
    const group = await alice.messenger.createGroup('admins', [bob.messenger.username], { admins: true });
    await bob.messenger.sync();
    expect(await bob.messenger.admins(group)).toEqual([alice.messenger.username]);
    await expect(bob.messenger.addMembers(group, [carol.messenger.username])).rejects.toThrow(/admins/);
    await expect(bob.messenger.rename(group, 'mine now')).rejects.toThrow(/admins/);
    await alice.messenger.addMembers(group, [carol.messenger.username]);
    await carol.messenger.sync();
    expect(await carol.messenger.admins(group)).toEqual([alice.messenger.username]); // learnt on joining
    await alice.messenger.setAdmins(group, [alice.messenger.username, bob.messenger.username]);
    await bob.messenger.sync();
    await bob.messenger.addMembers(group, [dave.messenger.username]);
    await bob.messenger.rename(group, 'renamed by bob');
    for (const d of [alice!, carol!, dave!]) await d.messenger.sync();
    expect((await carol.messenger.group(group)).name).toBe('renamed by bob');
    expect((await dave.messenger.group(group)).members.map((m) => m.username)).toContain(dave.messenger.username);
    // A rename from a non-admin (a modified client skipping the SDK's check) is not honoured on receipt.
    await (carol.messenger as unknown as { features: { send(g: string, c: unknown): Promise<unknown> } }).features.send(group, { type: 'rename', name: 'carol was here' });
    await alice.messenger.sync();
    expect((await alice.messenger.group(group)).name).toBe('renamed by bob');
  });

  it('blocking: nothing from a blocked person is shown; no new chat with them', { timeout: 60_000 }, async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await bob.messenger.sendText(chat, 'before');
    await alice.messenger.sync();
    await alice.messenger.block(bob.messenger.username);
    expect((await alice.messenger.preferences()).blocked).toEqual([bob.messenger.username]);
    await bob.messenger.sendText(chat, 'after the block');
    await alice.messenger.sync();
    expect(alice.texts).not.toContain(`${bob.messenger.username}: after the block`);
    expect((await alice.messenger.conversation(chat)).some((m) => m.sender.username === bob.messenger.username)).toBe(false);
    await expect(alice.messenger.createGroup('again', [bob.messenger.username])).rejects.toThrow(/blocked/);
    await alice.messenger.unblock(bob.messenger.username);
    expect((await alice.messenger.conversation(chat)).map(textOf).filter(Boolean)).toEqual(['before', 'after the block']);
  });

  it('creating chats: an unknown person leaves nothing behind; a second 1:1 with the same person is the first', { timeout: 60_000 }, async () => {
    const storage = new MemoryStorage();
    const alice = new TestDevice(await Messenger.register({ serverUrl: srv.url, storage, webSocket: NodeWebSocket, keyPackageTarget: 2 }, uniqueName('al')));
    const bob = await register(srv.url, uniqueName('bo'));
    const keysBefore = (await storage.keys('')).length;
    await expect(alice.messenger.createChat('nobody-by-this-name')).rejects.toThrow(/No user "nobody-by-this-name"/);
    await expect(alice.messenger.createGroup('g', [bob.messenger.username, 'nobody-either'])).rejects.toThrow(/No user/);
    expect(await alice.messenger.groups()).toEqual([]);
    expect((await storage.keys('')).length).toBe(keysBefore);
    const first = await alice.messenger.createChat(bob.messenger.username);
    expect(await alice.messenger.createChat(bob.messenger.username)).toBe(first);
    await bob.messenger.sync();
    expect(await bob.messenger.createChat(alice.messenger.username)).toBe(first);
    expect((await alice.messenger.groups()).length).toBe(1);
  });

  it('an attachment over the limit is refused on the device, before anything is uploaded', async () => {
    const uploads: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT') uploads.push(String(input));
      return fetch(input, init);
    };
    const alice = await register(srv.url, uniqueName('al'), 6, { maxAttachmentBytes: 10_000, fetch: recording });
    const bob = await register(srv.url, uniqueName('bo'));
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await expect(alice.messenger.sendFile(chat, new Uint8Array(20_000), 'big.bin')).rejects.toThrow(/big.bin is 20000 bytes; attachments are limited to/);
    expect(uploads).toEqual([]);
    await alice.messenger.sendFile(chat, new Uint8Array(5_000), 'small.bin');
    expect(uploads).toHaveLength(1);
  });
});
