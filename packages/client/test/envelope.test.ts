import type { EscrowFieldProvider } from '@doublelock/protocol';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { openAttachment, sealAttachment, AttachmentRejected } from '../src/envelope/attachment.ts';
import { DecryptionFailed, open, seal } from '../src/envelope/committingAead.ts';
import { decodeContent, encodeContent } from '../src/envelope/content.ts';
import { EnvelopeRejected, openEnvelope, sealEnvelope, type EnvelopeContext } from '../src/envelope/envelope.ts';
import { decodeFrame, encodeFrame } from '../src/envelope/frame.ts';
import { frankingCommitment, opensCommitment } from '../src/envelope/franking.ts';
import { safetyNumber } from '../src/safetyNumber.ts';

const context: EnvelopeContext = { groupId: new Uint8Array(16).fill(7), senderUsername: 'alice', senderDeviceId: 'A'.repeat(22), clientMessageId: 'msg-00000001' };
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A deterministic stand-in scheme with the provider's contract (the real EAF lives in lawful-access). */
const hmacEscrow: EscrowFieldProvider = {
  scheme: 'test-hmac/v1',
  create: (k, ctx) => hmac(sha256, k, utf8(JSON.stringify(ctx))),
  verify: (field, k, ctx) => field.length === 32 && Buffer.from(field).equals(Buffer.from(hmac(sha256, k, utf8(JSON.stringify(ctx))))),
};

describe('key-committing AEAD', () => {
  it('round-trips and refuses another key, another context, or a flipped bit', () => {
    const key = randomBytes(32);
    const sealed = seal(key, utf8('hello'), utf8('ctx'));
    expect(new TextDecoder().decode(open(key, sealed, utf8('ctx')))).toBe('hello');
    expect(() => open(randomBytes(32), sealed, utf8('ctx'))).toThrow(/key commitment/);
    expect(() => open(key, sealed, utf8('other'))).toThrow(DecryptionFailed);
    const flipped = sealed.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(() => open(key, flipped, utf8('ctx'))).toThrow(/authentication tag/);
    expect(() => seal(new Uint8Array(16), utf8('x'), utf8(''))).toThrow(/32 bytes/);
  });

  it('is exactly the construction in its header (nonce || commitment || XChaCha20-Poly1305 under the derived key)', () => {
    // Spelled out with the primitives, so an optimisation of seal/open cannot change the bytes on the wire.
    for (const length of [0, 1, 63, 64, 65, 300]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const plaintext = randomBytes(length);
      const aad = randomBytes(length % 50);
      const encKey = hmac(sha256, key, new Uint8Array([...utf8('doublelock/commit-aead/v1/enc'), ...nonce]));
      const commitment = hmac(sha256, key, new Uint8Array([...utf8('doublelock/commit-aead/v1/com'), ...nonce]));
      const expected = new Uint8Array([...nonce, ...commitment, ...xchacha20poly1305(encKey, nonce, aad).encrypt(plaintext)]);
      const sealed = seal(key, plaintext, aad, nonce);
      expect(Buffer.from(sealed).equals(Buffer.from(expected))).toBe(true);
      expect(Buffer.from(open(key, sealed, aad)).equals(Buffer.from(plaintext))).toBe(true);
    }
  });
});

