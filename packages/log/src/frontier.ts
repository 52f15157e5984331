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
    this.appendSubtree(0, leafHash, emit);
  }

  /**
   * Adds a complete aligned subtree of 2^level leaves whose hash is known (a leaf at level 0), e.g. one
   * hashed by a worker (batchHasher.ts); the tree's size must be a multiple of 2^level. `emit` receives
   * each node above it that this completes.
   */
  appendSubtree(level: number, hash: Uint8Array, emit: (node: StoredNode) => void): void {
    const width = 2 ** level;
    if (this.#size % width !== 0) throw new RangeError(`a subtree of ${width} leaves cannot start at leaf ${this.#size}`);
    const nodes = this.#nodes;
    const first = level;
    let index = this.#size / width;
    let top = nodes[nodes.length - 1];
    // merging needs only the hashes: a node object is made for what is emitted or kept, not per step
    let node: StoredNode | undefined;
    while (top !== undefined && top.level === level) {
      nodes.pop();
      hash = nodeHash(top.hash, hash);
      level++;
      index = Math.floor(top.index / 2);
      node = { level, index, hash };
      emit(node);
      top = nodes[nodes.length - 1];
    }
    nodes.push(node ?? { level: first, index, hash });
    this.#size += width;
  }

  root(): Uint8Array {
    if (this.#nodes.length === 0) return EMPTY_ROOT;
    let hash = this.#nodes.at(-1)!.hash;
    for (let i = this.#nodes.length - 2; i >= 0; i--) hash = nodeHash(this.#nodes[i]!.hash, hash);
    return hash;
  }
}
