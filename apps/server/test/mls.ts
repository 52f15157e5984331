/**
 * Real MLS for server tests: ts-mls groups whose leaves are TestDevices (credential `username:deviceId`,
 * signed with the device's own key), and commit requests built from them as the SDK builds them — public
 * handshake messages, which the Delivery Service reads (src/commitCheck.ts).
 */
import { ADMINS_EXTENSION_TYPE, encodeAdmins, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  createCommit,
  createGroup,
  createGroupInfoWithExternalPub,
  createGroupInfoWithExternalPubAndRatchetTree,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  joinGroupExternal,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processPublicMessage,
  type ClientState,
  type LeafNode,
  type MLSMessage,
  type Proposal,
} from 'ts-mls';
import { defaultClientConfig } from 'ts-mls/clientConfig.js';
import { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js';

export const suite = getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));

export interface MlsDevice {
  deviceId: string;
  account: { username: string };
  keys: { secretKey: Uint8Array; publicKey: Uint8Array };
  /** This device's view of each group it is in. */
  mls: Map<string, ClientState>;
}

const credential = (d: MlsDevice) => ({ credentialType: 'basic' as const, identity: new TextEncoder().encode(`${d.account.username}:${d.deviceId}`) });

/** A KeyPackage of the device, signed with its key (its capabilities include the admin-list extension). */
/** A leaf extension type for tests (private-use range): a large one makes a large ratchet tree cheaply. */
export const FILLER_EXTENSION_TYPE = 0xf0aa;

export async function keyPackage(d: MlsDevice, signWith = d.keys, fillerBytes = 0) {
  const capabilities = defaultCapabilities();
  capabilities.extensions = [...capabilities.extensions, ADMINS_EXTENSION_TYPE, ...(fillerBytes > 0 ? [FILLER_EXTENSION_TYPE] : [])];
  const leafExtensions = fillerBytes > 0 ? [{ extensionType: FILLER_EXTENSION_TYPE, extensionData: new Uint8Array(fillerBytes).fill(0x5a) }] : [];
  return generateKeyPackageWithKey(credential(d), capabilities, defaultLifetime, [], { signKey: signWith.secretKey, publicKey: d.keys.publicKey }, await suite, leafExtensions);
}

/** Every device with a state in each group: an accepted commit moves them all on (see commitRequest's apply). */
const groupDevices = new Map<string, Set<MlsDevice>>();

/** `fillerBytes`: the creator's leaf carries an extension that large (a large tree without thousands of members). */
export async function createMlsGroup(d: MlsDevice, groupId: string, fillerBytes = 0): Promise<void> {
  const kp = await keyPackage(d, d.keys, fillerBytes);
  d.mls.set(groupId, await createGroup(fromBase64Url(groupId), kp.publicPackage, kp.privatePackage, [], await suite));
  groupDevices.set(groupId, new Set([d]));
}

/** Fresh Ed25519 keys (for a forger's signature). */
export function newSigningKeys() {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** A modified client: the commit request with its MLS message decoded, changed by `edit` and encoded again. */
export function tamper<T extends { commit: string }>(body: T, edit: (m: MLSMessage) => void): T {
  const message = decodeMlsMessage(fromBase64Url(body.commit), 0)![0];
  edit(message);
  return { ...body, commit: toBase64Url(encodeMlsMessage(message)) };
}

/** The leaf index of a device in a group state. */
export function leafOf(state: ClientState, d: { deviceId: string }): number {
  const index = state.ratchetTree.findIndex((n) => n?.nodeType === 'leaf' && n.leaf.credential.credentialType === 'basic' && new TextDecoder().decode(n.leaf.credential.identity).endsWith(`:${d.deviceId}`));
  if (index < 0) throw new Error(`device ${d.deviceId} is not in the group`);
  return index / 2;
}

export interface Changes {
  add?: MlsDevice[];
  remove?: Array<{ deviceId: string }>;
  admins?: string[];
  /** Extra raw proposals (attacks). */
  proposals?: Proposal[];
  /** A private commit (the SDK's old default framing). */
  private?: boolean;
  /** Leave the GroupInfo of the new epoch (with its tree inside, or 'outOfBand': beside it). */
  groupInfo?: boolean | 'outOfBand';
}

/** The GroupInfo (MLSMessage, base64url) of a state, with external_pub and the ratchet tree, as the SDK leaves it. */
export async function groupInfoOf(state: ClientState): Promise<string> {
  const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(state, [], await suite);
  return toBase64Url(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo }));
}

/** What a commit leaves for rejoining: nothing, a GroupInfo with its tree, or one with its tree beside it. */
async function leftGroupInfo(state: ClientState, how: boolean | 'outOfBand' | undefined): Promise<{ groupInfo?: string; groupInfoTree?: string }> {
  if (!how) return {};
  return how === 'outOfBand' ? groupInfoOutOfBand(state) : { groupInfo: await groupInfoOf(state) };
}

