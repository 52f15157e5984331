/**
 * A group's rejoin policy as an MLS GroupContext extension (RFC 9420 §12.1.7; type 0xF0D2, private-use range,
 * §17.3; empty data). Without it (the default) a member device that lost its state may rejoin by external
 * commit (§12.4.3.2) from the GroupInfo the Delivery Service keeps. With it, the group's members accept no
 * external commit, committers leave no GroupInfo and the Delivery Service keeps none: a lost device rejoins
 * only by being re-added by a member. Set when the group is made; a commit that changes it is refused.
 */
export const EXTERNAL_REJOIN_OFF_EXTENSION_TYPE = 0xf0d2;

/** Whether a group context (its extensions) allows rejoining by external commit. */
export function externalRejoinAllowed(extensions: ReadonlyArray<{ extensionType: unknown }>): boolean {
  return !extensions.some((e) => e.extensionType === EXTERNAL_REJOIN_OFF_EXTENSION_TYPE);
}
