/**
 * Three custodian *processes* started through the CLI (`custodian init`, `custodian serve`), each with
 * its own data folder, keys and SQLite database: the `custodian dkg` coordinator makes an epoch key, and
 * the agency decrypts one message under a logged, double-locked warrant. Stopping one process leaves
 * 2-of-3 able to decrypt; stopping two leaves nothing. Custodian processes racing on different messages
 * under a per-day limit cannot overshoot it.
 */
import { DecryptionRefused, decryptWithCustodians, fetchEpochKey, epochAt, type SignedTrustConfig, signTrustConfig } from '@doublelock/lawful-access';
import { LawfulAccessWorld } from '@doublelock/lawful-access/testing';
import { toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@doublelock/store/testing';

const CLI = fileURLToPath(new URL('./fixtures/cli.ts', import.meta.url));
const run = promisify(execFile);
const node = (args: string[]) => run(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000 });

function serve(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`custodian did not start: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('is running at')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`custodian exited with ${code}: ${output}`)));
  });
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

let world: LawfulAccessWorld;
let dir: string;
let trust: SignedTrustConfig;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dl-custodian-procs-'));
  world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3 });
  const logUrl = await world.serveLog();
  // Each custodian makes its own keys; the trust root then signs a configuration naming them.
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const keys = await Promise.all([1, 2, 3].map(async (i) => JSON.parse((await node(['custodian', 'init', '--data', join(dir, `c${i}`)])).stdout) as { staticKey: string; signingKey: string }));
  const config = structuredClone(world.trust);
  config.custodians = keys.map((k, i) => ({ index: i + 1, name: `custodian-${i + 1}`, url: `http://127.0.0.1:${ports[i]}`, ...k }));
  trust = signTrustConfig(config, world.root.secretKey);
  const trustFile = join(dir, 'trust.json');
  writeFileSync(trustFile, JSON.stringify(trust));
  const root = toBase64Url(world.root.publicKey);
  children.push(...(await Promise.all(ports.map((port, i) => serve(['custodian', 'serve', '--data', join(dir, `c${i + 1}`), '--trust', trustFile, '--trust-root', root, '--log', logUrl, '--port', String(port), '--log-level', 'warn'])))));
  // The coordinator named in the trust configuration runs the ceremony with its own key file.
  const coordinatorFile = join(dir, 'coordinator.json');
  writeFileSync(coordinatorFile, JSON.stringify({ id: world.coordinator.id, secretKey: toBase64Url(world.coordinator.secretKey) }), { mode: 0o600 });
  const dkg = JSON.parse((await node(['custodian', 'dkg', '--trust', trustFile, '--trust-root', root, '--coordinator-key', coordinatorFile])).stdout) as { epoch: number; publicKey: string };
  expect(dkg.epoch).toBe(epochAt(Date.now()));
}, 180_000);

afterAll(async () => {
  await Promise.all(children.map(stop));
  await world.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('custodian processes', () => {
  it('custodians racing on different messages cannot overshoot the per-day limit', async () => {
    const epochKey = await fetchEpochKey(trust.config, epochAt(Date.now()));
    const issuedAt = Date.now() - 60_000;
    const logged = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt, limits: { maxMessages: 10, maxPerDay: 1 } })), issuedAt + 1000));
    // Four messages asked for at once, each from a different pair: every custodian's check before
    // releasing sees none released yet; the log's order must decide.
    const pairs = [[1, 2], [2, 3], [3, 1], [1, 2]];
    const messages = pairs.map((_, n) => world.deliver(epochKey, { messageId: `race-${n}`, sender: 'mallory', recipients: ['bob'], serverTime: Date.now() - 1000 }, randomBytes(32)));
    const outcomes = await Promise.allSettled(
      messages.map((message, n) =>
        decryptWithCustodians({ trust: trust.config, epochKey, warrant: logged.warrant.warrant, field: message.field, record: message.delivery.record, request: (i) => world.request(i, logged, message, Date.now()), prefer: pairs[n] }),
      ),
    );
    const decrypted = outcomes.filter((o) => o.status === 'fulfilled');
    expect(decrypted.length).toBeLessThanOrEqual(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(DecryptionRefused);
    const codes = new Set(outcomes.flatMap((o) => (o.status === 'rejected' ? (o.reason as DecryptionRefused).failures.map((f) => f.code) : [])));
    expect([...codes]).toEqual(['limit_reached']);
  });

  it('decrypt with 2 of 3 processes, and not with 1', async () => {
    const epochKey = await fetchEpochKey(trust.config, epochAt(Date.now()));
    const issuedAt = Date.now() - 60_000;
    const logged = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt })), issuedAt + 1000));
    const K = randomBytes(32);
    const message = world.deliver(epochKey, { messageId: 'p1', sender: 'mallory', recipients: ['bob'], serverTime: Date.now() - 1000 }, K);
    const decrypt = () =>
      decryptWithCustodians({ trust: trust.config, epochKey, warrant: logged.warrant.warrant, field: message.field, record: message.delivery.record, request: (i) => world.request(i, logged, message, Date.now()) });
    await stop(children[0]!);
    expect((await decrypt()).contentKey).toEqual(K);
    await stop(children[1]!);
    await expect(decrypt()).rejects.toBeInstanceOf(DecryptionRefused);
  });
});
