/**
 * Ed25519 (RFC 8032 §5.1) for MLS signatures (RFC 9420 §5.1.2), behind ts-mls's signature seam. Two
 * implementations, one acceptance rule:
 *  - WebCrypto's (the runtime's native code: OpenSSL in Node), imported keys cached. Each call is one
 *    asynchronous hop to the runtime's thread pool. Used wherever the runtime has Ed25519: measured in
 *    the same process against @noble/curves, it costs several times less per call in CPU and in wall time,
 *    signing and verifying (bench:client `ed25519_*_us`, `noble_ed25519_*_us`; docs/MESSENGER.md).
 *  - @noble/curves' (pure TypeScript, synchronous) where the runtime lacks it.
 * Verification is RFC 8032 §5.1.7 strict in both: noble with `zip215: false` (its default is ZIP-215's more
 * permissive decoding); and a public key reaches WebCrypto only if it decodes canonically and is not of
 * small order — noble's strict rule — so a key one implementation refuses the other refuses too, and
 * members on different runtimes agree on which messages verify. (§5.1.7 lets an implementation check the
 * cofactored or the cofactorless equation; they differ only on signatures made with a deliberately mixed-in
 * small-order component, which an honest signer never produces.)
 * Secret keys are 32-byte seeds (ts-mls's form) or the same seed in RFC 8410 PKCS#8.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { CiphersuiteImpl } from 'ts-mls';

type Signature = CiphersuiteImpl['signature'];

const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);

/** The 32-byte seed of a seed or of its RFC 8410 PKCS#8 wrapping; anything else is refused. */
function seedOf(signKey: Uint8Array): Uint8Array {
  if (signKey.length === 32) return signKey;
  if (signKey.length === PKCS8_PREFIX.length + 32 && PKCS8_PREFIX.every((b, i) => signKey[i] === b)) return signKey.subarray(PKCS8_PREFIX.length);
  throw new RangeError(`an Ed25519 signing key is a 32-byte seed or its PKCS#8 form, not ${signKey.length} bytes`);
}

function pkcs8(seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(PKCS8_PREFIX.length + 32);
  out.set(PKCS8_PREFIX);
  out.set(seed, PKCS8_PREFIX.length);
  return out;
}

/** What RFC 8032 strict verification (noble, zip215: false) accepts as a public key. */
function acceptableKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** A small bounded cache: keys are re-used across messages, a bound keeps memory flat. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, value);
  }
}

const hex = (bytes: Uint8Array): string => {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
};

export function nobleEd25519(keygen: Signature['keygen']): Signature {
  return {
    sign: async (signKey, message) => ed25519.sign(message, seedOf(signKey)),
    verify: async (publicKey, message, signature) => {
      try {
        return ed25519.verify(signature, message, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
    keygen,
  };
}

export function webCryptoEd25519(subtle: SubtleCrypto, keygen: Signature['keygen']): Signature {
  const signing = new BoundedCache<Promise<CryptoKey>>(64);
  // A refused key is cached as undefined, so a bad key is decoded once, not per message.
  const verifying = new BoundedCache<Promise<CryptoKey> | undefined>(4096);
  return {
    async sign(signKey, message) {
      const seed = seedOf(signKey);
      const id = hex(seed);
      let key = signing.get(id);
      if (!key) {
        key = subtle.importKey('pkcs8', pkcs8(seed) as BufferSource, 'Ed25519', false, ['sign']);
        signing.set(id, key);
      }
      return new Uint8Array(await subtle.sign('Ed25519', await key, message as BufferSource));
    },
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      const id = hex(publicKey);
      let key = verifying.get(id);
      if (key === undefined && !verifying.has(id)) {
        key = acceptableKey(publicKey) ? subtle.importKey('raw', publicKey as BufferSource, 'Ed25519', false, ['verify']) : undefined;
        verifying.set(id, key);
      }
      if (!key) return false;
      try {
        return await subtle.verify('Ed25519', await key, signature as BufferSource, message as BufferSource);
      } catch {
        return false;
      }
    },
    keygen,
  };
}

/** WebCrypto's Ed25519 where the runtime has it, else noble's. */
export async function ed25519Signature(keygen: Signature['keygen']): Promise<Signature> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) {
    try {
      await subtle.importKey('raw', ed25519.getPublicKey(new Uint8Array(32)) as BufferSource, 'Ed25519', false, ['verify']);
      return webCryptoEd25519(subtle, keygen);
    } catch {
      // no Ed25519 in this runtime's WebCrypto
    }
  }
  return nobleEd25519(keygen);
}
