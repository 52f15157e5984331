/**
 * Competent authorities (TCO Art. 12) and their signed requests. The operator registers each authority
 * with an Ed25519 public key (RFC 8032, @noble/curves); every request an authority sends — a removal
 * order, a status query, a preservation extension — is the exact bytes of a JSON document, signed as
 * lengthPrefixed(label, bytes) so a signature made for another purpose never verifies here. The document
 * names this provider (so an order cannot be redirected to another service), is fresh (issued within
 * minutes of now) and carries a nonce used once (so it cannot be replayed).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DomainError, ErrorCode, fromBase64Url, lengthPrefixed, toBase64Url, utf8 } from '@doublelock/protocol';
import { authorityRequestSchema, type AuthorityRequest } from '@doublelock/protocol/cases';
import type { Db } from '@doublelock/store';
import { asBytes } from '@doublelock/store';

export const AUTHORITY_REQUEST_LABEL = 'doublelock/cases/authority-request/v1';
/** How far a request's time may be from ours, either way. */
export const REQUEST_SKEW_MS = 5 * 60 * 1000;

export interface Authority {
  id: string;
  name: string;
  memberState: string;
  publicKey: Uint8Array;
  contact: string;
  registeredBy: string;
  registeredAt: number;
  revokedAt: number | null;
}

interface AuthorityRow {
  id: string;
  name: string;
  member_state: string;
  public_key: Uint8Array;
  contact: string;
  registered_by: string;
  registered_at: number;
  revoked_at: number | null;
}

const fromRow = (r: AuthorityRow): Authority => ({
  id: r.id,
  name: r.name,
  memberState: r.member_state,
  publicKey: asBytes(r.public_key),
  contact: r.contact,
  registeredBy: r.registered_by,
  registeredAt: Number(r.registered_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export const AUTHORITY_ID = /^[a-z0-9][a-z0-9_.-]{1,63}$/;

export class AuthorityStore {
  constructor(private readonly db: Db) {}

  async register(input: { id: string; name: string; memberState: string; publicKey: Uint8Array; contact: string }, by: string, now: number): Promise<Authority> {
    if (!AUTHORITY_ID.test(input.id)) throw new DomainError(ErrorCode.validation, 'An authority id is 2–64 lower-case letters, digits, _ . -');
    if (input.publicKey.length !== 32) throw new DomainError(ErrorCode.validation, 'An authority key is a 32-byte Ed25519 public key.');
    try {
      ed25519.Point.fromBytes(input.publicKey);
    } catch {
      throw new DomainError(ErrorCode.validation, 'That is not an Ed25519 public key.');
    }
    const { changes } = await this.db.run(
      `INSERT INTO case_authorities (id, name, member_state, public_key, contact, registered_by, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
      [input.id, input.name, input.memberState, input.publicKey, input.contact, by, now],
    );
    if (!changes) throw new DomainError(ErrorCode.conflict, `Authority "${input.id}" is already registered (revoke it and register a new id to change its key).`);
    return (await this.get(input.id))!;
  }

  async revoke(id: string, now: number): Promise<boolean> {
    return (await this.db.run('UPDATE case_authorities SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id])).changes > 0;
  }

  async get(id: string): Promise<Authority | undefined> {
    const row = await this.db.get<AuthorityRow>('SELECT * FROM case_authorities WHERE id = ?', [id]);
    return row && fromRow(row);
  }

  async list(): Promise<Authority[]> {
    return (await this.db.all<AuthorityRow>('SELECT * FROM case_authorities ORDER BY id')).map(fromRow);
  }

  /** Uses a nonce once; false when it was seen before (a replay). Old nonces are swept. */
  async useNonce(nonce: string, now: number): Promise<boolean> {
    await this.db.run('DELETE FROM case_nonces WHERE expires_at < ?', [now]);
    return (await this.db.run('INSERT INTO case_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING', [nonce, now + 2 * REQUEST_SKEW_MS])).changes > 0;
  }
}

/** The wire form: { authority, payload: base64url(JSON bytes), signature }. */
export interface SignedAuthorityRequest {
  authority: string;
  payload: string;
  signature: string;
}

/** Builds a signed request (authorities' side: the CLI and tests). */
export function signAuthorityRequest(
  authority: string,
  secretKey: Uint8Array,
  request: { type: AuthorityRequest['type']; provider: string; body: unknown },
  now = Date.now(),
  nonce = toBase64Url(randomBytes(16)),
): SignedAuthorityRequest {
  const bytes = utf8(JSON.stringify({ ...request, issuedAt: now, nonce }));
  return { authority, payload: toBase64Url(bytes), signature: toBase64Url(ed25519.sign(lengthPrefixed(AUTHORITY_REQUEST_LABEL, bytes), secretKey)) };
}

export interface VerifiedRequest {
  authority: Authority;
  request: AuthorityRequest;
  /** The exact bytes that were signed, kept with what they caused. */
  document: string;
}

/**
 * Checks a signed request: a registered, unrevoked authority's signature over these exact bytes, a
 * well-formed document of the expected type addressed to this provider, fresh, and never seen before.
 * The signature is checked before the document is even parsed.
 */
export async function verifyAuthorityRequest(store: AuthorityStore, signed: SignedAuthorityRequest, expected: AuthorityRequest['type'], provider: string, now: number): Promise<VerifiedRequest> {
  const authority = await store.get(signed.authority);
  const refuse = () => new DomainError(ErrorCode.badSignature, 'The request is not signed by a registered authority.');
  if (!authority || authority.revokedAt !== null) throw refuse();
  let bytes: Uint8Array;
  let signature: Uint8Array;
  try {
    bytes = fromBase64Url(signed.payload);
    signature = fromBase64Url(signed.signature);
  } catch {
    throw refuse();
  }
  let valid = false;
  try {
    valid = signature.length === 64 && ed25519.verify(signature, lengthPrefixed(AUTHORITY_REQUEST_LABEL, bytes), authority.publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw refuse();
  const document = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new DomainError(ErrorCode.validation, 'The signed payload is not JSON.');
  }
  const result = authorityRequestSchema.safeParse(parsed);
  if (!result.success) throw new DomainError(ErrorCode.validation, `The signed request is malformed: ${result.error.issues.map((i) => `${i.path.join('.') || '/'} ${i.message}`).join('; ')}`);
  const request = result.data;
  if (request.type !== expected) throw new DomainError(ErrorCode.validation, `This endpoint takes a ${expected} request, not a ${request.type}.`);
  if (request.provider !== provider) throw new DomainError(ErrorCode.forbidden, `The request is addressed to "${request.provider}", not to this provider ("${provider}").`);
  if (Math.abs(request.issuedAt - now) > REQUEST_SKEW_MS) throw new DomainError(ErrorCode.tokenExpired, 'The request is stale (or from the future): sign a fresh one.');
  if (!(await store.useNonce(`${authority.id}:${request.nonce}`, now))) throw new DomainError(ErrorCode.conflict, 'This request was already received (replay).');
  return { authority, request, document };
}
