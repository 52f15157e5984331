/** What a chat message says: the franked payload bytes are this JSON, validated on receipt. */
import { MAX_CONTENT_BYTES, sha256Hex } from '@doublelock/protocol';
import { z } from 'zod';

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/);

/** A message of the same group, named by its sender's client message id (random, 16 bytes). */
const messageRef = base64url.min(16).max(64);
const usernameList = z.array(z.string().min(1).max(64)).max(1000);
/** Longest disappearing-message timer: four weeks (Signal's longest preset). */
export const MAX_TIMER_SECONDS = 28 * 24 * 3600;
/** Largest image preview a recipient downloads and shows (they are small thumbnails). */
export const MAX_PREVIEW_BYTES = 256 * 1024;

export const messageContent = z.discriminatedUnion('type', [
  /** A trust decision about a contact, for this account's other devices (note-to-self group; devices/trust.ts). */
  z.object({ type: z.literal('trust'), username: z.string().min(1).max(64), identityKey: base64url.length(43), verified: z.boolean() }),
  /** A text, optionally a reply to an earlier message. */
  z.object({ type: z.literal('text'), text: z.string().min(1).max(64 * 1024), replyTo: messageRef.optional() }),
  z.object({
    type: z.literal('file'),
    name: z.string().min(1).max(255),
    mime: z.string().max(255),
    size: z.number().int().nonnegative(),
    blob: sha256Hex,
    key: base64url.length(43),
    sha256: sha256Hex,
    caption: z.string().max(4096).optional(),
    /** Sealed in chunks (envelope/attachmentStream.ts) and streamed; absent: sealed whole (older senders). */
    chunked: z.literal(true).optional(),
    /** A small image made on the sender's device, sealed and uploaded as its own blob (always chunked). */
    preview: z
      .object({
        blob: sha256Hex,
        key: base64url.length(43),
        sha256: sha256Hex,
        size: z.number().int().nonnegative().max(MAX_PREVIEW_BYTES),
        mime: z.enum(['image/webp', 'image/jpeg', 'image/png']),
        width: z.number().int().min(1).max(4096),
        height: z.number().int().min(1).max(4096),
      })
      .optional(),
  }),
  /** Group metadata: the group's display name. */
  z.object({ type: z.literal('rename'), name: z.string().min(1).max(128) }),
  /** The sender's person leaves: other members commit the removal of all of that person's devices. */
  z.object({ type: z.literal('leave') }),
  /** A reaction to a message (`remove` takes the sender's reaction back). */
  z.object({ type: z.literal('reaction'), target: messageRef, emoji: z.string().min(1).max(16), remove: z.boolean().optional() }),
  /** A new text for one of the sender's own messages (honoured only from the same account). */
  z.object({ type: z.literal('edit'), target: messageRef, text: z.string().min(1).max(64 * 1024) }),
  /** Deletes one of the sender's own messages for everyone (each device removes its copy). */
  z.object({ type: z.literal('delete'), target: messageRef }),
  /** Read receipts: the sender has read these messages (sent only if the sender's setting allows). */
  z.object({ type: z.literal('receipt'), read: z.array(messageRef).min(1).max(500) }),
  /** Typing indicator (sent only if the sender's setting allows; never kept). */
  z.object({ type: z.literal('typing'), active: z.boolean() }),
  /** Disappearing messages: messages after this one are deleted `seconds` after they were sent (0: off). */
  z.object({ type: z.literal('timer'), seconds: z.number().int().min(0).max(MAX_TIMER_SECONDS) }),
  /** The group's admins (who may add, remove and rename); honoured only from a current admin. */
  // Older builds sent admin lists as messages; they are read but no longer honoured (the list is in the group's context).
  z.object({ type: z.literal('admins'), usernames: usernameList.min(1) }),
  /**
   * A member saw this device rejoin by external commit and is in the new epoch: the rejoining device's
   * confirmation that it joined the group its members are in, not a fork (groups/externalRejoin.ts). Not shown.
   */
  z.object({ type: z.literal('rejoin_ack'), deviceId: z.string().min(1).max(64) }),
]);
export type MessageContent = z.infer<typeof messageContent>;

export function encodeContent(content: MessageContent): Uint8Array {
  const parsed = messageContent.safeParse(content);
  if (!parsed.success) throw new RangeError(`invalid ${content.type} message: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'content'} ${i.message}`).join('; ')}`);
  const bytes = new TextEncoder().encode(JSON.stringify(parsed.data));
  // Nothing larger is displayed on receipt either: every message shown can be reported (POST /v1/reports).
  if (bytes.length > MAX_CONTENT_BYTES) throw new RangeError(`message too large: ${bytes.length} bytes encoded, at most ${MAX_CONTENT_BYTES}`);
  return bytes;
}

export function decodeContent(payload: Uint8Array): MessageContent {
  if (payload.length > MAX_CONTENT_BYTES) throw new Error(`message payload of ${payload.length} bytes is over the ${MAX_CONTENT_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new Error('message payload is not UTF-8 JSON');
  }
  const parsed = messageContent.safeParse(json);
  if (!parsed.success) throw new Error(`message payload is not valid content: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}
