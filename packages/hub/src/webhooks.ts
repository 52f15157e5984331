/**
 * Alerts to members (an incident declared or closed): a JSON POST to each member's webhook, signed
 * with the member's webhook secret as GitHub signs its webhooks (`x-hub-signature-256: sha256=<hex
 * HMAC-SHA256 of the body>`), so a member can tell the hub's alerts from anyone else's.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

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
      const body = JSON.stringify({ ...alert, member: t.member });
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
