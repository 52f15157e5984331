/**
 * Builds the Doublelock server: Fastify with zod validation, one plugin per domain, over the store.
 * `startServer` also listens, runs the sweeper, and shuts down gracefully.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import { ChannelService } from '@doublelock/channels';
import { generateSignerKey, TransparencyLog } from '@doublelock/log';
import { LiveBanks, moderationWorkPass, RemoteMatcher, UploadCheck, type SignalMatcher } from '@doublelock/moderation';
import { createStores, openDb, serverSecret, type Db } from '@doublelock/store';
import { ErrorCode, utf8 } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { join } from 'node:path';
import { AckBatcher } from './ackBatcher.ts';
import { createAuthenticator } from './auth.ts';
import { createCaseHandling } from './caseHandling.ts';
import { Directory } from './directory.ts';
import { LawfulAccess } from './lawfulAccess.ts';
import { LocalBlobStore } from './blobStore.ts';
import { defaultConfig, type ServerConfig } from './config.ts';
import type { ServerContext } from './context.ts';
import { clientErrorHandler, fail, installErrorHandling } from './errors.ts';
import { installInputGuard } from './inputGuard.ts';
import { redisFanout } from './fanout.ts';
import { createMetrics } from './metrics.ts';
import { accountRoutes } from './plugins/accounts.ts';
import { blobRoutes } from './plugins/blobs.ts';
import { groupRoutes } from './plugins/groups.ts';
import { healthRoutes } from './plugins/health.ts';
import { keyPackageRoutes } from './plugins/keyPackages.ts';
import { lawfulAccessRoutes } from './plugins/lawfulAccess.ts';
import { logRoutes } from '@doublelock/http/logRoutes';
import { mailboxRoutes } from './plugins/mailbox.ts';
import { reportRoutes } from './plugins/reports.ts';
import { webAppRoutes } from './plugins/webApp.ts';
import { adRoutes } from './plugins/ads.ts';
import { bankRoutes } from './plugins/banks.ts';
import { caseRoutes } from './plugins/cases.ts';
import { channelRoutes } from './plugins/channels.ts';
import { Push } from './push.ts';
import { Quotas } from './quotas.ts';
import { StorageGuard, WRITES_ALLOWED_WHEN_FULL } from './storage.ts';
import { HubLink } from './hubLink.ts';
import { hubAlertRoutes } from './plugins/hubAlerts.ts';

export interface BuiltServer {
  app: FastifyInstance;
  ctx: ServerContext;
  db: Db;
}

export interface BuildOptions {
  db?: Db;
  now?: () => number;
  /** a matcher in its own process, instead of matching hashes in this one */
  matcher?: SignalMatcher;
}

function remoteMatcher(config: ServerConfig): RemoteMatcher | undefined {
  if (!config.matcherUrls?.length) return undefined;
  if (!config.matcherToken) throw new Error('matcher processes need their token (--matcher-token-file or DOUBLELOCK_MATCHER_TOKEN)');
  return new RemoteMatcher(config.matcherUrls, config.matcherToken);
}

