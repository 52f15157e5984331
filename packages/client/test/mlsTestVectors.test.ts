/**
 * The official MLS interoperability test vectors (mlswg/mls-implementations, ../shared/mls-test-vectors)
 * run through the SDK's ts-mls setup — both ts-mls's own crypto provider and ours — so that an upgrade
 * of ts-mls or a change to our provider that breaks RFC 9420 fails here. Our cipher suite (0x0003,
 * ChaCha20-Poly1305) and 0x0001 (AES-128-GCM, the SDK's suite before and the one most stacks ship).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import { defaultCryptoProvider, encodeMlsMessage, type CiphersuiteImpl, type CiphersuiteName, type CryptoProvider, type GroupContext } from 'ts-mls';
import { decodeAuthenticatedContent } from 'ts-mls/authenticatedContent.js';
import { deriveSecret, deriveTreeSecret, expandWithLabel } from 'ts-mls/crypto/kdf.js';
import { refhash } from 'ts-mls/crypto/hash.js';
import { decryptWithLabel } from 'ts-mls/crypto/hpke.js';
import { signWithLabel, verifyWithLabel } from 'ts-mls/crypto/signature.js';
import { createConfirmationTag } from 'ts-mls/framedContent.js';
import { encodeGroupContext } from 'ts-mls/groupContext.js';
import { initializeEpoch, mlsExporter } from 'ts-mls/keySchedule.js';
import { decodeMlsMessage } from 'ts-mls/message.js';
import { protectApplicationData, unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { defaultPaddingConfig } from 'ts-mls/paddingConfig.js';
import { createSecretTree, deriveKey, deriveNonce, ratchetUntil, secretTreeLeaf } from 'ts-mls/secretTree.js';
import { createConfirmedHash, createInterimHash } from 'ts-mls/transcriptHash.js';
import { treeHashRoot } from 'ts-mls/treeHash.js';
import { decodeProposal } from 'ts-mls/proposal.js';
import { addLeafNode, decodeRatchetTree, encodeRatchetTree, removeLeafNode, updateLeafNode } from 'ts-mls/ratchetTree.js';
import { leafToNodeIndex, left, parent, right, root, sibling, toLeafIndex, toNodeIndex } from 'ts-mls/treemath.js';
import { describe, expect, it } from 'vitest';
import { fastCryptoProvider } from '../src/mls/cryptoProvider.ts';
import { KEY_RETENTION, suiteImpl } from '../src/mls/suite.ts';
import { sharedPath } from '@doublelock/store/test-shared';

const dir = sharedPath('mls-test-vectors');
const hex = (s: string) => hexToBytes(s);
const load = <T>(name: string): T[] => JSON.parse(readFileSync(join(dir!, name), 'utf8')) as T[];

describe.runIf(dir)('RFC 9420 test vectors through ts-mls', () => {
  it('tree-math: root, left, right, parent and sibling of every node', () => {
    const cases = load<{ n_leaves: number; root: number; left: (number | null)[]; right: (number | null)[]; parent: (number | null)[]; sibling: (number | null)[] }>('tree-math.json');
    let checked = 0;
    for (const c of cases) {
      expect(root(c.n_leaves)).toBe(c.root);
      c.left.forEach((want, i) => {
        if (want === null) return;
        expect(left(toNodeIndex(i))).toBe(want);
        expect(right(toNodeIndex(i))).toBe(c.right[i]);
        checked++;
      });
      c.parent.forEach((want, i) => {
        if (want === null) return;
        expect(parent(toNodeIndex(i), c.n_leaves)).toBe(want);
        expect(sibling(toNodeIndex(i), c.n_leaves)).toBe(c.sibling[i]);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(1000);
  });

  const providers: Array<[string, CryptoProvider]> = [
    ['ts-mls default provider', defaultCryptoProvider],
    ['Doublelock provider (@noble, as in browsers)', fastCryptoProvider],
  ];
  const suites: Array<[number, CiphersuiteName]> = [
    [1, 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'],
    [3, 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519'],
  ];
  const combinations = providers.flatMap(([name, provider]) => suites.map(([SUITE, suiteName]) => [`${name}, suite ${SUITE}`, provider, SUITE, suiteName] as const));

  describe.each(combinations)('%s', (_name, provider, SUITE, suiteName) => {
    const impl = (): Promise<CiphersuiteImpl> => suiteImpl(provider, suiteName);

    it('crypto-basics: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel, EncryptWithLabel', async () => {
      type L = { label: string };
      const c = load<{
        cipher_suite: number;
        ref_hash: L & { value: string; out: string };
        expand_with_label: L & { secret: string; context: string; length: number; out: string };
        derive_secret: L & { secret: string; out: string };
        derive_tree_secret: L & { secret: string; generation: number; length: number; out: string };
        sign_with_label: L & { priv: string; pub: string; content: string; signature: string };
        encrypt_with_label: L & { priv: string; context: string; kem_output: string; ciphertext: string; plaintext: string };
      }>('crypto-basics.json').find((v) => v.cipher_suite === SUITE)!;
      const cs = await impl();
      expect(bytesToHex(await refhash(c.ref_hash.label, hex(c.ref_hash.value), cs.hash))).toBe(c.ref_hash.out);
      const e = c.expand_with_label;
      expect(bytesToHex(await expandWithLabel(hex(e.secret), e.label, hex(e.context), e.length, cs.kdf))).toBe(e.out);
      expect(bytesToHex(await deriveSecret(hex(c.derive_secret.secret), c.derive_secret.label, cs.kdf))).toBe(c.derive_secret.out);
      const t = c.derive_tree_secret;
      expect(bytesToHex(await deriveTreeSecret(hex(t.secret), t.label, t.generation, t.length, cs.kdf))).toBe(t.out);
      const s = c.sign_with_label;
      expect(await verifyWithLabel(hex(s.pub), s.label, hex(s.content), hex(s.signature), cs.signature)).toBe(true);
      expect(bytesToHex(await signWithLabel(hex(s.priv), s.label, hex(s.content), cs.signature))).toBe(s.signature);
      const tampered = hex(s.signature);
      tampered[0]! ^= 1;
      expect(await verifyWithLabel(hex(s.pub), s.label, hex(s.content), tampered, cs.signature)).toBe(false);
      const x = c.encrypt_with_label;
      const key = await cs.hpke.importPrivateKey(hex(x.priv));
      expect(bytesToHex(await decryptWithLabel(key, x.label, hex(x.context), hex(x.kem_output), hex(x.ciphertext), cs.hpke))).toBe(x.plaintext);
    });

    it('secret-tree: sender-data keys and every listed generation of every leaf', async () => {
      type Gen = { generation: number; application_key: string; application_nonce: string; handshake_key: string; handshake_nonce: string };
      const cases = load<{ cipher_suite: number; encryption_secret: string; sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string }; leaves: Gen[][] }>(
        'secret-tree.json',
      ).filter((v) => v.cipher_suite === SUITE);
      expect(cases.length).toBeGreaterThan(0);
      const cs = await impl();
      let generations = 0;
      for (const c of cases) {
        const sample = hex(c.sender_data.ciphertext).slice(0, cs.kdf.size);
        expect(bytesToHex(await expandWithLabel(hex(c.sender_data.sender_data_secret), 'key', sample, cs.hpke.keyLength, cs.kdf))).toBe(c.sender_data.key);
        expect(bytesToHex(await expandWithLabel(hex(c.sender_data.sender_data_secret), 'nonce', sample, cs.hpke.nonceLength, cs.kdf))).toBe(c.sender_data.nonce);
        // The tree is derived lazily (our ts-mls patch): each leaf on first use, first to last and last to
        // first, so that every leaf is reached both from the root and from a sibling's path.
        const leaves = [...c.leaves.entries()];
        for (const order of [leaves, [...leaves].reverse()]) {
          let tree = await createSecretTree(c.leaves.length, hex(c.encryption_secret), cs.kdf);
          for (const [leaf, gens] of order) {
            const [node, derived] = await secretTreeLeaf(tree, leafToNodeIndex(toLeafIndex(leaf)), cs.kdf);
            tree = derived;
            for (const g of gens) {
              const [app] = await ratchetUntil(node.application, g.generation, KEY_RETENTION, cs.kdf);
              const [hs] = await ratchetUntil(node.handshake, g.generation, KEY_RETENTION, cs.kdf);
              expect(bytesToHex(await deriveKey(app.secret, g.generation, cs))).toBe(g.application_key);
              expect(bytesToHex(await deriveNonce(app.secret, g.generation, cs))).toBe(g.application_nonce);
              expect(bytesToHex(await deriveKey(hs.secret, g.generation, cs))).toBe(g.handshake_key);
              expect(bytesToHex(await deriveNonce(hs.secret, g.generation, cs))).toBe(g.handshake_nonce);
              generations++;
            }
          }
        }
      }
      expect(generations).toBeGreaterThan(10);
    });

    it('key-schedule: every epoch secret and the exporter, chained across epochs', async () => {
      type Epoch = Record<string, string> & { exporter: { label: string; context: string; length: number; secret: string } };
      const cases = load<{ cipher_suite: number; group_id: string; initial_init_secret: string; epochs: Epoch[] }>('key-schedule.json').filter((v) => v.cipher_suite === SUITE);
      const cs = await impl();
      for (const c of cases) {
        let initSecret: Uint8Array = hex(c.initial_init_secret);
        for (const [i, e] of c.epochs.entries()) {
          const context: GroupContext = {
            version: 'mls10',
            cipherSuite: suiteName,
            groupId: hex(c.group_id),
            epoch: BigInt(i),
            treeHash: hex(e.tree_hash!),
            confirmedTranscriptHash: hex(e.confirmed_transcript_hash!),
            extensions: [],
          };
          expect(bytesToHex(encodeGroupContext(context))).toBe(e.group_context);
          const epoch = await initializeEpoch(initSecret, hex(e.commit_secret!), context, hex(e.psk_secret!), cs.kdf);
          const ks = epoch.keySchedule;
          expect(bytesToHex(epoch.joinerSecret)).toBe(e.joiner_secret);
          expect(bytesToHex(epoch.welcomeSecret)).toBe(e.welcome_secret);
          expect(bytesToHex(epoch.encryptionSecret)).toBe(e.encryption_secret);
          expect(bytesToHex(ks.senderDataSecret)).toBe(e.sender_data_secret);
          expect(bytesToHex(ks.exporterSecret)).toBe(e.exporter_secret);
          expect(bytesToHex(ks.externalSecret)).toBe(e.external_secret);
          expect(bytesToHex(ks.confirmationKey)).toBe(e.confirmation_key);
          expect(bytesToHex(ks.membershipKey)).toBe(e.membership_key);
          expect(bytesToHex(ks.resumptionPsk)).toBe(e.resumption_psk);
          expect(bytesToHex(ks.epochAuthenticator)).toBe(e.epoch_authenticator);
          expect(bytesToHex(ks.initSecret)).toBe(e.init_secret);
          const x = e.exporter;
          // The vector's exporter label is used as the text it is (hex digits), as the reference implementations do.
          expect(bytesToHex(await mlsExporter(ks.exporterSecret, x.label, hex(x.context), x.length, cs))).toBe(x.secret);
          initSecret = ks.initSecret;
        }
      }
    });

    it('message-protection: opens the application message, and protects one that opens again', async () => {
      const cases = load<Record<string, string | number>>('message-protection.json').filter((v) => v.cipher_suite === SUITE);
      const cs = await impl();
      for (const c of cases) {
        const context: GroupContext = {
          version: 'mls10',
          cipherSuite: suiteName,
          groupId: hex(c.group_id as string),
          epoch: BigInt(c.epoch as number),
          treeHash: hex(c.tree_hash as string),
          confirmedTranscriptHash: hex(c.confirmed_transcript_hash as string),
          extensions: [],
        };
        const signaturePub = hex(c.signature_pub as string);
        const open = async (bytes: Uint8Array) => {
          const message = decodeMlsMessage(bytes, 0)?.[0];
          if (message?.wireformat !== 'mls_private_message') throw new Error('not a PrivateMessage');
          // The vectors' sender is leaf 1 of a two-leaf group.
          const tree = await createSecretTree(2, hex(c.encryption_secret as string), cs.kdf);
          return unprotectPrivateMessage(hex(c.sender_data_secret as string), message.privateMessage, tree, [], context, KEY_RETENTION, cs, signaturePub);
        };
        const opened = await open(hex(c.application_priv as string));
        if (opened.content.content.contentType !== 'application') throw new Error('not application data');
        expect(bytesToHex(opened.content.content.applicationData)).toBe(c.application);

        const tree = await createSecretTree(2, hex(c.encryption_secret as string), cs.kdf);
        const sealed = await protectApplicationData(hex(c.signature_priv as string), hex(c.sender_data_secret as string), hex(c.application as string), new Uint8Array(0), context, tree, 1, defaultPaddingConfig, cs);
        const reopened = await open(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: sealed.privateMessage }));
        if (reopened.content.content.contentType !== 'application') throw new Error('not application data');
        expect(bytesToHex(reopened.content.content.applicationData)).toBe(c.application);

        const tampered = hex(c.application_priv as string);
        tampered[tampered.length - 1]! ^= 1;
        await expect(open(tampered)).rejects.toThrow();
      }
    });

    it('transcript-hashes: confirmed and interim hashes and the confirmation tag', async () => {
      const cases = load<Record<string, string | number>>('transcript-hashes.json').filter((v) => v.cipher_suite === SUITE);
      const cs = await impl();
      for (const c of cases) {
        const decoded = decodeAuthenticatedContent(hex(c.authenticated_content as string), 0);
        expect(decoded).toBeDefined();
        const ac = decoded![0];
        if (ac.content.contentType !== 'commit' || ac.auth.contentType !== 'commit') throw new Error('vector is not a commit');
        const confirmed = await createConfirmedHash(
          hex(c.interim_transcript_hash_before as string),
          { wireformat: ac.wireformat, content: ac.content, signature: ac.auth.signature },
          cs.hash,
        );
        expect(bytesToHex(confirmed)).toBe(c.confirmed_transcript_hash_after);
        const tag = await createConfirmationTag(hex(c.confirmation_key as string), confirmed, cs.hash);
        expect(bytesToHex(tag)).toBe(bytesToHex(ac.auth.confirmationTag));
        expect(bytesToHex(await createInterimHash(confirmed, tag, cs.hash))).toBe(c.interim_transcript_hash_after);
      }
    });

    it('tree-operations: the tree hash before and after each proposal, hashes memoised across the change', async () => {
      // Suite 1 only in the published file; the tree hash depends on the suite's hash alone.
      const cases = load<Record<string, string | number>>('tree-operations.json').filter((v) => v.cipher_suite === SUITE);
      if (SUITE === 1) expect(cases.length).toBeGreaterThan(0);
      const cs = await impl();
      let parents = 0;
      for (const c of cases) {
        const before = decodeRatchetTree(hex(c.tree_before as string), 0)![0];
        expect(bytesToHex(await treeHashRoot(before, cs.hash))).toBe(c.tree_hash_before);
        // Applied to the same node objects: the memoised hashes of untouched subtrees are reused (our patch).
        const proposal = decodeProposal(hex(c.proposal as string), 0)![0];
        const after =
          proposal.proposalType === 'add'
            ? addLeafNode(before, proposal.add.keyPackage.leafNode)[0]
            : proposal.proposalType === 'update'
              ? updateLeafNode(before, proposal.update.leafNode, toLeafIndex(c.proposal_sender as number))
              : proposal.proposalType === 'remove'
                ? removeLeafNode(before, toLeafIndex(proposal.remove.removed))
                : undefined;
        expect(after).toBeDefined();
        expect(bytesToHex(await treeHashRoot(after!, cs.hash))).toBe(c.tree_hash_after);
        expect(bytesToHex(await treeHashRoot(decodeRatchetTree(hex(c.tree_after as string), 0)![0], cs.hash))).toBe(c.tree_hash_after);
        // And the tree before still hashes as before (nothing kept for it was overwritten by the change).
        expect(bytesToHex(await treeHashRoot(before, cs.hash))).toBe(c.tree_hash_before);
        // A parent node replaced while its children stay the same objects: the hash must follow it, as a
        // freshly decoded copy of the same tree (nothing memoised for its objects) says.
        const parentAt = before.findIndex((n) => n?.nodeType === 'parent');
        if (parentAt >= 0) {
          const node = before[parentAt]!;
          if (node.nodeType !== 'parent') throw new Error('unreachable');
          const changed = before.slice();
          changed[parentAt] = { nodeType: 'parent', parent: { ...node.parent, parentHash: new Uint8Array(32).fill(7) } };
          const fresh = decodeRatchetTree(encodeRatchetTree(changed), 0)![0];
          const hash = bytesToHex(await treeHashRoot(changed, cs.hash));
          expect(hash).not.toBe(c.tree_hash_before);
          expect(hash).toBe(bytesToHex(await treeHashRoot(fresh, cs.hash)));
          parents++;
        }
      }
      if (SUITE === 1) expect(parents).toBeGreaterThan(0);
    });
  });

});
