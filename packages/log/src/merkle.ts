/**
 * Proof generation over stored subtree hashes, written as RFC 9162 defines it: MTH (§2.1.1),
 * PATH for inclusion proofs (§2.1.3.1) and SUBPROOF for consistency proofs (§2.1.4.1).
 *
 * The tree is addressed by complete, aligned subtrees: node (level, index) covers leaves
 * [index·2^level, (index+1)·2^level). Every such node inside the tree is stored, so MTH of any range
 * the RFC recursion asks for costs O(log n) lookups and a whole proof O(log n) lookups, never a
 * recomputation of the tree. The recursion's shape depends only on the sizes, so `plan` runs it once to
 * learn which nodes it needs; the caller fetches them in one query and runs it again for real.
 */
import { nodeHash } from './hash.ts';

export interface NodeId {
  level: number;
  index: number;
}

export type NodeReader = (level: number, index: number) => Uint8Array;

/** Largest power of two strictly below n (n > 1). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** MTH(D[start:end]) from stored complete subtrees. */
export function subtreeHash(start: number, end: number, node: NodeReader): Uint8Array {
  const n = end - start;
  if (n < 1) throw new RangeError('MTH of an empty range is not a node');
  if (isPowerOfTwo(n) && start % n === 0) return node(Math.round(Math.log2(n)), start / n);
  const k = splitPoint(n);
  return nodeHash(subtreeHash(start, start + k, node), subtreeHash(start + k, end, node));
}

/** PATH(m, D[start:end]) — RFC 9162 §2.1.3.1, with m relative to start. */
function path(m: number, start: number, end: number, node: NodeReader, out: Uint8Array[]): void {
  const n = end - start;
  if (n <= 1) return;
  const k = splitPoint(n);
  if (m < k) {
    path(m, start, start + k, node, out);
    out.push(subtreeHash(start + k, end, node));
  } else {
    path(m - k, start + k, end, node, out);
    out.push(subtreeHash(start, start + k, node));
  }
}

export function inclusionPath(index: number, size: number, node: NodeReader): Uint8Array[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  const out: Uint8Array[] = [];
  path(index, 0, size, node, out);
  return out;
}

/** SUBPROOF(m, D[start:end], b) — RFC 9162 §2.1.4.1. */
function subproof(m: number, start: number, end: number, complete: boolean, node: NodeReader, out: Uint8Array[]): void {
  const n = end - start;
  if (m === n) {
    if (!complete) out.push(subtreeHash(start, end, node));
    return;
  }
  const k = splitPoint(n);
  if (m <= k) {
    subproof(m, start, start + k, complete, node, out);
    out.push(subtreeHash(start + k, end, node));
  } else {
    subproof(m - k, start + k, end, false, node, out);
    out.push(subtreeHash(start, start + k, node));
  }
}

/** PROOF(m, D[n]) for 0 < m ≤ n; empty when m = n. */
export function consistencyPath(m: number, n: number, node: NodeReader): Uint8Array[] {
  if (!(m > 0 && m <= n)) throw new RangeError(`no consistency proof from size ${m} to size ${n}`);
  const out: Uint8Array[] = [];
  if (m < n) subproof(m, 0, n, true, node, out);
  return out;
}

/**
 * Runs `compute` once with a recording reader to list the nodes it reads, fetches them, then runs it
 * again with the real hashes. Valid because which nodes the RFC recursion reads depends only on sizes.
 */
export async function withNodes<T>(compute: (node: NodeReader) => T, fetch: (ids: NodeId[]) => Promise<Map<string, Uint8Array>>): Promise<T> {
  const wanted = new Map<string, NodeId>();
  const dummy = new Uint8Array(32);
  compute((level, index) => {
    wanted.set(nodeKey(level, index), { level, index });
    return dummy;
  });
  const found = await fetch([...wanted.values()]);
  return compute((level, index) => {
    const hash = found.get(nodeKey(level, index));
    if (!hash) throw new Error(`log storage is missing node (${level}, ${index})`);
    return hash;
  });
}

export const nodeKey = (level: number, index: number): string => `${level}/${index}`;

/**
 * The complete subtrees covering leaves [0, size), largest first: one per set bit of size. Their
 * hashes are the "frontier" an append extends, and MTH(D[0:size]) folds them right to left.
 */
export function frontierNodes(size: number): NodeId[] {
  const out: NodeId[] = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (size - start >= width) {
      out.push({ level, index: start / width });
      start += width;
    }
  }
  return out;
}
