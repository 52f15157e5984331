/**
 * The account and its devices: registering the first device (which keeps the account identity key),
 * provisioning and revoking devices, and safety numbers. Device records live in storage under `device`;
 * identity keys are pinned on first use under `pin/<username>`.
 */
import { fromBase64Url } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ServerApi } from '../api/serverApi.ts';
import { b64, type MessengerContext } from '../core/context.ts';
import type { MessengerOptions } from '../core/types.ts';
import { newDeviceKeys, signDeviceCertificate, signRevocation, type DeviceProvisioning, type DeviceRecord } from '../device.ts';
import { identityKeyOf } from '../directory.ts';
import { safetyNumber } from '../safetyNumber.ts';
import { jsonWrite } from '../storage/storage.ts';

/** Registers a new account on the server with a fresh first device; returns the device record, stored. */
export async function registerAccount(options: MessengerOptions, username: string, deviceName: string): Promise<DeviceRecord> {
  const identitySecret = ed25519.utils.randomSecretKey();
  const identityKey = ed25519.getPublicKey(identitySecret);
  const keys = newDeviceKeys();
  const api = new ServerApi(options.serverUrl, options.fetch);
  await api.register({ username, identityKey: b64(identityKey), device: signDeviceCertificate(identitySecret, username, keys.publicKey, deviceName) });
  const device: DeviceRecord = {
    server: options.serverUrl,
    username,
    deviceId: keys.deviceId,
    deviceSecret: b64(keys.secret),
    devicePublic: b64(keys.publicKey),
    identityKey: b64(identityKey),
    identitySecret: b64(identitySecret),
  };
  await options.storage.write([jsonWrite('device', device), { key: `pin/${username}`, value: identityKey }]);
  return device;
}

/** Stores the device record a provisioning hands over; returns it. */
export async function storeProvisionedDevice(options: MessengerOptions, p: DeviceProvisioning): Promise<DeviceRecord> {
  const secret = fromBase64Url(p.deviceSecret);
  const device: DeviceRecord = {
    server: p.server,
    username: p.username,
    deviceId: p.deviceId,
    deviceSecret: p.deviceSecret,
    devicePublic: b64(ed25519.getPublicKey(secret)),
    identityKey: p.identityKey,
  };
  await options.storage.write([jsonWrite('device', device), { key: `pin/${p.username}`, value: fromBase64Url(p.identityKey) }]);
  return device;
}

export class DeviceManager {
  constructor(private readonly ctx: MessengerContext) {}

  /** Registers a new device for this account, signed with the account key; hand the result to it. */
  async provision(name: string): Promise<DeviceProvisioning> {
    const { ctx } = this;
    const identitySecret = this.identitySecret();
    const keys = newDeviceKeys();
    await ctx.api.addDevice(ctx.username, signDeviceCertificate(identitySecret, ctx.username, keys.publicKey, name));
    ctx.directory.forget(ctx.username);
    return { server: ctx.device.server, username: ctx.username, deviceId: keys.deviceId, deviceSecret: b64(keys.secret), identityKey: ctx.device.identityKey };
  }

  /** Revokes a device of this account and removes its leaves from every group this device is in. */
  async revoke(deviceId: string): Promise<void> {
    const { ctx } = this;
    if (deviceId === ctx.deviceId) throw new Error('A device cannot revoke itself here: revoke it from another device.');
    await ctx.api.revokeDevice(ctx.username, deviceId, signRevocation(this.identitySecret(), ctx.username, deviceId));
    ctx.directory.forget(ctx.username);
    await ctx.membership.reconcileDevices();
  }

  async list() {
    return (await this.ctx.directory.account(this.ctx.username, { fresh: true }))?.devices ?? [];
  }

  private identitySecret(): Uint8Array {
    if (!this.ctx.device.identitySecret) throw new Error('Only a device holding the account key can add or revoke devices.');
    return fromBase64Url(this.ctx.device.identitySecret);
  }

  /** The 60-digit safety number of this account and another, from the identity keys pinned here. */
  async safetyNumber(username: string): Promise<string> {
    const { ctx } = this;
    const account = await ctx.directory.account(username, { fresh: true });
    if (!account) throw new Error(`No account "${username}".`);
    const pinned = await ctx.storage.get(`pin/${username}`);
    if (pinned && b64(pinned) !== account.identityKey) throw new Error(`The identity key of ${username} changed since it was first seen: do not trust this contact until you have checked.`);
    return safetyNumber({ username: ctx.username, identityKey: fromBase64Url(ctx.device.identityKey) }, { username, identityKey: identityKeyOf(account) });
  }
}
