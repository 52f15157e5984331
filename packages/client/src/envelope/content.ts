/** What a chat message says: the franked payload bytes are this JSON, validated on receipt. */
import { MAX_CONTENT_BYTES, sha256Hex } from '@doublelock/protocol';
import { z } from 'zod';

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/);

export const messageContent = z.discriminatedUnion('type', [
  /** A trust decision about a contact, for this account's other devices (note-to-self group; devices/trust.ts). */
  z.object({ type: z.literal('trust'), username: z.string().min(1).max(64), identityKey: base64url.length(43), verified: z.boolean() }),
  z.object({ type: z.literal('text'), text: z.string().min(1).max(64 * 1024) }),
  z.object({
    type: z.literal('file'),
    name: z.string().min(1).max(255),
    mime: z.string().max(255),
    size: z.number().int().nonnegative(),
    blob: sha256Hex,
    key: base64url.length(43),
    sha256: sha256Hex,
    caption: z.string().max(4096).optional(),
  }),
  /** Group metadata: the group's display name. */
  z.object({ type: z.literal('rename'), name: z.string().min(1).max(128) }),
  /** The sender's person leaves: other members commit the removal of all of that person's devices. */
  z.object({ type: z.literal('leave') }),
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
