/**
 * RFC 9162 §2.1.1 Merkle tree hashing, SHA-256: leaf = H(0x00 ‖ d), node = H(0x01 ‖ left ‖ right).
 * The verifier's own copy: it must not share code with the prover beyond the hash function itself.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

export function hashLeaf(data: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + data.length);
  input.set(data, 1);
  return sha256(input);
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_TREE_ROOT: Uint8Array = sha256(new Uint8Array(0));
