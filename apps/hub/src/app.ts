/**
 * The hash-sharing hub's process: Fastify with zod validation over the hub domain (packages/hub), on
 * the same store seam as the server (SQLite by default, PostgreSQL with a URL) and the same migrations
 * discipline (the store's, then the hub's own 06xx). Every request is authenticated by a member key;
 * each member has its own rate limit. The hub's transparency log is served at /v1/log/… (the server's
 * log routes: checkpoints, proofs, entries, tiles), to members only.
 */
import rateLimit from '@fastify/rate-limit';
import { Hub } from '@doublelock/hub';
import { installErrorHandling } from '@doublelock/http/errors';
import { logRoutes } from '@doublelock/http/logRoutes';
import { openDb, type Db } from '@doublelock/store';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { installAuth } from './auth.ts';
import { defaultHubConfig, type HubConfig } from './config.ts';
import { exchangeRoutes } from './routes/exchange.ts';
import { feedRoutes } from './routes/feed.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { signalRoutes } from './routes/signals.ts';

export interface BuiltHub {
  app: FastifyInstance;
  hub: Hub;
  db: Db;
  config: HubConfig;
}

export async function openHub(config: Pick<HubConfig, 'dataDir' | 'databaseUrl' | 'origin' | 'disputeThreshold' | 'webhookTimeoutMs'>, options: { db?: Db; now?: () => number } = {}): Promise<{ hub: Hub; db: Db }> {
  const db = options.db ?? (await openDb({ dataDir: config.dataDir, databaseUrl: config.databaseUrl }));
  const hub = await Hub.open(db, { origin: config.origin, disputeThreshold: config.disputeThreshold, webhookTimeoutMs: config.webhookTimeoutMs, ...(options.now && { now: options.now }) });
  return { hub, db };
}

export async function buildHub(overrides: Partial<HubConfig> = {}, options: { db?: Db; now?: () => number } = {}): Promise<BuiltHub> {
  const config = defaultHubConfig(overrides);
  const { hub, db } = await openHub(config, options);
  const app = Fastify({
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  installAuth(app, hub);
  // after authentication (onRequest), so the limit is the member's, whatever address it calls from
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    timeWindow: 60_000,
    max: (request) => request.caller?.rateLimit ?? config.rateLimit,
    keyGenerator: (request) => (request.caller ? `member:${request.caller.memberId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) => ({ statusCode: 429, code: 'rate_limited', message: `Too many requests for this member: retry in ${Math.ceil(context.ttl / 1000)} s.` }),
  });
  await app.register(feedRoutes(hub, config));
  await app.register(signalRoutes(hub));
  await app.register(exchangeRoutes(hub));
  await app.register(incidentRoutes(hub));
  await app.register(logRoutes, { log: hub.log });
  app.addHook('onClose', async () => {
    if (!options.db) await db.close();
  });
  return { app, hub, db, config };
}

export interface RunningHub extends BuiltHub {
  url: string;
  close(): Promise<void>;
}

export async function startHub(overrides: Partial<HubConfig> = {}, options: { db?: Db; now?: () => number } = {}): Promise<RunningHub> {
  const built = await buildHub(overrides, options);
  await built.app.listen({ host: built.config.host, port: built.config.port });
  const port = (built.app.server.address() as { port: number }).port;
  const host = built.config.host;
  const url = host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  let closing: Promise<void> | undefined;
  return { ...built, url, close: () => (closing ??= built.app.close()) };
}
