/**
 * The MLS signature seam's Ed25519 (src/mls/ed25519.ts), both implementations: RFC 8032 §7.1's test
 * vectors (TEST 1–3), the PKCS#8 form of a seed, and the strict verification rules (§5.1.7) both must share
 * — a non-canonical S and a small-order public key refused — so members on runtimes with and without
 * WebCrypto Ed25519 accept the same messages.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { nobleEd25519, webCryptoEd25519 } from '../src/mls/ed25519.ts';

const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

const keygen = async () => {
  throw new Error('not used');
};
const implementations = [
  ['WebCrypto', webCryptoEd25519(globalThis.crypto.subtle, keygen)],
  ['@noble/curves', nobleEd25519(keygen)],
] as const;

/** The group order L (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const littleEndian = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const fromLittleEndian = (b: Uint8Array) => b.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);

describe.each(implementations)('Ed25519 through %s', (_name, signature) => {
  it.each(RFC8032)('RFC 8032 §7.1 $name: signs to the published signature and verifies it', async (v) => {
    const message = hexToBytes(v.message);
    expect(bytesToHex(await signature.sign(hexToBytes(v.secret), message))).toBe(v.signature);
    expect(await signature.verify(hexToBytes(v.public), message, hexToBytes(v.signature))).toBe(true);
    const other = Uint8Array.from([...message, 0]);
    expect(await signature.verify(hexToBytes(v.public), other, hexToBytes(v.signature))).toBe(false);
  });

  it('signs the same with the seed in RFC 8410 PKCS#8 form, and refuses a key of another length', async () => {
    const v = RFC8032[1]!;
    const pkcs8 = hexToBytes('302e020100300506032b657004220420' + v.secret);
    expect(bytesToHex(await signature.sign(pkcs8, hexToBytes(v.message)))).toBe(v.signature);
    await expect(signature.sign(hexToBytes(v.secret + v.public), hexToBytes(v.message))).rejects.toThrow(/32-byte seed/);
  });

  it('refuses a signature whose S is not reduced (S + L for S)', async () => {
    const v = RFC8032[2]!;
    const sig = hexToBytes(v.signature);
    const unreduced = Uint8Array.from([...sig.subarray(0, 32), ...littleEndian(fromLittleEndian(sig.subarray(32)) + L)]);
    expect(await signature.verify(hexToBytes(v.public), hexToBytes(v.message), unreduced)).toBe(false);
  });

  it('refuses a small-order public key, even with a signature that satisfies the equation for any message', async () => {
    // A = R = the identity, S = 0: [S]B = R + [k]A holds for every message and every k.
    const identity = littleEndian(1n);
    expect(ed25519.Point.fromBytes(identity).is0()).toBe(true);
    const forged = Uint8Array.from([...identity, ...new Uint8Array(32)]);
    for (const message of [new Uint8Array(0), new TextEncoder().encode('transfer everything')]) {
      expect(await signature.verify(identity, message, forged)).toBe(false);
    }
  });
});
