/** Accounts, devices and authentication (sign a one-time server challenge, get a short-lived session). */
import {
  accountResponse,
  addDeviceRequest,
  addDeviceResponse,
  authResponseBytes,
  challengeRequest,
  challengeResponse,
  deviceCertificateBytes,
  deviceId as deviceIdSchema,
  deviceIdFor,
  deviceRevocationBytes,
  directoryEntryBytes,
  ErrorCode,
  fromBase64Url,
  registerRequest,
  registerResponse,
  revokeDeviceRequest,
  sessionRequest,
  sessionResponse,
  toBase64Url,
  username as usernameSchema,
  type DeviceCertificate,
} from '@doublelock/protocol';
import { directoryState, type DeviceRecord } from '@doublelock/store';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';
import { verifyEd25519 } from '../signatures.ts';

const REVOCATION_SKEW_MS = 10 * 60 * 1000;

function certifiedDevice(username: string, identityKey: Uint8Array, cert: DeviceCertificate): DeviceRecord {
  const signatureKey = fromBase64Url(cert.signatureKey);
  const accountSignature = fromBase64Url(cert.accountSignature);
  const signed = deviceCertificateBytes({ username, signatureKey, name: cert.name, createdAt: cert.createdAt });
  if (!verifyEd25519(accountSignature, signed, identityKey)) {
    fail(ErrorCode.badSignature, 'The device certificate is not signed by the account identity key.');
  }
  return { deviceId: deviceIdFor(signatureKey), username, signatureKey, name: cert.name, createdAt: cert.createdAt, accountSignature, revokedAt: null };
}

export function accountRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    const registerLimit = { rateLimit: { max: ctx.config.rateLimit.register, timeWindow: 60_000 } };
    const authLimit = { rateLimit: { max: ctx.config.rateLimit.auth, timeWindow: 60_000 } };

    app.post('/v1/accounts', { config: registerLimit, schema: { body: registerRequest, response: { 201: registerResponse } } }, async (request, reply) => {
      const { username, device } = request.body;
      const identityKey = fromBase64Url(request.body.identityKey);
      const record = certifiedDevice(username, identityKey, device);
      await ctx.stores.accounts.create({ username, identityKey, createdAt: ctx.now() }, record);
      await ctx.directory.publish();
      return reply.code(201).send({ username, deviceId: record.deviceId });
    });

    app.get('/v1/accounts/:username', { onRequest: auth.require, schema: { params: z.object({ username: usernameSchema }) } }, async (request) => {
      const account = await ctx.stores.accounts.get(request.params.username);
      if (!account) return fail(ErrorCode.notFound, `No account "${request.params.username}".`);
      const state = directoryState(account.username, account.identityKey, account.devices);
      const transparency = await ctx.directory.proof(account.username, directoryEntryBytes(state));
      return accountResponse.parse({ ...state, ...(transparency && { transparency }) });
    });

    app.post(
      '/v1/accounts/:username/devices',
      { config: registerLimit, schema: { params: z.object({ username: usernameSchema }), body: addDeviceRequest, response: { 201: addDeviceResponse } } },
      async (request, reply) => {
        const account = await ctx.stores.accounts.get(request.params.username);
        if (!account) return fail(ErrorCode.notFound, `No account "${request.params.username}".`);
        const record = certifiedDevice(account.username, account.identityKey, request.body.device);
        await ctx.stores.accounts.addDevice(record);
        await ctx.directory.publish();
        return reply.code(201).send({ deviceId: record.deviceId });
      },
    );

    app.post(
      '/v1/accounts/:username/devices/:deviceId/revoke',
      { config: registerLimit, schema: { params: z.object({ username: usernameSchema, deviceId: deviceIdSchema }), body: revokeDeviceRequest } },
      async (request) => {
        const { username, deviceId } = request.params;
        const account = await ctx.stores.accounts.get(username);
        const device = account?.devices.find((d) => d.deviceId === deviceId);
        if (!account || !device) return fail(ErrorCode.notFound, 'No such device on this account.');
        const { revokedAt } = request.body;
        if (Math.abs(revokedAt - ctx.now()) > REVOCATION_SKEW_MS) fail(ErrorCode.validation, 'revokedAt must be within 10 minutes of the server clock.');
        const signed = deviceRevocationBytes({ username, deviceId, revokedAt });
        if (!verifyEd25519(fromBase64Url(request.body.accountSignature), signed, account.identityKey)) {
          fail(ErrorCode.badSignature, 'The revocation is not signed by the account identity key.');
        }
        const revoked = await ctx.stores.accounts.revokeDevice(deviceId, revokedAt);
        auth.forgetDevice(deviceId);
        ctx.push.revoked([deviceId]); // its sockets close, here and on the other nodes
        await ctx.directory.publish();
        return { revoked };
      },
    );

    app.post('/v1/auth/challenge', { config: authLimit, schema: { body: challengeRequest, response: { 200: challengeResponse } } }, async (request) => {
      const device = await ctx.stores.accounts.device(request.body.deviceId);
      if (!device || device.username !== request.body.username) return fail(ErrorCode.notFound, 'No such device on this account.');
      if (device.revokedAt !== null) return fail(ErrorCode.deviceRevoked, 'This device has been revoked.');
      const challenge = randomBytes(32);
      const expiresAt = ctx.now() + ctx.config.challengeTtlMs;
      await ctx.stores.sessions.addChallenge(challenge, device.deviceId, expiresAt);
      return { challenge: toBase64Url(challenge), expiresAt };
    });

    app.post('/v1/auth/session', { config: authLimit, schema: { body: sessionRequest, response: { 200: sessionResponse } } }, async (request) => {
      const { username, deviceId } = request.body;
      const challenge = fromBase64Url(request.body.challenge);
      const taken = await ctx.stores.sessions.takeChallenge(challenge, ctx.now());
      if (!taken || taken.deviceId !== deviceId) return fail(ErrorCode.challengeInvalid, 'Unknown, used or expired challenge: request a new one.');
      const device = await ctx.stores.accounts.device(deviceId);
      if (!device || device.username !== username) return fail(ErrorCode.notFound, 'No such device on this account.');
      if (device.revokedAt !== null) return fail(ErrorCode.deviceRevoked, 'This device has been revoked.');
      const signature = fromBase64Url(request.body.signature);
      const valid = ctx.origins().some((origin) => verifyEd25519(signature, authResponseBytes({ challenge, username, deviceId, origin }), device.signatureKey));
      if (!valid) return fail(ErrorCode.badSignature, 'The challenge signature does not verify with this device key for this server.');
      const token = randomBytes(32);
      const expiresAt = ctx.now() + ctx.config.sessionTtlMs;
      await ctx.stores.sessions.addSession(sha256(token), { deviceId, username, expiresAt });
      return { token: toBase64Url(token), expiresAt };
    });

    app.get('/v1/devices/me', { onRequest: auth.require }, async (request) => deviceOf(request));
  };
}
