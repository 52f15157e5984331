/** Small helpers for writing SQL that runs on both dialects. */
import type { SqlValue } from './db.ts';

/** `?, ?, ?` for an IN list. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** SQLite returns Buffer, pg returns Buffer; callers want a plain Uint8Array view. */
export const asBytes = (value: unknown): Uint8Array => {
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError('expected bytes from the database');
};

export const optionalBytes = (value: unknown): Uint8Array | undefined => (value == null ? undefined : asBytes(value));

export type Params = SqlValue[];
