/**
 * The right edge of the tree: hashes of the complete subtrees covering all leaves (largest first).
 * Appending a leaf merges equal-sized subtrees, emitting every newly completed node so the storage can
 * keep it; the root is the frontier folded right to left (RFC 9162 §2.1.1's MTH).
 */
import { EMPTY_ROOT, nodeHash } from './hash.ts';
import type { NodeId } from './merkle.ts';

export interface StoredNode extends NodeId {
  hash: Uint8Array;
}

export class Frontier {
  #nodes: StoredNode[];
  #size: number;

  constructor(size: number, nodes: StoredNode[]) {
    this.#size = size;
    this.#nodes = nodes;
  }

  get size(): number {
    return this.#size;
  }

  clone(): Frontier {
    return new Frontier(this.#size, [...this.#nodes]);
  }

  /** Adds a leaf; `emit` receives each interior node this completes (level ≥ 1). */
  append(leafHash: Uint8Array, emit: (node: StoredNode) => void): void {
    const nodes = this.#nodes;
    let hash = leafHash;
    let level = 0;
    let top = nodes[nodes.length - 1];
    // merging needs only the hashes: a node object is made for what is emitted or kept, not per step
    let node: StoredNode | undefined;
    while (top !== undefined && top.level === level) {
      nodes.pop();
      hash = nodeHash(top.hash, hash);
      level++;
      node = { level, index: Math.floor(top.index / 2), hash };
      emit(node);
      top = nodes[nodes.length - 1];
    }
    nodes.push(node ?? { level: 0, index: this.#size, hash });
    this.#size++;
  }

  root(): Uint8Array {
    if (this.#nodes.length === 0) return EMPTY_ROOT;
    let hash = this.#nodes.at(-1)!.hash;
    for (let i = this.#nodes.length - 2; i >= 0; i--) hash = nodeHash(this.#nodes[i]!.hash, hash);
    return hash;
  }
}
