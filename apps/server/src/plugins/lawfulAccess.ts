/**
 * Lawful-access endpoints (only when the deployment enables it; otherwise they answer 404 and the server
 * never retains anything). Agencies sign every request (signAgencyRequest); the public can read the
 * trust configuration, which clients need to make escrow fields.
 */
import { agencyRequest, cancellationSchema, interceptQuery, signedReleaseRecordSchema, signedWarrantSchema, unsealingSchema, warrantSubmission } from '@doublelock/lawful-access';
import { ErrorCode } from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';
import type { LawfulAccess } from '../lawfulAccess.ts';

export function lawfulAccessRoutes(ctx: ServerContext): FastifyPluginAsyncZod {
  const required = (): LawfulAccess => ctx.lawfulAccess ?? fail(ErrorCode.notFound, 'Lawful access is off on this deployment.');
  return async (app) => {
    app.get('/v1/lawful-access', async () => (ctx.lawfulAccess ? { enabled: true, trust: ctx.lawfulAccess.signedTrust } : { enabled: false }));

    app.post('/v1/lawful-access/warrants', { schema: { body: agencyRequest(warrantSubmission) } }, async (request, reply) => {
      const la = required();
      const agency = await la.authenticate(request.body);
      return reply.code(201).send(await la.submitWarrant(agency, request.body.request.body));
    });

    // Signed by a Secretary of State (cancellation) or a Judicial Commissioner (decision): the signature is the authentication.
    app.post('/v1/lawful-access/cancellations', { schema: { body: cancellationSchema } }, async (request) => required().cancel(request.body));
    app.post('/v1/lawful-access/decisions', { schema: { body: signedWarrantSchema } }, async (request) => required().decide(request.body));

    // Unsealing: an opening (signed warrant + nonce) authenticates itself; published only after the secrecy period.
    app.post('/v1/lawful-access/unsealings', { schema: { body: unsealingSchema } }, async (request, reply) => {
      const published = await required().unseal(request.body);
      return reply.code(published.duplicate ? 200 : 201).send(published);
    });

    // Custodians publish what they released; the log makes every decryption countable by anyone.
    app.post('/v1/lawful-access/releases', { schema: { body: signedReleaseRecordSchema } }, async (request, reply) => {
      const published = await required().publishRelease(request.body);
      return reply.code(published.duplicate ? 200 : 201).send(published);
    });

    app.post('/v1/lawful-access/intercepts', { schema: { body: agencyRequest(interceptQuery) } }, async (request) => {
      const la = required();
      const agency = await la.authenticate(request.body);
      return la.export(agency, request.body.request.body);
    });
  };
}
