/**
 * Safety numbers: a 60-digit fingerprint two people compare to check they hold each other's real identity
 * keys. Same construction as Signal's numeric fingerprints (libsignal NumericFingerprintGenerator, version
 * 0): per party, 5200 iterations of SHA-512 over (digest || identityKey), seeded with
 * (version || identityKey || stableId); 30 bytes → six 5-digit groups; the two halves sorted and joined, so
 * both sides see the same number. Here the stable id is the username and the key the account identity key.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from './envelope/bytes.ts';

const ITERATIONS = 5200;
const VERSION = new Uint8Array([0, 0]);

function displayable(identityKey: Uint8Array, stableId: string): string {
  let digest = sha512(concatBytes(VERSION, identityKey, new TextEncoder().encode(stableId), identityKey));
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

/** The 60 digits, grouped in twelve blocks of five for reading aloud. */
export function safetyNumber(a: SafetyParty, b: SafetyParty): string {
  if (a.identityKey.length !== 32 || b.identityKey.length !== 32) throw new RangeError('identity keys are 32-byte Ed25519 keys');
  const halves = [displayable(a.identityKey, a.username), displayable(b.identityKey, b.username)].sort();
  return (halves[0]! + halves[1]!).match(/.{5}/g)!.join(' ');
}
