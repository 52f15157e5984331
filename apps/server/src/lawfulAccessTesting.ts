/**
 * Test support: a lawful-access deployment with every party real, as the end-to-end tests need it — the
 * provider's server with its transparency log, a witness cosigning all along (as deployed: every few hundred
 * milliseconds), three custodian processes (`doublelock custodian serve`, 2 of 3) following that log, and
 * today's epoch key from a real DKG ceremony. The authorities' keys are the caller's, so its test can act as
 * any of them (or forge as an impostor).
 */
import { initCustodianKeys, publicKeysOf } from '@doublelock/custodian';
import { DAY_MS, epochAt, runDkgCeremony, signTrustConfig, type EpochKey, type KeyPair, type SignedTrustConfig, type TrustConfig } from '@doublelock/lawful-access';
import { CosignatureSigner } from '@doublelock/log';
import { toBase64Url } from '@doublelock/protocol';
import { freePort } from '@doublelock/store/testing';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { witnessCosign } from '../../cli/src/commands/witness.ts';
import type { ServerConfig } from './config.ts';
import { serveCustodian, startTestServer } from './testing.ts';

/** Who signs what: the trust root, the double lock (Secretary of State, Judicial Commissioner), the agency, the provider, the DKG coordinator. */
export interface AuthorityKeys {
  root: KeyPair;
  sos: KeyPair;
  judge: KeyPair;
  agency: KeyPair;
  provider: KeyPair;
  coordinator: KeyPair;
}

export interface LawfulAccessDeployment<S> {
  server: S;
  trust: TrustConfig;
  signedTrust: SignedTrustConfig;
  /** The trust root's public key, base64url, as clients and the CLI take it. */
  trustRoot: string;
  epochKey: EpochKey;
  custodians: Array<{ close(): Promise<void> }>;
  /** One witness run now (runs never overlap: the witness keeps its state in one file). */
  witness(): Promise<void>;
  close(): Promise<void>;
}

export async function startLawfulAccessDeployment<S extends { url: string; close(): Promise<void> }>(options: {
  /** Where the server's data, the custodians' keys, the trust file and the witness's state go (the caller removes it). */
  dir: string;
  deployment: string;
  keys: AuthorityKeys;
  /** The witness's signer key (`generateSignerKey`). */
  witnessKey: string;
  /** Starts the provider's server with this configuration (a bare test server, or one serving the web app). */
  start: (config: Partial<ServerConfig>) => Promise<S>;
  /** Extra `custodian serve` flags for custodian `index` (1-based), e.g. an operator key. */
  custodianFlags?: (index: number) => string[];
}): Promise<LawfulAccessDeployment<S>> {
  const { dir, keys } = options;
  const dataDir = join(dir, 'server');
  const witnessVerifierKey = new CosignatureSigner(options.witnessKey).verifierKey;
  // The trust configuration names the log's key, which exists once the server has started once.
  const first = await startTestServer({ dataDir, logWitnesses: [witnessVerifierKey] });
  const logKey = first.ctx.directory.log.verifierKey;
  await first.close();

  const custodianDirs = [1, 2, 3].map((i) => join(dir, `custodian-${i}`));
  const secrets = custodianDirs.map((d) => initCustodianKeys(d).secrets);
  const ports = await Promise.all(custodianDirs.map(() => freePort()));
  const trust: TrustConfig = {
    version: 1,
    deployment: options.deployment,
    issuedAt: Date.now(),
    secretaryOfState: [{ id: 'sos', publicKey: toBase64Url(keys.sos.publicKey) }],
    judicialCommissioners: [{ id: 'jc', publicKey: toBase64Url(keys.judge.publicKey) }],
    agencies: [{ id: 'nca', publicKey: toBase64Url(keys.agency.publicKey) }],
    provider: [{ id: 'provider', publicKey: toBase64Url(keys.provider.publicKey) }],
    coordinators: [{ id: 'coordinator', publicKey: toBase64Url(keys.coordinator.publicKey) }],
    custodians: secrets.map((s, i) => ({ index: i + 1, name: `custodian-${i + 1}`, url: `http://127.0.0.1:${ports[i]}`, ...publicKeysOf(s) })),
    threshold: 2,
    log: { verifierKey: logKey, witnesses: [witnessVerifierKey], witnessQuorum: 1 },
    epoch: { lengthMs: DAY_MS, retentionDays: 30 },
    bankHolidays: [],
  };
  const signedTrust = signTrustConfig(trust, keys.root.secretKey);
  const trustRoot = toBase64Url(keys.root.publicKey);
  const server = await options.start({
    dataDir,
    logWitnesses: [witnessVerifierKey],
    lawfulAccess: { trust: signedTrust, trustRootKey: trustRoot, providerKeyId: 'provider', providerSecretKey: keys.provider.secretKey },
  });
  // Each custodian follows the provider's log and publishes its releases there; a share leaves only once its
  // release is proven in a witnessed checkpoint (the witness below runs all along).
  const trustFile = join(dir, 'trust.json');
  writeFileSync(trustFile, JSON.stringify(signedTrust));
  const custodians = await Promise.all(
    custodianDirs.map((d, i) =>
      serveCustodian(['--data', d, '--trust', trustFile, '--trust-root', trustRoot, '--log', server.url, '--port', String(ports[i]), '--log-level', 'warn', ...(options.custodianFlags?.(i + 1) ?? [])]),
    ),
  );
  const epochKey = (await runDkgCeremony(trust, epochAt(Date.now()), { id: 'coordinator', secretKey: keys.coordinator.secretKey })).key;

  const keyFile = join(dir, 'witness.key');
  writeFileSync(keyFile, options.witnessKey);
  let witnessRun: Promise<void> = Promise.resolve();
  const witness = (): Promise<void> => {
    const run = witnessRun.then(async () => {
      await witnessCosign({ logUrl: server.url, logKey, keyFile, state: join(dir, 'witness-state.json') });
    });
    witnessRun = run.catch(() => undefined);
    return run;
  };
  let busy = false;
  const witnessing = setInterval(() => {
    if (busy) return;
    busy = true;
    void witness()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, 250);

  return {
    server,
    trust,
    signedTrust,
    trustRoot,
    epochKey,
    custodians,
    witness,
    async close() {
      clearInterval(witnessing);
      await witnessRun;
      await Promise.all(custodians.map((c) => c.close()));
      await server.close();
    },
  };
}
