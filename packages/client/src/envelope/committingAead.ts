/**
 * Key-committing AEAD for envelopes and attachments: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03)
 * made key-committing with the generic transform of Albertini, Duong, Gueron, Kölbl, Luykx and Schmieg,
 * "How to Abuse and Fix Authenticated Encryption Without Key Commitment" (USENIX Security 2022, §5.2):
 * from the content key K and the nonce derive, with a PRF, an encryption key and a commitment
 *   encKey     = HMAC-SHA256(K, "doublelock/commit-aead/v1/enc" || nonce)
 *   commitment = HMAC-SHA256(K, "doublelock/commit-aead/v1/com" || nonce)
 * and send the commitment with the ciphertext; the receiver recomputes it before decrypting. HMAC-SHA256
 * is collision resistant, so no second key opens the same ciphertext — the "invisible salamanders"
 * attack on Facebook's attachment franking (Dodis, Grubbs, Ristenpart, Woodage, CRYPTO 2018) fails.
 *
 * Sealed layout: nonce (24) || commitment (32) || XChaCha20-Poly1305 ciphertext and tag.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { equalBytes } from './bytes.ts';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const COMMITMENT_BYTES = 32;
export const OVERHEAD = NONCE_BYTES + COMMITMENT_BYTES + 16;

const ENC_LABEL = new TextEncoder().encode('doublelock/commit-aead/v1/enc');
const COM_LABEL = new TextEncoder().encode('doublelock/commit-aead/v1/com');

export class DecryptionFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionFailed';
  }
}

function derive(key: Uint8Array, nonce: Uint8Array) {
  if (key.length !== KEY_BYTES) throw new RangeError(`key must be ${KEY_BYTES} bytes, got ${key.length}`);
  // HMAC keyed once and cloned for the two labels: the same two MACs, without padding K twice.
  const keyed = hmac.create(sha256, key);
  const commitment = keyed.clone().update(COM_LABEL).update(nonce).digest();
  const encKey = keyed.update(ENC_LABEL).update(nonce).digest();
  return { encKey, commitment };
}

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  const { encKey, commitment } = derive(key, nonce);
  const sealed = new Uint8Array(OVERHEAD + plaintext.length);
  sealed.set(nonce, 0);
  sealed.set(commitment, NONCE_BYTES);
  xchacha20poly1305(encKey, nonce, aad).encrypt(plaintext, sealed.subarray(NONCE_BYTES + COMMITMENT_BYTES));
  return sealed;
}

export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < OVERHEAD) throw new DecryptionFailed(`sealed data too short (${sealed.length} bytes)`);
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const { encKey, commitment } = derive(key, nonce);
  if (!equalBytes(commitment, sealed.subarray(NONCE_BYTES, NONCE_BYTES + COMMITMENT_BYTES))) {
    throw new DecryptionFailed('key commitment does not match: this key did not seal this ciphertext');
  }
  try {
    return xchacha20poly1305(encKey, nonce, aad).decrypt(sealed.subarray(NONCE_BYTES + COMMITMENT_BYTES));
  } catch {
    throw new DecryptionFailed('authentication tag does not verify: the ciphertext or its context was altered');
  }
}
