/** The delta feed (the hub's log, paged, with the proof each page needs), who am I, and the transparency report. */
import { transparencyReport, type Hub } from '@doublelock/hub';
import { hubFeedQuery, hubFeedResponse, hubInfoResponse, MAX_FEED_PAGE, MAX_HUB_BATCH } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { caller } from '../auth.ts';
import type { HubConfig } from '../config.ts';

export function feedRoutes(hub: Hub, config: HubConfig) {
  return async (app: FastifyInstance) => {
    const routes = app.withTypeProvider<ZodTypeProvider>();
    routes.get('/v1/hub', { schema: { response: { 200: hubInfoResponse } } }, async (request) => {
      const c = caller(request);
      return { name: hub.log.origin, logKey: hub.logKey, size: (await hub.log.checkpoint()).size, member: c.member, scopes: c.scopes, limits: { batch: MAX_HUB_BATCH, feedPage: MAX_FEED_PAGE, requestsPerMinute: c.rateLimit ?? config.rateLimit } };
    });
    routes.get('/v1/feed', { schema: { querystring: hubFeedQuery, response: { 200: hubFeedResponse } } }, async (request) => hub.feed(request.query.after, request.query.limit));
    routes.get('/v1/transparency', async () => transparencyReport(hub.db, (await hub.log.checkpoint()).size, hub.now()));
  };
}
