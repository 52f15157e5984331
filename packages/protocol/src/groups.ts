/**
 * Groups: the server is the MLS Delivery Service. It cannot read MLS messages; the sender states the
 * routing (which devices a commit adds and removes) in a header, and members check it against the
 * commit itself. Commits are totally ordered per group: one per epoch, first come first served.
 */
import { z } from 'zod';
import { bytes, clientMessageId, deviceId, groupId, username } from './common.ts';

export const mlsMessage = bytes({ min: 1, max: 1024 * 1024 });
/**
 * A group's ratchet tree (RFC 9420 §7.8 encoding) beside a GroupInfo that does not carry it (§12.4.3.3: the
 * joiner may get the tree out of band): a 10,000-member group's is about 4 MiB.
 */
export const MAX_GROUP_INFO_TREE_BYTES = 8 * 1024 * 1024;
export const groupInfoTree = bytes({ min: 1, max: MAX_GROUP_INFO_TREE_BYTES });

export const createGroupRequest = z.object({ groupId });
export const groupResponse = z.object({
  groupId,
  epoch: z.number().int().nonnegative(),
  members: z.array(deviceId),
});
export type GroupResponse = z.infer<typeof groupResponse>;

export const commitRequest = z.object({
  clientMessageId,
  /** The epoch this commit was made in; accepted only if it is the group's current epoch. */
  epoch: z.number().int().nonnegative(),
  commit: mlsMessage,
  adds: z.array(deviceId).max(2000).default([]),
  removes: z.array(deviceId).max(2000).default([]),
  /** MLS Welcome for the added devices (required when adds is not empty). */
  welcome: mlsMessage.optional(),
  /** Ratchet tree for the Welcome (when not sent in an extension; a large group's is over 1 MiB). */
  ratchetTree: groupInfoTree.optional(),
  /**
   * The GroupInfo of the epoch this commit starts (RFC 9420 §12.4.3, an MLSMessage `mls_group_info`), signed by
   * the committer, with the `external_pub` and `ratchet_tree` extensions: what a member that lost its state
   * needs to rejoin by external commit (§12.4.3.2). The Delivery Service checks its group, epoch, signer and
   * signature, keeps the latest, and gives it only to the group's member devices (GET …/group-info).
   */
  groupInfo: mlsMessage.optional(),
  /**
   * The ratchet tree of the epoch this commit starts, for a GroupInfo without the `ratchet_tree` extension (a
   * large group's tree does not fit in one: §12.4.3.3 lets the joiner get it out of band). The Delivery Service
   * checks it against the GroupInfo's tree hash and keeps it beside it, within a per-group byte quota.
   */
  groupInfoTree: groupInfoTree.optional(),
});
export type CommitRequest = z.infer<typeof commitRequest>;
/**
 * GET /v1/groups/:groupId/group-info: the latest GroupInfo a committer left (members only; 404 when none), and
 * its ratchet tree when the GroupInfo does not carry it.
 */
export const groupInfoResponse = z.object({ epoch: z.number().int().nonnegative(), groupInfo: mlsMessage, ratchetTree: groupInfoTree.optional() });
export type GroupInfoResponse = z.infer<typeof groupInfoResponse>;
export const commitResponse = z.object({ epoch: z.number().int(), seq: z.number().int(), serverTime: z.number().int() });

export const frankingCommitment = bytes({ exact: 32 });

export const sendMessageRequest = z.object({
  clientMessageId,
  epoch: z.number().int().nonnegative(),
  ciphertext: mlsMessage,
  /** Message franking: the sender's commitment to the plaintext (HMAC under a fresh franking key). */
  frankingCommitment: frankingCommitment.optional(),
});
export type SendMessageRequest = z.infer<typeof sendMessageRequest>;
export const sendMessageResponse = z.object({
  seq: z.number().int(),
  serverTime: z.number().int(),
  frankingTag: bytes({ exact: 32 }).optional(),
});
export type SendMessageResponse = z.infer<typeof sendMessageResponse>;

/** Delivery state of messages this device sent: how many recipient devices have not fetched each yet. */
export const deliveryRequest = z.object({ seqs: z.array(z.number().int().positive()).min(1).max(200) }).strict();
export const deliveryResponse = z.object({
  /** only messages this device sent and whose record still lives (the mailbox's lifetime); others are left out */
  delivery: z.array(z.object({ seq: z.number().int(), pending: z.number().int().nonnegative() })),
});
export type DeliveryResponse = z.infer<typeof deliveryResponse>;

/**
 * A member's report that a commit the Delivery Service accepted is invalid (its signature, membership tag,
 * path or credentials fail, or it breaks the admin rule): POST /v1/groups/:groupId/commits/:seq/rejections.
 * When members of a majority of the other accounts that stay in the group report it, and nobody outside
 * the committer's account has built on it, the server voids it: the group returns to the commit's epoch
 * and membership, and every device gets a `void` item (voidNotice).
 */
export const commitRejectionRequest = z.object({ reason: z.string().min(1).max(500), signature: bytes({ exact: 64 }) }).strict();
export const commitRejectionResponse = z.object({
  voided: z.boolean(),
  /** accounts (other than the committer's) whose devices reported the commit invalid */
  rejecting: z.number().int().nonnegative(),
  /** accounts whose reports void it */
  needed: z.number().int().nonnegative(),
});
export type CommitRejectionResponse = z.infer<typeof commitRejectionResponse>;
/** The `void` item's payload: the voided commit, and the members' signed rejections (commitRejectionBytes). */
export const voidNotice = z
  .object({
    voidedSeq: z.number().int().positive(),
    epoch: z.number().int().nonnegative(),
    rejections: z.array(z.object({ username, deviceId, signature: bytes({ exact: 64 }) }).strict()).max(10_000),
  })
  .strict();
export type VoidNotice = z.infer<typeof voidNotice>;
