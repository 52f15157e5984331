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
    let node: StoredNode = { level: 0, index: this.#size, hash: leafHash };
    let top = this.#nodes.at(-1);
    while (top && top.level === node.level) {
      this.#nodes.pop();
      node = { level: node.level + 1, index: Math.floor(top.index / 2), hash: nodeHash(top.hash, node.hash) };
      emit(node);
      top = this.#nodes.at(-1);
    }
    this.#nodes.push(node);
    this.#size++;
  }

  root(): Uint8Array {
    if (this.#nodes.length === 0) return EMPTY_ROOT;
    let hash = this.#nodes.at(-1)!.hash;
    for (let i = this.#nodes.length - 2; i >= 0; i--) hash = nodeHash(this.#nodes[i]!.hash, hash);
    return hash;
  }
}
