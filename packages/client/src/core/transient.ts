/**
 * Transient failures: trouble that says nothing about the item being processed (the server or the network
 * is down, a directory lookup answered 503, a rate limit). An item that meets one is not refused: it stays
 * in the mailbox, unacknowledged, and is processed again on the next sync (issue 10: a device must never
 * drop a commit it merely could not check yet).
 */
import { ApiError } from '../api/serverApi.ts';

export class TransientFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(`temporarily unable to process (will retry): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TransientFailure';
  }
}

export function isTransient(error: unknown): boolean {
  if (error instanceof TransientFailure) return true;
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429 || error.status === 408;
  // fetch rejects with a TypeError when the network fails (Node: "fetch failed"; browsers: "Failed to fetch").
  return error instanceof TypeError || (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'));
}

/**
 * Runs an idempotent request (same client message id, same bytes) again while it fails transiently: when
 * only the answer was lost, the server answers the resend with its earlier acceptance.
 */
export async function resendWhileTransient<T>(request: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!isTransient(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}
