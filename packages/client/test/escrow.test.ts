/**
 * The envelope's escrow slot filled by the real lawful-access provider (packages/lawful-access, the EAF):
 * honest recipients verify it, and the holder of the epoch's threshold secret (here held whole, as the
 * custodians jointly would) recovers K from the field beside the message and opens exactly the payload
 * the recipients saw — from the frame the server stored, without any MLS state.
 */
import { decodeFrame, fromBase64Url, type MailboxItem } from '@doublelock/protocol';
import { decryptWithSharedPoint } from '@doublelock/lawful-access/elgamal';
import { escrowFieldProvider, escrowFieldValid, escrowLabel, parseEscrowField } from '@doublelock/lawful-access/escrow';
import { epochAt } from '@doublelock/lawful-access/epoch';
import { Point, decodePoint, randomScalar } from '@doublelock/lawful-access/group';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../src/envelope/committingAead.ts';
import { decodeContent } from '../src/envelope/content.ts';
import { envelopeContextBytes } from '../src/envelope/envelope.ts';
import { Messenger } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import { NodeWebSocket, server, uniqueName, TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => srv.close());

describe('escrow access field (lawful access on)', () => {
  it('is verified by recipients, and opens the same payload for the custodians', async () => {
    const secret = randomScalar();
    const epoch = epochAt(Date.now());
    const epochKey = { epoch, publicKey: Point.BASE.multiply(secret).toBytes() };
    const base = escrowFieldProvider({ current: epochKey });
    const prepared: number[] = [];
    // The optional prepare() hook runs before verify() on every field a recipient checks.
    const escrow = { ...base, verify: base.verify.bind(base), create: base.create.bind(base), prepare: async (field: Uint8Array) => void prepared.push(field.length) };
    const make = async (name: string) =>
      new TestDevice(await Messenger.register({ serverUrl: srv.url, storage: new MemoryStorage(), webSocket: NodeWebSocket, keyPackageTarget: 4, escrow }, uniqueName(name)));
    const alice = await make('al');
    const bob = await make('bo');
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await alice.messenger.sendText(chat, 'escrowed hello');

    const { items } = await bob.messenger.api.mailbox();
    const item = items.find((i) => i.kind === 'application') as MailboxItem;
    await bob.messenger.processItems(items);
    expect(bob.texts).toEqual([`${alice.messenger.username}: escrowed hello`]);
    expect(prepared).toEqual([165, 165]); // the rename that names the chat, then the text
    expect(bob.rejections).toEqual([]);

    // The custodians' side: frame → field (valid under the label of this message) → K → payload.
    const frame = decodeFrame(fromBase64Url(item.payload));
    expect(frame.escrow?.scheme).toBe(`doublelock-eaf-v2/${epoch}`);
    const escrowContext = { groupId: chat, senderUsername: alice.messenger.username, senderDevice: alice.messenger.deviceId, recipientDevices: [bob.messenger.deviceId], clientMessageId: item.clientMessageId };
    const label = escrowLabel(escrowContext, epoch);
    const field = parseEscrowField(frame.escrow!.field);
    expect(escrowFieldValid(epochKey.publicKey, field, label)).toBe(true);
    const shared = decodePoint(field.u, 'U').multiply(secret).toBytes();
    const contentKey = decryptWithSharedPoint(epochKey.publicKey, field, shared, label);
    const context = envelopeContextBytes({ groupId: fromBase64Url(chat), senderUsername: alice.messenger.username, senderDeviceId: alice.messenger.deviceId, clientMessageId: item.clientMessageId });
    expect(decodeContent(open(contentKey, frame.sealedPayload, context))).toEqual({ type: 'text', text: 'escrowed hello' });
    // Bound to its message: under another message's label the field is not valid, and does not open the payload.
    const otherLabel = escrowLabel({ ...escrowContext, clientMessageId: 'another-message-id' }, epoch);
    expect(escrowFieldValid(epochKey.publicKey, field, otherLabel)).toBe(false);
    expect(() => open(decryptWithSharedPoint(epochKey.publicKey, field, shared, otherLabel), frame.sealedPayload, context)).toThrow();
  });
});
