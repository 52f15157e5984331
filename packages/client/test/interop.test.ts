/**
 * Standard MLS, proven against an independent implementation: our SDK's MLS layer (ts-mls with our cipher
 * suite, crypto provider and handshake options, src/mls/) against OpenMLS, as Wire ships it in
 * `@wireapp/core-crypto` (Rust compiled to WebAssembly; test/openmls.ts loads it in Node).
 *
 * Two of ours (A, D) and two of theirs (B, C) share one group. A group we create is joined by them from our
 * Welcome and vice versa; add, update and remove commits made on each side are processed on the other;
 * after every step all members agree on the epoch and on an exported secret (RFC 9420 §8.5); application
 * messages are read both ways. Core-crypto insists on the ratchet tree inside the Welcome and on public
 * handshake messages: our SDK's `ratchetTreeInWelcome` and `publicHandshake` options, which the test
 * shows it needs (without them the other stack refuses). The other stack's client-id format
 * (`<uuid>:<device>@<domain>`) is used for everyone in this test only, with an authentication service
 * that accepts exactly that format (identity checks are the subject of other tests).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import {
  createApplicationMessage,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  mlsExporter,
  processPrivateMessage,
  emptyPskIndex,
  type AuthenticationService,
  type ClientState,
  type Credential,
  type KeyPackage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { decodeKeyPackage, encodeKeyPackage } from 'ts-mls/keyPackage.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { asHandshake, commit, joinFromWelcome, processHandshake, type HandshakeOptions } from '../src/mls/handshake.ts';
import { clientConfig, suiteImpl, CIPHERSUITE } from '../src/mls/suite.ts';
import type { CredentialRef } from '@wireapp/core-crypto/browser';
import { loadCoreCrypto, type CoreCryptoModule } from './openmls.ts';

const DOMAIN = 'interop.doublelock.test';
const WIRE_CLIENT_ID = /^[0-9a-f-]{36}:[0-9a-f]+@interop\.doublelock\.test$/;
const INTEROP: HandshakeOptions = { publicHandshake: true, ratchetTreeInWelcome: true };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Accepts basic credentials in the other stack's client-id format, and records what it saw. */
class WireFormatAuthenticationService implements AuthenticationService {
  readonly seen = new Set<string>();
  async validateCredential(credential: Credential): Promise<boolean> {
    if (credential.credentialType !== 'basic') return false;
    const id = text(credential.identity);
    this.seen.add(id);
    return WIRE_CLIENT_ID.test(id);
  }
}

let cc: CoreCryptoModule;
const cs = await suiteImpl();
const auth = new WireFormatAuthenticationService();
const config = clientConfig(auth);

/** One of theirs: a core-crypto instance with an in-memory database and a transport that keeps commits. */
async function theirs(name: string) {
  const suite = cc.CipherSuite.Mls128Dhkemx25519Chacha20poly1305Sha256Ed25519;
  const clientId = new cc.ClientId(new cc.Uuid(crypto.randomUUID()), new cc.DeviceId(BigInt(1 + Math.floor(Math.random() * 1e6))), DOMAIN);
  const sent: Array<{ commit: Uint8Array; welcome?: { serialize(): Uint8Array } }> = [];
  const core = cc.CoreCrypto.new(await cc.Database.inMemory());
  let credential!: CredentialRef;
  await core.transaction(async (ctx) => {
    await ctx.mlsInit(clientId, { sendCommitBundle: async (bundle) => void sent.push(bundle), prepareForTransport: async () => new Uint8Array() });
    credential = await ctx.addCredential(cc.Credential.basic(suite, clientId));
  });
  const lastCommit = () => {
    const bundle = sent.pop();
    if (!bundle) throw new Error(`${name} sent no commit`);
    return { commit: bundle.commit, welcome: bundle.welcome?.serialize() };
  };
  return {
    name,
    id: text(clientId.copyBytes()),
    clientId,
    core,
    keyPackage: () => core.transaction(async (ctx) => (await ctx.generateKeyPackage(credential)).serialize()),
    create: (conv: InstanceType<CoreCryptoModule['ConversationId']>) => core.transaction((ctx) => ctx.createConversation(conv, credential)),
    lastCommit,
  };
}
type Theirs = Awaited<ReturnType<typeof theirs>>;

/** One of ours: a device key, a KeyPackage in the other stack's id format, then a ts-mls state. */
async function ours(name: string) {
  const clientId = new cc.ClientId(new cc.Uuid(crypto.randomUUID()), new cc.DeviceId(BigInt(1 + Math.floor(Math.random() * 1e6))), DOMAIN);
  const secret = ed25519.utils.randomSecretKey();
  const kp = await generateKeyPackageWithKey({ credentialType: 'basic', identity: clientId.copyBytes() }, defaultCapabilities(), defaultLifetime, [], { signKey: secret, publicKey: ed25519.getPublicKey(secret) }, cs);
  return { name, id: text(clientId.copyBytes()), clientId, kp: kp as { publicPackage: KeyPackage; privatePackage: PrivateKeyPackage }, state: undefined as ClientState | undefined };
}
type Ours = Awaited<ReturnType<typeof ours>>;

