/**
 * The key ceremony against a hostile or failing coordinator, with three real custodian services (real
 * HTTP, real SQLite, real key files):
 *   - an attacker coordinator (not in the signed trust configuration) runs rounds at every custodian and
 *     tries to certify at one: every custodian refuses it at round 1, so no epoch exists anywhere;
 *     a genuine coordinator's request replayed, redirected to another custodian or step, or stale, is refused;
 *   - the genuine coordinator stops mid-way (certification reached one custodian only): no custodian
 *     serves an epoch key, and the one certificate that exists does not open for clients (n completions
 *     missing) — no usable-looking epoch; a custodian restarts; the re-run resumes and succeeds, and every
 *     custodian then holds a share matching its verification key;
 *   - a ceremony that stopped after round 2 (nobody certified) is simply run afresh.
 */
import {
  type Coordinator,
  certificateFromJson,
  custodianStaticKeys,
  decodeScalar,
  epochAt,
  epochCertificateJson,
  fetchEpochCertificate,
  fetchEpochKey,
  generateSigningKey,
  openEpochCertificate,
  runDkgCeremony,
  signDkgRequest,
} from '@doublelock/lawful-access';
import { LawfulAccessWorld } from '@doublelock/lawful-access/testing';
import { toBase64Url } from '@doublelock/protocol';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningCustodian } from '../src/index.ts';
import { ShareWrapping } from '../src/shareWrapping.ts';
import { type CustodianTrio, startCustodianTrio } from './trio.ts';

let trio: CustodianTrio;
let world: LawfulAccessWorld;
let custodians: RunningCustodian[] = [];
const current = epochAt(Date.now());

beforeAll(async () => {
  trio = await startCustodianTrio({ log: false, custodian: () => ({ logLevel: 'silent' }) });
  ({ world, custodians } = trio);
});

afterAll(() => trio?.close());

