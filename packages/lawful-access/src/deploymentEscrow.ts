/**
 * The client's escrow provider configured from the deployment itself, and kept current across epochs.
 *
 * A messenger pins one thing out of band: the trust root. From the provider's server it reads
 * `GET /v1/lawful-access` — `{ enabled: false }` means a pure end-to-end messenger (no provider, no field
 * at all); `{ enabled: true, trust }` is the signed trust configuration, accepted only if it verifies
 * under the pinned root. It then fetches each epoch's certificate from the custodians that configuration
 * names (any one copy will do: the certificate is signed by all n, so a custodian or network that alters
 * it is caught by openEpochCertificate), keeps one key per epoch, and fetches the next epoch's key a while
 * before the boundary — the custodians make keys up to 7 epochs ahead, when a coordinator (the operator,
 * ceremony.ts) runs the ceremony; clients never run it. So `create()`, which is synchronous, always uses
 * the key of the epoch the clock is in, or throws: it never quietly sends a message without a field.
 *
 * `verify()` accepts a field only when its epoch fits the server's delivery time by the custodians' own
 * rule (`escrowEpochAccepted`: the delivery epoch or the one before; a sender using tomorrow's key, which
 * custodians would refuse today, is refused), only with a certified key it holds for that epoch (fetched
 * up front, by `prepare(field)` / `ensureEpoch`, or in the background after a first refusal), and never
 * past retention: the shares are erased, so accepting such a field would let a sender escape a warrant.
 *
 * A certificate is also checked to be the one of the epoch asked for: a valid certificate of an older
 * epoch, replayed, would have clients encrypt to a key whose shares are erased sooner.
 */
import type { EscrowContext, EscrowFieldProvider } from '@doublelock/protocol';
import { z } from 'zod';
import { CustodianHttpError, getJson } from './ceremony.ts';
import { type EpochKey, openEpochCertificate } from './dkg.ts';
import { epochAt, escrowEpochAccepted, isErasable } from './epoch.ts';
import { EAF_SCHEME, type PreparedEpochKey, createEscrowField, escrowFieldEpoch, prepareEpochKey, verifyEscrowField } from './escrow.ts';
import { type TrustConfig, custodianStaticKeys, openTrustConfig } from './trust.ts';
import { certificateFromJson, epochCertificateJson } from './wire.ts';

/** Custodians refuse to make keys more than this many epochs ahead (apps/custodian, DKG_FUTURE_EPOCHS). */
const FUTURE_EPOCHS = 7;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** a floor, so a clock that disagrees with the timers cannot make the schedule spin */
const MIN_TIMER_MS = 100;

/** The server's answer on `GET /v1/lawful-access`. */
export const lawfulAccessStatusSchema = z.discriminatedUnion('enabled', [
  z.object({ enabled: z.literal(true), trust: z.unknown() }),
  z.object({ enabled: z.literal(false) }),
]);

export interface DeploymentEscrowOptions {
  /** the provider's server, e.g. https://chat.example */
  serverUrl: string;
  /** the trust-root Ed25519 public key (base64url or bytes), pinned out of band */
  trustRoot: string | Uint8Array;
  fetch?: typeof fetch;
  now?: () => number;
  /** how long before an epoch boundary the next epoch's key is fetched (default 1 hour) */
  prefetchMs?: number;
  /** how long after a failed fetch before trying that epoch again (default 1 minute) */
  retryMs?: number;
  /** per HTTP request (default 10 s) */
  requestTimeoutMs?: number;
}

/** `create()` was called while no certified key for the current epoch is held. */
export class EpochKeyUnavailable extends Error {
  constructor(
    readonly epoch: number,
    cause: unknown,
  ) {
    super(`lawful access is on but there is no certified key for the current epoch ${epoch}${cause ? `: ${(cause as Error).message ?? String(cause)}` : ''}`);
    this.name = 'EpochKeyUnavailable';
  }
}

export interface DeploymentEscrow extends EscrowFieldProvider {
  /** the verified trust configuration this provider was configured from */
  readonly trust: TrustConfig;
  /** the epoch the clock is in now */
  currentEpoch(): number;
  /** the certified key of an epoch, if held */
  epochKey(epoch: number): EpochKey | undefined;
  /** the epochs whose certified keys are held, ascending */
  heldEpochs(): number[];
  /**
   * Before verify() (which is synchronous): fetches the certified key of the epoch a received field names,
   * when custodians could hold one and it was not refused within the retry period. For a recipient back
   * online after days, whose queued messages name epochs it never held.
   */
  prepare(field: Uint8Array): Promise<void>;
  /** fetches and verifies an epoch's certificate unless held; false when no custodian serves a valid one */
  ensureEpoch(epoch: number): Promise<boolean>;
  /** fetches the current epoch's key (rejects if unavailable) and, best effort, the previous and next */
  refresh(): Promise<void>;
  /** stops the prefetch timer */
  close(): void;
}