const exported = async (member: Ours | Theirs, conv: InstanceType<CoreCryptoModule['ConversationId']>) =>
  'core' in member
    ? bytesToHex(await member.core.transaction(async (ctx) => (await ctx.exportSecretKey(conv, 32)).copyBytes()))
    : bytesToHex(await mlsExporter(member.state!.keySchedule.exporterSecret, 'exporter', new Uint8Array(0), 32, cs));
const epochOf = async (member: Ours | Theirs, conv: InstanceType<CoreCryptoModule['ConversationId']>) =>
  'core' in member ? await member.core.transaction((ctx) => ctx.conversationEpoch(conv)) : member.state!.groupContext.epoch;

/** Every member at the same epoch with the same exported secret. */
async function agree(members: Array<Ours | Theirs>, conv: InstanceType<CoreCryptoModule['ConversationId']>, epoch: bigint) {
  for (const m of members) expect(await epochOf(m, conv), `${m.name}'s epoch`).toBe(epoch);
  const secrets = await Promise.all(members.map((m) => exported(m, conv)));
  expect(new Set(secrets).size, `exported secrets of ${members.map((m) => m.name).join(', ')}`).toBe(1);
}

/** An MLS message from the other stack, processed by ours. */
async function weProcess(member: Ours, bytes: Uint8Array) {
  const message = asHandshake(decodeMlsMessage(bytes, 0)?.[0]);
  if (!message) throw new Error('not a handshake message');
  const result = await processHandshake(member.state!, message, cs);
  member.state = result.newState;
  return result;
}

const theyProcess = (member: Theirs, conv: InstanceType<CoreCryptoModule['ConversationId']>, bytes: Uint8Array) => member.core.transaction((ctx) => ctx.decryptMessage(conv, bytes));

