/**
 * RFC 9162 §2.1.1 Merkle tree hashing with SHA-256, prover side: leaf = H(0x00 ‖ d),
 * interior node = H(0x01 ‖ left ‖ right), empty tree = H("").
 *
 * An append hashes every entry and about one node per entry, so what each call costs beside the
 * compression function matters: each hash starts from a hasher that has already absorbed its prefix byte,
 * copied into one reused hasher (noble's `_cloneInto`, as its HMAC reuses its keyed states), and the
 * 32-byte results are views into shared 8 KiB blocks rather than an array buffer each (fewer objects for
 * the garbage collector to move while a batch is written). Results must not be written to.
 */
import { _SHA256, sha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

/** noble's SHA-256, finishing into its own block buffer (no DataView made per digest) and copying out. */
class Sha256 extends _SHA256 {
  finishInto(out: Uint8Array, offset: number): void {
    const block = this.buffer;
    this.digestInto(block);
    for (let i = 0; i < HASH_SIZE; i++) out[offset + i] = block[i]!;
  }
}

const LEAF_PREFIXED = new Sha256().update(Uint8Array.of(0x00));
const NODE_PREFIXED = new Sha256().update(Uint8Array.of(0x01));
const working = new Sha256();

const BLOCK_HASHES = 256;
let block = new Uint8Array(BLOCK_HASHES * HASH_SIZE);
let used = block.length;

/** The next 32 bytes of the current block (a new block when it is full) and its offset. */
function nextSlot(): number {
  if (used === block.length) {
    block = new Uint8Array(BLOCK_HASHES * HASH_SIZE);
    used = 0;
  }
  used += HASH_SIZE;
  return used - HASH_SIZE;
}

export function leafHash(entry: Uint8Array): Uint8Array {
  LEAF_PREFIXED._cloneInto(working).update(entry);
  const at = nextSlot();
  working.finishInto(block, at);
  return block.subarray(at, at + HASH_SIZE);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  NODE_PREFIXED._cloneInto(working).update(left).update(right);
  const at = nextSlot();
  working.finishInto(block, at);
  return block.subarray(at, at + HASH_SIZE);
}

export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));
