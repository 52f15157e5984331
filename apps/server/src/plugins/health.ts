/** Liveness/readiness and Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.ts';

export function healthRoutes(ctx: ServerContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async (_request, reply) => {
      try {
        await ctx.stores.db.get('SELECT 1 AS ok');
        return { status: 'ok' };
      } catch {
        return reply.code(503).send({ status: 'unavailable' });
      }
    });
    app.get('/metrics', async (_request, reply) => reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  };
}
