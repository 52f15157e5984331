/**
 * A dishonest server tries to slip a "ghost" into a chat: it swaps Bob's identity key for one it holds
 * and lists a device certified by it (every signature valid). A client that checks key transparency
 * refuses, because that account state is not in the transparency log; the honest state still works.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { accountResponse, deviceCertificateBytes, deviceIdFor, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import type { WebSocketConstructor } from '../src/api/mailboxSocket.ts';
import { KeyTransparency, KeyTransparencyError } from '../src/transparency/keyTransparency.ts';
import { register, server, uniqueName } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => srv.close());

/** A fetch that rewrites one account's directory entry the way a dishonest server would. */
function dishonestFetch(victim: string): typeof fetch {
  const attackerIdentity = ed25519.utils.randomSecretKey();
  const ghost = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (url.pathname !== `/v1/accounts/${victim}` || (init?.method ?? 'GET') !== 'GET') return response;
    const account = accountResponse.parse(await response.json());
    const createdAt = Date.now();
    const cert = ed25519.sign(deviceCertificateBytes({ username: victim, signatureKey: ghost, name: 'ghost', createdAt }), attackerIdentity);
    const forged = {
      ...account,
      identityKey: toBase64Url(ed25519.getPublicKey(attackerIdentity)),
      devices: [{ deviceId: deviceIdFor(ghost), signatureKey: toBase64Url(ghost), name: 'ghost', createdAt, accountSignature: toBase64Url(cert), revokedAt: null }],
    };
    return new Response(JSON.stringify(forged), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

const transparency = (fetchImpl: typeof fetch) =>
  new KeyTransparency({
    logKey: srv.ctx.directory.log.verifierKey,
    consistencyProof: async (from, to) => {
      const r = await fetchImpl(`${srv.url}/v1/log/proof/consistency?from=${from}&to=${to}`);
      return ((await r.json()) as { proof: string[] }).proof.map(fromBase64Url);
    },
  });

describe('a ghost device', () => {
  it('is refused by a client that checks key transparency, before any chat is made with it', async () => {
    const bob = await register(srv.url, uniqueName('bob'));
    const fetchImpl = dishonestFetch(bob.messenger.username);
    const alice = await Messenger.register(
      { serverUrl: srv.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, fetch: fetchImpl, keyTransparency: transparency(fetchImpl) },
      uniqueName('alice'),
    );
    const error = await alice.createChat(bob.messenger.username).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeyTransparencyError);
    expect((error as KeyTransparencyError).failure).toBe('not_logged');
    // Whatever the SDK set up before asking for Bob's devices, nobody else (no ghost) is in it.
    for (const group of await alice.groups()) expect(group.members.map((m) => m.username)).toEqual([alice.username]);
  });

  it('does not stop a chat with the honest, logged state', async () => {
    const bob = await register(srv.url, uniqueName('bob'));
    const alice = await Messenger.register(
      { serverUrl: srv.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, keyTransparency: transparency(fetch) },
      uniqueName('alice'),
    );
    const chat = await alice.createChat(bob.messenger.username);
    await alice.sendText(chat, 'hello');
    await bob.messenger.sync();
    expect(bob.texts).toEqual([`${alice.username}: hello`]);
  });
});
