/** Building blocks of the wire format: base64url bytes, identifiers, and the error body. */
import { z } from 'zod';
import { isCanonicalBase64Url } from './encoding.ts';

const BASE64URL = /^[A-Za-z0-9_-]*$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as text on every store (PostgreSQL refuses U+0000; lone surrogates are not UTF-8), or undefined. */
export function unstorableTextReason(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain U+0000';
  if (LONE_SURROGATE.test(s)) return 'must be well-formed Unicode';
  return undefined;
}

/**
 * The first string inside `value` (a parsed JSON body, query or params) that a store cannot hold, with its
 * path; undefined if there is none. The server refuses such input before any schema or store sees it, so
 * both stores answer alike.
 */
export function findUnstorableText(value: unknown, path = '', depth = 0): { path: string; reason: string } | undefined {
  if (typeof value === 'string') {
    const reason = unstorableTextReason(value);
    return reason ? { path: path || '/', reason } : undefined;
  }
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  // Not a streamed upload's body or raw bytes: a stream's object graph is cyclic and huge — walking it spun
  // the event loop for minutes (the web messenger's image upload).
  if (ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const keyReason = unstorableTextReason(key);
    if (keyReason) return { path: `${path}/${key}`, reason: keyReason };
    const found = findUnstorableText(inner, `${path}/${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Free text a store can hold: no U+0000, no lone surrogates. */
export const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), { message: 'must not contain U+0000' })
    .refine((s) => !LONE_SURROGATE.test(s), { message: 'must be well-formed Unicode' });

/** Bytes on the wire: unpadded base64url. `max` is in bytes. */
export function bytes(options: { min?: number; max?: number; exact?: number } = {}) {
  const { min = 0, max = 1 << 20, exact } = options;
  return z
    .string()
    .max(Math.ceil(((exact ?? max) * 4) / 3) + 2, { message: 'too long' })
    .regex(BASE64URL, { message: 'must be unpadded base64url' })
    .refine(
      (s) => {
        const n = Math.floor((s.length * 3) / 4);
        return isCanonicalBase64Url(s) && (exact !== undefined ? n === exact : n >= min && n <= max);
      },
      { message: exact !== undefined ? `must canonically encode exactly ${exact} bytes` : `must canonically encode ${min}–${max} bytes` },
    );
}

export const ed25519PublicKey = bytes({ exact: 32 });
export const ed25519Signature = bytes({ exact: 64 });
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits' });

export const username = z
  .string()
  .min(3)
  .max(32)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, { message: 'lowercase letters, digits, _ . - only' });

/** A device id is derived from its signature key (see deviceIdFor), so it cannot be chosen freely. */
export const deviceId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, { message: 'must be a 22-character device id' });

/** MLS group ids are chosen by the creating client: 16–64 random bytes. */
export const groupId = bytes({ min: 16, max: 64 });

/** Idempotency key chosen by the sender: resending the same id never creates a second message. */
export const clientMessageId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/);

export const errorBody = z.object({
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof errorBody>;

/** Stable machine-readable codes; the human sentence travels beside them. */
export const ErrorCode = {
  badRequest: 'bad_request',
  invalidJson: 'invalid_json',
  validation: 'validation_failed',
  payloadTooLarge: 'payload_too_large',
  unauthenticated: 'unauthenticated',
  tokenExpired: 'token_expired',
  forbidden: 'forbidden',
  notFound: 'not_found',
  usernameTaken: 'username_taken',
  badSignature: 'bad_signature',
  challengeInvalid: 'challenge_invalid',
  deviceRevoked: 'device_revoked',
  staleEpoch: 'stale_epoch',
  notMember: 'not_member',
  groupExists: 'group_exists',
  hashMismatch: 'hash_mismatch',
  noKeyPackage: 'no_key_package',
  rateLimited: 'rate_limited',
  conflict: 'conflict',
  /** A commit the Delivery Service cannot accept as declared: its proposals do not match, or it is not a public commit. */
  commitRejected: 'commit_rejected',
  /** A membership change or admin change by a member who is not an admin of the group. */
  notAdmin: 'not_admin',
  reportRejected: 'report_rejected',
  contentBlocked: 'content_blocked',
  unsupportedMedia: 'unsupported_media',
  tooManyPixels: 'too_many_pixels',
  corruptMedia: 'corrupt_media',
  quotaExceeded: 'quota_exceeded',
  handleTaken: 'handle_taken',
  rangeNotSatisfiable: 'range_not_satisfiable',
  /** The store is out of space: writes are refused until an operator frees some (acks and deletes still work). */
  storageFull: 'storage_full',
  /** The store cannot be reached right now: retry later. */
  unavailable: 'unavailable',
  upgradeRequired: 'upgrade_required',
  headersTooLarge: 'headers_too_large',
  internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An expected failure with a stable code; the server maps the code to an HTTP status. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