export async function buildServer(overrides: Partial<ServerConfig> = {}, options: BuildOptions = {}): Promise<BuiltServer> {
  const config = defaultConfig(overrides);
  const db = options.db ?? (await openDb({ dataDir: config.dataDir, databaseUrl: config.databaseUrl }));
  const stores = createStores(db);
  const app = Fastify({
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
    // Errors of Node's HTTP parser (431, malformed requests) are answered as { code, message } too.
    clientErrorHandler,
    // Per-request lines only when debugging: at message rates they would drown everything else.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('device', null);
  installErrorHandling(app);
  installInputGuard(app);

  // The log's signing key is created once and shared by every node through the store.
  const signerKey = new TextDecoder().decode(await serverSecret(db, `log-signer-key:${config.logOrigin}`, () => utf8(generateSignerKey(config.logOrigin))));
  const log = await TransparencyLog.open(db, { signerKey, witnesses: config.logWitnesses });
  let listening: string[] = [];
  const now = options.now ?? Date.now;
  const blobs = new LocalBlobStore(config.blobDir ?? join(config.dataDir, 'blobs'));
  const remote = options.matcher ? undefined : remoteMatcher(config);
  const matcher = options.matcher ?? remote;
  const banks = await LiveBanks.open(db, matcher ? { matcher } : {});
  const check = new UploadCheck(db, banks, now);
  const channels = new ChannelService(db, { check, blobs, now, limits: { maxImageBytes: config.maxImageBytes, maxVideoBytes: config.maxVideoBytes } });
  const origins = () => config.origins ?? listening;
  const metrics = createMetrics();
  const ctx: ServerContext = {
    config,
    stores,
    blobs,
    push: new Push(stores.delivery, metrics, (error) => app.log.error({ err: error }, 'push failed'), !config.redisUrl, config.push),
    acks: new AckBatcher(stores.delivery),
    quotas: new Quotas(config.quotas, now),
    storage: new StorageGuard(db, config.dataDir, config.storageReserveBytes, metrics, now, (full) =>
      full ? app.log.error('the store is out of space: writes refused (507), acknowledgements still accepted') : app.log.warn('the store has room again: writes accepted'),
    ),
    directory: new Directory(stores.directory, log),
    lawfulAccess: config.lawfulAccess && new LawfulAccess(config.lawfulAccess, stores.interception, log, options.now ?? Date.now),
    metrics,
    frankingKey: await serverSecret(db, 'franking-key', () => randomBytes(32)),
    origins,
    now,
    moderation: { banks, check },
    channels,
    cases: await createCaseHandling({ config, channels, stores, blobs, origins, metrics, now }, db, check.decisions, app.log),
    hub: config.hub && new HubLink(config.hub, db, banks, app.log),
  };

  await ctx.storage.ensureReserve().catch((error: unknown) => app.log.warn({ err: error }, 'could not create the storage reserve file'));
  app.addHook('onError', async (_request, _reply, error) => ctx.storage.noticed(error));
  // While the disk is full, only writes that free space or let a device in to acknowledge are attempted.
  app.addHook('onRequest', async (request) => {
    if (!ctx.storage.full || request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE') return;
    if (!WRITES_ALLOWED_WHEN_FULL.has(`${request.method} ${request.routeOptions.url}`)) fail(ErrorCode.storageFull, 'The server is out of storage: this write was refused; acknowledgements still work. Retry later.');
  });

  app.addHook('onListen', async () => {
    const port = (app.server.address() as { port: number }).port;
    listening = [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`];
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.httpRequests.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: reply.statusCode }, reply.elapsedTime / 1000);
  });

  await app.register(rateLimit, { global: false, errorResponseBuilder: (_req, context) => ({ statusCode: 429, code: 'rate_limited', message: `Too many requests: retry in ${Math.ceil(context.ttl / 1000)} s.` }) });
  // A socket frame may carry a send, so it may be as large as an HTTP body.
  await app.register(websocket, {
    options: { maxPayload: config.bodyLimit },
    // A peer breaking the WebSocket protocol (invalid UTF-8, an oversize frame: ws closes it with 1007/1009)
    // is the peer's fault, logged as information; anything else is ours.
    errorHandler: (error, socket, request) => {
      if ((error as { code?: string }).code?.startsWith('WS_ERR_')) request.log.info({ code: (error as { code?: string }).code }, error.message);
      else request.log.error(error);
      socket.terminate();
    },
  });
  // The zod schemas on the routes are also the API's documentation: GET /v1/openapi.json.
  await app.register(swagger, { openapi: { info: { title: 'Doublelock', version: '1' } }, transform: jsonSchemaTransform });

  const auth = createAuthenticator(ctx);
  await app.register(healthRoutes(ctx));
  await app.register(accountRoutes(ctx, auth));
  await app.register(keyPackageRoutes(ctx, auth));
  await app.register(groupRoutes(ctx, auth));
  await app.register(mailboxRoutes(ctx, auth));
  await app.register(blobRoutes(ctx, auth));
  await app.register(reportRoutes(ctx, auth));
  await app.register(channelRoutes(ctx, auth));
  await app.register(adRoutes(ctx, auth));
  await app.register(caseRoutes(ctx, auth));
  await app.register(bankRoutes(ctx, auth));
  if (ctx.hub?.config.webhookSecret) await app.register(hubAlertRoutes(ctx.hub, ctx.hub.config.webhookSecret));
  await app.register(logRoutes, { log });
  await app.register(lawfulAccessRoutes(ctx));
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(webAppRoutes(ctx, config.webRoot));

  if (config.redisUrl) {
    const fanout = await redisFanout(
      config.redisUrl,
      (devices) => ctx.push.notify(devices),
      (error) => app.log.warn({ err: error }, 'redis fan-out'),
      (revoked) => {
        auth.forgetDevices(revoked);
        ctx.push.disconnect(revoked);
      },
    );
    ctx.push.remote = fanout;
    app.addHook('onClose', () => fanout.close());
  }
  app.addHook('onClose', async () => {
    remote?.close();
    if (!options.db) await db.close();
  });
  return { app, ctx, db };
}

export interface RunningServer extends BuiltServer {
  url: string;
  close(): Promise<void>;
}

/** Listens, sweeps expired mail periodically, and closes cleanly: in-flight requests finish first. */
export async function startServer(overrides: Partial<ServerConfig> = {}, options: BuildOptions = {}): Promise<RunningServer> {
  const built = await buildServer(overrides, options);
  const { app, ctx } = built;
  const sweep = async () => {
    const now = ctx.now();
    await ctx.storage.recheck();
    const { trimmed } = await ctx.stores.delivery.trimMailboxes(ctx.config.quotas.mailboxBytes);
    if (trimmed > 0) app.log.warn({ trimmed }, 'mailboxes over their byte quota: oldest application messages dropped');
    await ctx.stores.delivery.sweep(now);
    await ctx.stores.sessions.sweep(now);
    // Warrants whose secrecy period ended are unsealed in the log (oversight flags any that are overdue).
    if (ctx.lawfulAccess) {
      const unsealed = await ctx.lawfulAccess.publishDueUnsealings();
      if (unsealed.length > 0) app.log.info({ leaves: unsealed }, 'warrants unsealed in the transparency log');
    }
  };
  await sweep();
  const timer = setInterval(() => sweep().catch((error: unknown) => app.log.error({ err: error }, 'sweep failed')), ctx.config.sweepIntervalMs);
  timer.unref();
  // Moderation in the background: banks re-read for new signals; pending videos and retro-sweeps worked off.
  ctx.moderation.banks.start(ctx.config.bankRefreshMs, (error) => app.log.error({ err: error }, 'bank refresh failed'));
  let stopping = false;
  let working: Promise<unknown> | undefined;
  const work = () => {
    working ??= moderationWorkPass({
      check: ctx.moderation.check,
      actioner: ctx.channels.actioner,
      videoPath: async (hash) => (await ctx.blobs.path(hash)) ?? Promise.reject(new Error(`blob ${hash} is missing`)),
      now: ctx.now,
      stopping: () => stopping,
      onSweepProgress: (s) => app.log.debug({ sweep: s.id, phase: s.phase, checked: s.checked, total: s.total }, 'retro-sweep'),
    })
      .catch((error: unknown) => app.log.error({ err: error }, 'moderation work failed'))
      .finally(() => (working = undefined));
  };
  const worker = setInterval(work, ctx.config.moderationWorkMs);
  worker.unref();
  // Notice and action: the upload check's new decisions taken in, legal clocks swept (escalation, overdue).
  let caseWork: Promise<unknown> | undefined;
  const cases = setInterval(() => {
    caseWork ??= ctx.cases
      .sweep()
      .catch((error: unknown) => app.log.error({ err: error }, 'case sweep failed'))
      .finally(() => (caseWork = undefined));
  }, ctx.config.casesSweepMs);
  cases.unref();
  ctx.hub?.start();
  const address = await app.listen({ host: ctx.config.host, port: ctx.config.port });
  const port = (app.server.address() as { port: number }).port;
  const url = ctx.config.host.includes(':') ? `http://[${ctx.config.host}]:${port}` : `http://${ctx.config.host}:${port}`;
  app.log.debug({ address }, 'listening');
  let closing: Promise<void> | undefined;
  return {
    ...built,
    url,
    close: () => (closing ??= (async () => {
      clearInterval(timer);
      clearInterval(worker);
      clearInterval(cases);
      ctx.moderation.banks.stop();
      stopping = true;
      await ctx.hub?.stop();
      await working;
      await caseWork;
      await app.close();
    })()),
  };
}
