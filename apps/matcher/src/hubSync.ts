/**
 * The matcher process syncing its banks from a hash-sharing hub (packages/hub/platform): the same
 * verified, resumable feed sync a Doublelock server runs, into `hub-<bank>` banks, with the in-memory
 * index refreshed after every pass that brought something. No retro-sweep: a standalone matcher holds
 * no content. HMA's exchange status route tells how it goes:
 *   GET /c/exchange/HUB/status → { last_fetch_time, checkpoint_time, success, cursor, size, error }
 * With the member's webhook secret, the hub's alerts (an incident declared, signals shared under it)
 * start a pass at once, so the affected banks are reloaded in seconds rather than at the next interval:
 *   POST /v1/hub/alerts   authenticated as the server's: x-hub-signature-256 (HMAC-SHA256 of the raw
 *                         body under the webhook secret), then the alert schema, then the replay guard
 *                         (delivery id seen, or sent_at over 5 minutes off: 409) → 202 { syncing: true }
 */
import { AlertReplayGuard, HubClient, HubSync, verifyWebhookSignature } from '@doublelock/hub/platform';
import { hubAlert } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import { hasToken } from './internalApi.ts';
import type { MatcherContext, MatcherPlugin } from './service.ts';

export interface MatcherHubOptions {
  url: string;
  key: string;
  logKey?: string | undefined;
  syncMs: number;
  bankPrefix?: string;
  /** keys that may read the exchange status (the HMA API key; the internal token always may) */
  apiKey?: string | undefined;
  /** the webhook secret the hub gave this member: with it, POST /v1/hub/alerts starts a pass at once */
  webhookSecret?: string | undefined;
}

const MAX_ALERT_BYTES = 16 * 1024;

export function hubSyncPlugin(options: MatcherHubOptions): MatcherPlugin {
  return async (app: FastifyInstance, ctx: MatcherContext) => {
    const sync = new HubSync({ db: ctx.db, client: new HubClient(options.url, options.key), logKey: options.logKey, bankPrefix: options.bankPrefix ?? 'hub-', sweep: false, now: ctx.now });
    let lastFetch = 0;
    let success = true;
    let lastError: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    const pass = async () => {
      try {
        const r = await sync.sync();
        if (r.signals || r.withdrawn) await ctx.banks.refresh();
        success = true;
        lastError = null;
      } catch (error) {
        success = false;
        lastError = error instanceof Error ? error.message : String(error);
        app.log.warn({ err: error, hub: options.url }, 'hub sync failed');
      }
      // when the pass ended: a status read during the first pass must not say it is done
      lastFetch = ctx.now();
    };
    let closed = false;
    let again = false;
    const tick = () => {
      clearTimeout(timer);
      running = pass().finally(() => {
        running = undefined;
        if (closed) return;
        if (again) {
          again = false;
          tick();
        } else timer = setTimeout(tick, options.syncMs).unref();
      });
    };
    /** A pass now, or right after the one running (alerts arriving together make one more pass). */
    const syncNow = () => {
      if (closed) return;
      if (running) again = true;
      else tick();
    };
    timer = setTimeout(tick, 0).unref();
    app.addHook('onClose', async () => {
      closed = true;
      clearTimeout(timer);
      await running;
    });
    if (options.webhookSecret) {
      const secret = options.webhookSecret;
      const replays = new AlertReplayGuard();
      await app.register(async (alerts) => {
        // the signature covers the bytes as sent: this scope keeps JSON bodies as text
        alerts.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_ALERT_BYTES }, (_request, body, done) => done(null, body));
        alerts.post('/v1/hub/alerts', async (request, reply) => {
          const body = typeof request.body === 'string' ? request.body : '';
          const header = request.headers['x-hub-signature-256'];
          if (!verifyWebhookSignature(secret, body, typeof header === 'string' ? header : undefined)) return reply.code(401).send({ code: 'bad_signature', message: "The alert's x-hub-signature-256 does not verify with this member's webhook secret." });
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            return reply.code(400).send({ code: 'invalid_json', message: 'The alert is not JSON.' });
          }
          const alert = hubAlert.safeParse(json);
          if (!alert.success) return reply.code(400).send({ code: 'validation_failed', message: `Not a hub alert: ${alert.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` });
          const replay = replays.check(alert.data, ctx.now());
          if (replay !== 'fresh') return reply.code(409).send({ code: 'conflict', message: replay === 'stale' ? "The alert's sent_at is more than 5 minutes from this matcher's clock." : 'This alert was already received (replay).' });
          request.log.info({ alert: alert.data.type, incident: alert.data.incident.id }, 'hub alert: syncing now');
          syncNow();
          return reply.code(202).send({ syncing: true });
        });
      });
    }
    app.get('/c/exchange/HUB/status', async (request, reply) => {
      if (!hasToken(request, ctx.token) && !(options.apiKey && hasToken(request, options.apiKey))) return reply.code(401).send({ code: 'unauthenticated', message: 'this API needs its key' });
      const state = await sync.state();
      return {
        last_fetch_time: Math.floor(lastFetch / 1000),
        checkpoint_time: state ? Math.floor(state.updatedAt / 1000) : 0,
        success: success && state?.status !== 'compromised',
        cursor: state?.cursor ?? 0,
        size: state?.checkpointSize ?? 0,
        error: lastError ?? state?.error ?? null,
      };
    });
  };
}
