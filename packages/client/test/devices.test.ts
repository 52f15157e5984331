/** Multi-device against the real server: three devices per person, a device added later, a device revoked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import { NodeWebSocket, register, server, uniqueName, TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

async function provision(from: TestDevice, name: string): Promise<TestDevice> {
  const provisioning = await from.messenger.provisionDevice(name);
  return new TestDevice(await Messenger.fromProvisioning({ serverUrl: srv.url, storage: new MemoryStorage(), webSocket: NodeWebSocket, keyPackageTarget: 6 }, provisioning));
}

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
