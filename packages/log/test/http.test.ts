/**
 * The HTTP surface end to end: the Fastify plugin (packages/http/src/logRoutes.ts) mounted on a bare
 * Fastify instance over a real SQLite log, read by LogHttpClient and the verifier; the `doublelock
 * witness cosign` and `doublelock log verify|audit` commands run against it, including a tampered log.
 */
import { openDb, type Db } from '@doublelock/store';
import { Command } from 'commander';
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerLogCommands } from '../../../apps/cli/src/commands/log.ts';
import { register as registerWitnessCommands } from '../../../apps/cli/src/commands/witness.ts';
import { logRoutes } from '../../http/src/logRoutes.ts';
import { CosignatureSigner, generateSignerKey, LogHttpClient, TransparencyLog } from '../src/index.ts';
import { hashLeaf, openCheckpoint, requireWitnesses, SIGNATURE_COSIGNATURE_V1, verifyConsistency, verifyInclusion } from '../src/verifier/index.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const LOG_KEY = generateSignerKey('example.test/log');
const WITNESS_KEY = generateSignerKey('witness.example/w1', SIGNATURE_COSIGNATURE_V1);
const witnessSigner = new CosignatureSigner(WITNESS_KEY);

async function serve(log: TransparencyLog): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  await app.register(logRoutes, { log });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

