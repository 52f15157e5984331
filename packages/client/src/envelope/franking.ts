/**
 * Message franking, sender side and recipient checks (Facebook, "Messenger Secret Conversations"
 * technical whitepaper, 2016; Grubbs, Lu, Ristenpart, "Message Franking via Committing Authenticated
 * Encryption", CRYPTO 2017). The sender picks a fresh franking key and commits to the franked bytes:
 *   commitment = HMAC-SHA256(frankingKey, payload)
 * The commitment goes to the server in clear, which MACs it with sender, group and time (its tag); key and
 * payload travel end-to-end. The recipient checks that the commitment the server saw is the one that opens
 * to what it decrypted; a report later reveals payload and key to the server (POST /v1/reports).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { equalBytes } from './bytes.ts';

export const FRANKING_KEY_BYTES = 32;

export function newFrankingKey(): Uint8Array {
  return randomBytes(FRANKING_KEY_BYTES);
}

export function frankingCommitment(frankingKey: Uint8Array, payload: Uint8Array): Uint8Array {
  if (frankingKey.length !== FRANKING_KEY_BYTES) throw new RangeError(`franking key must be ${FRANKING_KEY_BYTES} bytes`);
  return hmac(sha256, frankingKey, payload);
}

export function opensCommitment(commitment: Uint8Array, frankingKey: Uint8Array, payload: Uint8Array): boolean {
  return frankingKey.length === FRANKING_KEY_BYTES && equalBytes(commitment, frankingCommitment(frankingKey, payload));
}
