/**
 * Key transparency against the real server: a device list that is not in the log (a ghost device, a
 * swapped identity key) is caught, and so is a server that shows two different logs (a split view).
 */
import { accountResponse, fromBase64Url, type AccountResponse } from '@doublelock/protocol';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../apps/server/src/app.ts';
import { startTestServer } from '../../../apps/server/src/testing.ts';
import { newDeviceKeys, TestAccount, type TestDevice } from '../../../apps/server/test/harness.ts';
import { KeyTransparency, KeyTransparencyError } from '../src/transparency/keyTransparency.ts';

let server: RunningServer;
let alice: TestAccount;
let bob: TestDevice;
beforeAll(async () => {
  server = await startTestServer();
  alice = new TestAccount(server, 'alice');
  await alice.register();
  bob = await (await new TestAccount(server, 'bob').register()).login();
});
afterAll(async () => server.close());

/** Consistency proofs over HTTP, as a client gets them (GET /v1/log/proof/consistency). */
const consistencyFrom = (s: RunningServer) => async (from: number, to: number) => {
  const r = await fetch(`${s.url}/v1/log/proof/consistency?from=${from}&to=${to}`);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return ((await r.json()) as { proof: string[] }).proof.map(fromBase64Url);
};
const fetchAccount = async (d: TestDevice, username: string): Promise<AccountResponse> => accountResponse.parse((await d.call('GET', `/v1/accounts/${username}`)).body);
const failure = (promise: Promise<unknown>) => promise.then(() => 'verified', (e: unknown) => (e instanceof KeyTransparencyError ? e.failure : `unexpected: ${String(e)}`));

describe('key transparency', () => {
  it('verifies a logged device list and follows the log as it grows', async () => {
    const kt = new KeyTransparency({ logKey: server.ctx.directory.log.verifierKey, consistencyProof: consistencyFrom(server) });
    await kt.verifyAccount(await fetchAccount(bob, 'alice'));
    const first = kt.lastSeen!;
    await alice.addDevice();
    const grown = await fetchAccount(bob, 'alice');
    expect(grown.devices).toHaveLength(2);
    await kt.verifyAccount(grown);
    expect(kt.lastSeen!.size).toBeGreaterThan(first.size);
  });

  it('catches a ghost device the log does not show', async () => {
    const kt = new KeyTransparency({ logKey: server.ctx.directory.log.verifierKey, consistencyProof: consistencyFrom(server) });
    const shown = await fetchAccount(bob, 'alice');
    const ghostKeys = newDeviceKeys();
    const ghost = { ...shown.devices[0]!, deviceId: ghostKeys.deviceId, name: 'ghost' };
    expect(await failure(kt.verifyAccount({ ...shown, devices: [...shown.devices, ghost] }))).toBe('not_logged');
    expect(await failure(kt.verifyAccount({ ...shown, identityKey: shown.devices[0]!.signatureKey }))).toBe('not_logged');
    const { transparency: _, ...withoutProof } = shown;
    expect(await failure(kt.verifyAccount(withoutProof))).toBe('not_logged');
    await kt.verifyAccount(shown); // the honest state still verifies
  });

  it('refuses a checkpoint not signed by the pinned log key', async () => {
    const other = await startTestServer({ logOrigin: 'doublelock.localhost/log' });
    try {
      const kt = new KeyTransparency({ logKey: server.ctx.directory.log.verifierKey, consistencyProof: consistencyFrom(server) });
      const carol = await (await new TestAccount(other, 'carol').register()).login();
      expect(await failure(kt.verifyAccount(await fetchAccount(carol, 'carol')))).toBe('bad_checkpoint');
    } finally {
      await other.close();
    }
  });

  it('catches a split view: two different trees signed by the same log key', async () => {
    // A second server holding the same log key (a dishonest operator) keeps a different tree.
    const forkData = { ...server.ctx.config };
    const forkDir = mkdtempSync(join(tmpdir(), 'doublelock-fork-'));
    const fork = await startTestServer({ logOrigin: forkData.logOrigin, dataDir: forkDir });
    try {
      // Give the fork the honest server's log key by copying the secret, then restart it on the same data.
      const secret = await server.db.get<{ value: Uint8Array }>('SELECT value FROM server_secrets WHERE name = ?', [`log-signer-key:${forkData.logOrigin}`]);
      await fork.db.run('UPDATE server_secrets SET value = ? WHERE name = ?', [secret!.value, `log-signer-key:${forkData.logOrigin}`]);
      await fork.close();
      const reopened = await startTestServer({ logOrigin: forkData.logOrigin, dataDir: forkDir });
      try {
        const kt = new KeyTransparency({ logKey: server.ctx.directory.log.verifierKey, consistencyProof: consistencyFrom(server) });
        await kt.verifyAccount(await fetchAccount(bob, 'alice'));
        const dave = await (await new TestAccount(reopened, 'dave').register()).login();
        for (let i = 0; i < 5; i++) await new TestAccount(reopened, `filler${i}`).register();
        const forked = await fetchAccount(dave, 'dave');
        expect(forked.transparency!.treeSize).not.toBe(kt.lastSeen!.size);
        // The fork's checkpoint verifies on its own; only consistency with what the client saw exposes it.
        const fresh = new KeyTransparency({ logKey: server.ctx.directory.log.verifierKey, consistencyProof: consistencyFrom(reopened) });
        await fresh.verifyAccount(forked);
        const ktOnFork = new KeyTransparency({ logKey: server.ctx.directory.log.verifierKey, lastSeen: kt.lastSeen!, consistencyProof: consistencyFrom(reopened) });
        expect(await failure(ktOnFork.verifyAccount(forked))).toBe('split_view');
      } finally {
        await reopened.close();
      }
    } finally {
      await fork.close().catch(() => undefined);
      rmSync(forkDir, { recursive: true, force: true });
    }
  });
});
