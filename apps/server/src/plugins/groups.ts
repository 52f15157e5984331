/**
 * Groups: the server as MLS Delivery Service. It orders each group's handshake and application messages,
 * accepts one commit per epoch, and fans every accepted message out to the member devices' mailboxes.
 */
import {
  commitRequest,
  commitRejectionBytes,
  commitRejectionRequest,
  commitRejectionResponse,
  commitResponse,
  createGroupRequest,
  ErrorCode,
  fromBase64Url,
  groupId as groupIdSchema,
  groupInfoResponse,
  MAX_GROUP_INFO_TREE_BYTES,
  groupResponse,
  lengthPrefixed,
  sendMessageRequest,
  deliveryRequest,
  deliveryResponse,
  sendMessageResponse,
  toBase64Url,
  type SendMessageRequest,
  type SendMessageResponse,
} from '@doublelock/protocol';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceOf, type AuthenticatedDevice, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { parseCommit, parseGroupInfo } from '../commitCheck.ts';
import { fail } from '../errors.ts';
import { verifyEd25519 } from '../signatures.ts';

export const FRANKING_TAG_LABEL = 'doublelock/franking-tag/v2';

/**
 * The server's franking tag: binds the sender's commitment to who sent it, where, when, and at which
 * position of the group's order (seq) — a report names exactly one message, so it can be counted once.
 */
export function frankingTag(
  key: Uint8Array,
  m: { commitment: Uint8Array; groupId: string; seq: number; senderUsername: string; senderDeviceId: string; serverTime: number; clientMessageId: string },
): Uint8Array {
  return hmac(
    sha256,
    key,
    lengthPrefixed(FRANKING_TAG_LABEL, m.commitment, fromBase64Url(m.groupId), String(m.seq), m.senderUsername, m.senderDeviceId, String(m.serverTime), m.clientMessageId),
  );
}

const groupParams = z.object({ groupId: groupIdSchema });
const commitParams = z.object({ groupId: groupIdSchema, seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export function groupRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', auth.require);

    app.post('/v1/groups', { schema: { body: createGroupRequest } }, async (request, reply) => {
      const device = deviceOf(request);
      ctx.quotas.groups.take(device.deviceId, 1, 'too many groups created by this device');
      await ctx.stores.delivery.createGroup(request.body.groupId, device, ctx.now());
      return reply.code(201).send({ groupId: request.body.groupId, epoch: 0, members: [device.deviceId] });
    });

    app.get('/v1/groups/:groupId', { schema: { params: groupParams, response: { 200: groupResponse } } }, async (request) => {
      const { groupId } = request.params;
      const group = await ctx.stores.delivery.group(groupId);
      if (!group) return fail(ErrorCode.notFound, 'No such group.');
      if (!group.members.includes(deviceOf(request).deviceId)) return fail(ErrorCode.notMember, 'This device is not a member of the group.');
      return { groupId, ...group };
    });

    // What a member device that lost its state rejoins from (external commit): the group's member devices only.
    app.get('/v1/groups/:groupId/group-info', { schema: { params: groupParams, response: { 200: groupInfoResponse } } }, async (request) => {
      const kept = await ctx.stores.delivery.groupInfo(request.params.groupId, deviceOf(request).deviceId);
      if (!kept) return fail(ErrorCode.notFound, 'No group info is kept for the group’s current epoch.');
      return { epoch: kept.epoch, groupInfo: toBase64Url(kept.groupInfo), ...(kept.ratchetTree && { ratchetTree: toBase64Url(kept.ratchetTree) }) };
    });

    // A large group's GroupInfo tree rides along (MAX_GROUP_INFO_TREE_BYTES, base64url): this route takes more.
    app.post('/v1/groups/:groupId/commits', { bodyLimit: ctx.config.bodyLimit + Math.ceil((MAX_GROUP_INFO_TREE_BYTES * 4) / 3), schema: { params: groupParams, body: commitRequest, response: { 200: commitResponse } } }, async (request) => {
      const sender = deviceOf(request);
      const body = request.body;
      const now = ctx.now();
      ctx.quotas.send(sender.deviceId, body.commit.length + (body.welcome?.length ?? 0) + (body.ratchetTree?.length ?? 0) + (body.groupInfo?.length ?? 0) + (body.groupInfoTree?.length ?? 0));
      // Members only, before any work on the commit's bytes.
      if (!(await ctx.stores.delivery.isMember(request.params.groupId, sender.deviceId))) {
        return fail(ErrorCode.notMember, 'This device is not a member of the group.');
      }
      // The commit's own proposals, not the routing the client declares, decide what changes (commitCheck.ts).
      const commit = fromBase64Url(body.commit);
      const membership = await parseCommit(commit, request.params.groupId, body.epoch, (epoch) => ctx.stores.delivery.groupInfoAt(request.params.groupId, epoch));
      // Nobody can be pulled into groups without bound: each added device has its own hourly quota.
      for (const added of membership.adds) if (added.deviceId !== sender.deviceId) ctx.quotas.added.take(added.deviceId, 1, 'this device was added to too many groups recently');
      // The GroupInfo for the next epoch must be signed by the committing device (its key in the directory).
      const groupInfo = body.groupInfo ? fromBase64Url(body.groupInfo) : undefined;
      const signer = groupInfo && (await ctx.stores.accounts.device(sender.deviceId))?.signatureKey;
      const tree = body.groupInfoTree ? fromBase64Url(body.groupInfoTree) : undefined;
      if (tree && !groupInfo) return fail(ErrorCode.commitRejected, 'A ratchet tree for a group info was sent without the group info.');
      const checkedInfo = groupInfo && signer && { bytes: groupInfo, ...(await parseGroupInfo(groupInfo, request.params.groupId, body.epoch + 1, signer, tree)) };
      const accepted = await ctx.stores.delivery.commit({
        groupId: request.params.groupId,
        sender,
        clientMessageId: body.clientMessageId,
        epoch: body.epoch,
        commit,
        membership,
        commitHash: sha256(commit),
        adds: body.adds,
        removes: body.removes,
        ...(body.welcome && { welcome: fromBase64Url(body.welcome) }),
        ...(body.ratchetTree && { ratchetTree: fromBase64Url(body.ratchetTree) }),
        ...(checkedInfo && { groupInfo: checkedInfo }),
        groupInfoQuotaBytes: ctx.config.groupInfoQuotaBytes,
        now,
        expiresAt: now + ctx.config.mailboxTtlMs,
      });
      if (!accepted.duplicate) {
        ctx.metrics.messagesAccepted.inc({ kind: 'commit' });
        ctx.metrics.deliveriesQueued.inc(accepted.recipients.length);
        ctx.push.delivered({ groupId: request.params.groupId, seq: accepted.seq, count: body.welcome ? 2 : 1 }, accepted.recipients);
      }
      return { epoch: accepted.epoch, seq: accepted.seq, serverTime: accepted.serverTime };
    });

    // A member reports a commit its MLS checks refused; enough reports void it (DeliveryStore.rejectCommit).
    app.post(
      '/v1/groups/:groupId/commits/:seq/rejections',
      { schema: { params: commitParams, body: commitRejectionRequest, response: { 200: commitRejectionResponse } } },
      async (request) => {
        const reporter = deviceOf(request);
        const { groupId, seq } = request.params;
        ctx.quotas.send(reporter.deviceId, request.body.reason.length);
        const now = ctx.now();
        const signature = fromBase64Url(request.body.signature);
        const verdict = await ctx.stores.delivery.rejectCommit({
          groupId,
          seq,
          reporter,
          reason: request.body.reason,
          signature,
          verify: (commit, signatureKey) => verifyEd25519(signature, commitRejectionBytes({ groupId, seq, ...commit }), signatureKey),
          now,
          expiresAt: now + ctx.config.mailboxTtlMs,
        });
        if (verdict.voided && verdict.noticeSeq !== undefined && verdict.recipients.length > 0) {
          request.log.warn({ groupId, seq, rejecting: verdict.rejecting }, 'commit voided: its members found it invalid');
          ctx.push.delivered({ groupId, seq: verdict.noticeSeq, count: 1 }, verdict.recipients);
        }
        return { voided: verdict.voided, rejecting: verdict.rejecting, needed: verdict.needed };
      },
    );

    app.post('/v1/groups/:groupId/messages', { schema: { params: groupParams, body: sendMessageRequest, response: { 200: sendMessageResponse } } }, async (request) =>
      acceptMessage(ctx, deviceOf(request), request.params.groupId, request.body),
    );

    // Delivery state of this device's own messages (what the messenger shows as "Delivered").
    app.post('/v1/groups/:groupId/delivery', { schema: { params: groupParams, body: deliveryRequest, response: { 200: deliveryResponse } } }, async (request) => ({
      delivery: await ctx.stores.delivery.deliveryOf(request.params.groupId, deviceOf(request).deviceId, [...new Set(request.body.seqs)]),
    }));
  };
}

