/**
 * The DKG coordinator (COCKTAIL-DKG's "coordinator"): relays messages between the custodians over HTTP
 * and learns nothing secret — shares travel encrypted to each custodian's static key, and the final
 * certification round catches a coordinator that showed custodians different messages. Any party can
 * run it (the provider, an operator, a test); the result is an epoch certificate every client verifies.
 */
import { type EpochCertificate, type EpochKey, openEpochCertificate } from './dkg.ts';
import { type TrustConfig, custodianStaticKeys } from './trust.ts';
import { type Round1MessageJson, certificateFromJson, epochCertificateJson, round1MessageJson } from './wire.ts';

export class CustodianHttpError extends Error {
  constructor(
    readonly custodian: number,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`custodian ${custodian}: ${message} (${code})`);
    this.name = 'CustodianHttpError';
  }
}

export async function postJson(custodian: number, url: string, body: unknown, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  const response = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!response.ok) throw new CustodianHttpError(custodian, response.status, json.code ?? 'http_error', json.message ?? response.statusText);
  return json;
}

export async function getJson(custodian: number, url: string, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  const response = await fetchImpl(url);
  const json = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!response.ok) throw new CustodianHttpError(custodian, response.status, json.code ?? 'http_error', json.message ?? response.statusText);
  return json;
}

/** Runs round 1, round 2 and certification with every custodian in the trust configuration. */
export async function runDkgCeremony(trust: TrustConfig, epoch: number, fetchImpl: typeof fetch = fetch): Promise<{ certificate: EpochCertificate; key: EpochKey }> {
  const base = (i: number) => trust.custodians[i - 1]!.url.replace(/\/$/, '');
  const all = trust.custodians.map((c) => c.index);
  const round1 = await Promise.all(all.map(async (i) => round1MessageJson.parse(await postJson(i, `${base(i)}/v1/dkg/round1`, { epoch }, fetchImpl))));
  round1.forEach((m, k) => {
    if (m.index !== k + 1) throw new CustodianHttpError(k + 1, 200, 'wrong_index', `answered as custodian ${m.index}`);
  });
  const messages: Round1MessageJson[] = round1;
  const signatures = await Promise.all(
    all.map(async (i) => ((await postJson(i, `${base(i)}/v1/dkg/round2`, { epoch, messages }, fetchImpl)) as { transcriptSignature: string }).transcriptSignature),
  );
  const certified = await Promise.all(all.map(async (i) => epochCertificateJson.parse(await postJson(i, `${base(i)}/v1/dkg/certify`, { epoch, signatures }, fetchImpl))));
  const certificate = certificateFromJson(certified[0]!);
  const key = openEpochCertificate(certificate, custodianStaticKeys(trust), trust.deployment, trust.threshold);
  return { certificate, key };
}

/** Fetches and verifies an epoch certificate: what a client does before encrypting to an epoch key. */
export async function fetchEpochKey(trust: TrustConfig, epoch: number, fetchImpl: typeof fetch = fetch): Promise<EpochKey> {
  return (await fetchEpochCertificate(trust, epoch, fetchImpl)).key;
}

export async function fetchEpochCertificate(trust: TrustConfig, epoch: number, fetchImpl: typeof fetch = fetch): Promise<{ certificate: EpochCertificate; key: EpochKey }> {
  let lastError: unknown;
  for (const c of trust.custodians) {
    try {
      const body = (await getJson(c.index, `${c.url.replace(/\/$/, '')}/v1/epochs/${epoch}`, fetchImpl)) as { certificate: unknown };
      const certificate = certificateFromJson(epochCertificateJson.parse(body.certificate));
      const key = openEpochCertificate(certificate, custodianStaticKeys(trust), trust.deployment, trust.threshold);
      // A valid certificate of another epoch (replayed) must not pass for this one.
      if (key.epoch !== epoch) throw new Error(`custodian ${c.index} answered with the certificate of epoch ${key.epoch}, not ${epoch}`);
      return { certificate, key };
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`no custodian served a valid certificate for epoch ${epoch}: ${(lastError as Error)?.message}`);
}
