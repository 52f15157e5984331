/**
 * The internal API the server's upload check (and sweep) call, under /internal/v1, every route guarded by
 * the shared bearer token (compared in constant time):
 *   POST /internal/v1/match     a MatcherQuery (protocol/matcher.ts) → { matches }
 *   POST /internal/v1/refresh   pick up signals added to the banks now → { added }
 *   GET  /internal/v1/status    what is loaded (MatcherStatus)
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { PdqHash, parseVpdqSignal, UrlError, type QuerySignals } from '@doublelock/moderation';
import { matcherQuery, type MatcherQuery } from '@doublelock/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import type { MatcherContext } from './service.ts';

const digest = (s: string) => sha256(new TextEncoder().encode(s));

/** true when the request carries `Authorization: Bearer <token>` */
export function hasToken(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice(7)), digest(token));
}

export class QueryError extends Error {}

/** Wire query → matcher query; a malformed vPDQ string or URL is the caller's error. */
export function toQuerySignals(q: MatcherQuery): QuerySignals {
  const out: QuerySignals = {};
  if (q.pdq) out.pdq = q.pdq;
  if (q.pdqVariants) out.pdqVariants = Object.fromEntries(Object.entries(q.pdqVariants).map(([d, hex]) => [d, PdqHash.fromHex(hex)]));
  if (q.quality !== undefined) out.quality = q.quality;
  if (q.md5) out.md5 = q.md5;
  if (q.sha256) out.sha256 = q.sha256;
  if (q.url) out.url = q.url;
  if (q.vpdq) {
    try {
      out.vpdq = parseVpdqSignal(q.vpdq);
    } catch (error) {
      throw new QueryError(`vpdq: ${(error as Error).message}`);
    }
  }
  return out;
}

export async function internalApi(app: FastifyInstance, ctx: MatcherContext): Promise<void> {
  const refuse = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).send({ code, message });
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        if (!hasToken(request, ctx.token)) return refuse(reply, 401, 'unauthenticated', 'the matcher API needs its bearer token');
      });
      api.post('/match', async (request, reply) => {
        const parsed = matcherQuery.safeParse(request.body);
        if (!parsed.success) return refuse(reply, 400, 'validation_failed', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
        let query: QuerySignals;
        try {
          query = toQuerySignals(parsed.data);
          return { matches: await ctx.banks.matcher.match(query) };
        } catch (error) {
          if (error instanceof QueryError || error instanceof UrlError) return refuse(reply, 400, 'bad_request', (error as Error).message);
          throw error;
        }
      });
      api.post('/refresh', async () => ({ added: await ctx.banks.refresh() }));
      api.get('/status', async () => ctx.status());
    },
    { prefix: '/internal/v1' },
  );
}
