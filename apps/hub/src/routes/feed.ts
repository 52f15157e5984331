/** The delta feed (the hub's log, paged, with the proof each page needs), who am I, and the transparency report. */
import { transparencyReport, type Hub } from '@doublelock/hub';
import { HUB_FEED_NDJSON, hubFeedQuery, hubFeedResponse, hubInfoResponse, MAX_FEED_PAGE, MAX_HUB_BATCH, type HubFeedHeader, type HubFeedResponse } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { caller } from '../auth.ts';
import type { HubConfig } from '../config.ts';

const NEWLINE = Buffer.from('\n');

export function feedRoutes(hub: Hub, config: HubConfig) {
  return async (app: FastifyInstance) => {
    const routes = app.withTypeProvider<ZodTypeProvider>();
    routes.get('/v1/hub', { schema: { response: { 200: hubInfoResponse } } }, async (request) => {
      const c = caller(request);
      return { name: hub.log.origin, logKey: hub.logKey, size: (await hub.log.checkpoint()).size, member: c.member, scopes: c.scopes, limits: { batch: MAX_HUB_BATCH, feedPage: MAX_FEED_PAGE, requestsPerMinute: c.rateLimit ?? config.rateLimit } };
    });
    routes.get(
      '/v1/feed',
      {
        schema: {
          description: `A page of the feed (the hub's log) with its checkpoint and consistency proof. With \`Accept: ${HUB_FEED_NDJSON}\`: the header (hubFeedHeader) on the first line, then one line per entry, the leaf bytes unescaped.`,
          querystring: hubFeedQuery,
          response: { 200: hubFeedResponse },
        },
      },
      async (request, reply) => {
        if (!request.headers.accept?.includes(HUB_FEED_NDJSON)) return hub.feed(request.query.after, request.query.limit);
        const page = await hub.feedLeaves(request.query.after, request.query.limit);
        const header: HubFeedHeader = { checkpoint: page.checkpoint, size: page.size, after: page.after, proof: page.proof, count: page.entries.length };
        const parts: Uint8Array[] = [Buffer.from(JSON.stringify(header))];
        for (const e of page.entries) parts.push(NEWLINE, e);
        // bytes are sent as they are (fastify serialises only objects): the zod schema types the JSON answer
        return reply.type(HUB_FEED_NDJSON).send(Buffer.concat(parts) as unknown as HubFeedResponse);
      },
    );
    routes.get('/v1/transparency', async () => transparencyReport(hub.db, (await hub.log.checkpoint()).size, hub.now()));
  };
}
