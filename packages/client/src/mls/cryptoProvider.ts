/**
 * A faster crypto provider for ts-mls (its `CryptoProvider` seam, RFC 9420 §5.1 primitives unchanged).
 *
 * Profiling ts-mls 1.6.4's default provider shows most of a message's time in WebCrypto round trips that
 * re-import the same key on every call: HMAC (every HKDF step of the secret tree and key schedule),
 * Ed25519 signing (the PKCS#8 key is rebuilt and imported per signature) and AES-GCM. This provider
 * keeps HPKE and the DH-KEM from ts-mls, and replaces, synchronously and with keys imported once:
 *  - hash, HMAC and HKDF (RFC 2104, RFC 5869) and the MLS message AEAD (§6.3);
 *  - Ed25519, a signature on every message (§6.1): ed25519.ts (WebCrypto where the runtime has it, noble
 *    otherwise; RFC 8032 strict verification in both).
 * Primitives: @noble/hashes and @noble/ciphers (the project allows only @noble/* and ts-mls for
 * cryptography).
 * The official MLS test vectors run through it (test/mlsTestVectors.test.ts).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { defaultCryptoProvider, type Ciphersuite, type CiphersuiteImpl, type CryptoProvider } from 'ts-mls';
import { ed25519Signature } from './ed25519.ts';

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
        signature: cs.signature === 'Ed25519' ? await ed25519Signature(base.signature.keygen) : base.signature,
      };
    },
  };
}

/** The SDK's provider: @noble primitives with keys imported once (and WebCrypto's Ed25519 where present). */
export const fastCryptoProvider: CryptoProvider = makeProvider();

