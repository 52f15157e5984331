/** Liveness/readiness (with the store's state) and Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.ts';

export function healthRoutes(ctx: ServerContext): FastifyPluginAsync {
  return async (app) => {
    // 200 ok | 200 degraded (store full: writes refused, acks work) | 503 unavailable (store unreachable).
    app.get('/healthz', async (_request, reply) => {
      const { httpStatus, body } = await ctx.storage.health();
      return reply.code(httpStatus).send(body);
    });
    app.get('/metrics', async (_request, reply) => reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  };
}
