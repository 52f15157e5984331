/**
 * Safety numbers: a 60-digit fingerprint two people compare to check they hold each other's real identity
 * keys. Same construction as Signal's numeric fingerprints (libsignal NumericFingerprintGenerator, version
 * 0): per party, 5200 iterations of SHA-512 over (digest || identityKey), seeded with
 * (version || identityKey || stableId); 30 bytes → six 5-digit groups; the two halves sorted and joined, so
 * both sides see the same number. Here the stable id is the username and the key the account identity key.
 * Tested digit for digit against libsignal's own Fingerprint (test/safetyNumber.test.ts).
 *
 * What it covers: the two identity keys (and usernames). Every device is certified by the identity key or by
 * a device certified from it (devices/authority.ts), so matching numbers vouch for all of a person's devices
 * as the log shows them; a device the account did not certify is refused by the authentication service.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from './envelope/bytes.ts';

const ITERATIONS = 5200;
const VERSION = new Uint8Array([0, 0]);

function displayable(identityKey: Uint8Array, stableId: string | Uint8Array): string {
  const id = typeof stableId === 'string' ? new TextEncoder().encode(stableId) : stableId;
  let digest = sha512(concatBytes(VERSION, identityKey, id, identityKey));
  for (let i = 1; i < ITERATIONS; i++) digest = sha512(concatBytes(digest, identityKey));
  let out = '';
  for (let i = 0; i < 30; i += 5) {
    const chunk = digest[i]! * 2 ** 32 + ((digest[i + 1]! << 24) >>> 0) + (digest[i + 2]! << 16) + (digest[i + 3]! << 8) + digest[i + 4]!;
    out += String(chunk % 100000).padStart(5, '0');
  }
  return out;
}

export interface SafetyParty {
  username: string;
  identityKey: Uint8Array;
}

/** The construction itself, over any key encoding and stable id (libsignal passes 33-byte keys, 0x05 ‖ X25519). */
export function numericFingerprint(a: { key: Uint8Array; id: string | Uint8Array }, b: { key: Uint8Array; id: string | Uint8Array }): string {
  return [displayable(a.key, a.id), displayable(b.key, b.id)].sort().join('');
}

/** The 60 digits, grouped in twelve blocks of five for reading aloud. */
export function safetyNumber(a: SafetyParty, b: SafetyParty): string {
  if (a.identityKey.length !== 32 || b.identityKey.length !== 32) throw new RangeError('identity keys are 32-byte Ed25519 keys');
  return numericFingerprint({ key: a.identityKey, id: a.username }, { key: b.identityKey, id: b.username }).match(/.{5}/g)!.join(' ');
}
