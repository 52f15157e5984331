/**
 * Our ts-mls patch (patches/ts-mls+1.6.4.patch): the secret tree of RFC 9420 §9 derived lazily, a leaf on
 * first use. The derivation itself is checked against the published vectors (mlsTestVectors.test.ts); here,
 * what the patch adds: the deletion schedule (§9.2) and the stored form (old states still decode).
 */
import { encode } from 'ts-mls/codec/tlsEncoder.js';
import { varLenTypeEncoder } from 'ts-mls/codec/variableLength.js';
import { allSecretTreeValues, createSecretTree, decodeSecretTree, secretTreeEncoder, secretTreeLeaf, secretTreeNodeEncoder, type SecretTree, type SecretTreeNode } from 'ts-mls/secretTree.js';
import { leafToNodeIndex, root, toLeafIndex } from 'ts-mls/treemath.js';
import { describe, expect, it } from 'vitest';
import { suiteImpl } from '../src/mls/suite.ts';

const LEAVES = 8;
const secret = () => new Uint8Array(32).map((_, i) => i + 1);

describe('lazy secret tree (ts-mls patch)', () => {
  it('derives a leaf on first use, deleting every secret above it and keeping only the siblings beside its path', async () => {
    const { kdf } = await suiteImpl();
    const encryptionSecret = secret();
    const tree = await createSecretTree(LEAVES, encryptionSecret, kdf);
    encryptionSecret.fill(0); // as ts-mls does after making the tree: the tree keeps its own copy
    expect(tree.filter((e) => e !== undefined)).toHaveLength(1);

    const [leaf, after, deleted] = await secretTreeLeaf(tree, leafToNodeIndex(toLeafIndex(5)), kdf);
    expect(leaf.application.generation).toBe(0);
    // The path from the root (node 7) to leaf 5 (node 10): 7, 11, 9. Their secrets are gone from the tree...
    for (const node of [root(LEAVES), 11, 9]) expect(after[node]).toBeUndefined();
    // ...and handed back as consumed; what stays is the co-path: node 3's and 13's secrets, leaf 4's ratchets.
    expect(deleted.map((d) => Buffer.from(d).toString('hex'))).toContain(Buffer.from(secret()).toString('hex'));
    expect(Object.keys(after).map(Number).filter((i) => after[i] !== undefined).sort((a, b) => a - b)).toEqual([3, 8, 10, 13]);
    const values = allSecretTreeValues(after).map((v) => Buffer.from(v).toString('hex'));
    for (const gone of deleted) expect(values).not.toContain(Buffer.from(gone).toString('hex'));
    // The tree it came from is not changed (states are values in ts-mls).
    expect(tree.filter((e) => e !== undefined)).toHaveLength(1);
    // A second use of the same leaf derives nothing.
    const [again, same, none] = await secretTreeLeaf(after, leafToNodeIndex(toLeafIndex(5)), kdf);
    expect(again).toBe(leaf);
    expect(same).toBe(after);
    expect(none).toEqual([]);
    await expect(secretTreeLeaf(after, leafToNodeIndex(toLeafIndex(LEAVES)), kdf)).rejects.toThrow();
  });

  it('stores blank, not-yet-derived and derived entries, and still reads a tree stored before the patch', async () => {
    const { kdf } = await suiteImpl();
    const [, tree] = await secretTreeLeaf(await createSecretTree(LEAVES, secret(), kdf), leafToNodeIndex(toLeafIndex(2)), kdf);
    const decoded = decodeSecretTree(encode(secretTreeEncoder)(tree), 0)![0];
    expect(decoded).toEqual(tree);

    // Unpatched ts-mls: every node a SecretTreeNode, encoded as a plain vector of them.
    const eager: SecretTreeNode[] = [];
    for (let leaf = 0; leaf < 2; leaf++) eager.push(((await secretTreeLeaf(await createSecretTree(2, secret(), kdf), leafToNodeIndex(toLeafIndex(leaf)), kdf))[0]));
    const old = encode(varLenTypeEncoder(secretTreeNodeEncoder))(eager);
    const read: SecretTree = decodeSecretTree(old, 0)![0];
    expect(read).toEqual(eager);
  });
});
