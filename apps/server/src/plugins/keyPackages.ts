/** The key directory: devices upload KeyPackages; others claim one per device of an account. */
import {
  claimKeyPackagesRequest,
  claimKeyPackagesResponse,
  ErrorCode,
  fromBase64Url,
  keyPackageCountResponse,
  toBase64Url,
  uploadKeyPackagesRequest,
} from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';

export function keyPackageRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', auth.require);

    app.post('/v1/keypackages', { schema: { body: uploadKeyPackagesRequest } }, async (request) => {
      const { deviceId } = deviceOf(request);
      const { keyPackages, lastResort } = request.body;
      await ctx.stores.keyDirectory.upload(deviceId, keyPackages.map(fromBase64Url), lastResort ? fromBase64Url(lastResort) : undefined, ctx.config.quotas.keyPackagesStored);
      return ctx.stores.keyDirectory.count(deviceId);
    });

    app.get('/v1/keypackages/count', { schema: { response: { 200: keyPackageCountResponse } } }, async (request) =>
      ctx.stores.keyDirectory.count(deviceOf(request).deviceId),
    );

    app.post('/v1/keypackages/claim', { schema: { body: claimKeyPackagesRequest, response: { 200: claimKeyPackagesResponse } } }, async (request) => {
      // Claims consume another user's one-time KeyPackages: rate limited per claimer, and per claimer and account.
      const claimer = deviceOf(request).deviceId;
      ctx.quotas.claims.take(claimer, 1, 'too many KeyPackage claims by this device');
      ctx.quotas.claimsPerAccount.take(`${claimer} ${request.body.username}`, 1, `too many KeyPackage claims for "${request.body.username}" by this device`);
      const account = await ctx.stores.accounts.get(request.body.username);
      if (!account) return fail(ErrorCode.notFound, `No account "${request.body.username}".`);
      const active = account.devices.filter((d) => d.revokedAt === null).map((d) => d.deviceId);
      const claimed = await ctx.stores.keyDirectory.claim(active);
      return { keyPackages: claimed.map((c) => ({ deviceId: c.deviceId, keyPackage: toBase64Url(c.keyPackage), lastResort: c.lastResort })) };
    });
  };
}
