/**
 * HKDF-Expand (RFC 5869 §2.3) that keys HMAC (RFC 2104) once per pseudorandom key.
 *
 * MLS derives several values from one secret in a row: a sender's ratchet secret gives the next secret,
 * the message key and the nonce (RFC 9420 §9.1); the epoch's sender_data_secret gives a key and a nonce for
 * every message of the epoch (§6.3.2). Keying HMAC is half the work of a short HKDF-Expand (the inner and
 * outer padded key blocks are two of its four SHA-256 compressions), so the keyed state of the last few
 * keys is kept and cloned. A hit compares the key's bytes (the same array may be reused for another key),
 * and the cache holds a handful of entries, so no key stays here for long after its epoch or generation.
 * Output is byte-for-byte noble's `expand` (checked in test/keyedExpand.test.ts and by the MLS test vectors).
 */
import { expand } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import type { CHash } from '@noble/hashes/utils.js';

/** The part of a noble hash instance used here: HMAC's keyed inner and outer states, cloned per use. */
interface HashState {
  update(data: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
  _cloneInto(to?: HashState): HashState;
}

interface Keyed {
  prk: Uint8Array;
  copy: Uint8Array;
  inner: HashState;
  outer: HashState;
}

const COUNTER_1 = new Uint8Array([1]);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function keyedExpand(hash: CHash, capacity = 4): (prk: Uint8Array, info: Uint8Array, length: number) => Uint8Array {
  const entries: Keyed[] = [];
  const outputLen = hash.outputLen;
  let innerWork: HashState | undefined;
  let outerWork: HashState | undefined;
  const block = new Uint8Array(outputLen);

  function keyed(prk: Uint8Array): Keyed {
    for (const entry of entries) if (entry.prk === prk && sameBytes(entry.copy, prk)) return entry;
    const mac = hmac.create(hash, prk) as unknown as { iHash: HashState; oHash: HashState };
    const entry = { prk, copy: prk.slice(), inner: mac.iHash, outer: mac.oHash };
    if (entries.length >= capacity) entries.shift()!.copy.fill(0);
    entries.push(entry);
    return entry;
  }

  return (prk, info, length) => {
    // Longer outputs (several HMAC blocks) and short keys (which noble refuses) take noble's own path.
    if (length > outputLen || length === 0 || prk.length < outputLen) return expand(hash, prk, info, length);
    const { inner, outer } = keyed(prk);
    // T(1) = HMAC(PRK, info || 0x01); OKM = the first `length` bytes of T(1).
    const innerHash = (innerWork = inner._cloneInto(innerWork));
    innerHash.update(info);
    innerHash.update(COUNTER_1);
    innerHash.digestInto(block);
    const outerHash = (outerWork = outer._cloneInto(outerWork));
    outerHash.update(block);
    outerHash.digestInto(block);
    const out = block.slice(0, length);
    block.fill(0);
    return out;
  };
}
