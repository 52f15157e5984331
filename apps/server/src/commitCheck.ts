/**
 * What a commit changes, read by the Delivery Service from the commit itself (RFC 9420 §6.2 PublicMessage,
 * §12.4 Commit). Commits must be public handshake messages: signed by the committer and membership-tagged,
 * but not encrypted, so the server can read their proposals instead of trusting the routing the client
 * declares (`commitRequest.adds/removes`). The store then checks the declaration, the group's leaves and
 * admins, and the key directory against this (packages/store/src/delivery.ts, `commit`).
 *
 * The server cannot check a member commit's signature or membership tag (that needs the group's secrets and
 * its GroupContext): a commit that members find invalid is voided later, when they report it
 * (`POST /v1/groups/:id/commits/:seq/rejections`). An external commit's signature it can check (§6.1: the
 * FramedContentTBS of a `new_member_commit` covers the GroupContext, which the GroupInfo it keeps for that epoch
 * carries), so it does. What it can check, it checks here: the framing, the group
 * and epoch, proposals sent inline and of the kinds our clients make (add, remove, the admin list), each
 * added KeyPackage's signature and that its credential names the device its key derives.
 */
import { ADMINS_EXTENSION_TYPE, EXTERNAL_REJOIN_OFF_EXTENSION_TYPE, externalRejoinAllowed, decodeAdmins, deviceId as deviceIdSchema, DomainError, ErrorCode, deviceIdFor, fromBase64Url, username as usernameSchema } from '@doublelock/protocol';
import { decodeMlsMessage, getCiphersuiteFromName, getCiphersuiteImpl, type CiphersuiteImpl, type CiphersuiteName, type Credential, type KeyPackage, type PublicMessage } from 'ts-mls';
import { verifyFramedContentSignature } from 'ts-mls/framedContent.js';
import { verifyGroupInfoSignature } from 'ts-mls/groupInfo.js';
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { treeHashRoot } from 'ts-mls/treeHash.js';
import { verifyKeyPackage } from 'ts-mls/keyPackage.js';
import type { CommitMembership } from '@doublelock/store';

const reject = (message: string): never => {
  throw new DomainError(ErrorCode.commitRejected, message);
};

