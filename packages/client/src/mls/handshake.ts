/**
 * Handshake messages (RFC 9420 §6, §12.4): how this SDK frames the commits it makes and reads the ones it
 * receives, and how it joins from a Welcome.
 *
 * Two options, both standard:
 *  - `publicHandshake` (on by default): commits go out as PublicMessages (§6.2: signed, and authenticated
 *    with the membership key, not encrypted), so the Delivery Service can read which proposals a commit
 *    carries (and refuses commits it cannot read); other stacks (OpenMLS in Wire's core-crypto) accept only
 *    these. Application messages stay private.
 *  - `ratchetTreeInWelcome` (off by default): the Welcome's GroupInfo carries the `ratchet_tree` extension (§12.4.3.3), so a
 *    joiner needs nothing beside it; by default the tree travels beside the Welcome (smaller Welcome).
 * Whatever we send, we read both: a commit may come as a PrivateMessage or a PublicMessage, and a Welcome
 * with or without the tree extension.
 */
import {
  createCommit,
  emptyPskIndex,
  joinGroup,
  processPrivateMessage,
  processPublicMessage,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type CreateCommitOptions,
  type KeyPackage,
  type MLSMessage,
  type PrivateKeyPackage,
  type RatchetTree,
  type Welcome,
} from 'ts-mls';
import { decryptSenderData } from 'ts-mls/privateMessage.js';

export interface HandshakeOptions {
  /**
   * Send commits as MLS PublicMessages (readable by the Delivery Service, required by some stacks). On by
   * default: our server refuses commits it cannot read (apps/server/src/commitCheck.ts).
   */
  publicHandshake?: boolean;
  /** Put the ratchet tree into the Welcome (the `ratchet_tree` GroupInfo extension). */
  ratchetTreeInWelcome?: boolean;
  /**
   * Put the ratchet tree into the GroupInfo left for rejoining (groups/externalRejoin.ts). Default: when the
   * GroupInfo stays within 1 MiB; otherwise, and when false, the tree goes beside it (RFC 9420 §12.4.3.3).
   */
  ratchetTreeInGroupInfo?: boolean;
}

/** ts-mls `createCommit` options for these handshake options and proposals. */
export function commitOptions(options: HandshakeOptions | undefined, extra: Omit<CreateCommitOptions, 'wireAsPublicMessage' | 'ratchetTreeExtension'> = {}): CreateCommitOptions {
  return { ...extra, wireAsPublicMessage: options?.publicHandshake ?? true, ratchetTreeExtension: options?.ratchetTreeInWelcome ?? false };
}

/** Creates a commit of `proposals` (none: an update of our own path) under these options. */
export function commit(state: ClientState, cs: CiphersuiteImpl, options: HandshakeOptions | undefined, extra: Omit<CreateCommitOptions, 'wireAsPublicMessage' | 'ratchetTreeExtension'> = {}) {
  return createCommit({ state, cipherSuite: cs }, commitOptions(options, extra));
}

/** A commit as received: private or public. */
export type HandshakeMessage = Extract<MLSMessage, { wireformat: 'mls_private_message' | 'mls_public_message' }>;

/** Narrows a decoded MLS message to a handshake message, or undefined. */
export function asHandshake(message: MLSMessage | undefined): HandshakeMessage | undefined {
  return message?.wireformat === 'mls_private_message' || message?.wireformat === 'mls_public_message' ? message : undefined;
}

/** The epoch a handshake message is for (in clear in both wire formats). */
export function handshakeEpoch(message: HandshakeMessage): bigint {
  return message.wireformat === 'mls_private_message' ? message.privateMessage.epoch : message.publicMessage.content.epoch;
}

/**
 * Processes a received commit (or proposal). A PublicMessage's membership tag and signature, and a
 * PrivateMessage's AEAD and signature, are checked by ts-mls; the authentication service sees every new leaf.
 */
export async function processHandshake(state: ClientState, message: HandshakeMessage, cs: CiphersuiteImpl) {
  if (message.wireformat === 'mls_private_message') return processPrivateMessage(state, message.privateMessage, emptyPskIndex, cs);
  const result = await processPublicMessage(state, message.publicMessage, emptyPskIndex, cs);
  return { kind: 'newState' as const, ...result };
}

/**
 * The leaf that sent a handshake message, read in the epoch it was sent in: a PublicMessage names it in
 * clear; a PrivateMessage in its encrypted sender data. Undefined when it cannot be established.
 */
export async function handshakeSenderLeaf(state: ClientState, message: HandshakeMessage, cs: CiphersuiteImpl): Promise<{ leafIndex: number; tree: RatchetTree } | undefined> {
  const epoch = handshakeEpoch(message);
  const historical = epoch < state.groupContext.epoch ? state.historicalReceiverData.get(epoch) : undefined;
  const tree = historical ? historical.ratchetTree : state.ratchetTree;
  if (message.wireformat === 'mls_public_message') {
    const sender = message.publicMessage.content.sender;
    return sender.senderType === 'member' ? { leafIndex: sender.leafIndex, tree } : undefined;
  }
  const secret = historical ? historical.senderDataSecret : state.keySchedule.senderDataSecret;
  const senderData = await decryptSenderData(message.privateMessage, secret, cs).catch(() => undefined);
  return senderData ? { leafIndex: senderData.leafIndex, tree } : undefined;
}

/**
 * Joins from a Welcome. `ratchetTree` is the tree sent beside it; without one, the Welcome must carry the
 * `ratchet_tree` extension (ts-mls reads it from there).
 */
export function joinFromWelcome(
  welcome: Welcome,
  keyPackage: KeyPackage,
  privateKeys: PrivateKeyPackage,
  cs: CiphersuiteImpl,
  config: ClientConfig,
  ratchetTree?: RatchetTree,
): Promise<ClientState> {
  return joinGroup(welcome, keyPackage, privateKeys, emptyPskIndex, cs, ratchetTree, undefined, config);
}
