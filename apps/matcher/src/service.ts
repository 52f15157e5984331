/**
 * The matcher role in its own process (HMA's shape: hasher, matcher, curator as separate roles). It loads
 * every bank's hashes from the store (SQLite or PostgreSQL) into an in-memory Matcher, follows the banks
 * as they gain signals, and answers match queries over HTTP. Several processes over the same store share
 * one server's load: each holds the whole index, the server spreads its queries across them
 * (RemoteMatcher in @doublelock/moderation).
 *
 * Routes are plugins over one MatcherContext, each registered in its own Fastify scope:
 *   - `internalApi` (always): the server's API under /internal/v1, bearer-token guarded;
 *   - further plugins (e.g. HMA-compatible public routes and hub sync) are passed in `plugins` and bring
 *     their own auth (see docs/MODERATION.md, "The matcher process").
 * GET /healthz answers { ok } without a token (it says nothing about the banks).
 */
import { LiveBanks } from '@doublelock/moderation';
import type { MatcherStatus } from '@doublelock/protocol';
import { openDb, type Db } from '@doublelock/store';
import Fastify, { type FastifyInstance } from 'fastify';
import { internalApi } from './internalApi.ts';

export interface MatcherContext {
  db: Db;
  /** the loaded banks: `banks.matcher` answers queries, `banks.refresh()` follows the store */
  banks: LiveBanks;
  /** the shared secret of the internal API */
  token: string;
  status(): MatcherStatus;
  now: () => number;
}

/** A set of routes over the matcher's context, registered in its own Fastify scope. */
export type MatcherPlugin = (app: FastifyInstance, ctx: MatcherContext) => Promise<void> | void;

export interface MatcherOptions {
  host?: string;
  /** 0 picks a free port */
  port?: number;
  dataDir?: string;
  databaseUrl?: string;
  /** an open store instead of dataDir / databaseUrl (kept open on close) */
  db?: Db;
  /** the internal API's shared secret (at least 16 characters) */
  token: string;
  /** where to keep the built PDQ index, reopened at the next start while current (default: none) */
  indexFile?: string;
  /** how often to pick up signals added to the banks (default 2 s; 0: only on POST /internal/v1/refresh) */
  refreshMs?: number;
  plugins?: readonly MatcherPlugin[];
  logLevel?: string;
  onProgress?: (loaded: number) => void;
  now?: () => number;
}

export interface RunningMatcher {
  url: string;
  app: FastifyInstance;
  ctx: MatcherContext;
  close(): Promise<void>;
}

export const MIN_TOKEN_LENGTH = 16;

export async function buildMatcher(options: MatcherOptions): Promise<{ app: FastifyInstance; ctx: MatcherContext }> {
  if (typeof options.token !== 'string' || options.token.length < MIN_TOKEN_LENGTH) throw new Error(`the matcher token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const now = options.now ?? Date.now;
  const db = options.db ?? (await openDb({ dataDir: options.dataDir ?? './data', databaseUrl: options.databaseUrl }));
  const banks = await LiveBanks.open(db, { ...(options.onProgress && { onProgress: options.onProgress }), ...(options.indexFile && { indexFile: options.indexFile }) });
  const loadedAt = now();
  let refreshedAt = loadedAt;
  const ctx: MatcherContext = {
    db,
    banks,
    token: options.token,
    now,
    status: () => ({
      signals: banks.localSize,
      banks: [...banks.settings.keys()],
      pdqThreshold: banks.pdqThreshold,
      maxSignalId: banks.seenUpTo,
      loadedAt,
      refreshedAt,
    }),
  };
  const refresh = banks.refresh.bind(banks);
  banks.refresh = async () => {
    const n = await refresh();
    refreshedAt = now();
    return n;
  };
  const app = Fastify({ logger: { level: options.logLevel ?? 'warn' }, forceCloseConnections: true, bodyLimit: 1 << 20 });
  app.setNotFoundHandler((request, reply) => void reply.code(404).send({ code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}.` }));
  app.setErrorHandler((error: { statusCode?: number; message: string; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error(error);
    const code = status === 413 ? 'payload_too_large' : status === 500 ? 'internal_error' : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'invalid_json' : 'bad_request';
    void reply.code(status).send({ code, message: status === 500 ? 'internal error' : error.message });
  });
  app.get('/healthz', async () => ({ ok: true }));
  for (const plugin of [internalApi, ...(options.plugins ?? [])]) await app.register(async (scope) => plugin(scope, ctx));
  if (options.refreshMs !== 0) banks.start(options.refreshMs ?? 2000, (error) => app.log.warn({ err: error }, 'bank refresh failed'));
  app.addHook('onClose', async () => {
    banks.stop();
    if (!options.db) await db.close();
  });
  return { app, ctx };
}

export async function startMatcher(options: MatcherOptions): Promise<RunningMatcher> {
  const { app, ctx } = await buildMatcher(options);
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8070 });
  return { url: address.replace('0.0.0.0', '127.0.0.1'), app, ctx, close: () => app.close() };
}