/** Reads the deployment's switch; `undefined` when lawful access is off, else a self-updating provider. */
export async function deploymentEscrow(options: DeploymentEscrowOptions): Promise<DeploymentEscrow | undefined> {
  checkOptions(options);
  const fetchImpl = withTimeout(options.fetch ?? fetch, options.requestTimeoutMs ?? 10_000);
  const url = `${options.serverUrl.replace(/\/$/, '')}/v1/lawful-access`;
  const response = await fetchImpl(url);
  // A failure is never read as "off": that would silently drop the field from every message.
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const body: unknown = await response.json().catch(() => {
    throw new Error(`GET ${url}: the answer is not JSON`);
  });
  const status = lawfulAccessStatusSchema.safeParse(body);
  if (!status.success) throw new Error(`GET ${url}: not a lawful-access status: ${status.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (!status.data.enabled) return undefined;
  const trust = openTrustConfig(status.data.trust, options.trustRoot);
  const escrow = new EpochKeys(trust, fetchImpl, options);
  await escrow.refresh().catch(() => undefined); // recorded; create() reports it, the timer retries
  return escrow;
}

function checkOptions(options: DeploymentEscrowOptions): void {
  let server: URL;
  try {
    server = new URL(options.serverUrl);
  } catch {
    throw new TypeError(`serverUrl must be an absolute URL, got ${JSON.stringify(options.serverUrl)}`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new TypeError(`serverUrl must be http(s), got ${server.protocol}`);
  for (const name of ['prefetchMs', 'retryMs', 'requestTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) throw new RangeError(`${name} must be a positive integer of ms, got ${value}`);
  }
}

function withTimeout(fetchImpl: typeof fetch, ms: number): typeof fetch {
  return (input, init) => fetchImpl(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(ms) });
}

const fieldEpoch = escrowFieldEpoch;

interface Held {
  key: EpochKey;
  /** decoded, with its multiplication table (~1 MB) once used enough; dropped for epochs before yesterday's */
  prepared?: PreparedEpochKey;
}

class EpochKeys implements DeploymentEscrow {
  readonly #now: () => number;
  readonly #prefetchMs: number;
  readonly #retryMs: number;
  readonly #staticKeys: Uint8Array[];
  readonly #held = new Map<number, Held>();
  readonly #pending = new Map<number, Promise<boolean>>();
  readonly #failures = new Map<number, { at: number; error: unknown }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    readonly trust: TrustConfig,
    private readonly fetchImpl: typeof fetch,
    options: DeploymentEscrowOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#prefetchMs = options.prefetchMs ?? 3_600_000;
    this.#retryMs = options.retryMs ?? 60_000;
    this.#staticKeys = custodianStaticKeys(trust);
  }

  currentEpoch(): number {
    return epochAt(this.#now(), this.trust.epoch.lengthMs);
  }

  /** Names the epoch new fields are made for; the field's own bytes carry it too, and verify() reads those. */
  get scheme(): string {
    return `${EAF_SCHEME}/${this.currentEpoch()}`;
  }

  create(contentKey: Uint8Array, context: EscrowContext): Uint8Array {
    const epoch = this.currentEpoch();
    const held = this.#held.get(epoch);
    if (!held) {
      this.#fetchInBackground(epoch);
      throw new EpochKeyUnavailable(epoch, this.#failures.get(epoch)?.error);
    }
    return createEscrowField(this.#usable(epoch, held), contentKey, context);
  }

  verify(field: Uint8Array, contentKey: Uint8Array, context: EscrowContext, deliveryTime: number): boolean {
    const epoch = fieldEpoch(field);
    if (epoch === undefined) return false;
    if (!escrowEpochAccepted(epoch, deliveryTime, this.trust.epoch.lengthMs)) return false;
    if (this.#erasable(epoch)) return false;
    const held = this.#held.get(epoch);
    if (!held) {
      // The interface is synchronous: refuse now, and fetch so that a retry can succeed.
      this.#fetchInBackground(epoch);
      return false;
    }
    return verifyEscrowField(this.#usable(epoch, held), field, contentKey, context);
  }

  async prepare(field: Uint8Array): Promise<void> {
    const epoch = fieldEpoch(field);
    if (epoch !== undefined && !this.#closed) await this.#tryEpoch(epoch);
  }

  epochKey(epoch: number): EpochKey | undefined {
    return this.#held.get(epoch)?.key;
  }

  heldEpochs(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  ensureEpoch(epoch: number): Promise<boolean> {
    if (this.#held.has(epoch)) return Promise.resolve(true);
    let pending = this.#pending.get(epoch);
    if (!pending) {
      pending = this.#fetch(epoch).finally(() => this.#pending.delete(epoch));
      this.#pending.set(epoch, pending);
    }
    return pending;
  }

  async refresh(): Promise<void> {
    const current = this.currentEpoch();
    try {
      for (const [epoch, held] of this.#held) {
        if (this.#erasable(epoch)) this.#held.delete(epoch);
        else if (epoch < current - 1) delete held.prepared;
      }
      const [, , ok] = await Promise.all([this.#tryEpoch(current - 1), this.#tryEpoch(current + 1), this.ensureEpoch(current)]);
      if (!ok) throw new EpochKeyUnavailable(current, this.#failures.get(current)?.error);
    } finally {
      this.#schedule();
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #fetch(epoch: number): Promise<boolean> {
    if (epoch < 0 || epoch > 0xffffffff) return false;
    try {
      const key = await this.#fetchCertified(epoch);
      this.#held.set(epoch, { key });
      this.#failures.delete(epoch);
      return true;
    } catch (error) {
      this.#failures.set(epoch, { at: this.#now(), error });
      return false;
    }
  }

  /**
   * Asks the custodians in turn, from a random one (so clients spread their load), until one serves a
   * certificate that verifies under the pinned custodians' keys and is the certificate of this epoch.
   */
  async #fetchCertified(epoch: number): Promise<EpochKey> {
    const { custodians } = this.trust;
    const start = Math.floor(Math.random() * custodians.length);
    const problems: string[] = [];
    for (let k = 0; k < custodians.length; k++) {
      const c = custodians[(start + k) % custodians.length]!;
      try {
        const body = (await getJson(c.index, `${c.url.replace(/\/$/, '')}/v1/epochs/${epoch}`, this.fetchImpl)) as { certificate?: unknown };
        const certificate = certificateFromJson(epochCertificateJson.parse(body.certificate));
        const key = openEpochCertificate(certificate, this.#staticKeys, this.trust.deployment, this.trust.threshold);
        // A certificate verifies on its own: one served for another epoch is a replay (an older key, erased sooner).
        if (key.epoch !== epoch) throw new Error(`served the certificate of epoch ${key.epoch}`);
        return key;
      } catch (error) {
        problems.push(error instanceof CustodianHttpError ? error.message : `custodian ${c.index}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no custodian served a valid certificate for epoch ${epoch} (${problems.join('; ')})`);
  }

  /** Only for epochs custodians could hold a key for, and not more often than once per retry period. */
  #tryEpoch(epoch: number): Promise<boolean> {
    if (this.#held.has(epoch)) return Promise.resolve(true);
    if (this.#erasable(epoch) || epoch > this.currentEpoch() + FUTURE_EPOCHS) return Promise.resolve(false);
    const failure = this.#failures.get(epoch);
    if (failure && this.#now() - failure.at < this.#retryMs) return Promise.resolve(false);
    return this.ensureEpoch(epoch);
  }

  #fetchInBackground(epoch: number): void {
    if (!this.#closed) void this.#tryEpoch(epoch);
  }

  /**
   * Fields of yesterday's, today's and tomorrow's epoch are made and checked all day: those keys are kept
   * decoded, and get their table once they have been used enough to pay for it (a one-shot CLI command
   * never builds one; see HotPoint). Older epochs' fields are rare: checked with the bare key.
   */
  #usable(epoch: number, held: Held): EpochKey | PreparedEpochKey {
    if (held.prepared) return held.prepared;
    const current = this.currentEpoch();
    if (epoch < current - 1 || epoch > current + 1) return held.key;
    held.prepared = prepareEpochKey(held.key);
    return held.prepared;
  }

  #erasable(epoch: number): boolean {
    return isErasable(epoch, this.#now(), this.trust.epoch.retentionDays, this.trust.epoch.lengthMs);
  }

  /** Wakes at the prefetch point for the next epoch, at the boundary, or after a retry period. */
  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    const now = this.#now();
    const current = epochAt(now, this.trust.epoch.lengthMs);
    const boundary = (current + 1) * this.trust.epoch.lengthMs;
    const prefetchAt = Math.max(boundary - this.#prefetchMs, current * this.trust.epoch.lengthMs);
    let wakeAt: number;
    if (!this.#held.has(current)) wakeAt = now + this.#retryMs;
    else if (this.#held.has(current + 1)) wakeAt = boundary;
    else wakeAt = now >= prefetchAt ? Math.min(now + this.#retryMs, boundary) : prefetchAt;
    this.#timer = setTimeout(() => void this.refresh().catch(() => undefined), Math.min(Math.max(wakeAt - now, MIN_TIMER_MS), MAX_TIMER_MS));
    this.#timer.unref?.();
  }
}