const post = async (i: number, step: string, body: unknown) => {
  const response = await fetch(`${custodians[i]!.url}/v1/dkg/${step}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { code?: string; certificate?: unknown; completion?: string; transcriptSignature?: string } };
};
const state = async (i: number, epoch: number) => (await (await fetch(`${custodians[i]!.url}/v1/dkg/${epoch}`)).json()) as { state: string; certificate?: unknown };
const served = async (i: number, epoch: number) => (await fetch(`${custodians[i]!.url}/v1/epochs/${epoch}`)).status;

describe('an attacker coordinator', () => {
  it('runs rounds at every custodian and certifies at one: refused everywhere, no epoch exists', async () => {
    const epoch = current + 3;
    const mallory: Coordinator = { id: 'coordinator-1', secretKey: generateSigningKey().secretKey }; // the right id, its own key
    const outsider: Coordinator = { id: 'mallory', secretKey: world.coordinatorKey.secretKey }; // the right key under an unknown id
    for (const attacker of [mallory, outsider]) {
      for (const i of [0, 1, 2]) {
        const round1 = await post(i, 'round1', signDkgRequest(attacker, i + 1, 'round1', { epoch }));
        expect(round1).toMatchObject({ status: 403, body: { code: 'bad_coordinator' } });
      }
      const certify = await post(0, 'certify', signDkgRequest(attacker, 1, 'certify', { epoch, signatures: [] }));
      expect(certify).toMatchObject({ status: 403, body: { code: 'bad_coordinator' } });
    }
    // unsigned (the old protocol) is not even a request
    expect((await post(0, 'round1', { epoch })).status).toBe(400);
    for (const i of [0, 1, 2]) {
      expect(await state(i, epoch)).toEqual({ state: 'none' });
      expect(await served(i, epoch)).toBe(404);
    }
  });

  it('cannot replay, redirect or delay the genuine coordinator’s requests', async () => {
    const epoch = current + 4;
    const genuine = signDkgRequest(world.coordinator, 1, 'round1', { epoch });
    expect((await post(0, 'round1', genuine)).status).toBe(200);
    expect(await post(0, 'round1', genuine)).toMatchObject({ status: 409, body: { code: 'replay' } });
    expect(await post(1, 'round1', signDkgRequest(world.coordinator, 1, 'round1', { epoch }))).toMatchObject({ status: 403, body: { code: 'bad_coordinator' } });
    expect(await post(0, 'round2', { ...genuine, step: 'round2' })).toMatchObject({ status: 403, body: { code: 'bad_coordinator' } }); // signature covers the step
    expect(await post(0, 'round1', signDkgRequest(world.coordinator, 1, 'round1', { epoch }, Date.now() - 10 * 60_000))).toMatchObject({
      status: 403,
      body: { code: 'bad_coordinator' },
    });
    const tampered = { ...signDkgRequest(world.coordinator, 1, 'round1', { epoch }), body: { epoch: epoch + 1 } };
    expect(await post(0, 'round1', tampered)).toMatchObject({ status: 403, body: { code: 'bad_coordinator' } });
  });
});

describe('a coordinator that stops mid-way', () => {
  it('leaves no usable-looking epoch; after a custodian restarts, the re-run finishes it', async () => {
    const epoch = current + 1;
    // The network dies after certification reached custodian 1 only.
    const stopsAfterFirstCertify: typeof fetch = async (input, init) => {
      const url = String(input);
      if ((url.endsWith('/v1/dkg/certify') && !url.startsWith(custodians[0]!.url)) || url.endsWith('/v1/dkg/activate')) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    await expect(runDkgCeremony(world.trust, epoch, world.coordinator, { fetch: stopsAfterFirstCertify })).rejects.toThrow(/fetch failed/);
    expect((await state(0, epoch)).state).toBe('certified');
    expect((await state(1, epoch)).state).toBe('signed');
    // No custodian serves a key, and the one certificate that exists does not open for a client.
    for (const i of [0, 1, 2]) expect(await served(i, epoch)).toBe(404);
    await expect(fetchEpochCertificate(world.trust, epoch)).rejects.toThrow(/no custodian served a valid certificate/);
    const partial = certificateFromJson(epochCertificateJson.parse((await state(0, epoch)).certificate));
    expect(() => openEpochCertificate(partial, custodianStaticKeys(world.trust), world.trust.deployment, world.threshold)).toThrow(/not complete/);
    // A fresh ceremony for the epoch is refused where it is certified (it must be finished, not forked).
    expect(await post(0, 'round1', signDkgRequest(world.coordinator, 1, 'round1', { epoch }))).toMatchObject({ status: 409, body: { code: 'epoch_certified' } });

    // Custodian 2 restarts (its round-2 share and transcript were persisted), then the coordinator re-runs.
    await custodians[1]!.close();
    custodians[1] = await trio.start(1);
    const rerun = await runDkgCeremony(world.trust, epoch, world.coordinator);
    expect(rerun.resumed).toBe(true);
    expect(await fetchEpochKey(world.trust, epoch)).toEqual(rerun.key);
    for (const i of [0, 1, 2]) {
      expect(await state(i, epoch)).toMatchObject({ state: 'active' });
      // each custodian holds x_i with x_i·G = Y_i: the key is usable by any t of them
      const row = (await custodians[i]!.store.epoch(epoch))!;
      const share = new ShareWrapping(trio.dataDir(i + 1)).unwrap(epoch, row.share!)!;
      expect(toBase64Url(ristretto255.Point.BASE.multiply(decodeScalar(share)).toBytes())).toBe(toBase64Url(rerun.key.verificationKeys[i]!));
    }
  });

  it('a ceremony that stopped before anyone certified is run afresh', async () => {
    const epoch = current + 2;
    const stopsBeforeCertify: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/v1/dkg/certify')) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    await expect(runDkgCeremony(world.trust, epoch, world.coordinator, { fetch: stopsBeforeCertify })).rejects.toThrow(/fetch failed/);
    for (const i of [0, 1, 2]) expect(await state(i, epoch)).toEqual({ state: 'signed' });
    const rerun = await runDkgCeremony(world.trust, epoch, world.coordinator);
    expect(rerun.resumed).toBe(false);
    expect(await fetchEpochKey(world.trust, epoch)).toEqual(rerun.key);
  });
});
