/**
 * Our MLS Authentication Service (RFC 9420 §5.3.1, §16.10). A leaf's credential is accepted only when
 *  1. it names `username:deviceId` and deviceId is the one derived from the leaf's signature key;
 *  2. the server's key directory lists that device for that account, not revoked;
 *  3. the device's certificate chain is valid — signed by the account identity key, or by another device of
 *     the account that was valid then (devices/authority.ts) — and that identity key is the one this client
 *     pinned for the account the first time it saw it (a changed key is refused, not trusted);
 *  4. a revocation counts only when the account signed it (a revocation the server made up is ignored).
 * Rejections are recorded with their reason, so the SDK can say why ts-mls refused a message.
 *
 * Time: a credential is judged as of a moment (`asOf`, the server time of the commit or message being
 * processed): a device revoked after that moment was a member then (its revocation is signed by the account
 * and its time is in the logged directory state), so an old add-commit of a since-revoked device still
 * applies for a device catching up. Without `asOf` (our own commits), the device must be active now.
 * A directory lookup that fails (server down, 503) is not a verdict: it is kept in `transientFailure`, and
 * the SDK retries the item later instead of refusing it.
 */
import { deviceIdFor, directoryEntryBytes, fromBase64Url, toBase64Url, type AccountResponse } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { AuthenticationService, Credential } from 'ts-mls';
import { isTransient } from '../core/transient.ts';
import { deviceStandings, type DeviceStanding } from '../devices/authority.ts';
import { parseDeviceCredential } from './credential.ts';

/** Where accounts come from (the server's key directory); `fresh` skips any cache. */
export interface KeyDirectory {
  account(username: string, options?: { fresh?: boolean }): Promise<AccountResponse | undefined>;
}

/** Trust-on-first-use pins of account identity keys (persisted by the SDK's storage). */
export interface IdentityPins {
  pinned(username: string): Promise<Uint8Array | undefined>;
  pin(username: string, identityKey: Uint8Array): Promise<void>;
}

export class CredentialRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialRejected';
  }
}

export class DirectoryAuthenticationService implements AuthenticationService {
  /** Reasons for the credentials refused since the last `takeRejections()`. */
  private rejections: string[] = [];

  /** The moment credentials are judged at (ms, server time); undefined = now. */
  asOf: number | undefined;

  /** A lookup error met since the last `takeRejections()` (the verdict could not be reached). */
  transientFailure: unknown;

  /** Device standings per account state already checked. */
  private readonly standings = new Map<string, Promise<Map<string, DeviceStanding>>>();

  constructor(
    private readonly directory: KeyDirectory,
    private readonly pins: IdentityPins,
    /** Ed25519 verification; defaults to @noble/curves, RFC 8032 strict (the SDK passes the suite's, mls/ed25519.ts). */
    private readonly verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => Promise<boolean> = async (sig, msg, key) => {
      try {
        return ed25519.verify(sig, msg, key, { zip215: false });
      } catch {
        return false;
      }
    },
  ) {}

  takeRejections(): string[] {
    const taken = this.rejections;
    this.rejections = [];
    this.transientFailure = undefined;
    return taken;
  }

  async validateCredential(credential: Credential, signaturePublicKey: Uint8Array): Promise<boolean> {
    let reason: string | undefined;
    try {
      reason = await this.check(credential, signaturePublicKey);
    } catch (error) {
      if (isTransient(error)) {
        this.transientFailure = error;
        return false;
      }
      reason = `the directory entry of ${parseDeviceCredential(credential)?.username ?? 'this member'} cannot be trusted: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (reason) this.rejections.push(reason);
    return reason === undefined;
  }

  /** Undefined when valid, else why not. */
  async check(credential: Credential, signaturePublicKey: Uint8Array): Promise<string | undefined> {
    const identity = parseDeviceCredential(credential);
    if (!identity) return 'credential is not a Doublelock device credential';
    const label = `${identity.username}/${identity.deviceId}`;
    if (deviceIdFor(signaturePublicKey) !== identity.deviceId) return `credential ${label} does not match its signature key`;
    let account = await this.directory.account(identity.username);
    let device = account?.devices.find((d) => d.deviceId === identity.deviceId);
    if (!device) {
      // A device added since we last looked: ask the directory again before refusing.
      account = await this.directory.account(identity.username, { fresh: true });
      device = account?.devices.find((d) => d.deviceId === identity.deviceId);
    }
    if (!account || !device) return `the key directory does not list device ${label}`;
    if (device.signatureKey !== toBase64Url(signaturePublicKey)) return `the key directory lists another key for device ${label}`;
    const identityKey = fromBase64Url(account.identityKey);
    const pinned = await this.pins.pinned(identity.username);
    if (pinned && toBase64Url(pinned) !== account.identityKey) return `the identity key of ${identity.username} changed since it was first seen`;
    const standing = await this.standing(account, device.deviceId);
    if (standing.certificateProblem) return standing.certificateProblem;
    if (standing.revokedAt !== null && (this.asOf === undefined || standing.revokedAt <= this.asOf)) return `device ${label} has been revoked`;
    if (!pinned) await this.pins.pin(identity.username, identityKey);
    return undefined;
  }

  /** The device's standing in this exact account state (cached per state: the chain is checked once). */
  async standing(account: AccountResponse, deviceId: string): Promise<DeviceStanding> {
    const cacheKey = `${account.username}|${account.version}|${directoryFingerprint(account)}`;
    let standings = this.standings.get(cacheKey);
    if (!standings) {
      standings = deviceStandings(account, this.verify);
      this.standings.set(cacheKey, standings);
      if (this.standings.size > 10_000) this.standings.delete(this.standings.keys().next().value!);
    }
    return (await standings).get(deviceId) ?? { certificateProblem: `device ${deviceId} is not listed`, revokedAt: null };
  }
}

/** A short hash of the account state as shown (its directory entry), to key caches by exact state. */
function directoryFingerprint(account: AccountResponse): string {
  return toBase64Url(sha256(directoryEntryBytes(account)).subarray(0, 16));
}
