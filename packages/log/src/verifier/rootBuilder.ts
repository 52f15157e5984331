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

  /** The O(log n) state, to continue later from where this builder stopped (e.g. a monitor across restarts). */
  snapshot(): { size: number; stack: Array<{ height: number; hash: Uint8Array }> } {
    return { size: this.#size, stack: this.#stack.map((n) => ({ height: n.height, hash: n.hash.slice() })) };
  }

  static restore(state: { size: number; stack: Array<{ height: number; hash: Uint8Array }> }): RootBuilder {
    const builder = new RootBuilder();
    builder.#size = state.size;
    builder.#stack = state.stack.map((n) => ({ height: n.height, hash: n.hash.slice() }));
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
