/** Mailbox items as devices receive them (HTTP fetch or WebSocket push), and acknowledgements. */
import { z } from 'zod';
import { bytes, clientMessageId, deviceId, groupId, username } from './common.ts';
import { MAX_GROUP_INFO_TREE_BYTES, sendMessageRequest, sendMessageResponse } from './groups.ts';

/** `void`: the Delivery Service voided a commit every member found invalid (payload: a voidNotice, JSON). */
export const mailboxItemKind = z.enum(['application', 'commit', 'welcome', 'void']);

export const mailboxItem = z.object({
  /** Per-device mailbox id: acknowledge with it. */
  id: z.number().int(),
  kind: mailboxItemKind,
  groupId,
  /** Position in the group's total order (commits and application messages share it). */
  seq: z.number().int(),
  epoch: z.number().int(),
  sender: z.object({ username, deviceId }),
  clientMessageId,
  payload: bytes({ max: 2 * 1024 * 1024 }),
  /** For welcomes: the ratchet tree, when sent out of band. */
  ratchetTree: bytes({ max: MAX_GROUP_INFO_TREE_BYTES }).optional(),
  serverTime: z.number().int(),
  franking: z.object({ commitment: bytes({ exact: 32 }), tag: bytes({ exact: 32 }) }).optional(),
});
export type MailboxItem = z.infer<typeof mailboxItem>;

export const fetchMailboxQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const fetchMailboxResponse = z.object({ items: z.array(mailboxItem) });

export const ackRequest = z.object({ ids: z.array(z.number().int()).min(1).max(1000) });
export const ackResponse = z.object({ deleted: z.number().int() });

/** WebSocket frames. The socket authenticates with the session token in the first frame. */
export const clientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), token: z.string().max(256) }),
  z.object({ type: z.literal('ack'), ids: z.array(z.number().int()).min(1).max(1000) }),
  z.object({ type: z.literal('ping') }),
  /** Sending over the socket: same request and answer as POST /v1/groups/:groupId/messages. */
  z.object({ type: z.literal('send'), groupId, message: sendMessageRequest }),
]);
export type ClientFrame = z.infer<typeof clientFrame>;

export const serverFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('items'), items: z.array(mailboxItem) }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('sent'), clientMessageId, result: sendMessageResponse }),
  /** With clientMessageId: that send failed, the socket stays open. Without: the socket closes. */
  z.object({ type: z.literal('error'), code: z.string(), message: z.string(), clientMessageId: clientMessageId.optional() }),
]);
export type ServerFrame = z.infer<typeof serverFrame>;
