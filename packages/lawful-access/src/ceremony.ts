/**
 * The DKG coordinator (COCKTAIL-DKG's "coordinator"): relays messages between the custodians over HTTP.
 * It learns nothing secret — shares travel encrypted to each custodian's static key, and certification
 * catches a coordinator that showed custodians different messages — but it could still leave an epoch
 * half made, so only a coordinator named in the signed trust configuration may run rounds: every round
 * is a signed, fresh, single-use request addressed to one custodian and one step (`signDkgRequest`).
 * The ceremony is round 1, round 2, certify (each custodian stores its share and signs a completion) and
 * activate (each custodian checks all n completions); clients accept a key only with all n completions.
 * `runDkgCeremony` resumes a ceremony that stopped part-way: if any custodian already certified a
 * transcript, it finishes that one (custodians keep their share for it across restarts); otherwise it
 * starts afresh.
 */
import { z } from 'zod';
import { type EpochCertificate, type EpochKey, openEpochCertificate } from './dkg.ts';
import { signDocument, verifyDocument } from './signature.ts';
import { type TrustConfig, custodianStaticKeys, findKey } from './trust.ts';
import { type Round1MessageJson, certificateFromJson, epochCertificateJson, round1MessageJson } from './wire.ts';
import { randomBytes } from '@noble/hashes/utils.js';
import { toBase64Url } from '@doublelock/protocol';

export const DKG_REQUEST_LABEL = 'doublelock/custodian-dkg/v1/coordinator-request';
export const DKG_STEPS = ['round1', 'round2', 'certify', 'activate'] as const;
export type DkgStep = (typeof DKG_STEPS)[number];
/** How far a coordinator's request time may be from the custodian's clock; nonces are kept twice as long. */
export const DKG_REQUEST_SKEW_MS = 5 * 60_000;

export const signedDkgRequestSchema = z.object({
  coordinator: z.string().min(1).max(64),
  custodian: z.number().int().min(1).max(255),
  step: z.enum(DKG_STEPS),
  requestedAt: z.number().int().nonnegative(),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  body: z.record(z.string(), z.unknown()),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type SignedDkgRequest = z.infer<typeof signedDkgRequestSchema>;

export interface Coordinator {
  /** its id in the trust configuration's `coordinators` */
  id: string;
  secretKey: Uint8Array;
}

export function signDkgRequest(coordinator: Coordinator, custodian: number, step: DkgStep, body: Record<string, unknown>, requestedAt = Date.now()): SignedDkgRequest {
  const unsigned = { coordinator: coordinator.id, custodian, step, requestedAt, nonce: toBase64Url(randomBytes(16)), body };
  return { ...unsigned, signature: signDocument(DKG_REQUEST_LABEL, unsigned, coordinator.secretKey) };
}

/** Why a custodian refuses a coordinator's request, or undefined if it is authentic, fresh and addressed to it. */
export function checkDkgRequest(signed: SignedDkgRequest, trust: TrustConfig, custodian: number, step: DkgStep, now: number): string | undefined {
  const key = findKey(trust.coordinators, signed.coordinator);
  const { signature, ...unsigned } = signed;
  if (!key || !verifyDocument(DKG_REQUEST_LABEL, unsigned, signature, key.publicKey)) return 'not signed by a coordinator in the trust configuration';
  if (signed.custodian !== custodian || signed.step !== step) return `addressed to custodian ${signed.custodian}, step ${signed.step}`;
  if (Math.abs(signed.requestedAt - now) > DKG_REQUEST_SKEW_MS) return 'stale (or from the future)';
  return undefined;
}

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

const dkgStateSchema = z.object({ state: z.enum(['none', 'signed', 'certified', 'active']), certificate: epochCertificateJson.optional() });

/**
 * Runs (or resumes) the ceremony with every custodian in the trust configuration, as the coordinator
 * `coordinator` named there: round 1, round 2, certify, activate.
 */
export async function runDkgCeremony(
  trust: TrustConfig,
  epoch: number,
  coordinator: Coordinator,
  options: { fetch?: typeof fetch; now?: () => number } = {},
): Promise<{ certificate: EpochCertificate; key: EpochKey; resumed: boolean }> {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const base = (i: number) => trust.custodians[i - 1]!.url.replace(/\/$/, '');
  const all = trust.custodians.map((c) => c.index);
  const post = (i: number, step: DkgStep, body: Record<string, unknown>) => postJson(i, `${base(i)}/v1/dkg/${step}`, signDkgRequest(coordinator, i, step, { epoch, ...body }, now()), fetchImpl);

  const states = await Promise.all(all.map(async (i) => dkgStateSchema.parse(await getJson(i, `${base(i)}/v1/dkg/${epoch}`, fetchImpl))));
  const certified = states.find((s) => s.certificate !== undefined)?.certificate;
  let signatures: string[];
  let resumed = false;
  if (certified) {
    // Some custodian already holds a certified transcript: finish that one (the others kept its share).
    signatures = certified.signatures;
    resumed = true;
  } else {
    const round1 = await Promise.all(all.map(async (i) => round1MessageJson.parse(await post(i, 'round1', {}))));
    round1.forEach((m, k) => {
      if (m.index !== k + 1) throw new CustodianHttpError(k + 1, 200, 'wrong_index', `answered as custodian ${m.index}`);
    });
    const messages: Round1MessageJson[] = round1;
    signatures = await Promise.all(all.map(async (i) => ((await post(i, 'round2', { messages })) as { transcriptSignature: string }).transcriptSignature));
  }
  const completions = await Promise.all(
    all.map(async (i) => {
      const existing = states[i - 1]!;
      if (existing.state === 'active') return undefined;
      return ((await post(i, 'certify', { signatures })) as { completion: string }).completion;
    }),
  );
  const active = states.find((s) => s.state === 'active')?.certificate;
  const allCompletions = active ? active.completions : (completions as string[]);
  await Promise.all(all.filter((i) => states[i - 1]!.state !== 'active').map((i) => post(i, 'activate', { completions: allCompletions })));
  const body = (await getJson(1, `${base(1)}/v1/epochs/${epoch}`, fetchImpl)) as { certificate: unknown };
  const certificate = certificateFromJson(epochCertificateJson.parse(body.certificate));
  const key = openEpochCertificate(certificate, custodianStaticKeys(trust), trust.deployment, trust.threshold);
  return { certificate, key, resumed };
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
