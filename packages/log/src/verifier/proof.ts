/**
 * Client-side verification of RFC 9162 proofs, following the RFC's algorithms step by step:
 * inclusion §2.1.3.2 and consistency §2.1.4.2. Sizes and indices are handled as bigint so that the
 * bit shifts are exact for every 64-bit value. Every failure throws a ProofError saying why.
 */
import { equalBytes } from './encoding.ts';
import { HASH_SIZE, hashChildren } from './hash.ts';

export class ProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProofError';
  }
}

type Count = number | bigint;

function toCount(name: string, value: Count): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 1n << 64n) throw new ProofError(`${name} must be a 64-bit unsigned integer, not ${value}`);
    return value;
  }
  if (!Number.isSafeInteger(value) || value < 0) throw new ProofError(`${name} must be a non-negative safe integer, not ${value}`);
  return BigInt(value);
}

function checkPath(path: readonly Uint8Array[]): void {
  path.forEach((p, i) => {
    if (!(p instanceof Uint8Array) || p.length !== HASH_SIZE) throw new ProofError(`proof element ${i} is not a ${HASH_SIZE}-byte hash`);
  });
}

const lsb = (n: bigint): boolean => (n & 1n) === 1n;

/**
 * Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4) and returns it; the
 * caller compares it to a trusted root. `verifyInclusion` does both.
 */
export function rootFromInclusionProof(leafIndex: Count, treeSize: Count, leafHash: Uint8Array, path: readonly Uint8Array[]): Uint8Array {
  const index = toCount('leaf index', leafIndex);
  const size = toCount('tree size', treeSize);
  if (index >= size) throw new ProofError(`leaf index ${index} is not below tree size ${size}`);
  if (leafHash.length !== HASH_SIZE) throw new ProofError(`leaf hash is not ${HASH_SIZE} bytes`);
  checkPath(path);
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0n) throw new ProofError('inclusion proof is longer than the path to the root');
    if (lsb(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('inclusion proof is shorter than the path to the root');
  return r;
}

/** RFC 9162 §2.1.3.2: proves that `leafHash` is the leaf at `leafIndex` of the tree of `treeSize` with `root`. */
export function verifyInclusion(leafIndex: Count, treeSize: Count, leafHash: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, path);
  if (!equalBytes(computed, root)) throw new ProofError('inclusion proof does not lead to the expected root');
}

/**
 * RFC 9162 §2.1.4.2: proves that the tree of size1 with root1 is a prefix of the tree of size2 with
 * root2. A consistency proof from the empty tree proves nothing and is refused, as transparency-dev does.
 */
export function verifyConsistency(size1: Count, size2: Count, path: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  const first = toCount('first tree size', size1);
  const second = toCount('second tree size', size2);
  checkPath(path);
  if (first > second) throw new ProofError(`first tree size ${first} is larger than second tree size ${second}`);
  if (first === 0n) throw new ProofError('a consistency proof from the empty tree proves nothing');
  if (first === second) {
    if (path.length !== 0) throw new ProofError('trees of equal size need an empty consistency proof');
    if (!equalBytes(root1, root2)) throw new ProofError('trees of equal size have different roots');
    return;
  }
  // Step 1.
  if (path.length === 0) throw new ProofError('consistency proof is empty');
  // Step 2: when `first` is a power of two its root is itself a node of the second tree.
  const nodes = (first & (first - 1n)) === 0n ? [root1, ...path] : [...path];
  // Steps 3–4.
  let fn = first - 1n;
  let sn = second - 1n;
  while (lsb(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // Steps 5–6.
  let fr = nodes[0]!;
  let sr = nodes[0]!;
  for (const c of nodes.slice(1)) {
    if (sn === 0n) throw new ProofError('consistency proof is longer than needed');
    if (lsb(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 7.
  if (sn !== 0n) throw new ProofError('consistency proof is shorter than needed');
  if (!equalBytes(fr, root1)) throw new ProofError('consistency proof does not lead to the first root');
  if (!equalBytes(sr, root2)) throw new ProofError('consistency proof does not lead to the second root');
}
