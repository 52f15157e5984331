/**
 * Alerts to members (an incident declared or closed): a JSON POST to each member's webhook, signed
 * with the member's webhook secret as GitHub signs its webhooks (`x-hub-signature-256: sha256=<hex
 * HMAC-SHA256 of the body>`), so a member can tell the hub's alerts from anyone else's. Each POST's body
 * carries a random `delivery` id and its `sent_at` time, so the member refuses a replay (AlertReplayGuard).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';

export interface WebhookTarget {
  member: string;
  url: string;
  secret: string;
}

export interface WebhookResult {
  member: string;
  status: number | null;
  error?: string;
}

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${bytesToHex(hmac(sha256, new TextEncoder().encode(secret), new TextEncoder().encode(body)))}`;
}

/** Checks an alert's x-hub-signature-256 header against the member's webhook secret, in constant time. */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined): boolean {
  if (typeof header !== 'string' || header.length > 200) return false;
  const expected = new TextEncoder().encode(webhookSignature(secret, body));
  const given = new TextEncoder().encode(header);
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ given[i]!;
  return diff === 0;
}

/** POSTs the alert to every target at once; never throws (a member's endpoint being down is its own problem). */
export async function sendWebhooks(targets: readonly WebhookTarget[], alert: Record<string, unknown>, timeoutMs = 5000): Promise<WebhookResult[]> {
  return Promise.all(
    targets.map(async (t): Promise<WebhookResult> => {
      const body = JSON.stringify({ ...alert, member: t.member, delivery: bytesToHex(randomBytes(16)), sent_at: Date.now() });
      try {
        const r = await fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': webhookSignature(t.secret, body), 'user-agent': 'doublelock-hub' },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
        await r.arrayBuffer().catch(() => undefined);
        return { member: t.member, status: r.status };
      } catch (error) {
        return { member: t.member, status: null, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** How far an alert's sent_at may be from the receiver's clock. */
export const ALERT_WINDOW_MS = 5 * 60_000;

/**
 * A receiver's memory of the alerts it accepted, to refuse replays: an alert sent outside the window
 * (either side of the receiver's clock) is stale; one whose delivery id was accepted before is replayed.
 * Ids are kept for twice the window (an alert stamped up to a window ahead stays fresh that much longer),
 * at most `max` of them. Check alerts only after their signature verified: only the hub can add ids.
 */
export class AlertReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(
    private readonly windowMs = ALERT_WINDOW_MS,
    private readonly max = 100_000,
  ) {}

  check(alert: { delivery: string; sent_at: number }, now = Date.now()): 'fresh' | 'stale' | 'replayed' {
    if (Math.abs(now - alert.sent_at) > this.windowMs) return 'stale';
    for (const [id, at] of this.#seen) {
      if (now - at <= 2 * this.windowMs && this.#seen.size < this.max) break;
      this.#seen.delete(id); // oldest first (insertion order)
    }
    if (this.#seen.has(alert.delivery)) return 'replayed';
    this.#seen.set(alert.delivery, now);
    return 'fresh';
  }
}
