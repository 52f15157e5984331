/**
 * No device falls out of a group (issue 10): each test first mounts the failure — a directory answering
 * 503, an old add-commit of a since-revoked device, a lost HTTP response, items out of epoch order — against
 * the real server, and shows the device ends in the same epoch as everyone else and keeps reading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientFailure } from '../src/core/transient.ts';
import { Messenger } from '../src/messenger.ts';
import { deviceOptions, linkSecondDevice, register, server, TestDevice, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

/** A device whose HTTP traffic goes through `intercept` first (undefined: the real request). */
async function registerWith(prefix: string, intercept: (url: string, init: RequestInit | undefined) => Promise<Response> | undefined): Promise<TestDevice> {
  const fetchImpl: typeof fetch = (input, init) => intercept(String(input), init) ?? fetch(input, init);
  return new TestDevice(await Messenger.register(await deviceOptions(srv.url, { fetch: fetchImpl }), uniqueName(prefix)));
}

const epochOf = async (d: TestDevice, groupId: string) => (await d.messenger.group(groupId)).epoch;

describe('no device falls out of a group', () => {
  it('a commit whose check meets a 503 from the directory stays in the mailbox and applies on the next sync', async () => {
    let directoryDown = false;
    const bob = await registerWith('bo', (url, init) =>
      directoryDown && (init?.method ?? 'GET') === 'GET' && url.includes('/v1/accounts/')
        ? Promise.resolve(new Response(JSON.stringify({ code: 'unavailable', message: 'directory down' }), { status: 503, headers: { 'content-type': 'application/json' } }))
        : undefined,
    );
    const [alice, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('g', [bob.messenger.username]);
    await bob.messenger.sync();
    await alice.messenger.addMembers(group, [carol.messenger.username]);

    directoryDown = true; // bob must look carol's new device up to accept the commit that adds it
    await expect(bob.messenger.sync()).rejects.toBeInstanceOf(TransientFailure);
    expect(bob.rejections).toEqual([]);
    expect(await epochOf(bob, group)).toBe((await epochOf(alice, group)) - 1);
    const waiting = await bob.messenger.api.mailbox(10);
    expect(waiting.items.map((i) => i.kind)).toContain('commit'); // not acknowledged, not forgotten

    directoryDown = false;
    await bob.messenger.sync();
    expect(await epochOf(bob, group)).toBe(await epochOf(alice, group));
    await alice.messenger.sendText(group, 'all here?');
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    expect(bob.texts).toContain(`${alice.messenger.username}: all here?`);
    expect(carol.texts).toContain(`${alice.messenger.username}: all here?`);
    expect(bob.rejections).toEqual([]);
  });

  it('an old add-commit of a device revoked since is judged as of the commit, not as of today', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    // While bob is offline: alice links a laptop (added to the chat), then revokes it (removed again).
    const laptop = await linkSecondDevice(alice, 'laptop');
    await alice.messenger.reconcileDevices();
    await laptop.messenger.sync();
    await alice.messenger.revokeDevice(laptop.messenger.deviceId);
    await bob.messenger.sync();
    expect(bob.rejections).toEqual([]);
    expect(await epochOf(bob, chat)).toBe(await epochOf(alice, chat));
    expect((await bob.messenger.group(chat)).members.map((m) => m.deviceId)).not.toContain(laptop.messenger.deviceId);
    await alice.messenger.sendText(chat, 'after the laptop');
    await bob.messenger.sync();
    expect(bob.texts).toContain(`${alice.messenger.username}: after the laptop`);
  });

  it('a commit or a message whose HTTP response is lost is recognised on resend: no fork, no duplicate', async () => {
    let lose: 'commits' | 'messages' | undefined;
    const alice = await registerWith('al', (url, init) => {
      if (!lose || init?.method !== 'POST' || !url.endsWith(`/${lose}`)) return undefined;
      lose = undefined;
      // The server gets and accepts the request; the answer never arrives.
      return fetch(url, init).then(() => Promise.reject(new TypeError('fetch failed')));
    });
    const [bob, carol] = await Promise.all([register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('g', [bob.messenger.username]);
    lose = 'commits';
    await alice.messenger.addMembers(group, [carol.messenger.username]);
    expect(lose).toBeUndefined(); // the loss happened
    lose = 'messages';
    await alice.messenger.sendText(group, 'sent once');
    expect(lose).toBeUndefined();
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    expect(await epochOf(bob, group)).toBe(await epochOf(alice, group));
    expect(await epochOf(carol, group)).toBe(await epochOf(alice, group));
    expect(bob.texts.filter((t) => t.endsWith('sent once'))).toHaveLength(1);
    expect(carol.texts.filter((t) => t.endsWith('sent once'))).toHaveLength(1);
    expect([...bob.rejections, ...carol.rejections]).toEqual([]);
  });

  it('a message for an epoch not reached yet is kept and applied after its commit, not dropped', async () => {
    const [alice, bob, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('g', [bob.messenger.username]);
    await bob.messenger.sync();
    await alice.messenger.addMembers(group, [carol.messenger.username]);
    await alice.messenger.sendText(group, 'from the next epoch');
    const { items } = await bob.messenger.api.mailbox(50);
    const commit = items.find((i) => i.kind === 'commit')!;
    const later = items.filter((i) => i.kind === 'application');
    // The messages arrive before the commit that makes their epoch (e.g. over another path).
    await bob.messenger.processItems([...later, commit]);
    expect(bob.rejections).toEqual([]);
    expect(bob.events.filter((e) => e.type === 'buffered')).toHaveLength(later.length);
    expect(bob.texts).toContain(`${alice.messenger.username}: from the next epoch`);
  });
});
