/**
 * RFC 9162 §2.1.1 Merkle tree hashing with SHA-256, prover side: leaf = H(0x00 ‖ d),
 * interior node = H(0x01 ‖ left ‖ right), empty tree = H("").
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

/** 0x00 ‖ entry is assembled in one reused buffer (grown to the largest entry seen): no allocation per leaf. */
let leafInput = new Uint8Array(1 + 256);

export function leafHash(entry: Uint8Array): Uint8Array {
  if (leafInput.length < 1 + entry.length) leafInput = new Uint8Array(1 + entry.length);
  leafInput.set(entry, 1);
  return sha256(leafInput.subarray(0, 1 + entry.length));
}

const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));