describe('envelope', () => {
  it('opens what it sealed, with the franking commitment the server saw', () => {
    const payload = encodeContent({ type: 'text', text: 'hi bob' });
    const sealed = sealEnvelope(payload, context);
    const frame = decodeFrame(encodeFrame({ mlsMessage: utf8('mls'), sealedPayload: sealed.sealedPayload, escrow: sealed.escrow }));
    const opened = openEnvelope(sealed.keys, frame.sealedPayload, frame.escrow, context, sealed.frankingCommitment);
    expect(decodeContent(opened.payload)).toEqual({ type: 'text', text: 'hi bob' });
    expect(opensCommitment(sealed.frankingCommitment, opened.frankingKey, payload)).toBe(true);
    expect(frankingCommitment(opened.frankingKey, payload)).toEqual(sealed.frankingCommitment);
  });

  it('refuses a swapped payload, another context, and a commitment the server did not tag', () => {
    const sealed = sealEnvelope(utf8('{"type":"text","text":"a"}'), context);
    const other = sealEnvelope(utf8('{"type":"text","text":"b"}'), context);
    expect(() => openEnvelope(sealed.keys, other.sealedPayload, undefined, context, sealed.frankingCommitment)).toThrow(/sealed payload/);
    expect(() => openEnvelope(sealed.keys, sealed.sealedPayload, undefined, { ...context, senderUsername: 'mallory' }, sealed.frankingCommitment)).toThrow(EnvelopeRejected);
    expect(() => openEnvelope(sealed.keys, sealed.sealedPayload, undefined, context, other.frankingCommitment)).toThrow(/different franking commitment/);
    expect(() => openEnvelope(sealed.keys, sealed.sealedPayload, undefined, context, undefined)).toThrow(/no server franking tag/);
  });

  it('carries an escrow field when a provider is configured, and recipients verify it', () => {
    const sealed = sealEnvelope(utf8('x'), context, hmacEscrow);
    expect(sealed.escrow?.scheme).toBe('test-hmac/v1');
    expect(openEnvelope(sealed.keys, sealed.sealedPayload, sealed.escrow, context, sealed.frankingCommitment, hmacEscrow).payload).toEqual(utf8('x'));
    // A message without a field is refused where lawful access is on.
    const plain = sealEnvelope(utf8('x'), context);
    expect(() => openEnvelope(plain.keys, plain.sealedPayload, undefined, context, plain.frankingCommitment, hmacEscrow)).toThrow(/no escrow access field/);
    // A field swapped for another is refused even without a provider (it is bound inside MLS).
    const forged = { scheme: 'test-hmac/v1', field: randomBytes(32) };
    expect(() => openEnvelope(sealed.keys, sealed.sealedPayload, forged, context, sealed.frankingCommitment)).toThrow(/escrow field/);
    // A sender whose field does not match K is refused by a verifying recipient.
    const lying: EscrowFieldProvider = { ...hmacEscrow, create: () => randomBytes(32) };
    const bad = sealEnvelope(utf8('x'), context, lying);
    expect(() => openEnvelope(bad.keys, bad.sealedPayload, bad.escrow, context, bad.frankingCommitment, hmacEscrow)).toThrow(/does not match the content key/);
  });
});

describe('attachments', () => {
  it('round-trips and refuses a blob that is not the one named', () => {
    const file = randomBytes(10_000);
    const { sealed, secret } = sealAttachment(file);
    expect(openAttachment(sealed, secret)).toEqual(file);
    const tampered = sealed.slice();
    tampered[100]! ^= 1;
    expect(() => openAttachment(tampered, secret)).toThrow(AttachmentRejected);
    expect(() => openAttachment(sealed, { ...secret, key: randomBytes(32) })).toThrow(/does not decrypt/);
  });
});

describe('content', () => {
  it('validates what it decodes', () => {
    expect(() => decodeContent(utf8('{"type":"text","text":""}'))).toThrow(/valid content/);
    expect(() => decodeContent(new Uint8Array([0xff]))).toThrow(/UTF-8/);
  });
});

describe('safety numbers', () => {
  it('are the same from both sides, 60 digits, and change with either key', () => {
    const a = { username: 'alice', identityKey: randomBytes(32) };
    const b = { username: 'bob', identityKey: randomBytes(32) };
    const n = safetyNumber(a, b);
    expect(n).toBe(safetyNumber(b, a));
    expect(n.replace(/ /g, '')).toMatch(/^\d{60}$/);
    expect(safetyNumber(a, { ...b, identityKey: randomBytes(32) })).not.toBe(n);
  });
});

describe('content encoding', () => {
  it('refuses invalid content with a precise error before anything is sealed', () => {
    expect(() => encodeContent({ type: 'text', text: '' })).toThrow(/invalid text message: text/);
    expect(() => encodeContent({ type: 'text', text: 'x'.repeat(64 * 1024 + 1) })).toThrow(/invalid text message/);
  });
});