/** Accepts an application message (from HTTP or the socket): persist with its fan-out, then push. */
export async function acceptMessage(ctx: ServerContext, sender: AuthenticatedDevice, groupId: string, body: SendMessageRequest): Promise<SendMessageResponse> {
  if (ctx.storage.full) fail(ErrorCode.storageFull, 'The server is out of storage: this send was refused. Retry later.');
  ctx.quotas.send(sender.deviceId, body.ciphertext.length);
  const now = ctx.now();
  const commitment = body.frankingCommitment ? fromBase64Url(body.frankingCommitment) : undefined;
  const ciphertext = fromBase64Url(body.ciphertext);
  const accepted = await ctx.stores.delivery.send({
    groupId,
    sender,
    clientMessageId: body.clientMessageId,
    epoch: body.epoch,
    ciphertext,
    ...(ctx.lawfulAccess && {
      retain: ctx.lawfulAccess.retention({ groupId, clientMessageId: body.clientMessageId, senderUsername: sender.username, senderDevice: sender.deviceId, serverTime: now, frame: ciphertext }),
    }),
    ...(commitment && {
      frankingCommitment: commitment,
      frankingTag: (serverTime: number, seq: number) =>
        frankingTag(ctx.frankingKey, { commitment, groupId, seq, senderUsername: sender.username, senderDeviceId: sender.deviceId, serverTime, clientMessageId: body.clientMessageId }),
    }),
    now,
    expiresAt: now + ctx.config.mailboxTtlMs,
  });
  if (!accepted.duplicate) {
    ctx.metrics.messagesAccepted.inc({ kind: 'application' });
    ctx.metrics.deliveriesQueued.inc(accepted.recipients.length);
    ctx.push.delivered({ groupId, seq: accepted.seq, count: 1 }, accepted.recipients, accepted.message, accepted.deliveries);
  }
  return { seq: accepted.seq, serverTime: accepted.serverTime, ...(accepted.frankingTag && { frankingTag: toBase64Url(accepted.frankingTag) }) };
}
