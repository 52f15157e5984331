/**
 * Session checks that miss the authenticator's cache in the same tick share one store query (every send
 * over a WebSocket re-checks its session), and each still gets its own answer: its device, unknown
 * (revoked) or expired. Both stores.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64Url } from '@doublelock/protocol';
import { SessionStore } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../src/auth.ts';
import type { ServerContext } from '../src/context.ts';

describe.each(dialectCases())('session lookups on $name', ({ open }) => {
  it('share one query per tick, each answered for its own token', async () => {
    const db = await open();
    try {
      const sessions = new SessionStore(db);
      let queries = 0;
      const counted = Object.assign(Object.create(sessions) as SessionStore, {
        sessions: (hashes: Uint8Array[]) => (queries++, sessions.sessions(hashes)),
      });
      const now = 1_000_000;
      const auth = createAuthenticator({ now: () => now, stores: { sessions: counted } } as unknown as ServerContext);
      const tokens = Array.from({ length: 5 }, () => new Uint8Array(randomBytes(32)));
      for (const [i, token] of tokens.entries()) {
        await sessions.addSession(sha256(token), { deviceId: `device${i}`, username: `user${i}`, expiresAt: i === 4 ? now - 1 : now + 60_000 });
      }
      const unknown = toBase64Url(new Uint8Array(randomBytes(32)));
      const asked = [...tokens.map(toBase64Url), toBase64Url(tokens[0]!), unknown];
      const answers = await Promise.allSettled(asked.map((t) => auth.sessionFor(t)));
      expect(queries).toBe(1);
      expect(answers.slice(0, 4).map((a) => (a.status === 'fulfilled' ? a.value.deviceId : a.reason))).toEqual(['device0', 'device1', 'device2', 'device3']);
      expect(answers[4]).toMatchObject({ status: 'rejected', reason: { code: 'token_expired' } });
      expect(answers[5]).toMatchObject({ status: 'fulfilled', value: { deviceId: 'device0', username: 'user0' } });
      expect(answers[6]).toMatchObject({ status: 'rejected', reason: { code: 'unauthenticated' } });
      // Cached now: the same checks again need no query.
      await auth.sessionFor(toBase64Url(tokens[1]!));
      expect(queries).toBe(1);
    } finally {
      await db.close();
    }
  });
});
