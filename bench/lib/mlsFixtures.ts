/**
 * Set-up shared by bench/client.ts and bench/lib/messageBreakdown.ts: people with signed device
 * certificates in an in-memory key directory, our authentication service over it, KeyPackages, and a group
 * of n (the first creates it and adds the others in one commit; the second joins from the Welcome).
 */
import { deviceIdFor, toBase64Url, type AccountResponse } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  createCommit,
  createGroup,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  generateKeyPackageWithKey,
  joinGroup,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type KeyPackage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { signDeviceCertificate } from '../../packages/client/src/device.ts';
import { DirectoryAuthenticationService } from '../../packages/client/src/mls/authenticationService.ts';
import { deviceCredential } from '../../packages/client/src/mls/credential.ts';
import { clientConfig } from '../../packages/client/src/mls/suite.ts';

export interface Member {
  username: string;
  deviceId: string;
  secret: Uint8Array;
  publicKey: Uint8Array;
}

/** n accounts with one device each, as the key directory would list them. */
export function makeDirectory(n: number) {
  const accounts = new Map<string, AccountResponse>();
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const username = `user${i}`;
    const identitySecret = ed25519.utils.randomSecretKey();
    const secret = ed25519.utils.randomSecretKey();
    const publicKey = ed25519.getPublicKey(secret);
    const cert = signDeviceCertificate(identitySecret, username, publicKey, 'phone', 1);
    const deviceId = deviceIdFor(publicKey);
    accounts.set(username, {
      username,
      version: 1,
      previous: '',
      identityKey: toBase64Url(ed25519.getPublicKey(identitySecret)),
      devices: [
        { deviceId, signatureKey: cert.signatureKey, name: cert.name, createdAt: cert.createdAt, accountSignature: cert.accountSignature, certifiedBy: null, revokedAt: null, revocationSignature: null, revokedBy: null },
      ],
    });
    members.push({ username, deviceId, secret, publicKey });
  }
  return { accounts, members };
}

export function configFor(accounts: Map<string, AccountResponse>, cs: CiphersuiteImpl): ClientConfig {
  const pins = new Map<string, Uint8Array>();
  return clientConfig(
    new DirectoryAuthenticationService(
      { account: async (u) => accounts.get(u) },
      { pinned: async (u) => pins.get(u), pin: async (u, k) => void pins.set(u, k) },
      (sig, msg, key) => cs.signature.verify(key, msg, sig),
    ),
  );
}

export type Kp = { publicPackage: KeyPackage; privatePackage: PrivateKeyPackage };
export const keyPackage = (m: Member, cs: CiphersuiteImpl): Promise<Kp> =>
  generateKeyPackageWithKey(deviceCredential(m), defaultCapabilities(), defaultLifetime, [], { signKey: m.secret, publicKey: m.publicKey }, cs);

/** A group of `size` (members[0] creates it and adds the rest in one commit; members[1] joins): both states. */
export async function groupOf(size: number, members: Member[], cs: CiphersuiteImpl, config: ClientConfig): Promise<{ sender: ClientState; receiver: ClientState; commitMs: number; joinMs: number }> {
  const kps = await Promise.all(members.slice(0, size).map((m) => keyPackage(m, cs)));
  const creator = await createGroup(randomBytes(32), kps[0]!.publicPackage, kps[0]!.privatePackage, [], cs, config);
  const t = performance.now();
  const commit = await createCommit({ state: creator, cipherSuite: cs }, { extraProposals: kps.slice(1).map((k) => ({ proposalType: 'add' as const, add: { keyPackage: k.publicPackage } })) });
  const commitMs = performance.now() - t;
  const t2 = performance.now();
  const member = await joinGroup(commit.welcome!, kps[1]!.publicPackage, kps[1]!.privatePackage, emptyPskIndex, cs, commit.newState.ratchetTree, undefined, config);
  const joinMs = performance.now() - t2;
  return { sender: commit.newState, receiver: member, commitMs, joinMs };
}
