/**
 * The hash-sharing hub's alerts to this platform (a member): `POST /v1/hub/alerts`, signed by the hub
 * with this member's webhook secret (`x-hub-signature-256: sha256=<HMAC-SHA256 of the body>`, as GitHub
 * signs its webhooks). An alert (an incident declared or closed, signals shared under an incident)
 * starts a feed sync at once instead of at the next interval. The alert carries no signals: what is
 * synced is the hub's verified log, so a forged alert could at most cause one more sync (and syncs that
 * arrive together are one pass); a replayed one (its delivery id seen, or sent over 5 minutes from this
 * clock) is refused with 409. Offered only when the hub link has a webhook secret.
 */
import { AlertReplayGuard, verifyWebhookSignature } from '@doublelock/hub/platform';
import { ErrorCode, hubAlert } from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HubLink } from '../hubLink.ts';
import { fail } from '../errors.ts';

const MAX_ALERT_BYTES = 16 * 1024;

export function hubAlertRoutes(hub: HubLink, secret: string): FastifyPluginAsyncZod {
  return async (app) => {
    const replays = new AlertReplayGuard();
    // the signature covers the bytes as sent: this plugin (encapsulated) keeps JSON bodies as text
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_ALERT_BYTES }, (_request, body, done) => done(null, body));
    app.post(
      '/v1/hub/alerts',
      { schema: { body: z.string(), response: { 202: z.object({ syncing: z.literal(true) }) } }, config: { rateLimit: { max: 120, timeWindow: 60_000 } } },
      async (request, reply) => {
        const header = request.headers['x-hub-signature-256'];
        if (!verifyWebhookSignature(secret, request.body, typeof header === 'string' ? header : undefined)) return fail(ErrorCode.badSignature, "The alert's x-hub-signature-256 does not verify with this member's webhook secret.");
        let json: unknown;
        try {
          json = JSON.parse(request.body);
        } catch {
          return fail(ErrorCode.invalidJson, 'The alert is not JSON.');
        }
        const alert = hubAlert.safeParse(json);
        if (!alert.success) return fail(ErrorCode.validation, `Not a hub alert: ${alert.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
        const replay = replays.check(alert.data);
        if (replay !== 'fresh') return fail(ErrorCode.conflict, replay === 'stale' ? "The alert's sent_at is more than 5 minutes from this server's clock." : 'This alert was already received (replay).');
        request.log.info({ alert: alert.data.type, incident: alert.data.incident.id }, 'hub alert: syncing now');
        void hub.run(); // a failed pass is logged by the link and retried at the next interval
        return reply.code(202).send({ syncing: true });
      },
    );
  };
}
