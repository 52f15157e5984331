/**
 * Safety-number changes and verified state, like Signal's: a contact whose identity key changes is shown as
 * 'changed' and refused until the user accepts the new safety number; 'verified' is set by the user; both
 * decisions travel to the user's other devices (note-to-self group). The change is mounted for real: the
 * server gives Bob a new identity key and a device certified by it, and logs that state.
 */
import { toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSecondDevice, register, server, serverChangesIdentity, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

describe('trust in contacts', () => {
  it('verified is set by the user and synced; a changed identity key is shown, refused, and accepted after review', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const laptop = await linkSecondDevice(alice, 'laptop');
    const chat = await alice.messenger.createChat(bob.messenger.username);
    expect((await alice.messenger.trust(bob.messenger.username)).state).toBe('unverified');

    const verified = await alice.messenger.setVerified(bob.messenger.username);
    expect(verified.state).toBe('verified');
    expect(verified.safetyNumber).toBe(await bob.messenger.safetyNumber(alice.messenger.username));
    await laptop.messenger.sync();
    expect((await laptop.messenger.trust(bob.messenger.username)).state).toBe('verified');

    // Bob's account gets a new identity key (as after a reinstall) with a device certified by it; it is logged.
    const { identityKey } = await serverChangesIdentity(srv, bob.messenger.username);

    const changed = await alice.messenger.trust(bob.messenger.username);
    expect(changed).toMatchObject({ state: 'changed', identityKey: toBase64Url(identityKey), wasVerified: true });
    expect(changed.safetyNumber).not.toBe(verified.safetyNumber);
    await expect(alice.messenger.setVerified(bob.messenger.username)).rejects.toThrow(/changed/);
    // Until accepted, Bob's devices are refused (here: adding Bob again to the chat finds his new device untrusted).
    await expect(alice.messenger.addMembers(chat, [bob.messenger.username])).rejects.toThrow(/identity key .* changed/);

    const accepted = await alice.messenger.acceptIdentityChange(bob.messenger.username);
    expect(accepted).toMatchObject({ state: 'unverified', safetyNumber: changed.safetyNumber });
    await laptop.messenger.sync();
    expect((await laptop.messenger.trust(bob.messenger.username)).state).toBe('unverified');
    expect(laptop.rejections).toEqual([]);
  });
});
