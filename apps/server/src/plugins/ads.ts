/**
 * Adverts for advertisers (any account): campaigns with excluded IAB Sensitive Topics (Terrorism is
 * always excluded), notices of impressions served next to posts removed later, and the brand-safety
 * report. Ads are served inside channel feeds (plugins/channels.ts).
 */
import { adNoticesResponse, brandSafetyReport, campaignListResponse, campaignResponse, createCampaignRequest } from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';

export function adRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', auth.require);

    app.post('/v1/ads/campaigns', { schema: { body: createCampaignRequest, response: { 201: campaignResponse } } }, async (request, reply) =>
      reply.code(201).send(await ctx.channels.createCampaign(deviceOf(request).username, request.body)),
    );

    app.get('/v1/ads/campaigns', { schema: { response: { 200: campaignListResponse } } }, async (request) => ctx.channels.campaigns(deviceOf(request).username));

    app.get('/v1/ads/notices', { schema: { response: { 200: adNoticesResponse } } }, async (request) => ({ notices: await ctx.channels.ads.notices(deviceOf(request).username) }));

    app.get('/v1/ads/report', { schema: { response: { 200: brandSafetyReport } } }, async (request) => ctx.channels.ads.report(deviceOf(request).username, ctx.now()));
  };
}
