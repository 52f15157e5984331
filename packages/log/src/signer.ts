/**
 * Signing side of C2SP signed-note (https://c2sp.org/signed-note) and tlog-cosignature
 * (https://c2sp.org/tlog-cosignature). Keys are written as Go's sumdb/note does:
 * signer key `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ Ed25519 seed)>`, verifier key
 * `<name>+<hex key ID>+<base64(type ‖ public key)>`. Type 0x01 signs notes (the log's checkpoints);
 * type 0x04 makes timestamped cosignatures (witnesses).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { fromBase64, toBase64 } from './verifier/encoding.ts';
import {
  computeKeyId,
  cosignedMessage,
  formatVerifierKey,
  isValidKeyName,
  keyIdHex,
  NoteError,
  SIGNATURE_COSIGNATURE_V1,
  SIGNATURE_ED25519,
  type SignatureType,
} from './verifier/note.ts';

const PREFIX = 'PRIVATE+KEY+';

export interface SignerKey {
  name: string;
  type: SignatureType;
  seed: Uint8Array;
}

export function formatSignerKey({ name, type, seed }: SignerKey): string {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (seed.length !== 32) throw new NoteError('Ed25519 seed must be 32 bytes');
  const material = new Uint8Array(33);
  material[0] = type;
  material.set(seed, 1);
  const keyId = computeKeyId(name, type, ed25519.getPublicKey(seed));
  return `${PREFIX}${name}+${keyIdHex(keyId)}+${toBase64(material)}`;
}

export function parseSignerKey(skey: string): SignerKey {
  const text = skey.trim();
  if (!text.startsWith(PREFIX)) throw new NoteError('signer key must start with PRIVATE+KEY+');
  const body = text.slice(PREFIX.length);
  const first = body.indexOf('+');
  const second = body.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new NoteError('signer key must be PRIVATE+KEY+<name>+<key id>+<key>');
  const name = body.slice(0, first);
  const idText = body.slice(first + 1, second);
  const b64 = body.slice(second + 1);
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  let material: Uint8Array;
  try {
    material = fromBase64(b64);
  } catch {
    throw new NoteError('signer key material is not valid base64');
  }
  const type = material[0];
  if (type !== SIGNATURE_ED25519 && type !== SIGNATURE_COSIGNATURE_V1) throw new NoteError(`unsupported signature type ${type}`);
  const seed = material.slice(1);
  if (seed.length !== 32) throw new NoteError('Ed25519 seed must be 32 bytes');
  if (keyIdHex(computeKeyId(name, type, ed25519.getPublicKey(seed))) !== idText) throw new NoteError('signer key ID does not match the key');
  return { name, type, seed };
}

export function generateSignerKey(name: string, type: SignatureType = SIGNATURE_ED25519): string {
  return formatSignerKey({ name, type, seed: randomBytes(32) });
}

abstract class Ed25519KeyHolder {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly keyId: number;
  protected readonly seed: Uint8Array;

  constructor(
    key: SignerKey | string,
    readonly type: SignatureType,
  ) {
    const parsed = typeof key === 'string' ? parseSignerKey(key) : key;
    this.name = parsed.name;
    this.seed = parsed.seed;
    this.publicKey = ed25519.getPublicKey(parsed.seed);
    this.keyId = computeKeyId(this.name, type, this.publicKey);
  }

  get verifierKey(): string {
    return formatVerifierKey(this.name, this.type, this.publicKey);
  }

  protected line(signature: Uint8Array): string {
    const blob = new Uint8Array(4 + signature.length);
    new DataView(blob.buffer).setUint32(0, this.keyId);
    blob.set(signature, 4);
    return `\u2014 ${this.name} ${toBase64(blob)}`;
  }
}

/** Signs note texts with Ed25519 (type 0x01). */
export class NoteSigner extends Ed25519KeyHolder {
  constructor(key: SignerKey | string) {
    super(key, SIGNATURE_ED25519);
  }

  /** The signature line (without newline) over `text`, which must end with a newline. */
  sign(text: string): string {
    if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
    return this.line(ed25519.sign(new TextEncoder().encode(text), this.seed));
  }
}

/** Makes cosignature/v1 lines (type 0x04): Ed25519 over "cosignature/v1\ntime <t>\n" ‖ checkpoint text. */
export class CosignatureSigner extends Ed25519KeyHolder {
  constructor(key: SignerKey | string) {
    super(key, SIGNATURE_COSIGNATURE_V1);
  }

  cosign(text: string, timestamp: bigint = BigInt(Math.floor(Date.now() / 1000))): string {
    if (timestamp < 0n || timestamp >= 1n << 63n) throw new NoteError('cosignature timestamp out of range');
    const signature = ed25519.sign(cosignedMessage(text, timestamp), this.seed);
    const body = new Uint8Array(72);
    new DataView(body.buffer).setBigUint64(0, timestamp);
    body.set(signature, 8);
    return this.line(body);
  }
}

/** Assembles a signed note: text, a blank line, then one signature line each. */
export function assembleNote(text: string, signatureLines: readonly string[]): string {
  if (signatureLines.length === 0) throw new NoteError('a note needs at least one signature');
  return `${text}\n${signatureLines.map((line) => `${line}\n`).join('')}`;
}

/** The tlog-checkpoint note text: origin, size, base64 root hash. */
export function checkpointText(origin: string, size: number, rootHash: Uint8Array): string {
  if (origin.length === 0 || origin.includes('\n')) throw new NoteError('invalid checkpoint origin');
  return `${origin}\n${size}\n${toBase64(rootHash)}\n`;
}
