/**
 * Sending and keeping messages: content sealed in an envelope (envelope/envelope.ts) inside an MLS
 * application message, attachments as encrypted blobs, this device's history (sent and received, under
 * `msg/<group>/<seq>`), and franked reports of received messages.
 */
import { DEFAULT_MAX_BLOB_BYTES, fromBase64Url } from '@doublelock/protocol';
import { createApplicationMessage, encodeMlsMessage } from 'ts-mls';
import { ApiError } from '../api/serverApi.ts';
import { resendWhileTransient } from '../core/transient.ts';
import { b64, MAX_RETRIES, newMessageId, type MessengerContext } from '../core/context.ts';
import type { ReceivedMessage } from '../core/types.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import type { ImagePreview, OutgoingFile } from '../core/types.ts';
import { RejoinUnconfirmed } from '../core/types.ts';
import { openAttachment } from '../envelope/attachment.ts';
import { collect, openStream, sealedSize, sealStream, toReadableStream, type ByteSource, type StreamedAttachment } from '../envelope/attachmentStream.ts';
import { encodeContent, MAX_PREVIEW_BYTES, type MessageContent } from '../envelope/content.ts';
import { sealEnvelope, type EnvelopeContext } from '../envelope/envelope.ts';
import { encodeFrame } from '../envelope/frame.ts';
import { groupMembers, markSeen } from '../groupStore.ts';
import { getJson, jsonWrite } from '../storage/storage.ts';

/** Storage key of a message in this device's history (ordered by server seq). */
export const historyKey = (groupId: string, seq: number) => `msg/${groupId}/${String(seq).padStart(12, '0')}`;

type FileContent = Extract<MessageContent, { type: 'file' }>;
type FilePreview = NonNullable<FileContent['preview']>;

export class Messages {
  constructor(private readonly ctx: MessengerContext) {}

  /** Encrypts the file, uploads it as a blob of the group, and sends its key and hashes in a message. */
  sendFile(groupId: string, file: Uint8Array, name: string, mime: string, caption?: string): Promise<{ seq: number; clientMessageId: string }> {
    return this.sendFileStream(groupId, { open: () => [file], size: file.length, name, mime }, caption);
  }

  /**
   * Sends a file read from `file.open()` (called twice: a first pass hashes the sealed stream, which is the
   * blob's address; the second uploads it), in bounded memory whatever its size. Images get a preview made
   * on this device by `options.imagePreview`, sealed and uploaded as a blob of its own.
   */
  async sendFileStream(groupId: string, file: OutgoingFile, caption?: string): Promise<{ seq: number; clientMessageId: string }> {
    const { ctx } = this;
    // Checked before sealing or uploading anything: a too-large file fails at once, with the limit.
    const limit = ctx.options.maxAttachmentBytes ?? DEFAULT_MAX_BLOB_BYTES;
    if (sealedSize(file.size) > limit) throw new RangeError(`${file.name} is ${file.size} bytes; attachments are limited to ${limit - sealedSize(0)} bytes.`);
    // Uploads run outside the device lock: a large file does not hold up incoming messages.
    const attachment = await this.upload(groupId, file.open, file.size);
    const preview = await this.preview(groupId, file);
    const content: MessageContent = { type: 'file', name: file.name, mime: file.mime, size: file.size, blob: attachment.blob, key: b64(attachment.key), sha256: attachment.sha256, chunked: true, ...(preview && { preview }), ...(caption && { caption }) };
    return ctx.exclusive(() => this.sendLocked(groupId, content));
  }

  private async upload(groupId: string, open: () => ByteSource, size: number): Promise<StreamedAttachment> {
    const key = randomBytes(32);
    let plaintextHash = '';
    const blobHash = sha256.create();
    for await (const chunk of sealStream(open(), key, size, (digest) => (plaintextHash = digest))) blobHash.update(chunk);
    const blob = bytesToHex(blobHash.digest());
    // The same bytes again (the nonces are deterministic under a fresh key); the server checks the hash.
    await this.ctx.api.putBlobStream(groupId, blob, () => toReadableStream(sealStream(open(), key, size)));
    return { blob, key, sha256: plaintextHash, size };
  }

  /** A preview of an image, made here and uploaded sealed; none when no previewer is set or it cannot decode the file. */
  private async preview(groupId: string, file: OutgoingFile): Promise<FilePreview | undefined> {
    const make = this.ctx.options.imagePreview;
    if (!make || !file.mime.startsWith('image/')) return undefined;
    let made: ImagePreview | undefined;
    try {
      made = await make(file.open, file.mime);
    } catch {
      return undefined; // Not an image we can decode: the file goes without a preview.
    }
    if (!made || made.bytes.length > MAX_PREVIEW_BYTES) return undefined;
    const sealed = await this.upload(groupId, () => [made.bytes], made.bytes.length);
    return { blob: sealed.blob, key: b64(sealed.key), sha256: sealed.sha256, size: sealed.size, mime: made.mime, width: made.width, height: made.height };
  }

  /**
   * Downloads an attachment as a stream of checked plaintext chunks. Each chunk is authenticated before it
   * is yielded; the whole file's hashes are checked at the end, so keep what was written only if the
   * iteration finishes without an error.
   */
  async *downloadFileStream(groupId: string, content: FileContent): AsyncGenerator<Uint8Array> {
    const secret = { blob: content.blob, key: fromBase64Url(content.key), sha256: content.sha256, size: content.size };
    if (!content.chunked) {
      yield openAttachment(await this.ctx.api.getBlob(groupId, content.blob), secret); // sealed whole by an older sender
      return;
    }
    yield* openStream(await this.ctx.api.getBlobStream(groupId, content.blob), secret);
  }

  /** Downloads and checks an attachment received in a message, whole. */
  async downloadFile(groupId: string, content: FileContent): Promise<Uint8Array> {
    return collect(this.downloadFileStream(groupId, content));
  }

  /** The image preview the sender attached (downloaded and checked), if any. */
  async downloadPreview(groupId: string, content: FileContent): Promise<ImagePreview | undefined> {
    const p = content.preview;
    if (!p) return undefined;
    const bytes = await collect(openStream(await this.ctx.api.getBlobStream(groupId, p.blob), { blob: p.blob, key: fromBase64Url(p.key), sha256: p.sha256, size: p.size }));
    return { bytes, mime: p.mime, width: p.width, height: p.height };
  }

  async sendLocked(groupId: string, content: MessageContent): Promise<{ seq: number; clientMessageId: string }> {
    const { ctx } = this;
    const clientMessageId = newMessageId();
    const payload = encodeContent(content);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { state, meta } = await ctx.groupStore.require(groupId);
      // Rejoined by external commit, not yet confirmed by a member: maybe a fork the server made (groups/externalRejoin.ts).
      if (meta.unconfirmedRejoin) throw new RejoinUnconfirmed(groupId);
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
        await ctx.sync.syncLocked([groupId]);
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
