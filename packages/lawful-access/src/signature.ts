/**
 * Ed25519 (RFC 8032, @noble/curves) over labelled messages: every signed object in lawful access is
 * signed as lengthPrefixed(label, canonical JSON), with a distinct label per purpose, so a signature made
 * for one purpose (issuing a warrant) can never be presented as another (approving it).
 */
import { fromBase64Url, lengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalBytes } from './canonicalJson.ts';

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateSigningKey(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export const signedBytes = (label: string, document: unknown): Uint8Array => lengthPrefixed(label, canonicalBytes(document));

export function signDocument(label: string, document: unknown, secretKey: Uint8Array): string {
  return toBase64Url(ed25519.sign(signedBytes(label, document), secretKey));
}

/** False for any malformed key or signature, never a throw. */
export function verifyDocument(label: string, document: unknown, signature: string, publicKey: string | Uint8Array): boolean {
  try {
    const key = typeof publicKey === 'string' ? fromBase64Url(publicKey) : publicKey;
    const sig = fromBase64Url(signature);
    if (key.length !== 32 || sig.length !== 64) return false;
    return ed25519.verify(sig, signedBytes(label, document), key, { zip215: false }); // RFC 8032 strict, as every verifier here
  } catch {
    return false;
  }
}