const suites = new Map<CiphersuiteName, Promise<CiphersuiteImpl>>();
function suite(name: CiphersuiteName): Promise<CiphersuiteImpl> {
  let impl = suites.get(name);
  if (!impl) {
    impl = getCiphersuiteImpl(getCiphersuiteFromName(name));
    suites.set(name, impl);
  }
  return impl;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The device a leaf is for: `username:deviceId` in a basic credential, the id derived from the leaf's key. */
function leafDevice(credential: Credential, signaturePublicKey: Uint8Array, what: string): CommitMembership['adds'][number] {
  if (credential.credentialType !== 'basic') return reject(`${what} does not carry a device credential`);
  let text = '';
  try {
    text = decoder.decode(credential.identity);
  } catch {
    reject(`${what}’s credential is not UTF-8`);
  }
  const [username, deviceId, extra] = text.split(':');
  if (extra !== undefined || !usernameSchema.safeParse(username).success || !deviceIdSchema.safeParse(deviceId).success) {
    return reject(`${what}’s credential is not username:deviceId`);
  }
  if (deviceIdFor(signaturePublicKey) !== deviceId) reject(`${what} claims device ${deviceId}, but its key is another device’s`);
  return { username: username!, deviceId: deviceId!, signatureKey: signaturePublicKey };
}

/** The device an added KeyPackage is for, and the KeyPackage signed by it. */
async function addedDevice(keyPackage: KeyPackage): Promise<CommitMembership['adds'][number]> {
  const device = leafDevice(keyPackage.leafNode.credential, keyPackage.leafNode.signaturePublicKey, 'an added KeyPackage');
  const cs = await suite(keyPackage.cipherSuite).catch(() => reject(`an added KeyPackage uses an unsupported cipher suite (${keyPackage.cipherSuite})`));
  if (!(await verifyKeyPackage(keyPackage, cs.signature).catch(() => false))) reject(`the KeyPackage added for device ${device.deviceId} is not signed by that device`);
  return device;
}

/**
 * An external commit (RFC 9420 §12.4.3.2, sender `new_member_commit`): an ExternalInit, at most one Remove (the
 * joiner's old leaf, when it resyncs) and the path whose leaf is the joiner's. Which device may do it is the
 * store's decision (only a member device re-adding itself: DeliveryStore.commit).
 */
function externalMembership(commit: { proposals: Array<{ proposalOrRefType: string; proposal?: { proposalType: unknown } }>; path?: { leafNode: { credential: Credential; signaturePublicKey: Uint8Array } } }): CommitMembership {
  const removedLeaves: number[] = [];
  let inits = 0;
  for (const p of commit.proposals) {
    if (p.proposalOrRefType !== 'proposal' || !p.proposal) return reject('proposals must be sent inline in the commit');
    const proposal = p.proposal as { proposalType: unknown; remove?: { removed: number } };
    if (proposal.proposalType === 'external_init') inits++;
    else if (proposal.proposalType === 'remove') removedLeaves.push(proposal.remove!.removed);
    else reject(`an external commit with a ${String(proposal.proposalType)} proposal is not accepted here`);
  }
  if (inits !== 1 || removedLeaves.length > 1) reject('an external commit carries one ExternalInit and at most one Remove');
  if (!commit.path) return reject('an external commit needs a path');
  return { adds: [], removedLeaves, external: leafDevice(commit.path.leafNode.credential, commit.path.leafNode.signaturePublicKey, 'the external commit’s leaf') };
}

/**
 * A GroupInfo a committer leaves for the epoch its commit starts (RFC 9420 §12.4.3): for this group and that
 * epoch, with the `external_pub` extension, and signed by `signatureKey` (the committer's directory key). The
 * store checks that `signer` is the committer's leaf after the commit.
 */
export async function parseGroupInfo(bytes: Uint8Array, groupId: string, epoch: number, signatureKey: Uint8Array, tree?: Uint8Array): Promise<{ signer: number; tree?: Uint8Array }> {
  let message;
  try {
    message = decodeMlsMessage(bytes, 0)?.[0];
  } catch {
    message = undefined;
  }
  if (message?.wireformat !== 'mls_group_info') return reject('the group info is not an MLS GroupInfo');
  const info = message.groupInfo;
  if (Buffer.compare(Buffer.from(info.groupContext.groupId), Buffer.from(fromBase64Url(groupId))) !== 0) reject('the group info is for another group');
  if (info.groupContext.epoch !== BigInt(epoch)) reject(`the group info is for epoch ${info.groupContext.epoch}, the commit starts epoch ${epoch}`);
  if (!info.extensions.some((e) => e.extensionType === 'external_pub')) reject('the group info has no external_pub extension');
  if (!externalRejoinAllowed(info.groupContext.extensions)) reject('the group’s policy allows no external commits: no group info is kept');
  const cs = await suite(info.groupContext.cipherSuite).catch(() => reject(`the group info uses an unsupported cipher suite (${info.groupContext.cipherSuite})`));
  if (!(await verifyGroupInfoSignature(info, signatureKey, cs.signature).catch(() => false))) reject('the group info is not signed by the committing device');
  if (!tree) return { signer: info.signer };
  // The tree out of band (§12.4.3.3): only beside a GroupInfo without one, and the tree its signed context names.
  if (info.extensions.some((e) => e.extensionType === 'ratchet_tree')) reject('the group info carries its ratchet tree: send none beside it');
  let decoded;
  try {
    decoded = decodeRatchetTree(tree, 0);
  } catch {
    decoded = undefined;
  }
  if (!decoded || decoded[1] !== tree.length) return reject('the ratchet tree beside the group info does not decode');
  const hash = await treeHashRoot(decoded[0], cs.hash).catch(() => undefined);
  if (!hash || Buffer.compare(Buffer.from(hash), Buffer.from(info.groupContext.treeHash)) !== 0) reject('the ratchet tree beside the group info is not the one its tree hash names');
  return { signer: info.signer, tree };
}

/**
 * An external commit's FramedContent signature (RFC 9420 §6.1), verified under its own leaf's key — the store then
 * requires that key to be the joiner's logged device key — with the GroupContext of the GroupInfo kept for its
 * epoch. Without a kept GroupInfo the store refuses the commit anyway (no external commits at that epoch).
 */
async function checkExternalSignature(message: PublicMessage, keptGroupInfo: Uint8Array | undefined): Promise<void> {
  if (!keptGroupInfo) return reject('The group keeps no group info for this epoch, so it takes no external commits (its policy, or a tree too large): ask to be re-added.');
  const kept = decodeMlsMessage(keptGroupInfo, 0)?.[0];
  if (kept?.wireformat !== 'mls_group_info') return reject('the group info kept for this epoch does not decode');
  const content = message.content;
  if (content.contentType !== 'commit' || !content.commit.path) return reject('an external commit needs a path');
  const cs = await suite(kept.groupInfo.groupContext.cipherSuite).catch(() => reject('the group uses an unsupported cipher suite'));
  const valid = await verifyFramedContentSignature(content.commit.path.leafNode.signaturePublicKey, 'mls_public_message', content, message.auth, kept.groupInfo.groupContext, cs.signature).catch(() => false);
  if (!valid) reject('the external commit’s signature does not verify under its leaf’s key for this epoch’s group context');
}

/**
 * Reads a commit request's MLS message; refuses anything that is not a public member commit we can account for.
 * `keptGroupInfo(epoch)`: the GroupInfo kept for an epoch, to check an external commit's signature.
 */
export async function parseCommit(commit: Uint8Array, groupId: string, epoch: number, keptGroupInfo: (epoch: number) => Promise<Uint8Array | undefined> = async () => undefined): Promise<CommitMembership> {
  let message;
  try {
    message = decodeMlsMessage(commit, 0)?.[0];
  } catch {
    message = undefined;
  }
  if (!message) return reject('the commit is not an MLS message');
  if (message.wireformat !== 'mls_public_message') return reject('commits must be MLS PublicMessages (public handshake), so the Delivery Service can read their proposals');
  const content = message.publicMessage.content;
  if (content.contentType !== 'commit') return reject('the handshake message is not a commit');
  if (Buffer.compare(Buffer.from(content.groupId), Buffer.from(fromBase64Url(groupId))) !== 0) reject('the commit is for another group');
  if (content.epoch !== BigInt(epoch)) reject(`the commit is for epoch ${content.epoch}, the request says ${epoch}`);
  if (content.sender.senderType === 'new_member_commit') {
    const membership = externalMembership(content.commit);
    await checkExternalSignature(message.publicMessage, await keptGroupInfo(epoch));
    return membership;
  }
  if (content.sender.senderType !== 'member') return reject('only members’ commits and external commits are accepted');

  const adds: CommitMembership['adds'] = [];
  const removedLeaves: number[] = [];
  let admins: string[] | undefined;
  let extensionsProposals = 0;
  for (const p of content.commit.proposals) {
    if (p.proposalOrRefType !== 'proposal') return reject('proposals must be sent inline in the commit');
    const proposal = p.proposal;
    if (proposal.proposalType === 'add') adds.push(await addedDevice(proposal.add.keyPackage));
    else if (proposal.proposalType === 'remove') removedLeaves.push(proposal.remove.removed);
    else if (proposal.proposalType === 'group_context_extensions') {
      if (++extensionsProposals > 1) reject('a commit may change the group’s extensions once');
      const extensions = proposal.groupContextExtensions.extensions;
      // The rejoin policy (groupPolicy.ts) is carried over as it is: members refuse a commit that changes it.
      if (extensions.some((e) => e.extensionType !== ADMINS_EXTENSION_TYPE && e.extensionType !== EXTERNAL_REJOIN_OFF_EXTENSION_TYPE)) reject('the only group extensions members may set are the admin list and the rejoin policy');
      const ext = extensions.find((e) => e.extensionType === ADMINS_EXTENSION_TYPE);
      admins = ext ? (decodeAdmins(ext.extensionData) ?? reject('the admin list in the commit is malformed')) : [];
    } else reject(`a commit with a ${String(proposal.proposalType)} proposal is not accepted here`);
  }
  if (new Set(adds.map((a) => a.deviceId)).size !== adds.length) reject('a commit adds the same device twice');
  if (new Set(removedLeaves).size !== removedLeaves.length) reject('a commit removes the same leaf twice');
  return { senderLeaf: content.sender.leafIndex, adds, removedLeaves, ...(admins && { admins }) };
}
