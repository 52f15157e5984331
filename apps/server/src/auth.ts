/**
 * Session authentication for every route that acts as a device. Tokens are random 32-byte strings;
 * only their SHA-256 is stored. A short in-memory cache spares the database on the hot path; revoking a
 * device deletes its sessions, and the cache forgets within CACHE_MS. The lookups that miss the cache in
 * one tick share one query (every send over a socket re-checks its session: hundreds a second under load).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ErrorCode, fromBase64Url } from '@doublelock/protocol';
import type { SessionRecord } from '@doublelock/store';
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from './context.ts';
import { fail } from './errors.ts';

const CACHE_MS = 5_000;

export interface AuthenticatedDevice {
  username: string;
  deviceId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    device: AuthenticatedDevice | null;
  }
}

export function createAuthenticator(ctx: ServerContext) {
  const cache = new Map<string, { session: SessionRecord; until: number }>();

  /** Token hashes (hex) waiting for this tick's query, each with its waiters. */
  let waiting = new Map<string, { hash: Uint8Array; waiters: Array<{ resolve: (s: SessionRecord | undefined) => void; reject: (e: unknown) => void }> }>();
  function lookUp(hash: Uint8Array): Promise<SessionRecord | undefined> {
    return new Promise((resolve, reject) => {
      const key = Buffer.from(hash).toString('hex');
      if (waiting.size === 0) setImmediate(flushLookups);
      let entry = waiting.get(key);
      if (!entry) waiting.set(key, (entry = { hash, waiters: [] }));
      entry.waiters.push({ resolve, reject });
    });
  }
  function flushLookups(): void {
    const batch = waiting;
    waiting = new Map();
    const entries = [...batch.entries()];
    // At most 500 per query (bound parameters; SQLite allows 32,766).
    for (let i = 0; i < entries.length; i += 500) {
      const part = entries.slice(i, i + 500);
      ctx.stores.sessions.sessions(part.map(([, e]) => e.hash)).then(
        (found) => part.forEach(([key, e]) => e.waiters.forEach((w) => w.resolve(found.get(key)))),
        (error: unknown) => part.forEach(([, e]) => e.waiters.forEach((w) => w.reject(error))),
      );
    }
  }

  async function sessionFor(token: string): Promise<AuthenticatedDevice> {
    const { device } = await session(token);
    return device;
  }

  /** The device a token authenticates and when its session ends (sockets close then). */
  async function session(token: string): Promise<{ device: AuthenticatedDevice; expiresAt: number }> {
    const now = ctx.now();
    let cached = cache.get(token);
    if (!cached || cached.until < now) {
      let tokenBytes: Uint8Array;
      try {
        tokenBytes = fromBase64Url(token);
      } catch {
        return fail(ErrorCode.unauthenticated, 'The session token is malformed.');
      }
      const session = await lookUp(sha256(tokenBytes));
      if (!session) {
        cache.delete(token);
        return fail(ErrorCode.unauthenticated, 'Unknown or revoked session: authenticate again.');
      }
      cached = { session, until: now + CACHE_MS };
      if (cache.size > 50_000) cache.clear();
      cache.set(token, cached);
    }
    if (cached.session.expiresAt <= now) return fail(ErrorCode.tokenExpired, 'The session has expired: authenticate again.');
    return { device: { username: cached.session.username, deviceId: cached.session.deviceId }, expiresAt: cached.session.expiresAt };
  }

  return {
    sessionFor,
    session,
    forgetDevice(deviceId: string) {
      for (const [token, entry] of cache) if (entry.session.deviceId === deviceId) cache.delete(token);
    },
    forgetDevices(deviceIds: string[]) {
      const gone = new Set(deviceIds);
      for (const [token, entry] of cache) if (gone.has(entry.session.deviceId)) cache.delete(token);
    },
    /** onRequest hook: sets request.device or answers 401 before the body is even read. */
    async require(request: FastifyRequest): Promise<void> {
      const header = request.headers.authorization;
      if (!header?.startsWith('Bearer ')) return fail(ErrorCode.unauthenticated, 'This endpoint needs "Authorization: Bearer <session token>".');
      request.device = await sessionFor(header.slice('Bearer '.length).trim());
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/** The authenticated device of a route guarded by `auth.require`. */
export function deviceOf(request: FastifyRequest): AuthenticatedDevice {
  if (!request.device) return fail(ErrorCode.unauthenticated, 'Not authenticated.');
  return request.device;
}
