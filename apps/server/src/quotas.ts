/**
 * Per-device quotas on what one device can make the server store or do for it: sends (count and bytes),
 * groups created, being added to groups, KeyPackage claims. Token buckets in memory: each holds `limit`
 * tokens and refills `limit` per window, so a burst up to the limit is fine and a sustained flood is
 * refused with 429 quota_exceeded (details say which quota and when to retry).
 * Buckets are per node: behind n nodes a device gets at most n times its quota, which still bounds it.
 * Stored amounts are bounded where they are stored (KeyPackages per device, mailbox bytes per device).
 */
import { ErrorCode } from '@doublelock/protocol';
import { fail } from './errors.ts';

export interface QuotaLimits {
  /** Messages one device may send per minute (HTTP and WebSocket together). */
  sendsPerMinute: number;
  /** Ciphertext bytes one device may send per minute. */
  sendBytesPerMinute: number;
  /** Groups one device may create per hour. */
  groupsPerHour: number;
  /** Times one device may be added to a group by another device per hour (strangers adding it anywhere). */
  addedPerHour: number;
  /** KeyPackage claims one device may make per hour, and per claimed account per hour. */
  claimsPerHour: number;
  claimsPerAccountPerHour: number;
  /** One-time KeyPackages one device may keep stored. */
  keyPackagesStored: number;
  /** Bytes of undelivered mail one device's mailbox may hold; beyond it the oldest application messages are dropped. */
  mailboxBytes: number;
}

export const DEFAULT_QUOTAS: QuotaLimits = {
  sendsPerMinute: 3000,
  sendBytesPerMinute: 64 * 1024 * 1024,
  groupsPerHour: 60,
  addedPerHour: 120,
  claimsPerHour: 10_000, // adding a 1,000-member group claims 999 accounts' packages at once
  claimsPerAccountPerHour: 30,
  keyPackagesStored: 500,
  mailboxBytes: 256 * 1024 * 1024,
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MAX_BUCKETS = 200_000;

type Bucket = { tokens: number; at: number };

class Buckets {
  readonly #buckets = new Map<string, Bucket>();
  constructor(
    readonly name: string,
    private readonly limit: () => number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Takes `cost` tokens for `key`, or refuses with 429 without taking any. */
  take(key: string, cost = 1, what = this.name): void {
    const limit = this.limit();
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: limit, at: now };
    bucket.tokens = Math.min(limit, bucket.tokens + ((now - bucket.at) * limit) / this.windowMs);
    bucket.at = now;
    if (bucket.tokens < Math.min(cost, limit)) {
      const retryAfterMs = Math.ceil(((Math.min(cost, limit) - bucket.tokens) * this.windowMs) / limit);
      this.#buckets.set(key, bucket);
      fail(ErrorCode.quotaExceeded, `Quota exceeded: ${what}. Retry in ${Math.ceil(retryAfterMs / 1000)} s.`, { quota: this.name, retryAfterMs });
    }
    bucket.tokens -= cost;
    if (this.#buckets.size >= MAX_BUCKETS) this.#prune(now, limit);
    this.#buckets.set(key, bucket);
  }

  /** Forgets buckets that have refilled (they equal a fresh one). */
  #prune(now: number, limit: number): void {
    for (const [key, b] of this.#buckets) if (b.tokens + ((now - b.at) * limit) / this.windowMs >= limit) this.#buckets.delete(key);
    if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.clear(); // under a flood of distinct keys: start over rather than grow
  }
}

export class Quotas {
  readonly sends: Buckets;
  readonly sendBytes: Buckets;
  readonly groups: Buckets;
  readonly added: Buckets;
  readonly claims: Buckets;
  readonly claimsPerAccount: Buckets;

  constructor(
    readonly limits: QuotaLimits,
    now: () => number,
  ) {
    this.sends = new Buckets('sends_per_minute', () => limits.sendsPerMinute, MINUTE, now);
    this.sendBytes = new Buckets('send_bytes_per_minute', () => limits.sendBytesPerMinute, MINUTE, now);
    this.groups = new Buckets('groups_per_hour', () => limits.groupsPerHour, HOUR, now);
    this.added = new Buckets('added_to_groups_per_hour', () => limits.addedPerHour, HOUR, now);
    this.claims = new Buckets('key_package_claims_per_hour', () => limits.claimsPerHour, HOUR, now);
    this.claimsPerAccount = new Buckets('key_package_claims_per_account_per_hour', () => limits.claimsPerAccountPerHour, HOUR, now);
  }

  send(deviceId: string, bytes: number): void {
    this.sends.take(deviceId, 1, 'too many messages from this device');
    this.sendBytes.take(deviceId, bytes, 'too many bytes sent by this device');
  }
}