describe('interoperability with OpenMLS (Wire core-crypto, WebAssembly)', () => {
  beforeAll(async () => {
    cc = await loadCoreCrypto();
  }, 60_000);

  it('uses our cipher suite, which both stacks implement', () => {
    expect(CIPHERSUITE).toBe('MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519');
  });

  it('a group of ours and theirs: joins both ways, add/update/remove commits both ways, same epoch and secrets throughout', { timeout: 120_000 }, async () => {
    const A = await ours('A (ours)');
    const D = await ours('D (ours)');
    const B = await theirs('B (theirs)');
    const C = await theirs('C (theirs)');
    const groupId = randomBytes(16);
    const conv = new cc.ConversationId(groupId);

    // We create; B joins from our Welcome.
    const created = await createGroup(groupId, A.kp.publicPackage, A.kp.privatePackage, [], cs, config);
    const bPackage = decodeKeyPackage(await B.keyPackage(), 0)![0];
    const addB = await commit(created, cs, INTEROP, { extraProposals: [{ proposalType: 'add', add: { keyPackage: bPackage } }] });
    A.state = addB.newState;
    expect(addB.commit.wireformat).toBe('mls_public_message');
    const welcomeForB = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: addB.welcome! });
    await B.core.transaction((ctx) => ctx.processWelcomeMessage(new cc.Welcome(welcomeForB)));
    await agree([A, B], conv, 1n);
    expect(auth.seen.has(B.id)).toBe(true); // our AS judged their credential

    // B adds D (ours): A processes B's commit, D joins from B's Welcome (the tree inside it).
    await B.core.transaction((ctx) => ctx.addClientsToConversation(conv, [new cc.KeyPackage(encodeKeyPackage(D.kp.publicPackage))]));
    const addD = B.lastCommit();
    const processed = await weProcess(A, addD.commit);
    expect(processed.kind).toBe('newState');
    const welcomeForD = decodeMlsMessage(addD.welcome!, 0)![0];
    if (welcomeForD.wireformat !== 'mls_welcome') throw new Error('not a Welcome');
    D.state = await joinFromWelcome(welcomeForD.welcome, D.kp.publicPackage, D.kp.privatePackage, cs, config);
    await agree([A, B, D], conv, 2n);

    // A adds C (theirs): B and D process; C joins.
    const cPackage = decodeKeyPackage(await C.keyPackage(), 0)![0];
    const addC = await commit(A.state, cs, INTEROP, { extraProposals: [{ proposalType: 'add', add: { keyPackage: cPackage } }] });
    A.state = addC.newState;
    await theyProcess(B, conv, encodeMlsMessage(addC.commit));
    await weProcess(D, encodeMlsMessage(addC.commit));
    await C.core.transaction((ctx) => ctx.processWelcomeMessage(new cc.Welcome(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: addC.welcome! }))));
    await agree([A, B, C, D], conv, 3n);

    // B updates its keys (a path commit): A and D process, C too.
    await B.core.transaction((ctx) => ctx.updateKeyingMaterial(conv));
    const updateB = B.lastCommit();
    await weProcess(A, updateB.commit);
    await weProcess(D, updateB.commit);
    await theyProcess(C, conv, updateB.commit);
    await agree([A, B, C, D], conv, 4n);

    // A updates (an empty commit carries a path): B, C and D process.
    const updateA = await commit(A.state, cs, INTEROP);
    A.state = updateA.newState;
    for (const them of [B, C]) await theyProcess(them, conv, encodeMlsMessage(updateA.commit));
    await weProcess(D, encodeMlsMessage(updateA.commit));
    await agree([A, B, C, D], conv, 5n);

    // A removes C: B and D process; C learns it is out.
    const cLeaf = A.state.ratchetTree.findIndex((n) => n?.nodeType === 'leaf' && n.leaf.credential.credentialType === 'basic' && text(n.leaf.credential.identity) === C.id) / 2;
    const removeC = await commit(A.state, cs, INTEROP, { extraProposals: [{ proposalType: 'remove', remove: { removed: cLeaf } }] });
    A.state = removeC.newState;
    await theyProcess(B, conv, encodeMlsMessage(removeC.commit));
    await weProcess(D, encodeMlsMessage(removeC.commit));
    const cOut = await theyProcess(C, conv, encodeMlsMessage(removeC.commit));
    expect((cOut as { isActive?: boolean }).isActive ?? (cOut as { inner?: { isActive?: boolean } }).inner?.isActive).toBe(false);
    await agree([A, B, D], conv, 6n);

    // B removes D: A processes; D learns it is out.
    await B.core.transaction((ctx) => ctx.removeClientsFromConversation(conv, [D.clientId]));
    const removeD = B.lastCommit();
    await weProcess(A, removeD.commit);
    const dOut = await weProcess(D, removeD.commit);
    expect(dOut.newState.groupActiveState.kind).toBe('removedFromGroup');
    await agree([A, B], conv, 7n);
    expect((await B.core.transaction((ctx) => ctx.getClientIds(conv))).map((id) => text(id.copyBytes())).sort()).toEqual([A.id, B.id].sort());

    // Application messages both ways.
    const fromA = await createApplicationMessage(A.state, new TextEncoder().encode('hello from ts-mls'), cs);
    A.state = fromA.newState;
    const readByB = await theyProcess(B, conv, encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: fromA.privateMessage }));
    const plaintext = (readByB as { plaintext?: Uint8Array }).plaintext ?? (readByB as { inner?: { plaintext?: Uint8Array } }).inner?.plaintext;
    expect(text(plaintext!)).toBe('hello from ts-mls');
    const fromB = await B.core.transaction((ctx) => ctx.encryptMessage(conv, new TextEncoder().encode('hello from OpenMLS')));
    const message = decodeMlsMessage(fromB, 0)![0];
    if (message.wireformat !== 'mls_private_message') throw new Error('not a PrivateMessage');
    const readByA = await processPrivateMessage(A.state, message.privateMessage, emptyPskIndex, cs);
    if (readByA.kind !== 'applicationMessage') throw new Error('not an application message');
    expect(text(readByA.message)).toBe('hello from OpenMLS');
  });

  it('without the options the other stack refuses: a Welcome without the tree, a private commit', { timeout: 60_000 }, async () => {
    const A = await ours('A (ours)');
    const B = await theirs('B (theirs)');
    const C = await theirs('C (theirs)');
    const groupId = randomBytes(16);
    const conv = new cc.ConversationId(groupId);
    const created = await createGroup(groupId, A.kp.publicPackage, A.kp.privatePackage, [], cs, config);
    const bPackage = decodeKeyPackage(await B.keyPackage(), 0)![0];

    const plain = await commit(created, cs, { publicHandshake: false }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: bPackage } }] });
    expect(plain.commit.wireformat).toBe('mls_private_message');
    await expect(B.core.transaction((ctx) => ctx.processWelcomeMessage(new cc.Welcome(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: plain.welcome! }))))).rejects.toThrow();

    // With the tree in the Welcome B joins; a private commit from us is then refused, a public one accepted.
    const withTree = await commit(created, cs, { ratchetTreeInWelcome: true }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: bPackage } }] });
    await B.core.transaction((ctx) => ctx.processWelcomeMessage(new cc.Welcome(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: withTree.welcome! }))));
    const cPackage = decodeKeyPackage(await C.keyPackage(), 0)![0];
    const privateAdd = await commit(withTree.newState, cs, { publicHandshake: false, ratchetTreeInWelcome: true }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: cPackage } }] });
    await expect(theyProcess(B, conv, encodeMlsMessage(privateAdd.commit))).rejects.toThrow();
    const publicAdd = await commit(withTree.newState, cs, INTEROP, { extraProposals: [{ proposalType: 'add', add: { keyPackage: cPackage } }] });
    await theyProcess(B, conv, encodeMlsMessage(publicAdd.commit));
    expect(await epochOf(B, conv)).toBe(2n);
  });
});
