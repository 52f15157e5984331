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
import { newDeviceKeys, signDeviceCertificate, signRevocation, type AccountSigner, type DeviceRecord } from '../device.ts';
import { decodeLinkCode, linkConfirmation, LinkCodeError } from '../linkCode.ts';
import { identityKeyOf } from '../directory.ts';
import { safetyNumber } from '../safetyNumber.ts';
import { jsonWrite } from '../storage/storage.ts';

/**
 * Registers a new account on the server with a fresh first device; returns the device record, stored.
 * The identity key certifies that first device and is then destroyed: from then on devices certify and
 * revoke each other (devices/authority.ts), so revoking a lost device takes away all of its power — no
 * device keeps a key that outlives its own revocation. (The identity key stays the account's public
 * anchor: safety numbers are computed from it.)
 */
export async function registerAccount(options: MessengerOptions, username: string, deviceName: string): Promise<DeviceRecord> {
  const identitySecret = ed25519.utils.randomSecretKey();
  const identityKey = ed25519.getPublicKey(identitySecret);
  const keys = newDeviceKeys();
  const api = new ServerApi(options.serverUrl, options.fetch);
  const certificate = signDeviceCertificate(identitySecret, username, keys.publicKey, deviceName);
  identitySecret.fill(0);
  await api.register({ username, identityKey: b64(identityKey), device: certificate });
  const device: DeviceRecord = {
    server: options.serverUrl,
    username,
    deviceId: keys.deviceId,
    deviceSecret: b64(keys.secret),
    devicePublic: b64(keys.publicKey),
    identityKey: b64(identityKey),
  };
  await options.storage.write([jsonWrite('device', device), { key: `pin/${username}`, value: identityKey }]);
  return device;
}

export class DeviceManager {
  constructor(private readonly ctx: MessengerContext) {}

  /**
   * Approves a new device from the code it shows (linkCode.ts): certifies its key with this device's key and
   * leaves the confirmation only the code's reader can make. Then, once the new device has put up its
   * KeyPackages, adds it to every chat (polling up to `waitMs`; 0 = do not wait). True if it is in all chats.
   */
  async approve(code: string, name: string | undefined, waitMs: number): Promise<{ deviceId: string; inAllChats: boolean }> {
    const { ctx } = this;
    const link = decodeLinkCode(code);
    if (link.username !== ctx.username) throw new LinkCodeError(`This code is for the account ${link.username}, not ${ctx.username}.`);
    const certificate = signDeviceCertificate(this.signer(), ctx.username, link.signatureKey, name ?? 'linked device');
    const confirmation = linkConfirmation(link.secret, { username: ctx.username, identityKey: fromBase64Url(ctx.device.identityKey), deviceId: link.deviceId });
    await ctx.api.addDevice(ctx.username, certificate, b64(confirmation));
    ctx.directory.forget(ctx.username);
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (await this.inAllChats(link.deviceId)) return { deviceId: link.deviceId, inAllChats: true };
      if (Date.now() >= deadline) return { deviceId: link.deviceId, inAllChats: false };
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** Adds this account's devices that are missing from chats; true when `deviceId` is in every active chat. */
  private async inAllChats(deviceId: string): Promise<boolean> {
    await this.ctx.membership.reconcileDevices();
    return (await this.ctx.membership.groups()).every((g) => g.status !== 'active' || g.members.some((m) => m.deviceId === deviceId));
  }

  /** Revokes a device of this account and removes its leaves from every group this device is in. */
  async revoke(deviceId: string): Promise<void> {
    const { ctx } = this;
    if (deviceId === ctx.deviceId) throw new Error('A device cannot revoke itself here: revoke it from another device.');
    await ctx.api.revokeDevice(ctx.username, deviceId, signRevocation(this.signer(), ctx.username, deviceId));
    ctx.directory.forget(ctx.username);
    await ctx.membership.reconcileDevices();
  }

  async list() {
    return (await this.ctx.directory.account(this.ctx.username, { fresh: true }))?.devices ?? [];
  }

  /** This device's own key (any device can add and revoke); the identity key only on profiles made before issue 10. */
  signer(): AccountSigner {
    const { device } = this.ctx;
    return device.identitySecret ? { secret: fromBase64Url(device.identitySecret) } : { secret: fromBase64Url(device.deviceSecret), by: device.deviceId };
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
