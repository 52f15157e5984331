import { ed25519 } from '@noble/curves/ed25519.js';

/**
 * Ed25519 verification (RFC 8032 §5.1.7, strict: `zip215: false`) that never throws: malformed keys or
 * signatures are simply invalid. Strict, as the clients verify (packages/client/src/mls/ed25519.ts):
 * noble's default (ZIP-215) accepts a small-order key with R = identity, S = 0 as a signature on any
 * message, so an account registered with such a key would be one anybody can sign for.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
