/** The SDK against the real server: two people chat 1:1, over HTTP sync and over WebSocket push. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, server, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

describe('two users chat', () => {
  it('alice and bob exchange messages in a 1:1 chat, both ways, with the same safety number', async () => {
    const alice = await register(srv.url, uniqueName('alice'));
    const bob = await register(srv.url, uniqueName('bob'));
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    expect(bob.events.some((e) => e.type === 'joined' && e.groupId === chat)).toBe(true);

    await alice.messenger.sendText(chat, 'hello bob');
    await alice.messenger.sendText(chat, 'are you there?');
    await bob.messenger.sync();
    expect(bob.texts).toEqual([`${alice.messenger.username}: hello bob`, `${alice.messenger.username}: are you there?`]);

    await bob.messenger.sendText(chat, 'hi alice');
    await alice.messenger.sync();
    expect(alice.texts).toEqual([`${bob.messenger.username}: hi alice`]);

    const group = await alice.messenger.group(chat);
    expect(group.members.map((m) => m.username).sort()).toEqual([alice.messenger.username, bob.messenger.username].sort());
    expect(await alice.messenger.safetyNumber(bob.messenger.username)).toBe(await bob.messenger.safetyNumber(alice.messenger.username));
    expect(alice.rejections).toEqual([]);
    expect(bob.rejections).toEqual([]);
  });

  it('delivers by WebSocket push as messages are sent', async () => {
    const alice = await register(srv.url, uniqueName('alice'));
    const bob = await register(srv.url, uniqueName('bob'));
    await bob.messenger.connect();
    const chat = await alice.messenger.createChat(bob.messenger.username);
    const arrived = new Promise<void>((resolve) => {
      const off = bob.messenger.on((e) => {
        if (e.type === 'message' && e.message.content.type === 'text' && e.message.content.text === 'pushed') {
          off();
          resolve();
        }
      });
    });
    // Bob may see the welcome by push only after it is committed; wait for the join first.
    await waitFor(() => bob.events.some((e) => e.type === 'joined'));
    await alice.messenger.sendText(chat, 'pushed');
    await arrived;
    await bob.messenger.close();
    expect(bob.rejections).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
