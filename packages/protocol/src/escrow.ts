/**
 * The envelope's extension point for lawful access. The messenger (packages/client) calls a provider
 * when one is configured; with lawful access off there is no provider and no escrow field at all.
 * The lawful-access package implements it (the escrow access field, EAF): K encrypted to the epoch's
 * threshold key with randomness derived from K and the context, so every recipient can recompute it.
 */
export interface EscrowFieldProvider {
  /** Identifies the scheme and epoch key used, carried in the envelope beside the field. */
  readonly scheme: string;
  /** Builds the escrow field for content key K bound to `context` (deterministic). */
  create(contentKey: Uint8Array, context: Uint8Array): Uint8Array;
  /** Recomputes and compares: false when the field is missing, malformed, or does not match K and context. */
  verify(field: Uint8Array, contentKey: Uint8Array, context: Uint8Array): boolean;
  /**
   * Optional: makes ready what `verify` needs for this field (e.g. fetches the certified key of an epoch
   * the recipient does not hold yet). Recipients await it before `verify`.
   */
  prepare?(field: Uint8Array): Promise<void>;
}
