/**
 * The matcher process syncing its banks from a hash-sharing hub (packages/hub/platform): the same
 * verified, resumable feed sync a Doublelock server runs, into `hub-<bank>` banks, with the in-memory
 * index refreshed after every pass that brought something. No retro-sweep: a standalone matcher holds
 * no content. HMA's exchange status route tells how it goes:
 *   GET /c/exchange/HUB/status → { last_fetch_time, checkpoint_time, success, cursor, size, error }
 */
import { HubClient, HubSync } from '@doublelock/hub/platform';
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
}

export function hubSyncPlugin(options: MatcherHubOptions): MatcherPlugin {
  return async (app: FastifyInstance, ctx: MatcherContext) => {
    const sync = new HubSync({ db: ctx.db, client: new HubClient(options.url, options.key), logKey: options.logKey, bankPrefix: options.bankPrefix ?? 'hub-', sweep: false, now: ctx.now });
    let lastFetch = 0;
    let success = true;
    let lastError: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    const pass = async () => {
      lastFetch = ctx.now();
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
    };
    const tick = () => {
      running = pass().finally(() => {
        running = undefined;
        if (timer) timer = setTimeout(tick, options.syncMs).unref();
      });
    };
    timer = setTimeout(tick, 0).unref();
    app.addHook('onClose', async () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    });
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
