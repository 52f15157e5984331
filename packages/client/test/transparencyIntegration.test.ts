/** The messenger with key transparency on: accounts are trusted only once their device list is proven in the log. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import { KeyTransparency } from '../src/transparency/keyTransparency.ts';
import { NodeWebSocket, register, server, uniqueName, TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => srv.close());

describe('messenger with key transparency', () => {
  it('chats when the log proves the directory, and refuses to add people when it cannot', async () => {
    const withLogKey = async (logKey: string) =>
      new TestDevice(
        await Messenger.register(
          {
            serverUrl: srv.url,
            storage: new MemoryStorage(),
            webSocket: NodeWebSocket,
            keyPackageTarget: 4,
            keyTransparency: (api) => new KeyTransparency({ logKey, consistencyProof: (a, b) => api.consistencyProof(a, b) }),
          },
          uniqueName('kt'),
        ),
      );
    const logKey = srv.ctx.directory.log.verifierKey;
    const alice = await withLogKey(logKey);
    const bob = await register(srv.url, uniqueName('bo'));
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await bob.messenger.sendText(chat, 'proven');
    await alice.messenger.sync();
    expect(alice.texts).toEqual([`${bob.messenger.username}: proven`]);

    // A client pinned to another log key cannot verify this server's checkpoints: it trusts no one.
    const other = new KeyTransparency({ logKey: 'other.example/log+00000000+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB', consistencyProof: async () => [] });
    const carol = new TestDevice(await Messenger.register({ serverUrl: srv.url, storage: new MemoryStorage(), keyPackageTarget: 4, keyTransparency: other }, uniqueName('ca')));
    await expect(carol.messenger.createChat(bob.messenger.username)).rejects.toThrow(/key transparency/);
  });
});
