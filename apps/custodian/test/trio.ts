/**
 * Test support: the three custodian services (2 of 3) of a LawfulAccessWorld, each on a free loopback port
 * with its keys in a data folder of its own; following the world's log over HTTP unless `log: false`. The
 * epoch keys are each test's own business (it runs the DKG ceremonies it needs, at its own clock).
 */
import { LawfulAccessWorld } from '@doublelock/lawful-access/testing';
import { freePort } from '@doublelock/store/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CustodianOptions, type RunningCustodian, startCustodian, writeCustodianKeys } from '../src/index.ts';

type Extra = Partial<Omit<CustodianOptions, 'port' | 'dataDir' | 'trust' | 'trustRoot'>>;

export interface CustodianTrio {
  world: LawfulAccessWorld;
  /** the log the custodians follow (none with `log: false`) */
  logUrl: string | undefined;
  /** the running custodians, by position (custodian index − 1) */
  custodians: RunningCustodian[];
  /** custodian `index`'s data folder (1-based, as in the trust configuration) */
  dataDir(index: number): string;
  /** (Re)starts custodian `i` (0-based) on its port and data folder, with these options over the trio's. */
  start(i: number, extra?: Extra): Promise<RunningCustodian>;
  close(): Promise<void>;
}

export async function startCustodianTrio(options: {
  /** follow the world's log (default true) */
  log?: boolean;
  /** set up the world before its log starts serving (e.g. its witness's clock) */
  prepare?: (world: LawfulAccessWorld) => void;
  /** options for custodian `i` (0-based) beyond port, folder and trust */
  custodian?: (i: number) => Extra | Promise<Extra>;
} = {}): Promise<CustodianTrio> {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3, urls: ports.map((p) => `http://127.0.0.1:${p}`) });
  options.prepare?.(world);
  const logUrl = options.log === false ? undefined : await world.serveLog();
  const dir = mkdtempSync(join(tmpdir(), 'dl-custodians-'));
  const dataDir = (index: number) => join(dir, `custodian-${index}`);
  for (const c of world.custodians) writeCustodianKeys(dataDir(c.index), { staticSecret: c.staticKey.secret, signingSecret: c.signing.secretKey });
  const start = async (i: number, extra: Extra = {}) =>
    startCustodian({ port: ports[i]!, dataDir: dataDir(world.custodians[i]!.index), trust: world.signedTrust, trustRoot: world.root.publicKey, logUrl, logLevel: 'warn', ...(await options.custodian?.(i)), ...extra });
  const custodians = await Promise.all([0, 1, 2].map((i) => start(i)));
  return {
    world,
    logUrl,
    custodians,
    dataDir,
    start,
    async close() {
      await Promise.all(custodians.map((c) => c.close().catch(() => undefined)));
      await world.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
