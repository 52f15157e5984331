/**
 * A faster crypto provider for ts-mls (its `CryptoProvider` seam, RFC 9420 §5.1 primitives unchanged).
 *
 * Profiling ts-mls 1.6.4's default provider shows most of a message's time in WebCrypto round trips that
 * re-import the same key on every call: HMAC (every HKDF step of the secret tree and key schedule),
 * Ed25519 signing (the PKCS#8 key is rebuilt and imported per signature) and AES-GCM. This provider
 * keeps HPKE and the DH-KEM from ts-mls, and replaces
 *  - hash, HMAC and HKDF with @noble/hashes (synchronous: no promise hop, no key import);
 *  - the MLS AEAD (message protection, RFC 9420 §6.3) with @noble/ciphers AES-GCM;
 *  - Ed25519 (a signature on every message, RFC 9420 §6.1) with the platform's implementation over keys
 *    imported once and cached: in Node its synchronous `crypto.sign`/`crypto.verify` (the same OpenSSL
 *    code as its WebCrypto, without a round trip through the thread pool per signature), found at run
 *    time so the SDK core imports no Node module; in browsers WebCrypto; noble where neither has Ed25519.
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

/** RFC 8410 SubjectPublicKeyInfo of a raw 32-byte Ed25519 public key. */
function ed25519Spki(publicKey: Uint8Array): Uint8Array {
  const prefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
  const out = new Uint8Array(prefix.length + 32);
  out.set(prefix);
  out.set(publicKey, prefix.length);
  return out;
}

/** The parts of Node's `crypto` module used here (typed locally: the core must not import Node types). */
interface NodeKeyObject {
  readonly type: string;
}
interface NodeCrypto {
  createPrivateKey(options: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): NodeKeyObject;
  createPublicKey(options: { key: Uint8Array; format: 'der'; type: 'spki' }): NodeKeyObject;
  sign(algorithm: null, data: Uint8Array, key: NodeKeyObject): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array): boolean;
}

/** Node's crypto module when running in Node (≥ 20.16), looked up at run time; undefined in browsers. */
function nodeCrypto(): NodeCrypto | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const mod = proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
    if (!mod) return undefined;
    // Ed25519 support check, once.
    const key = mod.createPrivateKey({ key: ed25519Pkcs8(new Uint8Array(32)), format: 'der', type: 'pkcs8' });
    mod.sign(null, new Uint8Array(1), key);
    return mod;
  } catch {
    return undefined;
  }
}

/** Ed25519 through Node's synchronous crypto, keys imported once and cached. */
function nodeSignature(node: NodeCrypto, fallback: CiphersuiteImpl['signature']): CiphersuiteImpl['signature'] {
  const signing = new BoundedCache<NodeKeyObject>(64);
  const verifying = new BoundedCache<NodeKeyObject>(4096);
  return {
    async sign(signKey, message) {
      const id = hex(signKey);
      let key = signing.get(id);
      if (!key) {
        key = node.createPrivateKey({ key: signKey.length === 32 ? ed25519Pkcs8(signKey) : signKey, format: 'der', type: 'pkcs8' });
        signing.set(id, key);
      }
      return new Uint8Array(node.sign(null, message, key));
    },
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      const id = hex(publicKey);
      let key = verifying.get(id);
      try {
        if (!key) {
          key = node.createPublicKey({ key: ed25519Spki(publicKey), format: 'der', type: 'spki' });
          verifying.set(id, key);
        }
        return node.verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
    keygen: fallback.keygen,
  };
}

/** Ed25519: Node's crypto, else WebCrypto with imported keys cached, else noble. */
async function makeSignature(fallback: CiphersuiteImpl['signature']): Promise<CiphersuiteImpl['signature']> {
  const node = nodeCrypto();
  if (node) return nodeSignature(node, fallback);
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

/** The provider: same algorithms as ts-mls's default, with synchronous hashing and cached keys. */
export const fastCryptoProvider: CryptoProvider = {
  async getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
    const base = await defaultCryptoProvider.getCiphersuiteImpl(cs);
    const h = nobleHash(cs.hash);
    const kdfHash = nobleHash(cs.hpke.kdf === 'HKDF-SHA256' ? 'SHA-256' : cs.hpke.kdf === 'HKDF-SHA384' ? 'SHA-384' : 'SHA-512');
    const aead = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array | undefined) =>
      cs.hpke.aead === 'CHACHA20POLY1305' ? chacha20poly1305(key, nonce, aad) : gcm(key, nonce, aad);
    return {
      ...base,
      hash: {
        digest: async (data) => h(data),
        mac: async (key, data) => hmac(h, key, data),
        verifyMac: async (key, mac, data) => constantTimeEqual(mac, hmac(h, key, data)),
      },
      kdf: {
        extract: async (salt, ikm) => hkdfExtract(kdfHash, ikm, salt),
        expand: async (prk, info, len) => hkdfExpand(kdfHash, prk, info, len),
        size: base.kdf.size,
      },
      hpke: {
        ...base.hpke,
        // Only the MLS message-protection AEAD: HPKE's own seal/open stay in @hpke/core.
        encryptAead: async (key, nonce, aad, plaintext) => aead(key, nonce, aad && aad.length > 0 ? aad : undefined).encrypt(plaintext),
        decryptAead: async (key, nonce, aad, ciphertext) => aead(key, nonce, aad && aad.length > 0 ? aad : undefined).decrypt(ciphertext),
      },
      signature: await makeSignature(base.signature),
    };
  },
};
