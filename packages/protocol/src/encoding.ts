/**
 * base64url without padding (RFC 4648 §5), the only byte encoding on the wire. Works in Node and browsers.
 * Linear time: Node's Buffer codec where there is one, else a byte-array build (never string
 * concatenation, which made a 1 MB payload cost ~200 ms). Decoding is strict: only the canonical encoding
 * of a byte string is accepted (no padding, no other alphabet, unused trailing bits zero), so one id has
 * exactly one name.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const BASE64URL = /^[A-Za-z0-9_-]*$/;

type NodeBuffer = { from(data: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'base64url'): string }; from(text: string, encoding: 'base64url'): Uint8Array };
const NodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;
const latin1 = new TextDecoder('latin1');

export function toBase64Url(data: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64url');
  const out = new Uint8Array(Math.ceil((data.length * 4) / 3));
  let o = 0;
  let i = 0;
  for (; i + 2 < data.length; i += 3) {
    const n = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    out[o++] = ALPHABET_CODES[n >> 18]!;
    out[o++] = ALPHABET_CODES[(n >> 12) & 63]!;
    out[o++] = ALPHABET_CODES[(n >> 6) & 63]!;
    out[o++] = ALPHABET_CODES[n & 63]!;
  }
  const rest = data.length - i;
  if (rest > 0) {
    const n = (data[i]! << 16) | (rest === 2 ? data[i + 1]! << 8 : 0);
    out[o++] = ALPHABET_CODES[n >> 18]!;
    out[o++] = ALPHABET_CODES[(n >> 12) & 63]!;
    if (rest === 2) out[o++] = ALPHABET_CODES[(n >> 6) & 63]!;
  }
  return latin1.decode(out.subarray(0, o));
}

/** True if `text` is the canonical unpadded base64url encoding of some byte string. */
export function isCanonicalBase64Url(text: string): boolean {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return false;
  const rest = text.length % 4;
  if (rest === 0) return true;
  // The last character carries 4 (rest 2) or 2 (rest 3) unused low bits: they must be zero.
  const last = LOOKUP[text.charCodeAt(text.length - 1)]!;
  return (last & (rest === 2 ? 0b1111 : 0b11)) === 0;
}

export function fromBase64Url(text: string): Uint8Array {
  if (!isCanonicalBase64Url(text)) throw new Error('invalid base64url: not the canonical unpadded encoding');
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, 'base64url')); // a copy: a plain Uint8Array of its own
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    value = ((value << 6) | LOOKUP[text.charCodeAt(i)]!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** Unambiguous concatenation for signed messages: each field is prefixed by its 4-byte big-endian length. */
export function lengthPrefixed(...fields: Array<Uint8Array | string>): Uint8Array {
  const parts = fields.map((f) => (typeof f === 'string' ? utf8(f) : f));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** Inverse of `lengthPrefixed`: exactly `expectedFields` fields, or a RangeError. */
export function splitLengthPrefixed(data: Uint8Array, expectedFields: number): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fields: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 4 > data.length) throw new RangeError('truncated length prefix');
    const length = view.getUint32(offset);
    if (offset + 4 + length > data.length) throw new RangeError('field runs past the end');
    fields.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (fields.length !== expectedFields) throw new RangeError(`expected ${expectedFields} fields, found ${fields.length}`);
  return fields;
}
