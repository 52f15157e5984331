/**
 * RFC 9162 §2.1.1 Merkle tree hashing, SHA-256: leaf = H(0x00 ‖ d), node = H(0x01 ‖ left ‖ right).
 * The verifier's own copy: it must not share code with the prover beyond the hash function itself.
 *
 * A member verifying a feed hashes every leaf and about as many nodes, all short inputs, for which
 * noble's per-call setup (a new state object and its DataView) costs as much as the compression itself.
 * So one pristine SHA-256 state is copied into one scratch state per hash (`_cloneInto`, what noble's
 * own `clone()` does) and the digest written to a fresh array: the same function, without the setup.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);
const initial = sha256.create();
const scratch = sha256.create();

function hashParts(prefix: Uint8Array, a: Uint8Array, b?: Uint8Array): Uint8Array {
  initial._cloneInto(scratch);
  scratch.update(prefix).update(a);
  if (b) scratch.update(b);
  const out = new Uint8Array(HASH_SIZE);
  scratch.digestInto(out);
  return out;
}

export function hashLeaf(data: Uint8Array): Uint8Array {
  return hashParts(LEAF, data);
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashParts(NODE, left, right);
}

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_TREE_ROOT: Uint8Array = sha256(new Uint8Array(0));
