/**
 * A faster crypto provider for ts-mls (its `CryptoProvider` seam, RFC 9420 §5.1 primitives unchanged).
 *
 * Profiling ts-mls 1.6.4's default provider shows most of a message's time in WebCrypto round trips that
 * re-import the same key on every call: HMAC (every HKDF step of the secret tree and key schedule),
 * Ed25519 signing (the PKCS#8 key is rebuilt and imported per signature) and AES-GCM. This provider
 * keeps HPKE and the DH-KEM from ts-mls, and replaces, synchronously and with keys imported once:
 *  - hash, HMAC and HKDF (RFC 2104, RFC 5869) and the MLS message AEAD (§6.3);
 *  - Ed25519, a signature on every message (§6.1).
 * Two sets of primitives: in Node, the runtime's own `crypto` module (OpenSSL, the code behind its
 * WebCrypto, without a thread-pool round trip per call), found at run time so the SDK core imports no Node
 * module; everywhere else (browsers) @noble/hashes and @noble/ciphers in pure TypeScript, with Ed25519 from
 * WebCrypto (noble where WebCrypto lacks it). `nobleCryptoProvider` forces the pure-TypeScript set.
 * The official MLS test vectors run through both (test/mlsTestVectors.test.ts).
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
interface NodeHash {
  update(data: Uint8Array): NodeHash;
  digest(): Uint8Array;
}
interface NodeCipher {
  setAAD(aad: Uint8Array, options: { plaintextLength: number }): NodeCipher;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  getAuthTag(): Uint8Array;
  setAuthTag(tag: Uint8Array): NodeCipher;
}
interface NodeCrypto {
  createPrivateKey(options: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): NodeKeyObject;
  createPublicKey(options: { key: Uint8Array; format: 'der'; type: 'spki' }): NodeKeyObject;
  sign(algorithm: null, data: Uint8Array, key: NodeKeyObject): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array): boolean;
  createHash(algorithm: string): NodeHash;
  createHmac(algorithm: string, key: Uint8Array): NodeHash;
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array, options: { authTagLength: number }): NodeCipher;
  createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array, options: { authTagLength: number }): NodeCipher;
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

/** Ed25519: Node's crypto (when given), else WebCrypto with imported keys cached, else noble. */
async function makeSignature(fallback: CiphersuiteImpl['signature'], node: NodeCrypto | undefined): Promise<CiphersuiteImpl['signature']> {
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

const nodeName = (hash: Ciphersuite['hash']) => (hash === 'SHA-256' ? 'sha256' : hash === 'SHA-384' ? 'sha384' : 'sha512');

function nodePrimitives(node: NodeCrypto, cs: Ciphersuite, kdfSize: number): Primitives {
  const hashName = nodeName(cs.hash);
  const kdfName = nodeName(kdfHashName(cs));
  const cipher = cs.hpke.aead === 'CHACHA20POLY1305' ? 'chacha20-poly1305' : cs.hpke.aead === 'AES128GCM' ? 'aes-128-gcm' : 'aes-256-gcm';
  const TAG = 16;
  // Copies: Node returns Buffers that may share a pooled ArrayBuffer.
  const bytes = (b: Uint8Array) => new Uint8Array(b);
  return {
    digest: (data) => bytes(node.createHash(hashName).update(data).digest()),
    mac: (key, data) => bytes(node.createHmac(hashName, key).update(data).digest()),
    kdfMac: (key, data) => bytes(node.createHmac(kdfName, key).update(data).digest()),
    kdfSize,
    aead: {
      encrypt(key, nonce, aad, plaintext) {
        const c = node.createCipheriv(cipher, key, nonce, { authTagLength: TAG });
        if (aad.length > 0) c.setAAD(aad, { plaintextLength: plaintext.length });
        const head = c.update(plaintext);
        const tail = c.final();
        const out = new Uint8Array(head.length + tail.length + TAG);
        out.set(head);
        out.set(tail, head.length);
        out.set(c.getAuthTag(), head.length + tail.length);
        return out;
      },
      decrypt(key, nonce, aad, ciphertext) {
        if (ciphertext.length < TAG) throw new Error('ciphertext shorter than its tag');
        const body = ciphertext.subarray(0, ciphertext.length - TAG);
        const d = node.createDecipheriv(cipher, key, nonce, { authTagLength: TAG });
        d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG));
        if (aad.length > 0) d.setAAD(aad, { plaintextLength: body.length });
        const head = d.update(body);
        const tail = d.final(); // throws when the tag does not verify
        const out = new Uint8Array(head.length + tail.length);
        out.set(head);
        out.set(tail, head.length);
        return out;
      },
    },
  };
}

function kdfHashName(cs: Ciphersuite): Ciphersuite['hash'] {
  return cs.hpke.kdf === 'HKDF-SHA256' ? 'SHA-256' : cs.hpke.kdf === 'HKDF-SHA384' ? 'SHA-384' : 'SHA-512';
}

/** HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i-1) | info | i), the first `length` bytes of T(1) | T(2) | … */
function hkdfExpandWith(p: Primitives, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * p.kdfSize) throw new RangeError('HKDF-Expand: length too large');
  const out = new Uint8Array(length);
  let previous = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    const block = new Uint8Array(previous.length + info.length + 1);
    block.set(previous);
    block.set(info, previous.length);
    block[block.length - 1] = i;
    previous = p.kdfMac(prk, block) as Uint8Array<ArrayBuffer>;
    out.set(previous.subarray(0, Math.min(previous.length, length - offset)), offset);
    offset += previous.length;
  }
  return out;
}

function makeProvider(usePlatform: boolean): CryptoProvider {
  return {
    async getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
      const base = await defaultCryptoProvider.getCiphersuiteImpl(cs);
      const node = usePlatform ? nodeCrypto() : undefined;
      const p = node ? nodePrimitives(node, cs, base.kdf.size) : noblePrimitives(cs, base.kdf.size);
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
          extract: async (salt, ikm) => (node ? p.kdfMac(salt, ikm) : hkdfExtract(kdfHash, ikm, salt)),
          expand: async (prk, info, len) => (node ? hkdfExpandWith(p, prk, info, len) : hkdfExpand(kdfHash, prk, info, len)),
          size: base.kdf.size,
        },
        hpke: {
          ...base.hpke,
          // Only the MLS message-protection AEAD: HPKE's own seal/open stay in @hpke/core.
          encryptAead: async (key, nonce, aad, plaintext) => p.aead.encrypt(key, nonce, aad ?? new Uint8Array(0), plaintext),
          decryptAead: async (key, nonce, aad, ciphertext) => p.aead.decrypt(key, nonce, aad ?? new Uint8Array(0), ciphertext),
        },
        signature: await makeSignature(base.signature, node),
      };
    },
  };
}

/** The SDK's provider: the runtime's crypto in Node, pure TypeScript (noble) and WebCrypto elsewhere. */
export const fastCryptoProvider: CryptoProvider = makeProvider(true);

/** The same with the pure-TypeScript primitives everywhere (what browsers run; tested in Node too). */
export const nobleCryptoProvider: CryptoProvider = makeProvider(false);
