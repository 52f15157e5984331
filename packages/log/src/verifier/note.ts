/**
 * C2SP signed-note (https://c2sp.org/signed-note, the format of Go's golang.org/x/mod/sumdb/note):
 * parsing, verifier keys `<name>+<hex key ID>+<base64(type ‖ public key)>`, and verification of two
 * signature types: 0x01 Ed25519 over the note text, and 0x04 timestamped Ed25519 witness cosignatures
 * (https://c2sp.org/tlog-cosignature, "cosignature/v1"). Key ID = SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4].
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, toBase64, utf8 } from './encoding.ts';

export const SIGNATURE_ED25519 = 0x01;
export const SIGNATURE_COSIGNATURE_V1 = 0x04;
export type SignatureType = typeof SIGNATURE_ED25519 | typeof SIGNATURE_COSIGNATURE_V1;

/** Verifiers must accept at least 16 signatures; Go's note package stops at 100. */
export const MAX_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 1 << 20;
const SIGNATURE_PREFIX = '\u2014 ';

export class NoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoteError';
  }
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the 4-byte key ID. */
  signature: Uint8Array;
  /** The whole line, without its newline, as it appeared in the note. */
  line: string;
}

export interface ParsedNote {
  /** The signed text, including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

export interface VerifierKey {
  name: string;
  keyId: number;
  type: SignatureType;
  publicKey: Uint8Array;
}

/** Names are non-empty and contain no Unicode spaces and no plus sign. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/[\u0000-\u001f]/.test(name);
}

export function computeKeyId(name: string, type: SignatureType, publicKey: Uint8Array): number {
  const nameBytes = utf8(name);
  const input = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  input.set(nameBytes);
  input[nameBytes.length] = 0x0a;
  input[nameBytes.length + 1] = type;
  input.set(publicKey, nameBytes.length + 2);
  const digest = sha256(input);
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

export const keyIdHex = (keyId: number): string => keyId.toString(16).padStart(8, '0');

export function formatVerifierKey(name: string, type: SignatureType, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  const material = new Uint8Array(1 + publicKey.length);
  material[0] = type;
  material.set(publicKey, 1);
  return `${name}+${keyIdHex(computeKeyId(name, type, publicKey))}+${toBase64(material)}`;
}

/** Parses `<name>+<hex key ID>+<base64(type ‖ key)>` and checks that the key ID matches the key. */
export function parseVerifierKey(vkey: string): VerifierKey {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new NoteError('verifier key must be <name>+<key id>+<key>');
  const name = vkey.slice(0, first);
  const idText = vkey.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(idText)) throw new NoteError('verifier key ID must be 8 lowercase hex digits');
  let material: Uint8Array;
  try {
    material = fromBase64(vkey.slice(second + 1));
  } catch {
    throw new NoteError('verifier key material is not valid base64');
  }
  const type = material[0];
  if (type !== SIGNATURE_ED25519 && type !== SIGNATURE_COSIGNATURE_V1) throw new NoteError(`unsupported signature type ${type}`);
  const publicKey = material.slice(1);
  if (publicKey.length !== 32) throw new NoteError('Ed25519 public key must be 32 bytes');
  const keyId = computeKeyId(name, type, publicKey);
  if (keyIdHex(keyId) !== idText) throw new NoteError('verifier key ID does not match the key');
  return { name, keyId, type, publicKey };
}

/** Splits a signed note into its text and signature lines; checks syntax only, verifies nothing. */
export function parseNote(note: string): ParsedNote {
  if (utf8(note).length > MAX_NOTE_BYTES) throw new NoteError('note is too large');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new NoteError('note contains a control character');
  if (/[\ud800-\udfff]/u.test(note.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) throw new NoteError('note is not valid UTF-8');
  if (!note.endsWith('\n')) throw new NoteError('note does not end with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError(`note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => parseSignatureLine(line));
  return { text, signatures };
}

export function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteError('signature line does not start with an em dash and a space');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw new NoteError('signature line has no signature');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)} in a signature line`);
  let blob: Uint8Array;
  try {
    blob = fromBase64(rest.slice(space + 1));
  } catch {
    throw new NoteError('signature is not valid base64');
  }
  if (blob.length < 5) throw new NoteError('signature is too short');
  const keyId = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0);
  return { name, keyId, signature: blob.slice(4), line };
}

/** The message a cosignature/v1 signs: two header lines, then the whole checkpoint text. */
export function cosignedMessage(text: string, timestamp: bigint): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp.toString()}\n${text}`);
}

export interface VerifiedSignature {
  name: string;
  keyId: number;
  type: SignatureType;
  /** For cosignatures: the witness's POSIX timestamp. */
  timestamp?: bigint;
}

/** Checks one signature against one key (name and key ID already matched). */
export function verifySignature(text: string, key: VerifierKey, signature: Uint8Array): VerifiedSignature | undefined {
  const strict = { zip215: false };
  if (key.type === SIGNATURE_ED25519) {
    if (signature.length !== 64) return undefined;
    return ed25519.verify(signature, utf8(text), key.publicKey, strict) ? { name: key.name, keyId: key.keyId, type: key.type } : undefined;
  }
  if (signature.length !== 72) return undefined;
  const timestamp = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  if (timestamp >= 1n << 63n) return undefined;
  const ok = ed25519.verify(signature.slice(8), cosignedMessage(text, timestamp), key.publicKey, strict);
  return ok ? { name: key.name, keyId: key.keyId, type: key.type, timestamp } : undefined;
}

/**
 * Opens a note: signatures from unknown keys are ignored; a signature from a known key that fails
 * rejects the whole note; at least one known key must have signed. Returns the text and who signed it.
 */
export function openNote(note: string, keys: readonly (VerifierKey | string)[]): { text: string; verified: VerifiedSignature[] } {
  const parsed = parseNote(note);
  const known = keys.map((k) => (typeof k === 'string' ? parseVerifierKey(k) : k));
  const verified: VerifiedSignature[] = [];
  for (const sig of parsed.signatures) {
    const key = known.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    const ok = verifySignature(parsed.text, key, sig.signature);
    if (!ok) throw new NoteError(`signature by ${key.name}+${keyIdHex(key.keyId)} does not verify`);
    if (!verified.some((v) => v.name === ok.name && v.keyId === ok.keyId)) verified.push(ok);
  }
  if (verified.length === 0) throw new NoteError('note is not signed by any known key');
  return { text: parsed.text, verified };
}

