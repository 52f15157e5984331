/** Multi-device against the real server: three devices per person, a device added later, a device revoked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url, type AccountResponse } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeLinkCode, LinkCodeError } from '../src/linkCode.ts';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import { deviceOptions, linkSecondDevice, register, server, uniqueName, TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const provision = (from: TestDevice, name: string): Promise<TestDevice> => linkSecondDevice(from, name);

describe('a user with three devices', () => {
  it('every device is a leaf: each receives every message, and sends reach the others’ devices too', async () => {
    const phone = await register(srv.url, uniqueName('ann'));
    const laptop = await provision(phone, 'laptop');
    const tablet = await provision(phone, 'tablet');
    const bob = await register(srv.url, uniqueName('bob'));
    const ann = phone.messenger.username;

    const chat = await phone.messenger.createChat(bob.messenger.username);
    await Promise.all([laptop, tablet, bob].map((d) => d.messenger.sync()));
    const members = (await bob.messenger.group(chat)).members;
    expect(members.filter((m) => m.username === ann).map((m) => m.deviceId).sort()).toEqual([phone, laptop, tablet].map((d) => d.messenger.deviceId).sort());

    await bob.messenger.sendText(chat, 'to all of ann');
    await laptop.messenger.sendText(chat, 'from the laptop');
    await Promise.all([phone, laptop, tablet, bob].map((d) => d.messenger.sync()));
    for (const d of [phone, laptop, tablet]) expect(d.texts).toContain(`${bob.messenger.username}: to all of ann`);
    // The laptop's message reaches bob and ann's other devices (never the sending device itself).
    for (const d of [phone, tablet, bob]) expect(d.texts).toContain(`${ann}: from the laptop`);
    expect(laptop.texts).not.toContain(`${ann}: from the laptop`);

    // A fourth device joins the account's groups through a commit made by an existing device.
    const desktop = await provision(phone, 'desktop');
    await phone.messenger.reconcileDevices();
    await Promise.all([laptop, tablet, bob, desktop].map((d) => d.messenger.sync()));
    expect(desktop.events.some((e) => e.type === 'joined' && e.groupId === chat)).toBe(true);
    await bob.messenger.sendText(chat, 'welcome desktop');
    await desktop.messenger.sync();
    expect(desktop.texts).toEqual([`${bob.messenger.username}: welcome desktop`]);

    // Revoking the tablet removes its leaf from every group.
    await phone.messenger.revokeDevice(tablet.messenger.deviceId);
    await Promise.all([laptop, bob, desktop].map((d) => d.messenger.sync()));
    for (const d of [phone, laptop, bob, desktop]) expect((await d.messenger.group(chat)).members.map((m) => m.deviceId)).not.toContain(tablet.messenger.deviceId);
    expect((await phone.messenger.api.group(chat)).members).not.toContain(tablet.messenger.deviceId);
    await bob.messenger.sendText(chat, 'tablet is gone');
    await Promise.all([laptop, desktop].map((d) => d.messenger.sync()));
    expect(laptop.texts).toContain(`${bob.messenger.username}: tablet is gone`);
    // The revoked device can no longer even sign in to fetch anything.
    await expect(tablet.messenger.sync()).rejects.toThrow(/revoked/);
    expect(tablet.texts).not.toContain(`${bob.messenger.username}: tablet is gone`);
    for (const d of [phone, laptop, desktop, bob]) expect(d.rejections).toEqual([]);
  });
});

describe('group names', () => {
  it('reach people and devices added later', async () => {
    const ann = await register(srv.url, uniqueName('ann'));
    const bob = await register(srv.url, uniqueName('bob'));
    const groupId = await ann.messenger.createGroup('Book club', [bob.messenger.username]);
    await bob.messenger.sync();
    expect((await bob.messenger.group(groupId)).name).toBe('Book club');
    const tablet = await provision(bob, 'tablet');
    await bob.messenger.reconcileDevices();
    await tablet.messenger.sync();
    expect((await tablet.messenger.group(groupId)).name).toBe('Book club');
  });
});

describe('linking a device (Signal-style)', () => {
  it('the new device makes its keys and shows a code; an existing device approves it and it joins every chat', async () => {
    const [phone, bob] = await Promise.all([register(srv.url, uniqueName('ann')), register(srv.url, uniqueName('bob'))]);
    const chat = await bob.messenger.createChat(phone.messenger.username);
    await phone.messenger.sync();
    const storage = new MemoryStorage();
    const pending = await Messenger.link(await deviceOptions(srv.url, { storage }), phone.messenger.username, 'laptop');
    // The code holds the new device's public key and a link secret: nothing private of any device.
    const code = decodeLinkCode(pending.code);
    expect(code.deviceId).toBe(pending.deviceId);
    const kept = JSON.parse(new TextDecoder().decode((await storage.get('pendingLink'))!)) as { deviceSecret: string; devicePublic: string };
    expect(toBase64Url(code.signatureKey)).toBe(kept.devicePublic);
    expect(pending.code).not.toContain(kept.deviceSecret);
    const [laptop, approval] = await Promise.all([pending.complete({ intervalMs: 50 }), phone.messenger.approveDevice(pending.code, 'laptop', 30_000)]);
    expect(approval).toEqual({ deviceId: laptop.deviceId, inAllChats: true });
    const l = new TestDevice(laptop);
    await laptop.sync();
    await bob.messenger.sendText(chat, 'hello laptop');
    await laptop.sync();
    expect(l.texts).toContain(`${bob.messenger.username}: hello laptop`);
  });

  it('a server that shows the new device another account key is caught by the approver’s confirmation', async () => {
    const phone = await register(srv.url, uniqueName('ann'));
    const storage = new MemoryStorage();
    const otherKey = toBase64Url(ed25519.getPublicKey(ed25519.utils.randomSecretKey()));
    const lying: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith(`/v1/accounts/${phone.messenger.username}`) || !response.ok) return response;
      const account = (await response.json()) as AccountResponse;
      return new Response(JSON.stringify({ ...account, identityKey: otherKey }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const pending = await Messenger.link(await deviceOptions(srv.url, { storage, fetch: lying }), phone.messenger.username, 'laptop');
    const [outcome] = await Promise.all([pending.complete({ intervalMs: 50 }).catch((e: unknown) => e), phone.messenger.approveDevice(pending.code, 'laptop', 0)]);
    expect(outcome).toBeInstanceOf(LinkCodeError);
    expect(await storage.get('device')).toBeUndefined();
  });
});
