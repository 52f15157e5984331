/**
 * The shipped CLI against a deployment as an operator runs it: `doublelock serve` (a real process) with
 * lawful access on and the log's witness taken from the signed trust configuration. The CLI pins what
 * the deployment says on first use and turns on key transparency (witnessed checkpoints, quorum 1) and
 * escrow by default: an account is verified against the witnessed log; with no certified epoch key
 * nothing is sent (not even the chat's creation) rather than leave without its escrow field; a profile whose pinned log key is not the server's refuses
 * the accounts the server vouches for.
 */
import { generateSigningKey, generateStaticKey, signTrustConfig, type TrustConfig, DAY_MS } from '@doublelock/lawful-access';
import { SqliteStorage } from '@doublelock/client/node/sqliteStorage';
import { CosignatureSigner, generateSignerKey } from '@doublelock/log';
import { SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { toBase64Url } from '@doublelock/protocol';
import { freePort } from '@doublelock/store/testing';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/src/testing.ts';
import { witnessCosign } from '../src/commands/witness.ts';

const CLI = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const dir = mkdtempSync(join(tmpdir(), 'doublelock-deployment-cli-'));
const dataDir = join(dir, 'server');
const alice = ['--profile', join(dir, 'alice')];
const bob = ['--profile', join(dir, 'bob')];
const witnessKey = generateSignerKey('witness.deployment.test/w1', SIGNATURE_COSIGNATURE_V1);
const witnessVerifierKey = new CosignatureSigner(witnessKey).verifierKey;
const root = generateSigningKey();
let url: string;
let logKey: string;
let server: ChildProcess;

function serve(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Doublelock is running at')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

/** The witness cosigns the log's newest checkpoint, as a deployed witness does every few seconds. */
async function witness(): Promise<void> {
  const keyFile = join(dir, 'witness.key');
  writeFileSync(keyFile, witnessKey);
  await witnessCosign({ logUrl: url, logKey, keyFile, state: join(dir, 'witness-state.json') });
}

beforeAll(async () => {
  // The trust configuration pins the log's key: learn it from the data folder's first start.
  const first = await startTestServer({ dataDir });
  logKey = first.ctx.directory.log.verifierKey;
  await first.close();
  const provider = generateSigningKey();
  const trust: TrustConfig = {
    version: 1,
    deployment: 'deployment-cli-test',
    issuedAt: Date.now() - DAY_MS,
    secretaryOfState: [{ id: 'sos', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    judicialCommissioners: [{ id: 'jc', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    agencies: [{ id: 'nca', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    provider: [{ id: 'provider', publicKey: toBase64Url(provider.publicKey) }],
    coordinators: [{ id: 'coordinator', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    // custodians that never ran a key ceremony: there is no certified epoch key
    custodians: [{ index: 1, name: 'c1', url: 'http://127.0.0.1:9', staticKey: toBase64Url(generateStaticKey().publicKey), signingKey: toBase64Url(generateSigningKey().publicKey) }],
    threshold: 1,
    log: { verifierKey: logKey, witnesses: [witnessVerifierKey], witnessQuorum: 1 },
    epoch: { lengthMs: DAY_MS, retentionDays: 31 },
    bankHolidays: [],
  };
  const file = join(dir, 'lawful-access.json');
  writeFileSync(
    file,
    JSON.stringify({ trust: signTrustConfig(trust, root.secretKey), trustRootKey: toBase64Url(root.publicKey), providerKeyId: 'provider', providerSecretKey: toBase64Url(provider.secretKey) }),
    { mode: 0o600 },
  );
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // No --log-witness flags: the log's witnesses and quorum come from the trust configuration.
  server = await serve(['--data', dataDir, '--port', String(port), '--web-root', 'none', '--lawful-access', file, '--log-level', 'warn']);
}, 120_000);

afterAll(async () => {
  if (server?.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the CLI on a deployment with witnesses and lawful access', { timeout: 180_000 }, () => {
  it('serve tells clients the witnesses and quorum of the trust configuration, and refuses an impossible quorum', async () => {
    const config = (await (await fetch(`${url}/v1/app-config`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ logKey, logWitnesses: [witnessVerifierKey], logWitnessQuorum: 1, lawfulAccess: true, trustRoot: toBase64Url(root.publicKey) });
    const bad = await run('serve', '--data', join(dir, 'other'), '--port', '0', '--web-root', 'none', '--log-witness', witnessVerifierKey, '--log-witness-quorum', '2');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/quorum 2 exceeds the 1 witness/);
  }, 180_000);

  it('pins the deployment, verifies accounts against witnessed checkpoints, and never sends without the escrow field', async () => {
    expect((await run('register', 'alice', ...alice, '--server', url)).code).toBe(0);
    expect((await run('register', 'bob', ...bob, '--server', url)).code).toBe(0);
    await witness(); // bob's devices are now in a witnessed checkpoint
    // Key transparency: bob's account is verified against the witnessed log before it is trusted.
    const number = await run('safety-number', 'bob', ...alice);
    expect(number.code).toBe(0);
    expect(number.stdout.trim().length).toBeGreaterThan(20);
    // Escrow is on: no custodian certified today's key, so nothing leaves (creating a chat sends too).
    const created = await run('chat', 'create', 'bob', ...alice);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toMatch(/lawful access is on but there is no certified key for the current epoch/);

    // What the profile pinned, and the checkpoint key transparency accepted.
    const storage = new SqliteStorage(join(dir, 'alice', 'device.db'));
    const pinned = JSON.parse(new TextDecoder().decode((await storage.get('cli/deployment'))!)) as Record<string, unknown>;
    expect(pinned).toMatchObject({ logKey, logWitnesses: [witnessVerifierKey], logWitnessQuorum: 1, lawfulAccess: true, trustRoot: toBase64Url(root.publicKey) });
    expect(new TextDecoder().decode((await storage.get('cli/logKey'))!)).toBe(logKey);

    // A profile pinned to another log key refuses the accounts this server vouches for.
    const elsewhere = new CosignatureSigner(generateSignerKey('another.log.test', SIGNATURE_COSIGNATURE_V1)).verifierKey;
    await storage.write([{ key: 'cli/logKey', value: new TextEncoder().encode(elsewhere) }]);
    await storage.close();
    const refused = await run('safety-number', 'bob', ...alice);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/key transparency/i);
  }, 180_000);
});
