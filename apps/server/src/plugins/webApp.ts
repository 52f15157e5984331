/**
 * Serves the built web app (apps/web/dist) at `/`: its files as they are (hashed assets cached for a year),
 * and index.html for every other page address, so deep links and reloads work. API paths never fall
 * through to the app: an unknown /v1 route stays a JSON 404. `GET /v1/app-config` tells the app what a
 * browser pins on first use (the log's verifier key and witnesses, the lawful-access trust root), and the
 * largest attachment blob the server takes.
 */
import fastifyStatic from '@fastify/static';
import { ErrorCode, type ErrorBody } from '@doublelock/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { ServerContext } from '../context.ts';

const API_PATHS = /^\/(v1|healthz|metrics)(\/|$)/;

export function webAppRoutes(ctx: ServerContext, root: string | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/app-config', { schema: { hide: true } }, async () => ({
      logKey: ctx.directory.log.verifierKey,
      logWitnesses: ctx.config.logWitnesses,
      logWitnessQuorum: ctx.config.logWitnessQuorum,
      lawfulAccess: Boolean(ctx.lawfulAccess),
      trustRoot: ctx.config.lawfulAccess?.trustRootKey ?? null,
      // so a browser refuses a file too large before sealing or uploading any of it
      maxBlobBytes: ctx.config.maxBlobBytes,
    }));
    if (!root || !existsSync(join(root, 'index.html'))) return;
    await app.register(fastifyStatic, { root, serve: false });
    app.get('/*', { schema: { hide: true } }, async (request, reply) => {
      const path = decodeURIComponent(request.url.split('?')[0]!);
      if (API_PATHS.test(path)) return reply.code(404).send({ code: ErrorCode.notFound, message: `No route GET ${path}.` } satisfies ErrorBody);
      const file = normalize(path).replace(/^[/\\]+/, '');
      const full = join(root, file);
      if (file !== '' && !file.startsWith('..') && full.startsWith(root + sep) && existsSync(full) && statSync(full).isFile()) {
        const immutable = file.startsWith('assets/');
        return reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache').sendFile(file);
      }
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html');
    });
  };
}
