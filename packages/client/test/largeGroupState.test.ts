/**
 * Large groups and our ts-mls patch (patches/ts-mls+1.6.4.patch).
 * - A 10,000-member group's state is saved and loaded (groupStore.ts): ts-mls 1.6.4 encoded a vector by chaining
 *   one closure per element, so encoding a ratchet tree of 10,000 leaves (19,999 nodes) overflowed the stack
 *   ("Maximum call stack size exceeded"); the patch writes the elements in a loop instead.
 * - Parent-hash verification (RFC 9420 §7.9.2, run on every join and external join) copied its coverage map and
 *   the tree per leaf: 49 s for 10,000 leaves; the patch counts in place and copies the tree only to remove
 *   unmerged leaves. Its verdicts must not change: a real tree with unmerged leaves verifies, a changed parent
 *   hash does not.
 * The state is a real group's (our suite, credential and key package) whose tree is widened to 10,000 leaves —
 * each a copy of the creator's signed leaf, every parent node filled — which is what the encoder sees for a
 * 10,000-member group, built in a second instead of the minutes 10,000 KeyPackages and their Welcome take.
 */
import { deviceIdFor } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { createCommit, createGroup, defaultCapabilities, defaultLifetime, generateKeyPackageWithKey, type ClientState } from 'ts-mls';
import { verifyParentHashes } from 'ts-mls/parentHash.js';
import { encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { expect, it } from 'vitest';
import { GroupStore, newGroupMeta } from '../src/groupStore.ts';
import { fastCryptoProvider } from '../src/mls/cryptoProvider.ts';
import { deviceCredential } from '../src/mls/credential.ts';
import { clientConfig, suiteImpl } from '../src/mls/suite.ts';
import { MemoryStorage } from '../src/storage/storage.ts';

const MEMBERS = 10_000;

it('saves and loads the state of a 10,000-member group (the ratchet tree round-trips)', { timeout: 120_000 }, async () => {
  const cs = await suiteImpl(fastCryptoProvider);
  const signKey = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(signKey);
  const kp = await generateKeyPackageWithKey(deviceCredential({ username: 'big', deviceId: deviceIdFor(publicKey) }), defaultCapabilities(), defaultLifetime, [], { signKey, publicKey }, cs);
  const config = clientConfig({ validateCredential: async () => true });
  const created = await createGroup(new Uint8Array(32).fill(7), kp.publicPackage, kp.privatePackage, [], cs, config);
  const leaf = created.ratchetTree[0]!;
  const ratchetTree: ClientState['ratchetTree'] = Array.from({ length: 2 * MEMBERS - 1 }, (_, node) =>
    node % 2 === 0 ? leaf : { nodeType: 'parent', parent: { hpkePublicKey: new Uint8Array(32).fill(node % 251), parentHash: new Uint8Array(32), unmergedLeaves: [] } },
  );
  const state: ClientState = { ...created, ratchetTree };

  const storage = new MemoryStorage();
  await new GroupStore(storage, config).save('big', state, newGroupMeta('ten thousand'));
  const loaded = await new GroupStore(storage, config).load('big'); // a fresh store: decoded from the stored bytes
  // ts-mls pads a decoded tree to a full binary tree (16,384 leaves): the same 10,000 leaves, then blanks.
  expect(loaded?.state.ratchetTree.filter((n) => n?.nodeType === 'leaf')).toHaveLength(MEMBERS);
  expect(loaded!.state.groupContext.epoch).toBe(created.groupContext.epoch);
  expect(Buffer.from(encodeRatchetTree(loaded!.state.ratchetTree)).equals(Buffer.from((await storage.get('group/big/tree'))!))).toBe(true);
  expect(loaded!.state.ratchetTree[2 * (MEMBERS - 1)]).toEqual(leaf);
});

it('verifies parent hashes as RFC 9420 §7.9.2 says: a real tree with unmerged leaves passes, a changed parent hash fails', { timeout: 60_000 }, async () => {
  const cs = await suiteImpl(fastCryptoProvider);
  const config = clientConfig({ validateCredential: async () => true });
  const kp = async () => {
    const signKey = ed25519.utils.randomSecretKey();
    const publicKey = ed25519.getPublicKey(signKey);
    return generateKeyPackageWithKey(deviceCredential({ username: 'p', deviceId: deviceIdFor(publicKey) }), defaultCapabilities(), defaultLifetime, [], { signKey, publicKey }, cs);
  };
  const creator = await kp();
  let state = await createGroup(new Uint8Array(32).fill(9), creator.publicPackage, creator.privatePackage, [], cs, config);
  const add = async (n: number) => (await createCommit({ state, cipherSuite: cs }, { extraProposals: await Promise.all(Array.from({ length: n }, async () => ({ proposalType: 'add' as const, add: { keyPackage: (await kp()).publicPackage } }))) })).newState;
  state = await add(5);
  state = (await createCommit({ state, cipherSuite: cs })).newState; // a path: parent nodes filled
  state = await add(4); // added under filled parents: unmerged leaves
  const tree = state.ratchetTree;
  expect(tree.some((n) => n?.nodeType === 'parent' && n.parent.unmergedLeaves.length > 0)).toBe(true);
  expect(await verifyParentHashes(tree, cs.hash)).toBe(true);
  const at = tree.findIndex((n) => n?.nodeType === 'parent');
  const node = tree[at]!;
  if (node.nodeType !== 'parent') throw new Error('unreachable');
  const changed = tree.slice();
  changed[at] = { nodeType: 'parent', parent: { ...node.parent, parentHash: new Uint8Array(node.parent.parentHash.length).fill(1) } };
  expect(await verifyParentHashes(changed, cs.hash)).toBe(false);
});
