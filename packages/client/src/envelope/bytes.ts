/** Byte helpers shared by the envelope code. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant-time for equal lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Inverse of the protocol's `lengthPrefixed`: splits 4-byte big-endian length-prefixed fields. */
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
