/**
 * This device's KeyPackages (RFC 9420 §10): made here, private halves kept in storage under their
 * reference, public halves uploaded (one-time ones plus a last-resort one); and claiming other devices'
 * KeyPackages, checked to be the device the directory says they are.
 */
import { ADMINS_EXTENSION_TYPE, EXTERNAL_REJOIN_OFF_EXTENSION_TYPE, fromBase64Url } from '@doublelock/protocol';
import { bytesToHex } from '@noble/hashes/utils.js';
import { decodeMlsMessage, defaultCapabilities, defaultLifetime, encodeMlsMessage, generateKeyPackageWithKey, type KeyPackage, type PrivateKeyPackage } from 'ts-mls';
import { encodeKeyPackage, makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import type { ServerApi } from '../api/serverApi.ts';
import { b64, inParallel, type MessengerContext } from '../core/context.ts';
import { deviceCredential, parseDeviceCredential, type DeviceIdentity } from '../mls/credential.ts';
import { jsonWrite } from '../storage/storage.ts';

export interface StoredKeyPackage {
  publicPackage: string;
  initPrivateKey: string;
  hpkePrivateKey: string;
  lastResort: boolean;
}

export interface ClaimedKeyPackage {
  device: DeviceIdentity;
  keyPackage: KeyPackage;
}

/** ts-mls's capabilities plus our GroupContext extensions, admin list and rejoin policy (a joiner must support every extension in use). */
function capabilities() {
  const caps = defaultCapabilities();
  return { ...caps, extensions: [...caps.extensions, ADMINS_EXTENSION_TYPE, EXTERNAL_REJOIN_OFF_EXTENSION_TYPE] };
}

export class KeyPackages {
  /** Set when a Welcome consumed a one-time KeyPackage; the next processing round tops up. */
  joinedSinceTopUp = false;

  constructor(private readonly ctx: MessengerContext) {}

  async create(lastResort: boolean): Promise<{ publicPackage: KeyPackage; privatePackage: PrivateKeyPackage; stored: StoredKeyPackage; ref: string }> {
    const { ctx } = this;
    const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
      deviceCredential(ctx.me),
      capabilities(),
      defaultLifetime,
      [],
      { signKey: fromBase64Url(ctx.device.deviceSecret), publicKey: fromBase64Url(ctx.device.devicePublic) },
      ctx.cs,
    );
    const ref = bytesToHex(await makeKeyPackageRef(publicPackage, ctx.cs.hash));
    const stored: StoredKeyPackage = {
      publicPackage: b64(encodeKeyPackage(publicPackage)),
      initPrivateKey: b64(privatePackage.initPrivateKey),
      hpkePrivateKey: b64(privatePackage.hpkePrivateKey),
      lastResort,
    };
    return { publicPackage, privatePackage, stored, ref };
  }

  /** Keeps `keyPackageTarget` one-time KeyPackages (and a last-resort one) on the server. */
  async topUp(): Promise<number> {
    const { ctx } = this;
    const target = ctx.options.keyPackageTarget ?? 20;
    const count = await ctx.api.keyPackageCount();
    const missing = count.oneTime >= target / 2 ? 0 : target - count.oneTime;
    if (missing === 0 && count.lastResort) return 0;
    const fresh = await Promise.all(Array.from({ length: missing }, () => this.create(false)));
    const lastResort = count.lastResort ? undefined : await this.create(true);
    const all = lastResort ? [...fresh, lastResort] : fresh;
    // Keep the private halves before the public ones can be claimed.
    await ctx.storage.write(all.map((k) => jsonWrite(`kp/${k.ref}`, k.stored)));
    const wire = (k: { publicPackage: KeyPackage }) => b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: k.publicPackage }));
    await ctx.api.uploadKeyPackages(fresh.map(wire), lastResort && wire(lastResort));
    return all.length;
  }

  /**
   * One KeyPackage per active device of each user, checked to be the device it claims to be and accepted by
   * our authentication service (a device we would refuse in a commit is never added by us either).
   */
  async claim(usernames: string[]): Promise<ClaimedKeyPackage[]> {
    const { ctx } = this;
    const out: ClaimedKeyPackage[] = [];
    const claims = new Map<string, Awaited<ReturnType<ServerApi['claimKeyPackages']>>>();
    await inParallel(usernames, async (username) => {
      claims.set(username, await ctx.api.claimKeyPackages(username));
    });
    for (const username of usernames) {
      const { keyPackages } = claims.get(username)!;
      for (const claimed of keyPackages) {
        if (username === ctx.username && claimed.deviceId === ctx.deviceId) continue;
        const message = decodeMlsMessage(fromBase64Url(claimed.keyPackage), 0)?.[0];
        if (message?.wireformat !== 'mls_key_package') throw new Error(`the key directory returned a malformed KeyPackage for ${username}/${claimed.deviceId}`);
        const claimedIdentity = parseDeviceCredential(message.keyPackage.leafNode.credential);
        if (claimedIdentity?.username !== username || claimedIdentity.deviceId !== claimed.deviceId) {
          throw new Error(`the KeyPackage handed out for ${username}/${claimed.deviceId} belongs to someone else`);
        }
        const refused = await ctx.auth.check(message.keyPackage.leafNode.credential, message.keyPackage.leafNode.signaturePublicKey);
        if (refused) throw new Error(`not adding ${username}/${claimed.deviceId}: ${refused}`);
        out.push({ device: claimedIdentity, keyPackage: message.keyPackage });
      }
    }
    return out;
  }
}
