/**
 * A faster crypto provider for ts-mls (its `CryptoProvider` seam, RFC 9420 §5.1 primitives unchanged).
 *
 * Profiling ts-mls 1.6.4's default provider shows most of a message's time in WebCrypto round trips that
 * re-import the same key on every call: HMAC (every HKDF step of the secret tree and key schedule),
 * Ed25519 signing (the PKCS#8 key is rebuilt and imported per signature) and AES-GCM. This provider
 * keeps HPKE and the DH-KEM from ts-mls, and replaces, synchronously and with keys imported once:
 *  - hash, HMAC and HKDF (RFC 2104, RFC 5869) and the MLS message AEAD (§6.3);
 *  - Ed25519, a signature on every message (§6.1).
 * Primitives: @noble/hashes and @noble/ciphers (the project allows only @noble/* and ts-mls for
 * cryptography), with Ed25519 from WebCrypto where the runtime has it (noble otherwise).
 * The official MLS test vectors run through it (test/mlsTestVectors.test.ts).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { defaultCryptoProvider, type Ciphersuite, type CiphersuiteImpl, type CryptoProvider } from 'ts-mls';


type NobleHash = typeof sha256 | typeof sha384 | typeof sha512;

function nobleHash(name: Ciphersuite['hash']): NobleHash {
  if (name === 'SHA-256') return sha256;
  if (name === 'SHA-384') return sha384;
  return sha512;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A small bounded cache: keys are re-used within an epoch, a bound keeps memory flat across epochs. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
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

/** RFC 8410 PKCS#8 wrapping of a raw 32-byte Ed25519 seed, for WebCrypto import. */
function ed25519Pkcs8(seed: Uint8Array): Uint8Array {
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
  const out = new Uint8Array(prefix.length + 32);
  out.set(prefix);
  out.set(seed, prefix.length);
  return out;
}

/** Ed25519: WebCrypto with imported keys cached, else noble. */
async function makeSignature(fallback: CiphersuiteImpl['signature']): Promise<CiphersuiteImpl['signature']> {
  const subtle = globalThis.crypto?.subtle;
  let webCrypto = false;
  if (subtle) {
    try {
      await subtle.importKey('raw', ed25519.getPublicKey(new Uint8Array(32)) as BufferSource, 'Ed25519', false, ['verify']);
      webCrypto = true;
    } catch {
      webCrypto = false;
    }
  }
  if (!webCrypto || !subtle) {
    return {
      sign: async (signKey, message) => ed25519.sign(message, signKey.length === 32 ? signKey : signKey.slice(-32)),
      verify: async (publicKey, message, signature) => {
        try {
          return ed25519.verify(signature, message, publicKey);
        } catch {
          return false;
        }
      },
      keygen: fallback.keygen,
    };
  }
  const signing = new BoundedCache<Promise<CryptoKey>>(64);
  const verifying = new BoundedCache<Promise<CryptoKey>>(4096);
  return {
    async sign(signKey, message) {
      const id = hex(signKey);
      let key = signing.get(id);
      if (!key) {
        const pkcs8 = signKey.length === 32 ? ed25519Pkcs8(signKey) : signKey;
        key = subtle.importKey('pkcs8', pkcs8 as BufferSource, 'Ed25519', false, ['sign']);
        signing.set(id, key);
      }
      return new Uint8Array(await subtle.sign('Ed25519', await key, message as BufferSource));
    },
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      const id = hex(publicKey);
      let key = verifying.get(id);
      if (!key) {
        key = subtle.importKey('raw', publicKey as BufferSource, 'Ed25519', false, ['verify']);
        verifying.set(id, key);
      }
      try {
        return await subtle.verify('Ed25519', await key, signature as BufferSource, message as BufferSource);
      } catch {
        return false;
      }
    },
    keygen: fallback.keygen,
  };
}

type Aead = {
  encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
};

/** Hash, HMAC, HKDF and the message AEAD of one suite, from one set of primitives. */
interface Primitives {
  digest(data: Uint8Array): Uint8Array;
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  kdfMac(key: Uint8Array, data: Uint8Array): Uint8Array;
  kdfSize: number;
  aead: Aead;
}

function noblePrimitives(cs: Ciphersuite, kdfSize: number): Primitives {
  const h = nobleHash(cs.hash);
  const kdfHash = nobleHash(kdfHashName(cs));
  const aead = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) => (cs.hpke.aead === 'CHACHA20POLY1305' ? chacha20poly1305 : gcm)(key, nonce, aad.length > 0 ? aad : undefined);
  return {
    digest: (data) => h(data),
    mac: (key, data) => hmac(h, key, data),
    kdfMac: (key, data) => hmac(kdfHash, key, data),
    kdfSize,
    aead: { encrypt: (key, nonce, aad, pt) => aead(key, nonce, aad).encrypt(pt), decrypt: (key, nonce, aad, ct) => aead(key, nonce, aad).decrypt(ct) },
  };
}

function kdfHashName(cs: Ciphersuite): Ciphersuite['hash'] {
  return cs.hpke.kdf === 'HKDF-SHA256' ? 'SHA-256' : cs.hpke.kdf === 'HKDF-SHA384' ? 'SHA-384' : 'SHA-512';
}

function makeProvider(): CryptoProvider {
  return {
    async getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
      const base = await defaultCryptoProvider.getCiphersuiteImpl(cs);
      const p = noblePrimitives(cs, base.kdf.size);
      const kdfHash = nobleHash(kdfHashName(cs));
      return {
        ...base,
        hash: {
          digest: async (data) => p.digest(data),
          mac: async (key, data) => p.mac(key, data),
          verifyMac: async (key, mac, data) => constantTimeEqual(mac, p.mac(key, data)),
        },
        kdf: {
          // HKDF-Extract (RFC 5869 §2.2) is HMAC(salt, IKM); an empty salt and a zero one give the same key block.
          extract: async (salt, ikm) => hkdfExtract(kdfHash, ikm, salt),
          expand: async (prk, info, len) => hkdfExpand(kdfHash, prk, info, len),
          size: base.kdf.size,
        },
        hpke: {
          ...base.hpke,
          // Only the MLS message-protection AEAD: HPKE's own seal/open stay in @hpke/core.
          encryptAead: async (key, nonce, aad, plaintext) => p.aead.encrypt(key, nonce, aad ?? new Uint8Array(0), plaintext),
          decryptAead: async (key, nonce, aad, ciphertext) => p.aead.decrypt(key, nonce, aad ?? new Uint8Array(0), ciphertext),
        },
        signature: await makeSignature(base.signature),
      };
    },
  };
}

/** The SDK's provider: @noble primitives with keys imported once (and WebCrypto's Ed25519 where present). */
export const fastCryptoProvider: CryptoProvider = makeProvider();

