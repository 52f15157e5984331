/**
 * Sending and keeping messages: content sealed in an envelope (envelope/envelope.ts) inside an MLS
 * application message, attachments as encrypted blobs, this device's history (sent and received, under
 * `msg/<group>/<seq>`), and franked reports of received messages.
 */
import { fromBase64Url } from '@doublelock/protocol';
import { createApplicationMessage, encodeMlsMessage } from 'ts-mls';
import { ApiError } from '../api/serverApi.ts';
import { resendWhileTransient } from '../core/transient.ts';
import { b64, MAX_RETRIES, newMessageId, type MessengerContext } from '../core/context.ts';
import type { ReceivedMessage } from '../core/types.ts';
import { openAttachment, sealAttachment } from '../envelope/attachment.ts';
import { encodeContent, type MessageContent } from '../envelope/content.ts';
import { sealEnvelope, type EnvelopeContext } from '../envelope/envelope.ts';
import { encodeFrame } from '../envelope/frame.ts';
import { groupMembers, markSeen } from '../groupStore.ts';
import { getJson, jsonWrite } from '../storage/storage.ts';

/** Storage key of a message in this device's history (ordered by server seq). */
export const historyKey = (groupId: string, seq: number) => `msg/${groupId}/${String(seq).padStart(12, '0')}`;

export class Messages {
  constructor(private readonly ctx: MessengerContext) {}

  /** Encrypts the file, uploads it as a blob of the group, and sends its key and hashes in a message. */
  sendFile(groupId: string, file: Uint8Array, name: string, mime: string, caption?: string): Promise<{ seq: number; clientMessageId: string }> {
    const { ctx } = this;
    return ctx.exclusive(async () => {
      const { sealed, secret } = sealAttachment(file);
      await ctx.api.putBlob(groupId, secret.blob, sealed);
      return this.sendLocked(groupId, { type: 'file', name, mime, size: secret.size, blob: secret.blob, key: b64(secret.key), sha256: secret.sha256, ...(caption && { caption }) });
    });
  }

  /** Downloads and checks an attachment received in a message. */
  async downloadFile(groupId: string, content: Extract<MessageContent, { type: 'file' }>): Promise<Uint8Array> {
    const sealed = await this.ctx.api.getBlob(groupId, content.blob);
    return openAttachment(sealed, { blob: content.blob, key: fromBase64Url(content.key), sha256: content.sha256, size: content.size });
  }

  async sendLocked(groupId: string, content: MessageContent): Promise<{ seq: number; clientMessageId: string }> {
    const { ctx } = this;
    const clientMessageId = newMessageId();
    const payload = encodeContent(content);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { state, meta } = await ctx.groupStore.require(groupId);
      // Sealed per attempt: the escrow field is labelled with the devices of the epoch it is sent in.
      const recipientDevices = groupMembers(state).map((m) => m.deviceId).filter((d) => d !== ctx.deviceId);
      const context: EnvelopeContext = { groupId: fromBase64Url(groupId), senderUsername: ctx.username, senderDeviceId: ctx.deviceId, clientMessageId, recipientDevices };
      const envelope = sealEnvelope(payload, context, ctx.options.escrow);
      const { newState, privateMessage } = await createApplicationMessage(state, envelope.keys, ctx.cs);
      // The ratchet step is stored before anything leaves the device: a key is never used twice.
      await ctx.groupStore.save(groupId, newState, meta);
      const frame = encodeFrame({
        mlsMessage: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage }),
        sealedPayload: envelope.sealedPayload,
        escrow: envelope.escrow,
      });
      try {
        // A lost answer: the same request again (idempotent by client message id), never a second message.
        const request = { clientMessageId, epoch: Number(state.groupContext.epoch), ciphertext: b64(frame), frankingCommitment: b64(envelope.frankingCommitment) };
        const accepted = await resendWhileTransient(() => ctx.api.sendMessage(groupId, request));
        markSeen(meta, accepted.seq);
        // Kept with the received ones, so this device's history shows what it said too.
        const sent: ReceivedMessage = {
          groupId,
          seq: accepted.seq,
          serverTime: accepted.serverTime,
          clientMessageId,
          sender: ctx.me,
          content,
          franking: { payload: b64(payload), frankingKey: b64(envelope.frankingKey), commitment: b64(envelope.frankingCommitment), tag: accepted.frankingTag ?? '' },
        };
        await ctx.groupStore.saveMeta(groupId, meta, [jsonWrite(historyKey(groupId, accepted.seq), sent)]);
        return { seq: accepted.seq, clientMessageId };
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'stale_epoch')) throw error;
        await ctx.sync.syncLocked();
      }
    }
    throw new Error(`Could not send to group ${groupId}: it kept moving on (${MAX_RETRIES} attempts).`);
  }

  /** Messages received in a group, oldest first. */
  async history(groupId: string): Promise<ReceivedMessage[]> {
    const keys = await this.ctx.storage.keys(`msg/${groupId}/`);
    const out: ReceivedMessage[] = [];
    for (const key of keys) {
      const m = await getJson<ReceivedMessage>(this.ctx.storage, key);
      if (m) out.push(m);
    }
    return out;
  }

  /** Reports a received message to the server, revealing exactly its payload and franking key. */
  report(message: ReceivedMessage, reason = '') {
    return this.ctx.api.report({
      groupId: message.groupId,
      seq: message.seq,
      clientMessageId: message.clientMessageId,
      sender: message.sender,
      serverTime: message.serverTime,
      payload: message.franking.payload,
      frankingKey: message.franking.frankingKey,
      commitment: message.franking.commitment,
      tag: message.franking.tag,
      reason,
    });
  }
}
