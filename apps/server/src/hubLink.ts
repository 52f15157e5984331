/**
 * The platform's link to a hash-sharing hub (packages/hub/platform): the hub's feed synced into the
 * `hub-*` banks every `syncMs` (verified against the hub's log; resumes from its checkpoint after a
 * restart), the live banks refreshed as soon as a pass brought something, moderators' opinions sent
 * back, and this platform's own banks published. Retro-sweeps of what arrived are queued by the sync
 * and run by the server's moderation worker.
 */
import { HubClient, HubIntegrityError, HubSync, publishBank, type SyncResult } from '@doublelock/hub/platform';
import type { LiveBanks } from '@doublelock/moderation';
import type { Db } from '@doublelock/store';
import type { FastifyBaseLogger } from 'fastify';
import type { HubLinkConfig } from './config.ts';

export class HubLink {
  readonly sync: HubSync;
  readonly client: HubClient;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<SyncResult | undefined> | undefined;
  #again = false;
  lastError: string | undefined;

  constructor(
    readonly config: HubLinkConfig,
    private readonly db: Db,
    private readonly banks: LiveBanks,
    private readonly log: FastifyBaseLogger,
  ) {
    this.client = new HubClient(config.url, config.key);
    this.sync = new HubSync({ db, client: this.client, logKey: config.logKey, bankPrefix: config.bankPrefix });
  }

  /** One pass now (a second caller during a pass gets one more pass after it). */
  run(): Promise<SyncResult | undefined> {
    if (this.#pass) {
      this.#again = true;
      return this.#pass;
    }
    this.#pass = (async () => {
      let result: SyncResult | undefined;
      do {
        this.#again = false;
        result = await this.#once();
      } while (this.#again);
      return result;
    })().finally(() => (this.#pass = undefined));
    return this.#pass;
  }

  async #once(): Promise<SyncResult | undefined> {
    try {
      for (const bank of this.config.publish) if (await this.banks.store.getBank(bank)) await publishBank(this.db, this.client, bank, { syncedPrefix: this.config.bankPrefix });
      const result = await this.sync.sync();
      if (result.signals || result.withdrawn) await this.banks.refresh();
      if (result.entries) this.log.info({ hub: this.config.url, ...result }, 'hub sync');
      this.lastError = undefined;
      return result;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // a hub whose log does not verify is loud: it is an attack or a broken hub, not a network blip
      if (error instanceof HubIntegrityError) this.log.error({ hub: this.config.url, err: error }, 'HUB INTEGRITY CHECK FAILED: sync stopped');
      else this.log.warn({ hub: this.config.url, err: error }, 'hub sync failed; retrying at the next interval');
      return undefined;
    }
  }

  start(): void {
    this.stopTimer();
    const tick = () => {
      void this.run().finally(() => {
        if (this.#timer) this.#timer = setTimeout(tick, this.config.syncMs).unref();
      });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  private stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async stop(): Promise<void> {
    this.stopTimer();
    await this.#pass;
  }
}
