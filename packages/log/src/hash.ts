/**
 * RFC 9162 §2.1.1 Merkle tree hashing with SHA-256, prover side: leaf = H(0x00 ‖ d),
 * interior node = H(0x01 ‖ left ‖ right), empty tree = H("").
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

export function leafHash(entry: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + entry.length);
  input.set(entry, 1);
  return sha256(input);
}

const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));
