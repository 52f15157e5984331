/**
 * Key transparency against a lying server (issue 10). The server here is the real one, turned malicious
 * the way an operator could: it appends entries of its own making to its transparency log (a ghost device,
 * a new identity key, a second history, a revocation nobody signed) or replays an older, logged state of an
 * account to another client. Each test shows who notices: the account's own devices (monitoring) or the
 * client that remembers the versions it accepted (across a restart).
 */
import { directoryEntryBytes, directoryEntryHash, toBase64Url, type AccountResponse } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/serverApi.ts';
import { newDeviceKeys, signDeviceCertificate } from '../src/device.ts';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import { KeyTransparencyError } from '../src/transparency/keyTransparency.ts';
import { deviceOptions, linkSecondDevice, register, server, TestDevice, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

/** The malicious operator appends an account state of its own making as the next version of the account. */
async function logForged(current: AccountResponse, change: (state: AccountResponse) => AccountResponse, chain = true): Promise<void> {
  const { transparency: _, ...state } = current;
  const forged = change({ ...state, version: state.version + 1, previous: toBase64Url(directoryEntryHash(directoryEntryBytes(state))) });
  await srv.ctx.directory.log.append([directoryEntryBytes(chain ? forged : { ...forged, version: 1, previous: '' })]);
}

const ghostDevice = (name = 'ghost') => {
  const keys = newDeviceKeys();
  return { deviceId: keys.deviceId, signatureKey: toBase64Url(keys.publicKey), name, createdAt: Date.now(), accountSignature: toBase64Url(new Uint8Array(64).fill(7)), certifiedBy: null, revokedAt: null, revocationSignature: null, revokedBy: null };
};

const kinds = (d: TestDevice) => d.events.flatMap((e) => (e.type === 'transparency_alarm' ? [e.alarm.kind] : []));

describe('each device monitors its own account in the log', () => {
  it('notices a ghost device the server logged for it, loudly, and keeps the alarm', async () => {
    const alice = await register(srv.url, uniqueName('al'));
    expect((await alice.messenger.monitorOwnAccount()).alarms).toEqual([]);
    const current = await alice.messenger.api.account(alice.messenger.username);
    await logForged(current, (s) => ({ ...s, devices: [...s.devices, ghostDevice()] }));
    const { alarms } = await alice.messenger.monitorOwnAccount();
    expect(alarms.map((a) => a.kind)).toEqual(['ghost_device']);
    expect(kinds(alice)).toEqual(['ghost_device']);
    expect((await alice.messenger.transparencyAlarms()).map((a) => a.kind)).toEqual(['ghost_device']);
    // The next run reads on from where it stopped: the same entry is not reported twice.
    expect((await alice.messenger.monitorOwnAccount()).alarms).toEqual([]);
  });

  it('notices a new identity key, a second history, and a revocation the account never signed', async () => {
    const alice = await register(srv.url, uniqueName('al'));
    const laptop = await linkSecondDevice(alice, 'laptop');
    await alice.messenger.monitorOwnAccount();
    const current = await alice.messenger.api.account(alice.messenger.username);

    const stolen = ed25519.utils.randomSecretKey();
    const impostor = newDeviceKeys();
    const cert = signDeviceCertificate(stolen, alice.messenger.username, impostor.publicKey, 'impostor');
    await logForged(current, (s) => ({
      ...s,
      identityKey: toBase64Url(ed25519.getPublicKey(stolen)),
      devices: [{ deviceId: impostor.deviceId, signatureKey: cert.signatureKey, name: cert.name, createdAt: cert.createdAt, accountSignature: cert.accountSignature, certifiedBy: null, revokedAt: null, revocationSignature: null, revokedBy: null }],
    }));
    expect((await alice.messenger.monitorOwnAccount()).alarms.map((a) => a.kind)).toEqual(['identity_key_changed']);

    await logForged(current, (s) => s, false); // version 1 again: a second history of the account
    expect((await alice.messenger.monitorOwnAccount()).alarms.map((a) => a.kind)).toContain('forked_history');

    const fresh = await alice.messenger.api.account(alice.messenger.username);
    await logForged(fresh, (s) => ({ ...s, devices: s.devices.map((d) => (d.deviceId === laptop.messenger.deviceId ? { ...d, revokedAt: Date.now() } : d)) }));
    expect((await alice.messenger.monitorOwnAccount()).alarms.map((a) => a.kind)).toContain('forged_revocation');
  });
});

describe('other clients remember what they accepted', () => {
  it('a replayed older state of an account is refused, also after a restart', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const laptop = await linkSecondDevice(alice, 'laptop');
    const withLaptop = await bob.messenger.api.account(alice.messenger.username); // version 2, logged, with its proof
    await alice.messenger.revokeDevice(laptop.messenger.deviceId);

    const storage = new MemoryStorage();
    let replay = false;
    const lyingFetch: typeof fetch = (input, init) =>
      replay && String(input).endsWith(`/v1/accounts/${alice.messenger.username}`)
        ? Promise.resolve(new Response(JSON.stringify(withLaptop), { status: 200, headers: { 'content-type': 'application/json' } }))
        : fetch(input, init);
    const carol = await Messenger.register(await deviceOptions(srv.url, { storage, fetch: lyingFetch }), uniqueName('ca'));
    const seen = await carol.directory.account(alice.messenger.username, { fresh: true });
    expect(seen?.devices.find((d) => d.deviceId === laptop.messenger.deviceId)?.revokedAt).not.toBeNull();
    await carol.close();

    // Carol's device restarts; the server now shows her the old state in which the laptop is still active.
    replay = true;
    const reopened = await Messenger.open(await deviceOptions(srv.url, { storage, fetch: lyingFetch }));
    const refused = await reopened.directory.account(alice.messenger.username, { fresh: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyTransparencyError);
    expect((refused as KeyTransparencyError).failure).toBe('rollback');
    await reopened.close();
  });
});

describe('devices like Signal’s: any device manages the others', () => {
  it('a device without the identity key adds and revokes devices; a lost first device does not end device management', async () => {
    const phone = await register(srv.url, uniqueName('al'));
    const bob = await register(srv.url, uniqueName('bo'));
    const laptop = await linkSecondDevice(phone, 'laptop'); // certified by the identity key (the phone holds it)
    const tablet = await linkSecondDevice(laptop, 'tablet'); // certified by the laptop's own key
    const devices = await laptop.messenger.devices();
    expect(devices.find((d) => d.deviceId === tablet.messenger.deviceId)?.certifiedBy).toBe(laptop.messenger.deviceId);

    // The phone is lost: the laptop revokes it, signing with its own key; the revocation travels on the wire.
    await laptop.messenger.revokeDevice(phone.messenger.deviceId);
    const shown = (await bob.messenger.directory.account(phone.messenger.username, { fresh: true }))!;
    const revoked = shown.devices.find((d) => d.deviceId === phone.messenger.deviceId)!;
    expect(revoked).toMatchObject({ revokedBy: laptop.messenger.deviceId });
    expect(revoked.revocationSignature).toBeTruthy();

    // The lost phone cannot add a device any more (its key no longer speaks for the account).
    const sneaky = await Messenger.link(await deviceOptions(srv.url), phone.messenger.username, 'sneaky');
    const late = await phone.messenger.approveDevice(sneaky.code, 'sneaky', 0).catch((e: unknown) => e);
    expect((late as ApiError).code).toBe('bad_signature');

    // Bob's authentication service accepts the tablet (tablet ← laptop ← identity key): they chat.
    const chat = await bob.messenger.createChat(phone.messenger.username);
    await Promise.all([laptop.messenger.sync(), tablet.messenger.sync()]);
    await tablet.messenger.sendText(chat, 'from the tablet');
    await bob.messenger.sync();
    expect(bob.texts).toContain(`${phone.messenger.username}: from the tablet`);
    expect(bob.rejections).toEqual([]);
  });
});
