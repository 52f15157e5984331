/**
 * The SDK's handshake options (src/mls/handshake.ts) against the real server: a device that puts the
 * ratchet tree inside its Welcomes, in a group with devices on the defaults (public commits). Everyone
 * joins, follows adds and removes, and chats; a device set to send private commits is refused by the
 * server, which reads every commit (apps/server/src/commitCheck.ts).
 */
import { decodeMlsMessage } from 'ts-mls';
import { fromBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, server, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

describe('handshake options', () => {
  it('public commits and the tree in the Welcome interoperate with the default framing; private commits are refused', { timeout: 60_000 }, async () => {
    // Alice's commits, as her device sends them to the server.
    const sentCommits: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/commits') && typeof init?.body === 'string') sentCommits.push((JSON.parse(init.body) as { commit: string }).commit);
      return fetch(input, init);
    };
    const alice = await register(srv.url, uniqueName('alice'), 6, { mls: { publicHandshake: true, ratchetTreeInWelcome: true }, fetch: recording });
    const bob = await register(srv.url, uniqueName('bob'));
    const carol = await register(srv.url, uniqueName('carol'));
    const dave = await register(srv.url, uniqueName('dave'), 6, { mls: { publicHandshake: true } });
    const erin = await register(srv.url, uniqueName('erin'), 6, { mls: { publicHandshake: false } });
    const group = await alice.messenger.createGroup('framed', [bob.messenger.username, carol.messenger.username]);
    await bob.messenger.sync();
    await carol.messenger.sync();

    // Alice's commit went to the server as a PublicMessage: its proposals readable by the Delivery Service.
    expect(sentCommits.length).toBeGreaterThan(0);
    for (const c of sentCommits) expect(decodeMlsMessage(fromBase64Url(c), 0)?.[0]?.wireformat).toBe('mls_public_message');
    // Bob (default framing: public) adds Dave; Alice and Carol follow it.
    await bob.messenger.addMembers(group, [dave.messenger.username]);
    await dave.messenger.sync();
    // Dave (public commits) removes Carol; everyone else follows a public commit.
    await dave.messenger.removeMembers(group, [carol.messenger.username]);
    for (const d of [alice, bob, carol]) await d.messenger.sync();
    expect(carol.events.some((e) => e.type === 'removed' && e.groupId === group)).toBe(true);

    await alice.messenger.sendText(group, 'after the public commits');
    for (const d of [bob, dave]) await d.messenger.sync();
    for (const d of [bob, dave]) expect(d.texts).toContain(`${alice.messenger.username}: after the public commits`);
    const members = (await alice.messenger.group(group)).members.map((m) => m.username).sort();
    expect(members).toEqual([alice, bob, dave].map((d) => d.messenger.username).sort());
    for (const d of [alice, bob, carol, dave]) expect(d.rejections).toEqual([]);
    // A device sending private commits: the server cannot read them and refuses.
    const own = await erin.messenger.createGroup('private', [alice.messenger.username]).catch((e: unknown) => e);
    expect(own).toMatchObject({ code: 'commit_rejected' });
  });
});
