/**
 * Accounts, devices and authentication (sign a one-time server challenge, get a short-lived session).
 * Any active device of an account can add (certify) and revoke its other devices, as can the identity key:
 * a lost first device does not end device management. Revocations are kept with their signature and shown.
 */
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
  linkConfirmationResponse,
  registerRequest,
  registerResponse,
  revokeDeviceRequest,
  sessionRequest,
  sessionResponse,
  toBase64Url,
  username as usernameSchema,
  type DeviceCertificate,
} from '@doublelock/protocol';
import { directoryState, type AccountRecord, type DeviceRecord } from '@doublelock/store';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';
import { verifyEd25519 } from '../signatures.ts';

const REVOCATION_SKEW_MS = 10 * 60 * 1000;

/** The key that signs for the account: the identity key, or an active device of it named by `by`. */
function signerKey(account: AccountRecord | { identityKey: Uint8Array; devices: DeviceRecord[] }, by: string | undefined): Uint8Array {
  if (by === undefined) return account.identityKey;
  const signer = account.devices.find((d) => d.deviceId === by);
  if (!signer || signer.revokedAt !== null) return fail(ErrorCode.badSignature, `Device ${by} is not an active device of this account.`);
  return signer.signatureKey;
}

function certifiedDevice(username: string, account: { identityKey: Uint8Array; devices: DeviceRecord[] }, cert: DeviceCertificate): DeviceRecord {
  const signatureKey = fromBase64Url(cert.signatureKey);
  const accountSignature = fromBase64Url(cert.accountSignature);
  const signed = deviceCertificateBytes({ username, signatureKey, name: cert.name, createdAt: cert.createdAt });
  if (!verifyEd25519(accountSignature, signed, signerKey(account, cert.certifiedBy))) {
    fail(ErrorCode.badSignature, cert.certifiedBy ? `The device certificate is not signed by device ${cert.certifiedBy}.` : 'The device certificate is not signed by the account identity key.');
  }
  return {
    deviceId: deviceIdFor(signatureKey),
    username,
    signatureKey,
    name: cert.name,
    createdAt: cert.createdAt,
    accountSignature,
    certifiedBy: cert.certifiedBy ?? null,
    revokedAt: null,
    revocationSignature: null,
    revokedBy: null,
  };
}

export function accountRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    const registerLimit = { rateLimit: { max: ctx.config.rateLimit.register, timeWindow: 60_000 } };
    const authLimit = { rateLimit: { max: ctx.config.rateLimit.auth, timeWindow: 60_000 } };

    app.post('/v1/accounts', { config: registerLimit, schema: { body: registerRequest, response: { 201: registerResponse } } }, async (request, reply) => {
      const { username, device } = request.body;
      const identityKey = fromBase64Url(request.body.identityKey);
      if (device.certifiedBy) fail(ErrorCode.validation, 'The first device is certified by the identity key.');
      const record = certifiedDevice(username, { identityKey, devices: [] }, device);
      await ctx.stores.accounts.create({ username, identityKey, createdAt: ctx.now() }, record);
      await ctx.directory.publish();
      return reply.code(201).send({ username, deviceId: record.deviceId });
    });

    app.get('/v1/accounts/:username', { onRequest: auth.require, schema: { params: z.object({ username: usernameSchema }) } }, async (request) => {
      let account = await ctx.stores.accounts.get(request.params.username);
      if (!account) return fail(ErrorCode.notFound, `No account "${request.params.username}".`);
      if (account.version === 0) {
        // An account from before versioned directory entries: log its state once as version 1.
        await ctx.stores.accounts.requeueDirectoryEntry(account.username);
        account = (await ctx.stores.accounts.get(account.username))!;
      }
      const state = directoryState(account);
      const transparency = await ctx.directory.proof(account.username, directoryEntryBytes(state));
      return accountResponse.parse({ ...state, ...(transparency && { transparency }) });
    });

    app.post(
      '/v1/accounts/:username/devices',
      { config: registerLimit, schema: { params: z.object({ username: usernameSchema }), body: addDeviceRequest, response: { 201: addDeviceResponse } } },
      async (request, reply) => {
        const account = await ctx.stores.accounts.get(request.params.username);
        if (!account) return fail(ErrorCode.notFound, `No account "${request.params.username}".`);
        const record = certifiedDevice(account.username, account, request.body.device);
        const confirmation = request.body.linkConfirmation ? fromBase64Url(request.body.linkConfirmation) : undefined;
        await ctx.stores.accounts.addDevice(record, confirmation, ctx.now());
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
        const { revokedAt, revokedBy } = request.body;
        if (Math.abs(revokedAt - ctx.now()) > REVOCATION_SKEW_MS) fail(ErrorCode.validation, 'revokedAt must be within 10 minutes of the server clock.');
        const signed = deviceRevocationBytes({ username, deviceId, revokedAt });
        const signature = fromBase64Url(request.body.accountSignature);
        if (!verifyEd25519(signature, signed, signerKey(account, revokedBy))) {
          fail(ErrorCode.badSignature, revokedBy ? `The revocation is not signed by device ${revokedBy}.` : 'The revocation is not signed by the account identity key.');
        }
        const revoked = await ctx.stores.accounts.revokeDevice(deviceId, revokedAt, signature, revokedBy ?? null);
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

    // A device linked by code fetches what its approver left for it (see linkConfirmationBytes).
    app.get('/v1/devices/me/link', { onRequest: auth.require, schema: { response: { 200: linkConfirmationResponse } } }, async (request) => {
      const me = deviceOf(request);
      const confirmation = await ctx.stores.accounts.linkConfirmation(me.deviceId);
      if (!confirmation) return fail(ErrorCode.notFound, 'This device was not linked by code.');
      const device = await ctx.stores.accounts.device(me.deviceId);
      return { linkConfirmation: toBase64Url(confirmation), certifiedBy: device?.certifiedBy ?? null };
    });
  };
}
