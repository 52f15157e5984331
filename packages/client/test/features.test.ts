/** Attachments and franked reports against the real server. */
import { fromBase64Url, MAX_CONTENT_BYTES, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/serverApi.ts';
import { linkSecondDevice, register, server, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

describe('attachments', () => {
  it('round trip: sealed client-side, uploaded as a blob, downloaded and checked by the recipient', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    const file = new Uint8Array(300_000).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
    file.set(randomBytes(64));
    await alice.messenger.sendFile(chat, file, 'photo.bin', 'application/octet-stream', 'a file');
    await bob.messenger.sync();
    const message = bob.messages.at(-1)!;
    if (message.content.type !== 'file') throw new Error('expected a file message');
    expect(message.content).toMatchObject({ name: 'photo.bin', size: file.length, caption: 'a file' });
    expect(await bob.messenger.downloadFile(chat, message.content)).toEqual(file);
    // The server only ever held ciphertext: the blob is not the file.
    const stored = await bob.messenger.api.getBlob(chat, message.content.blob);
    expect(stored.length).toBeGreaterThan(file.length);
    expect(Buffer.from(stored).includes(Buffer.from(file.subarray(0, 64)))).toBe(false);
    // A wrong key named in a (forged) message is caught on download.
    await expect(bob.messenger.downloadFile(chat, { ...message.content, key: toBase64Url(randomBytes(32)) })).rejects.toThrow(/key commitment does not match/);
  });
});

describe('franked reports', () => {
  it('a report of what was received is verified by the server; changed text, another sender or a replayed tag are refused', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await alice.messenger.sendText(chat, 'abusive message');
    await alice.messenger.sendText(chat, 'second message');
    await bob.messenger.sync();
    const [first, second] = bob.messages;
    expect(first!.sender.username).toBe(alice.messenger.username);

    expect(await bob.messenger.report(first!, 'abuse')).toMatchObject({ verified: true });

    const refused = async (forged: typeof first) => {
      const error = await bob.messenger.report(forged!).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('report_rejected');
    };
    const text = (t: string) => toBase64Url(new TextEncoder().encode(JSON.stringify({ type: 'text', text: t })));
    await refused({ ...first!, franking: { ...first!.franking, payload: text('something alice never said') } });
    await refused({ ...first!, sender: { username: bob.messenger.username, deviceId: bob.messenger.deviceId } });
    await refused({ ...second!, franking: { ...second!.franking, tag: first!.franking.tag } });
    await refused({ ...first!, serverTime: first!.serverTime + 1 });
    // The tag binds the message's seq: the same message cannot be reported again under another position.
    await refused({ ...first!, seq: second!.seq });
  });

  it('one report per reporter and message, whichever of their devices sends it', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const bobPhone = await linkSecondDevice(bob);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await alice.messenger.sendText(chat, 'reported twice?');
    await Promise.all([bob.messenger.sync(), bobPhone.messenger.sync()]);
    expect(await bob.messenger.report(bob.messages.at(-1)!)).toMatchObject({ verified: true });
    const again = await bobPhone.messenger.report(bobPhone.messages.at(-1)!).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ApiError);
    expect((again as ApiError).code).toBe('conflict');
  });

  it('a member removed from the group can still report what they received before', async () => {
    const [alice, bob, carol] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('g', [bob.messenger.username, carol.messenger.username]);
    await alice.messenger.sendText(group, 'carol will report this');
    await carol.messenger.sync();
    await alice.messenger.removeMembers(group, [carol.messenger.username]);
    await carol.messenger.sync();
    expect(carol.events.some((e) => e.type === 'removed')).toBe(true);
    const received = carol.messages.find((m) => m.content.type === 'text')!;
    expect(await carol.messenger.report(received, 'after removal')).toMatchObject({ verified: true });
    // Dan never was in the group: the same (valid) report from him is refused.
    const dan = await register(srv.url, uniqueName('da'));
    const outsider = await dan.messenger.report(received).catch((e: unknown) => e);
    expect((outsider as ApiError).code).toBe('not_member');
  });

  it('the largest message a client sends and shows can be reported; a larger one is refused before sending', async () => {
    const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
    const chat = await alice.messenger.createChat(bob.messenger.username);
    // Control characters are escaped to six bytes each in the JSON payload: 64 Ki of them would be ~384 KiB.
    await expect(alice.messenger.sendText(chat, '\u0001'.repeat(64 * 1024))).rejects.toThrow(/too large/);
    const largest = '\u0001'.repeat(Math.floor((MAX_CONTENT_BYTES - 24) / 6));
    await alice.messenger.sendText(chat, largest);
    await bob.messenger.sync();
    const message = bob.messages.at(-1)!;
    expect(message.content).toEqual({ type: 'text', text: largest });
    expect(fromBase64Url(message.franking.payload).length).toBeGreaterThan(MAX_CONTENT_BYTES - 8);
    expect(await bob.messenger.report(message)).toMatchObject({ verified: true });
  });
});
