/**
 * The envelope's extension point for lawful access. The messenger (packages/client) calls a provider
 * when one is configured; with lawful access off there is no provider and no escrow field at all.
 * The lawful-access package implements it (the escrow access field, EAF): K encrypted to the epoch's
 * threshold key under a labelled, CCA-secure threshold scheme (TDH2), with randomness derived from K and
 * the label, so every recipient can recompute it byte for byte.
 */

/**
 * The message context an escrow field is bound to (its TDH2 label). Every part of it is also in the
 * provider's signed delivery record, which is how custodians recompute the label before releasing.
 */
export interface EscrowContext {
  /** the group id as the server names it (base64url) */
  groupId: string;
  senderUsername: string;
  senderDevice: string;
  /** every device the message is for: the group's member devices other than the sender's, in any order */
  recipientDevices: readonly string[];
  clientMessageId: string;
}

export interface EscrowFieldProvider {
  /** Identifies the scheme and epoch key used, carried in the envelope beside the field. */
  readonly scheme: string;
  /** Builds the escrow field for content key K bound to `context` (deterministic). */
  create(contentKey: Uint8Array, context: EscrowContext): Uint8Array;
  /**
   * Recomputes and compares: false when the field is missing, malformed, does not match K and context, or
   * names an epoch that does not fit `deliveryTime` (the server's time for the mailbox item) by the rule
   * the custodians apply too.
   */
  verify(field: Uint8Array, contentKey: Uint8Array, context: EscrowContext, deliveryTime: number): boolean;
  /**
   * Optional: makes ready what `verify` needs for this field (e.g. fetches the certified key of an epoch
   * the recipient does not hold yet). Recipients await it before `verify`.
   */
  prepare?(field: Uint8Array): Promise<void>;
}
