/**
 * Streaming computation of MTH (RFC 9162 §2.1.1) over leaves fed in order, in O(log n) memory: the
 * stack holds the roots of the complete subtrees covering the leaves so far (largest first), so an
 * auditor can recompute a log's root from its entries without holding them all.
 */
import { EMPTY_TREE_ROOT, hashChildren, hashLeaf } from './hash.ts';

export class RootBuilder {
  #stack: Array<{ height: number; hash: Uint8Array }> = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The builder's state (the complete subtrees so far), to resume it later: a syncing member keeps it. */
  snapshot(): { size: number; nodes: Array<{ height: number; hash: Uint8Array }> } {
    return { size: this.#size, nodes: this.#stack.map((n) => ({ height: n.height, hash: n.hash.slice() })) };
  }

  /** Resumes from a snapshot, checking that its subtrees are exactly those a tree of that size has. */
  static restore(snapshot: { size: number; nodes: ReadonlyArray<{ height: number; hash: Uint8Array }> }): RootBuilder {
    const { size, nodes } = snapshot;
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('a root builder snapshot needs a non-negative size');
    const heights: number[] = [];
    for (let h = 52; h >= 0; h--) if (Math.floor(size / 2 ** h) % 2 === 1) heights.push(h);
    if (heights.length !== nodes.length || nodes.some((n, i) => n.height !== heights[i] || n.hash.length !== 32)) throw new RangeError(`the snapshot's subtrees do not fit a tree of size ${size}`);
    const builder = new RootBuilder();
    builder.#stack = nodes.map((n) => ({ height: n.height, hash: n.hash.slice() }));
    builder.#size = size;
    return builder;
  }

  addEntry(data: Uint8Array): void {
    this.addLeafHash(hashLeaf(data));
  }

  addLeafHash(leafHash: Uint8Array): void {
    let node = { height: 0, hash: leafHash };
    let top = this.#stack.at(-1);
    while (top && top.height === node.height) {
      this.#stack.pop();
      node = { height: node.height + 1, hash: hashChildren(top.hash, node.hash) };
      top = this.#stack.at(-1);
    }
    this.#stack.push(node);
    this.#size++;
  }

  /** MTH of the leaves added so far: the complete subtrees folded right to left. */
  root(): Uint8Array {
    if (this.#stack.length === 0) return EMPTY_TREE_ROOT;
    let hash = this.#stack.at(-1)!.hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) hash = hashChildren(this.#stack[i]!.hash, hash);
    return hash;
  }
}