async function cli(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => void lines.push(values.join(' ')));
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('log over HTTP', () => {
  let db: Db;
  let log: TransparencyLog;
  let app: FastifyInstance;
  let url: string;
  let client: LogHttpClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dl-log-http-'));
    db = await openDb({ sqlitePath: join(dir, 'log.sqlite') });
    log = await TransparencyLog.open(db, { signerKey: LOG_KEY, witnesses: [witnessSigner.verifierKey] });
    await log.append(Array.from({ length: 1500 }, (_, i) => bytes(`device-list change ${i}`)));
    ({ app, url } = await serve(log));
    client = new LogHttpClient(url);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a signed checkpoint and proofs that the verifier accepts', async () => {
    const response = await fetch(`${url}/v1/log/checkpoint`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const checkpoint = openCheckpoint(await response.text(), log.verifierKey);
    expect(checkpoint.size).toBe(1500);
    verifyInclusion(777, 1500, hashLeaf(bytes('device-list change 777')), await client.inclusionProof(777, 1500), checkpoint.rootHash);
    const old = await log.rootAt(1000);
    verifyConsistency(1000, 1500, await client.consistencyProof(1000, 1500), old, checkpoint.rootHash);
    const page = await client.entries(0, 1500);
    expect(page).toHaveLength(1000); // pages are bounded
    expect(new TextDecoder().decode(page[999])).toBe('device-list change 999');
  });

  it('answers bad queries with { code, message } and a 4xx status', async () => {
    const cases: Array<[string, number, string]> = [
      ['/v1/log/proof/inclusion?index=abc&treeSize=10', 400, 'validation_failed'],
      ['/v1/log/proof/inclusion?index=1', 400, 'validation_failed'],
      ['/v1/log/proof/inclusion?index=-1&treeSize=10', 400, 'validation_failed'],
      ['/v1/log/proof/inclusion?index=10&treeSize=10', 400, 'bad_request'],
      ['/v1/log/proof/inclusion?index=1&treeSize=99999', 404, 'not_found'],
      ['/v1/log/proof/consistency?from=0&to=10', 400, 'validation_failed'],
      ['/v1/log/proof/consistency?from=11&to=10', 400, 'validation_failed'],
      ['/v1/log/entries?start=5&end=5', 400, 'validation_failed'],
      ['/v1/log/entries?start=1499&end=1501', 404, 'not_found'],
      ['/v1/log/checkpoint/witnessed?k=5', 404, 'not_found'],
    ];
    for (const [path, status, code] of cases) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(status);
      const body = (await response.json()) as { code: string; message: string };
      expect(body.code, path).toBe(code);
      expect(body.message.length, path).toBeGreaterThan(0);
    }
  });

  it('takes cosignatures from its configured witnesses only', async () => {
    const checkpoint = await log.checkpoint();
    const stranger = new CosignatureSigner(generateSignerKey('stranger.example', SIGNATURE_COSIGNATURE_V1));
    const post = (note: string) => fetch(`${url}/v1/log/cosignatures`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: note });
    const refused = await post(`${checkpoint.note}${stranger.cosign(checkpoint.text)}\n`);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('forbidden');
    const garbage = await post('not a note');
    expect(garbage.status).toBe(400);
    const bad = await post(`${checkpoint.note}${witnessSigner.cosign(checkpoint.text.replace('1500', '1499'))}\n`);
    expect(bad.status).toBe(401);
  });

  it('witness cosign, log verify and log audit commands work against the server and catch tampering', async () => {
    const keyFile = join(dir, 'witness.key');
    writeFileSync(keyFile, `${WITNESS_KEY}\n`);
    const witnessArgs = ['witness', 'cosign', '--log-url', url, '--log-key', log.verifierKey, '--key-file', keyFile, '--state', join(dir, 'witness.json')];
    expect(await cli(registerWitnessCommands, witnessArgs)).toMatch(/cosigned example.test\/log at size 1500; the log accepted it from witness.example\/w1/);
    const witnessed = await client.witnessedCheckpoint(1);
    expect(requireWitnesses(witnessed, [witnessSigner.verifierKey], 1)).toHaveLength(1);

    const state = join(dir, 'auditor.json');
    const auditArgs = ['log', 'audit', '--url', url, '--log-key', log.verifierKey, '--state', state];
    expect(await cli(registerLogCommands, auditArgs)).toMatch(/audit OK: example.test\/log: 1500 entries hash to the signed root/);

    await log.append([bytes('device-list change 1500'), bytes('device-list change 1501')]);
    expect(await cli(registerWitnessCommands, witnessArgs)).toMatch(/at size 1502/);
    expect(await cli(registerLogCommands, [...auditArgs, '--witness-key', witnessSigner.verifierKey, '--witnesses', '1'])).toMatch(/1502 entries .* consistent with size 1500 seen before/);
    expect(await cli(registerLogCommands, ['log', 'verify', '--url', url, '--log-key', log.verifierKey, '--state', state, '--index', '1501'])).toMatch(/entry 1501 .* is in example.test\/log at size 1502/);

    // The operator rewrites an old entry in the database: the audit must notice.
    await db.run('UPDATE log_leaves SET data = ? WHERE log_id = ? AND idx = ?', [bytes('device-list change 7 (ghost device added)'), 'example.test/log', 7]);
    await expect(cli(registerLogCommands, auditArgs)).rejects.toThrow(/AUDIT FAILED: the 1502 entries do not hash to the signed root: the log serves entries it did not sign/);
  });

  it('the witness refuses, and the auditor flags, a forked log signed with the same key', async () => {
    const forkDb = await openDb({ sqlitePath: ':memory:' });
    const fork = await TransparencyLog.open(forkDb, { signerKey: LOG_KEY, witnesses: [witnessSigner.verifierKey] });
    await fork.append(Array.from({ length: 1503 }, (_, i) => bytes(i === 3 ? 'a different history' : `device-list change ${i}`)));
    const forkServer = await serve(fork);
    try {
      const keyFile = join(dir, 'witness.key');
      const witnessArgs = ['witness', 'cosign', '--log-url', forkServer.url, '--log-key', log.verifierKey, '--key-file', keyFile, '--state', join(dir, 'witness.json')];
      await expect(cli(registerWitnessCommands, witnessArgs)).rejects.toThrow(/SPLIT VIEW: size 1503 is not consistent with size 1502/);
      const checkArgs = ['log', 'verify', '--url', forkServer.url, '--log-key', log.verifierKey, '--state', join(dir, 'auditor.json'), '--index', '0'];
      await expect(cli(registerLogCommands, checkArgs)).rejects.toThrow(/SPLIT VIEW: size 1503 is not consistent with size 1502 seen before/);
      const auditArgs = ['log', 'audit', '--url', forkServer.url, '--log-key', log.verifierKey, '--state', join(dir, 'auditor.json')];
      await expect(cli(registerLogCommands, auditArgs)).rejects.toThrow(/AUDIT FAILED: SPLIT VIEW: the first 1502 entries no longer hash to the root seen before/);
    } finally {
      await forkServer.app.close();
      await forkDb.close();
    }
  });
});
