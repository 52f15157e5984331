/**
 * Canonical JSON for signed documents: the subset of RFC 8785 (JSON Canonicalization Scheme) that our
 * documents use — objects with keys sorted by UTF-16 code units, arrays, strings, booleans, null and
 * safe integers; no whitespace. Floats, undefined, NaN and non-plain objects are refused rather than
 * coerced, so a document has exactly one byte encoding and a signature over it has one meaning.
 */
const encoder = new TextEncoder();

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`${path}: only safe integers are allowed in canonical JSON, got ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${path}[${i}]`)).join(',')}]`;
      if (Object.getPrototypeOf(value) !== Object.prototype) throw new TypeError(`${path}: only plain objects are allowed in canonical JSON`);
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${path}: ${typeof value} is not allowed in canonical JSON`);
  }
}

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}
