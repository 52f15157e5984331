/**
 * What honest devices refuse, against the real server (a malicious server or member is played by editing
 * mailbox items or by driving ts-mls directly): tampered ciphertext, a replayed message, a message from a
 * removed member, a credential the key directory does not list, a missing or wrong escrow field.
 */
import { deviceIdFor, toBase64Url, fromBase64Url, type EscrowContext, type EscrowFieldProvider, type MailboxItem } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { createCommit, createGroup, decodeMlsMessage, defaultCapabilities, defaultLifetime, encodeMlsMessage, generateKeyPackageWithKey } from 'ts-mls';
import { encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../src/envelope/frame.ts';
import { Messenger } from '../src/messenger.ts';
import { deviceCredential } from '../src/mls/credential.ts';
import { clientConfig, suiteImpl } from '../src/mls/suite.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import { NodeWebSocket, register, server, uniqueName, TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

async function pair() {
  const [alice, bob] = await Promise.all([register(srv.url, uniqueName('al')), register(srv.url, uniqueName('bo'))]);
  const chat = await alice.messenger.createChat(bob.messenger.username);
  await bob.messenger.sync();
  return { alice, bob, chat };
}

/** Fetches without processing (the test then plays the server). */
async function fetchRaw(d: TestDevice): Promise<MailboxItem[]> {
  const { items } = await d.messenger.api.mailbox();
  if (items.length) await d.messenger.api.ack(items.map((i) => i.id));
  return items;
}

function flipInFrame(item: MailboxItem, part: 'mlsMessage' | 'sealedPayload'): MailboxItem {
  const frame = decodeFrame(fromBase64Url(item.payload));
  const bytes = frame[part].slice();
  bytes[bytes.length - 3]! ^= 0x40;
  return { ...item, payload: toBase64Url(encodeFrame({ ...frame, [part]: bytes })) };
}

describe('rejected with a clear error', () => {
  it('tampered ciphertext (MLS part or sealed payload); the genuine message still opens afterwards', async () => {
    const { alice, bob, chat } = await pair();
    await alice.messenger.sendText(chat, 'genuine');
    const [item] = await fetchRaw(bob);
    await bob.messenger.processItems([flipInFrame(item!, 'mlsMessage')]);
    await bob.messenger.processItems([flipInFrame(item!, 'sealedPayload')]);
    expect(bob.rejections.map((r) => r.reason)).toEqual(['decryption_failed', 'envelope_rejected']);
    expect(bob.rejections[0]!.message).toMatch(/MLS decryption failed/);
    expect(bob.rejections[1]!.message).toMatch(/sealed payload is not the one the sender bound/);
    expect(bob.texts).toEqual([]);
    // The envelope check failed after MLS had opened the message, so that ratchet key is spent:
    // a later copy is a replay. A fresh message goes through.
    await alice.messenger.sendText(chat, 'next');
    await bob.messenger.sync();
    expect(bob.texts).toEqual([`${alice.messenger.username}: next`]);
  });

  it('a replayed message (same ciphertext, new position)', async () => {
    const { alice, bob, chat } = await pair();
    await alice.messenger.sendText(chat, 'once');
    const [item] = await fetchRaw(bob);
    await bob.messenger.processItems([item!]);
    await bob.messenger.processItems([{ ...item!, id: item!.id + 1000, seq: item!.seq + 1000 }]);
    expect(bob.texts).toEqual([`${alice.messenger.username}: once`]);
    expect(bob.rejections.map((r) => r.reason)).toEqual(['replayed']);
    expect(bob.rejections[0]!.message).toMatch(/replayed/);
  });

  it('a message from a removed member: refused by the server, and by clients if a server reorders it after the removal', async () => {
    const [alice, bob, carol] = (await Promise.all(['al', 'bo', 'ca'].map((p) => register(srv.url, uniqueName(p))))) as [TestDevice, TestDevice, TestDevice];
    const groupId = await alice.messenger.createGroup('g', [bob.messenger.username, carol.messenger.username]);
    await Promise.all([bob.messenger.sync(), carol.messenger.sync()]);
    await carol.messenger.sendText(groupId, 'last words');
    const [carolsMessage] = await fetchRaw(bob!);
    await alice.messenger.removeMembers(groupId, [carol.messenger.username]);
    const [removal] = await fetchRaw(bob!);
    expect(removal!.kind).toBe('commit');
    await bob.messenger.processItems([removal!]);
    // A server replaying carol's old-epoch message after the commit that removed her:
    await bob.messenger.processItems([{ ...carolsMessage!, id: removal!.id + 1, seq: removal!.seq + 1 }]);
    expect(bob.rejections.map((r) => r.reason)).toEqual(['stale_epoch_sender']);
    expect(bob.rejections[0]!.message).toMatch(/ordered after that epoch ended/);
    expect(bob.texts).toEqual([]);
    // Carol herself can no longer send: the server moves her on, and the commit tells her she is out.
    await expect(carol.messenger.sendText(groupId, 'still here')).rejects.toThrow(/no longer in group/);
  });

  it('a credential the key directory does not list (a ghost device) is refused at join', async () => {
    const [mallory, bob] = await Promise.all([register(srv.url, uniqueName('ma')), register(srv.url, uniqueName('bo'))]);
    const cs = await suiteImpl();
    const ghostSecret = ed25519.utils.randomSecretKey();
    const ghostPublic = ed25519.getPublicKey(ghostSecret);
    const ghost = { username: mallory.messenger.username, deviceId: deviceIdFor(ghostPublic) };
    // Mallory's modified client accepts any credential and builds a group led by an unregistered device.
    const permissive = clientConfig({ validateCredential: async () => true });
    const own = await generateKeyPackageWithKey(deviceCredential(ghost), defaultCapabilities(), defaultLifetime, [], { signKey: ghostSecret, publicKey: ghostPublic }, cs);
    const groupIdBytes = randomBytes(32);
    const groupId = toBase64Url(groupIdBytes);
    const state = await createGroup(groupIdBytes, own.publicPackage, own.privatePackage, [], cs, permissive);
    await mallory.messenger.api.createGroup(groupId);
    const { keyPackages } = await mallory.messenger.api.claimKeyPackages(bob.messenger.username);
    const bobsPackage = decodeMlsMessage(fromBase64Url(keyPackages[0]!.keyPackage), 0)![0];
    if (bobsPackage.wireformat !== 'mls_key_package') throw new Error('expected a KeyPackage');
    // (Public, as the server requires: it reads the commit, but cannot tell the ghost's leaf from Mallory's.)
    const commit = await createCommit({ state, cipherSuite: cs }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: bobsPackage.keyPackage } }], wireAsPublicMessage: true });
    await mallory.messenger.api.commit(groupId, {
      clientMessageId: 'ghost-commit-1',
      epoch: 0,
      commit: toBase64Url(encodeMlsMessage(commit.commit)),
      adds: [keyPackages[0]!.deviceId],
      removes: [],
      welcome: toBase64Url(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: commit.welcome! })),
      ratchetTree: toBase64Url(encodeRatchetTree(commit.newState.ratchetTree)),
    });
    await bob.messenger.sync();
    expect(bob.events.some((e) => e.type === 'joined')).toBe(false);
    expect(bob.rejections.map((r) => r.reason)).toEqual(['credential_rejected']);
    expect(bob.rejections[0]!.message).toContain(`the key directory does not list device ${ghost.username}/${ghost.deviceId}`);
    expect(await bob.messenger.groups()).toEqual([]);
  });

  it('escrow access field: verified when lawful access is on; a missing or wrong field is refused', async () => {
    const escrowKey = randomBytes(32);
    const labelOf = (ctx: EscrowContext) => new TextEncoder().encode(JSON.stringify({ ...ctx, recipientDevices: [...ctx.recipientDevices].sort() }));
    const provider: EscrowFieldProvider = {
      scheme: 'test-hmac/v1',
      // the context includes the recipient devices: sender and recipients must agree on them (from MLS)
      create: (k, ctx) => hmac(sha256, escrowKey, new Uint8Array([...k, ...labelOf(ctx)])),
      verify: (field, k, ctx) => toBase64Url(field) === toBase64Url(hmac(sha256, escrowKey, new Uint8Array([...k, ...labelOf(ctx)]))),
    };
    const make = async (name: string, escrow?: EscrowFieldProvider) =>
      new TestDevice(await Messenger.register({ serverUrl: srv.url, storage: new MemoryStorage(), webSocket: NodeWebSocket, keyPackageTarget: 4, ...(escrow && { escrow }) }, uniqueName(name)));
    const alice = await make('al', provider);
    const bob = await make('bo', provider);
    const rogue = await make('ro'); // a client that leaves the field out
    const groupId = await alice.messenger.createGroup('escrowed', [bob.messenger.username, rogue.messenger.username]);
    await Promise.all([bob.messenger.sync(), rogue.messenger.sync()]);
    await alice.messenger.sendText(groupId, 'with a field');
    await rogue.messenger.sendText(groupId, 'without a field');
    await bob.messenger.sync();
    expect(bob.texts).toEqual([`${alice.messenger.username}: with a field`]);
    expect(bob.rejections.map((r) => r.reason)).toEqual(['envelope_rejected']);
    expect(bob.rejections[0]!.message).toMatch(/no escrow access field/);
  });
});
