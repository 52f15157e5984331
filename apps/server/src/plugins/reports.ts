/**
 * Verified reports from private chats (message franking). The server checks the reporter's opening of
 * the sender's commitment and its own tag, so a report proves who sent exactly these bytes, where and when.
 */
import { intakeFrankedReport } from '@doublelock/cases';
import { ErrorCode, fromBase64Url, reportRequest, reportResponse } from '@doublelock/protocol';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '@noble/curves/utils.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';
import { frankingTag } from './groups.ts';

export function reportRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/v1/reports', { onRequest: auth.require, schema: { body: reportRequest, response: { 200: reportResponse } } }, async (request) => {
      const reporter = deviceOf(request);
      const r = request.body;
      // Members, and former members for what was ordered before their removal (they received it).
      if (!(await ctx.stores.delivery.wasMemberAt(r.groupId, reporter.deviceId, r.seq))) fail(ErrorCode.notMember, 'Only members of the group (then or now) can report its messages.');
      const payload = fromBase64Url(r.payload);
      const commitment = fromBase64Url(r.commitment);
      if (!equalBytes(hmac(sha256, fromBase64Url(r.frankingKey), payload), commitment)) {
        fail(ErrorCode.reportRejected, 'The reported text does not open the sender’s commitment.');
      }
      const expected = frankingTag(ctx.frankingKey, {
        commitment,
        groupId: r.groupId,
        seq: r.seq,
        senderUsername: r.sender.username,
        senderDeviceId: r.sender.deviceId,
        serverTime: r.serverTime,
        clientMessageId: r.clientMessageId,
      });
      if (!equalBytes(expected, fromBase64Url(r.tag))) fail(ErrorCode.reportRejected, 'The franking tag does not match this sender, group, time and message.');
      const reportId = await ctx.stores.reports.add({
        groupId: r.groupId,
        seq: r.seq,
        clientMessageId: r.clientMessageId,
        reporterDevice: reporter.deviceId,
        reporterUsername: reporter.username,
        sender: r.sender,
        payload,
        reason: r.reason,
        createdAt: ctx.now(),
      });
      // Into the moderators' queue at once (the case sweep catches it up should this fail).
      await intakeFrankedReport(ctx.cases.ctx, { reportId, sender: r.sender.username, reason: r.reason }).catch((error: unknown) => request.log.error({ err: error, reportId }, 'report intake failed'));
      return { reportId, verified: true as const };
    });
  };
}
