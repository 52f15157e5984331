/**
 * Verified reporting from private chats (message franking, after Facebook 2016 and Grubbs–Lu–Ristenpart,
 * CRYPTO 2017). The recipient reveals the plaintext and the franking key; the server checks the sender's
 * commitment and its own tag binding commitment, sender, group, time and message.
 */
import { z } from 'zod';
import { bytes, clientMessageId, deviceId, groupId, storableText, username } from './common.ts';

/**
 * The largest message content (the franked payload bytes) a client may send or display. Reports accept
 * exactly this much, so whatever a client shows can be reported (issue 10).
 */
export const MAX_CONTENT_BYTES = 256 * 1024;

export const reportRequest = z.object({
  groupId,
  seq: z.number().int().nonnegative(),
  clientMessageId,
  sender: z.object({ username, deviceId }),
  serverTime: z.number().int(),
  /** The plaintext as the reporter received it (the envelope's franked bytes). */
  payload: bytes({ max: MAX_CONTENT_BYTES }),
  frankingKey: bytes({ exact: 32 }),
  commitment: bytes({ exact: 32 }),
  tag: bytes({ exact: 32 }),
  reason: storableText(500).default(''),
});
export type ReportRequest = z.infer<typeof reportRequest>;
export const reportResponse = z.object({ reportId: z.number().int(), verified: z.literal(true) });
