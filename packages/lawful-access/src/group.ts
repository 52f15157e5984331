/**
 * The prime-order group every lawful-access construction works in: ristretto255 (RFC 9496) from
 * @noble/curves, with its scalar field Z/ℓ. Encodings are RFC 9496 §4.3 (points, 32 bytes) and
 * little-endian canonical scalars (RFC 9496 §4.4, as in RFC 9591 §6.2). Hash-to-scalar is RFC 9380
 * expand_message_xmd(SHA-512) reduced mod ℓ, always with a domain-separation tag of our own, so no two
 * uses of a hash in this package can collide.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';

export const Point = ristretto255.Point;
export type Point = InstanceType<typeof ristretto255.Point>;
export const Fn = ristretto255.Point.Fn;
export const ORDER: bigint = Fn.ORDER;
export const POINT_BYTES = 32;
export const SCALAR_BYTES = 32;

export function assertBytes(value: unknown, length: number | undefined, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
}

/** Decodes an RFC 9496 point; rejects non-canonical encodings and, unless allowed, the identity. */
export function decodePoint(bytes: Uint8Array, name = 'point', allowIdentity = false): Point {
  assertBytes(bytes, POINT_BYTES, name);
  let p: Point;
  try {
    p = Point.fromBytes(bytes);
  } catch {
    throw new Error(`${name} is not a valid ristretto255 encoding`);
  }
  if (!allowIdentity && p.is0()) throw new Error(`${name} must not be the identity element`);
  return p;
}

export const encodePoint = (p: Point): Uint8Array => p.toBytes();

/**
 * Window of the precomputed tables for points multiplied on every message (G, Ḡ, each epoch key Y):
 * 2^(W−1) points per window, ceil(253/W)+1 windows — W = 8 is ≈ 4,200 points (≈ 1 MB of bigints).
 */
export const TABLE_WINDOW = 8;
/**
 * Multiplications of a point before it gets its table. A W = 8 table costs about as much CPU to build
 * (≈ 40 ms) as 50–80 multiplications save, so it is bought only once that much has been spent without
 * one (rent, then buy: never more than twice the better choice's cost). A one-shot CLI command that
 * sends a message never builds one; a client that stays up builds each within its first dozen messages.
 */
export const USES_BEFORE_TABLE = 64;

/**
 * A point multiplied by many secret scalars over a process's life (G, Ḡ, an epoch key Y): plain
 * (`plain`, or the point itself without a table) for its first USES_BEFORE_TABLE multiplications, then
 * over its own W = 8 table. The product, and so every byte derived from it, is the same either way.
 */
export class HotPoint {
  #uses = 0;
  constructor(
    readonly point: Point,
    private readonly plain: Point = point,
  ) {}

  /** the point to multiply now (counts a use) */
  get(): Point {
    if (this.#uses >= USES_BEFORE_TABLE) return this.point;
    if (++this.#uses < USES_BEFORE_TABLE) return this.plain;
    this.point.precompute(TABLE_WINDOW, false);
    return this.point;
  }

  get tabled(): boolean {
    return this.#uses >= USES_BEFORE_TABLE;
  }
}

let generatorPoint: HotPoint | undefined;
/**
 * G for the escrow field's secret-scalar multiples (u = r·G, w = s·G) and the custodians' checks. Until
 * its table is built that is `Point.BASE` itself; then a separate object for the same element, so the
 * same bytes, with its own W = 8 table. `Point.BASE` is ed25519's base point, which noble multiplies over
 * a W = 6 table (W = 4 in the CLI, apps/cli chat.ts) and *blinds* (scalar + a 128-bit multiple of ℓ: half
 * as many windows again), twice the cost of the copy. The blinding buys nothing here: r and s are
 * multiplied by Ḡ and Y in the same call, which noble cannot blind (a ristretto255 point's Edwards
 * representative may carry torsion), with the same constant-time table walk the copy uses.
 */
export function generator(): Point {
  generatorPoint ??= new HotPoint(Point.fromBytes(Point.BASE.toBytes()), Point.BASE);
  return generatorPoint.get();
}

/** Decodes a canonical little-endian scalar in [0, ℓ) (non-zero unless allowed). */
export function decodeScalar(bytes: Uint8Array, name = 'scalar', allowZero = false): bigint {
  assertBytes(bytes, SCALAR_BYTES, name);
  let s: bigint;
  try {
    s = Fn.fromBytes(bytes);
  } catch {
    throw new Error(`${name} is not a canonical scalar`);
  }
  if (!allowZero && s === 0n) throw new Error(`${name} must not be zero`);
  return s;
}

export const encodeScalar = (s: bigint): Uint8Array => Fn.toBytes(Fn.create(s));

/** A uniformly random non-zero scalar (64 random bytes reduced mod ℓ: bias below 2^-250). */
export function randomScalar(): bigint {
  for (;;) {
    const s = Fn.create(bytesToBigLE(randomBytes(64)));
    if (s !== 0n) return s;
  }
}

function bytesToBigLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** RFC 9380 hash_to_field over Z/ℓ with expand_message_xmd(SHA-512) and our domain-separation tag. */
export function hashToScalar(dst: string, message: Uint8Array): bigint {
  if (!dst.startsWith('doublelock/')) throw new Error('domain-separation tags must start with "doublelock/"');
  return ristretto255_hasher.hashToScalar(message, { DST: dst });
}

/** A non-zero participant index as used in Shamir sharing (RFC 9591 §4.1: identifiers 1..n). */
export function assertIndex(index: number, name = 'index'): void {
  if (!Number.isSafeInteger(index) || index < 1 || index > 255) throw new RangeError(`${name} must be an integer in 1..255, got ${index}`);
}

/**
 * Lagrange coefficient λ_i at x = 0 for the set of participant indices (RFC 9591 §4.2
 * derive_interpolating_value): λ_i = Π_{j≠i} j / (j − i) mod ℓ.
 */
export function lagrangeAtZero(index: number, indices: readonly number[]): bigint {
  assertIndex(index);
  if (new Set(indices).size !== indices.length) throw new Error('participant indices must be distinct');
  if (!indices.includes(index)) throw new Error(`index ${index} is not in the set`);
  let num = 1n;
  let den = 1n;
  for (const j of indices) {
    assertIndex(j);
    if (j === index) continue;
    num = Fn.mul(num, BigInt(j));
    den = Fn.mul(den, Fn.sub(BigInt(j), BigInt(index)));
  }
  return Fn.div(num, den);
}

/** Evaluates the polynomial Σ a_k x^k at x (Horner's rule). */
export function evaluatePolynomial(coefficients: readonly bigint[], x: number): bigint {
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = Fn.add(Fn.mul(acc, BigInt(x)), coefficients[k]!);
  return acc;
}

/** Evaluates a Feldman commitment Σ x^k·C_k: the public image of the shared polynomial at x. */
export function evaluateCommitment(commitment: readonly Point[], x: number): Point {
  let acc = Point.ZERO;
  for (let k = commitment.length - 1; k >= 0; k--) acc = acc.multiplyUnsafe(BigInt(x)).add(commitment[k]!);
  return acc;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
