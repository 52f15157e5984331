/**
 * ristretto255 against RFC 9496 Appendix A (encodings of small multiples, invalid encodings, element
 * derivation from uniform bytes) and Shamir/Lagrange against RFC 9591 Appendix E.5's
 * FROST(ristretto255, SHA-512) key shares.
 */
import { ristretto255_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { Fn, Point, decodePoint, decodeScalar, encodeScalar, evaluateCommitment, evaluatePolynomial, hashToScalar, lagrangeAtZero } from '../src/group.ts';

// RFC 9496 A.1: [0]B … [15]B
const MULTIPLES = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  'e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76',
  '6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919',
  '94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259',
  'da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57',
  'e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e',
  'f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403',
  '44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d',
  '903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c',
  '02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031',
  '20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f',
  'bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42',
  'e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460',
  'aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f',
  '46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e',
  'e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e',
];

// RFC 9496 A.2: non-canonical, negative, non-square x², negative xy, and s = −1.
const BAD = [
  '00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20',
  'c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562',
  'c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78',
  '47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24',
  'f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72',
  '87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309',
  '26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371',
  '4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f',
  'de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b',
  'bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042',
  '2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08',
  'f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22',
  '8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731',
  '2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b',
  '3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e',
  'a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220',
  'd483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e',
  '8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32',
  '32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b',
  '227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165',
  '5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e',
  '445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

// RFC 9496 A.3: element derivation from SHA-512 of these labels.
const DERIVED = [
  ['Ristretto is traditionally a short shot of espresso coffee', '3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46'],
  ['made with the normal amount of ground coffee but extracted with', 'f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b'],
  ['about half the amount of water in the same amount of time', '006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826'],
  ['by using a finer grind.', 'f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a'],
  ['This produces a concentrated shot of coffee per volume.', 'ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179'],
  ['Just pulling a normal shot short will produce a weaker shot', 'e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628'],
  ['and is not a Ristretto as some believe.', '80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065'],
] as const;

// RFC 9591 E.5, FROST(ristretto255, SHA-512): a 2-of-3 sharing of the group secret.
const FROST = {
  secret: '1b25a55e463cfd15cf14a5d3acc3d15053f08da49c8afcf3ab265f2ebc4f970b',
  publicKey: 'e2a62f39eede11269e3bd5a7d97554f5ca384f9f6d3dd9c3c0d05083c7254f57',
  coefficient1: '410f8b744b19325891d73736923525a4f596c805d060dfb9c98009d34e3fec02',
  shares: [
    '5c3430d391552f6e60ecdc093ff9f6f4488756aa6cebdbad75a768010b8f830e',
    'b06fc5eac20b4f6e1b271d9df2343d843e1e1fb03c4cbb673f2872d459ce6f01',
    'f17e505f0e2581c6acfe54d3846a622834b5e7b50cad9a2109a97ba7a80d5c04',
  ],
};

describe('ristretto255 (RFC 9496 Appendix A)', () => {
  it('encodes and decodes the small multiples of the generator', () => {
    let P = Point.ZERO;
    for (const hex of MULTIPLES) {
      expect(bytesToHex(P.toBytes())).toBe(hex);
      expect(decodePoint(hexToBytes(hex), 'p', true).equals(P)).toBe(true);
      P = P.add(Point.BASE);
    }
  });

  it('rejects the identity where a real key is required', () => {
    expect(() => decodePoint(hexToBytes(MULTIPLES[0]!))).toThrow(/identity/);
  });

  it.each(BAD)('rejects the invalid encoding %s', (hex) => {
    expect(() => decodePoint(hexToBytes(hex), 'p', true)).toThrow(/not a valid ristretto255 encoding/);
  });

  it.each(DERIVED)('derives the element for "%s"', (label, hex) => {
    expect(bytesToHex(ristretto255_hasher.deriveToCurve!(sha512(utf8ToBytes(label))).toBytes())).toBe(hex);
  });

  it('rejects wrong lengths and non-canonical scalars', () => {
    expect(() => decodePoint(new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => decodeScalar(new Uint8Array(32).fill(0xff))).toThrow(/canonical/);
    expect(() => decodeScalar(new Uint8Array(32))).toThrow(/zero/);
  });

  it('hashes to scalars with separated domains', () => {
    const m = utf8ToBytes('same message');
    expect(hashToScalar('doublelock/a', m)).not.toBe(hashToScalar('doublelock/b', m));
    expect(hashToScalar('doublelock/a', m)).toBe(hashToScalar('doublelock/a', m));
    expect(() => hashToScalar('other/a', m)).toThrow(/doublelock/);
  });
});

describe('Shamir sharing and Lagrange interpolation (RFC 9591 E.5 key shares)', () => {
  const secret = decodeScalar(hexToBytes(FROST.secret));
  const a1 = decodeScalar(hexToBytes(FROST.coefficient1));

  it('derives the published participant shares and group key', () => {
    FROST.shares.forEach((hex, i) => expect(bytesToHex(encodeScalar(evaluatePolynomial([secret, a1], i + 1)))).toBe(hex));
    expect(bytesToHex(Point.BASE.multiply(secret).toBytes())).toBe(FROST.publicKey);
  });

  it('recovers the group secret from any two shares, and not from one', () => {
    const shares = FROST.shares.map((h) => decodeScalar(hexToBytes(h)));
    for (const set of [[1, 2], [1, 3], [2, 3]]) {
      const x = set.reduce((acc, i) => Fn.add(acc, Fn.mul(lagrangeAtZero(i, set), shares[i - 1]!)), 0n);
      expect(bytesToHex(encodeScalar(x))).toBe(FROST.secret);
    }
    expect(Fn.mul(lagrangeAtZero(1, [1]), shares[0]!)).not.toBe(secret);
  });

  it('evaluates Feldman commitments consistently with the shares', () => {
    const C = [Point.BASE.multiply(secret), Point.BASE.multiply(a1)];
    FROST.shares.forEach((hex, i) => expect(evaluateCommitment(C, i + 1).equals(Point.BASE.multiply(decodeScalar(hexToBytes(hex))))).toBe(true));
  });

  it('rejects duplicate or missing indices', () => {
    expect(() => lagrangeAtZero(1, [1, 1])).toThrow(/distinct/);
    expect(() => lagrangeAtZero(4, [1, 2])).toThrow(/not in the set/);
    expect(() => lagrangeAtZero(0, [0, 1])).toThrow(/1\.\.255/);
  });
});
