/**
 * Epochs: one threshold public key per epoch (by default one per UTC day), each erased by every custodian
 * after the maximum retention, so traffic older than that can never be reopened — not by a warrant, not
 * by coercing the custodians. Epoch numbers are days since 1970-01-01 UTC (uint32 on the wire).
 */
export const DAY_MS = 86_400_000;
export const DEFAULT_RETENTION_DAYS = 31;

export function epochAt(timeMs: number, epochLengthMs = DAY_MS): number {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError(`time must be a non-negative integer of ms, got ${timeMs}`);
  return Math.floor(timeMs / epochLengthMs);
}

export function assertEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > 0xffffffff) throw new RangeError(`epoch must be a uint32, got ${epoch}`);
}

/** Start of the first instant at which an epoch's shares must be gone. */
export function erasureTime(epoch: number, retentionDays = DEFAULT_RETENTION_DAYS, epochLengthMs = DAY_MS): number {
  assertEpoch(epoch);
  return (epoch + 1) * epochLengthMs + retentionDays * DAY_MS;
}

export function isErasable(epoch: number, now: number, retentionDays = DEFAULT_RETENTION_DAYS, epochLengthMs = DAY_MS): boolean {
  return now >= erasureTime(epoch, retentionDays, epochLengthMs);
}

/** How close to the next epoch a field made with that epoch's key is still accepted (senders' clocks run ahead). */
export const EPOCH_SKEW_MS = 60_000;

/**
 * The one rule, shared by recipients (packages/client, through the escrow provider) and custodians
 * (release.ts), for which epoch's key an escrow field may use given the server's delivery time: the
 * delivery epoch, the one before (a message in flight across midnight), or the next one only within
 * EPOCH_SKEW_MS of its start. A sender that picks any other epoch (say tomorrow's key, which custodians
 * would refuse to open today) has its message refused by every honest recipient.
 */
export function escrowEpochAccepted(epoch: number, deliveryTime: number, epochLengthMs = DAY_MS): boolean {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(deliveryTime) || deliveryTime < 0) return false;
  const delivered = epochAt(deliveryTime, epochLengthMs);
  if (epoch === delivered || epoch === delivered - 1) return true;
  return epoch === delivered + 1 && (delivered + 1) * epochLengthMs - deliveryTime <= EPOCH_SKEW_MS;
}