/** A GroupInfo without its tree, and the tree beside it (RFC 9420 §12.4.3.3), as the SDK leaves a large group's. */
export async function groupInfoOutOfBand(state: ClientState): Promise<{ groupInfo: string; groupInfoTree: string }> {
  const groupInfo = await createGroupInfoWithExternalPub(state, [], await suite);
  return { groupInfo: toBase64Url(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo })), groupInfoTree: toBase64Url(encodeRatchetTree(state.ratchetTree)) };
}

/**
 * An external commit by `d` from a GroupInfo (RFC 9420 §12.4.3.2), from a fresh KeyPackage of `d` (its own key):
 * with `resync` it removes `d`'s old leaf (a lost device rejoining), without it `d` joins as a new member.
 */
export async function externalCommitRequest(d: MlsDevice, groupInfo: string, resync: boolean, inPlaceOf?: { deviceId: string }, tree?: string) {
  const message = decodeMlsMessage(fromBase64Url(groupInfo), 0)![0];
  if (message.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
  const kp = await keyPackage(d);
  // ts-mls finds "the joiner's old leaf" with this comparison: pointed at another device's leaf, it removes that one (validly signed).
  const config = inPlaceOf && {
    ...defaultClientConfig,
    keyPackageEqualityConfig: { compareKeyPackageToLeafNode: (_: unknown, leaf: LeafNode) => leaf.credential.credentialType === 'basic' && new TextDecoder().decode(leaf.credential.identity).endsWith(`:${inPlaceOf.deviceId}`) },
  };
  const outOfBand = tree ? decodeRatchetTree(fromBase64Url(tree), 0)![0] : undefined;
  const { publicMessage, newState } = await joinGroupExternal(message.groupInfo, kp.publicPackage, kp.privatePackage, resync, await suite, outOfBand, config as typeof defaultClientConfig | undefined);
  const body = {
    clientMessageId: toBase64Url(randomBytes(12)),
    epoch: Number(message.groupInfo.groupContext.epoch),
    commit: toBase64Url(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage })),
    adds: [] as string[],
    removes: [] as string[],
    ...(await leftGroupInfo(newState, tree ? 'outOfBand' : true)),
  };
  return { body, newState };
}

/**
 * A commit request from `d` making these changes: `body` is what the SDK would send (declared adds/removes
 * match the commit); `apply()` moves `d` (and the added devices, from the Welcome) to the new epoch.
 */
export async function commitRequest(d: MlsDevice, groupId: string, changes: Changes = {}) {
  const cs = await suite;
  const state = d.mls.get(groupId);
  if (!state) throw new Error(`${d.deviceId} has no state for ${groupId}`);
  const added = await Promise.all((changes.add ?? []).map(async (a) => ({ device: a, kp: await keyPackage(a) })));
  const proposals: Proposal[] = [
    ...(changes.remove ?? []).map((r): Proposal => ({ proposalType: 'remove', remove: { removed: leafOf(state, r) } })),
    ...added.map(({ kp }): Proposal => ({ proposalType: 'add', add: { keyPackage: kp.publicPackage } })),
    ...(changes.admins ? [{ proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [{ extensionType: ADMINS_EXTENSION_TYPE, extensionData: encodeAdmins(changes.admins) }] } } as Proposal] : []),
    ...(changes.proposals ?? []),
  ];
  const result = await createCommit({ state, cipherSuite: cs }, { extraProposals: proposals, wireAsPublicMessage: !changes.private, ratchetTreeExtension: false });
  const body = {
    clientMessageId: toBase64Url(randomBytes(12)),
    epoch: Number(state.groupContext.epoch),
    commit: toBase64Url(encodeMlsMessage(result.commit)),
    adds: added.map((a) => a.device.deviceId),
    removes: (changes.remove ?? []).map((r) => r.deviceId),
    ...(result.welcome && {
      welcome: toBase64Url(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome })),
      ratchetTree: toBase64Url(encodeRatchetTree(result.newState.ratchetTree)),
    }),
    ...(await leftGroupInfo(result.newState, changes.groupInfo)),
  };
  const apply = async () => {
    const devices = groupDevices.get(groupId) ?? new Set();
    for (const other of devices) {
      if (other === d || added.some((a) => a.device === other)) continue; // re-added devices join from the Welcome
      const theirs = other.mls.get(groupId);
      if (!theirs || result.commit.wireformat !== 'mls_public_message') continue;
      const processed = await processPublicMessage(theirs, result.commit.publicMessage, emptyPskIndex, cs);
      if (processed.newState.groupActiveState.kind === 'removedFromGroup') {
        other.mls.delete(groupId);
        devices.delete(other);
      } else other.mls.set(groupId, processed.newState);
    }
    d.mls.set(groupId, result.newState);
    for (const a of added) {
      a.device.mls.set(groupId, await joinGroup(result.welcome!, a.kp.publicPackage, a.kp.privatePackage, emptyPskIndex, cs, result.newState.ratchetTree));
      devices.add(a.device);
    }
    groupDevices.set(groupId, devices);
  };
  return { body, apply, commit: result.commit };
}

