/** Attachments and franked reports against the real server. */
import { toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/serverApi.ts';
import { register, server, uniqueName } from './harness.ts';

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
    await expect(bob.messenger.downloadFile(chat, { ...message.content, key: toBase64Url(randomBytes(32)) })).rejects.toThrow(/does not decrypt/);
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
  });
});
