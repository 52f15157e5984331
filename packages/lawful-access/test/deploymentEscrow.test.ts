/**
 * A client configuring its escrow provider from the deployment: a real server (lawful access on and off)
 * and three real custodian services (2-of-3) that ran the DKG. Off gives no provider at all; on gives
 * fields made with the certified key of the epoch the clock is in; a configuration signed by another root,
 * a tampered or replayed certificate, and an epoch without a certificate are each refused; the provider
 * switches keys at the boundary, fetches the next key ahead of it, and still accepts yesterday's fields.
 */
import { type RunningCustodian, startCustodian } from '@doublelock/custodian';
import { toBase64Url, type EscrowContext } from '@doublelock/protocol';
import type { RunningServer } from '@doublelock/server/app';
import { startTestServer } from '@doublelock/server/testing';
import { freePort } from '@doublelock/store/testing';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runDkgCeremony } from '../src/ceremony.ts';
import { type DeploymentEscrow, type DeploymentEscrowOptions, EpochKeyUnavailable, deploymentEscrow } from '../src/deploymentEscrow.ts';
import type { EpochKey } from '../src/dkg.ts';
import { DAY_MS, epochAt } from '../src/epoch.ts';
import { createEscrowField, parseEscrowField, verifyEscrowField } from '../src/escrow.ts';
import { Point, encodePoint, randomScalar } from '../src/group.ts';
import { generateSigningKey } from '../src/signature.ts';
import { LawfulAccessWorld } from '../src/testing.ts';

const MINUTE = 60_000;
const E = epochAt(Date.UTC(2026, 10, 23));
const boundary = (epoch: number) => (epoch + 1) * DAY_MS;
/** the custodians' clock: half an hour before the end of epoch E */
const custodianClock = boundary(E) - 30 * MINUTE;

let world: LawfulAccessWorld;
let custodians: RunningCustodian[] = [];
let on: RunningServer;
let off: RunningServer;
const dirs: string[] = [];
const certified = new Map<number, EpochKey>();
const opened: DeploymentEscrow[] = [];
const context: EscrowContext = { groupId: 'ZzE', senderUsername: 'alice', senderDevice: 'dev-a', recipientDevices: ['dev-b'], clientMessageId: 'msg-00000001' };
/** a delivery time inside an epoch */
const during = (epoch: number) => epoch * DAY_MS + 12 * 3_600_000;

async function certify(epoch: number): Promise<EpochKey> {
  const { key } = await runDkgCeremony(world.trust, epoch, world.coordinator, { now: () => custodianClock });
  certified.set(epoch, key);
  return key;
}

async function open(options: Partial<DeploymentEscrowOptions> = {}): Promise<DeploymentEscrow> {
  const escrow = await deploymentEscrow({ serverUrl: on.url, trustRoot: toBase64Url(world.root.publicKey), ...options });
  if (!escrow) throw new Error('lawful access should be on');
  opened.push(escrow);
  return escrow;
}

/** A network (or custodian) that rewrites the certificates it relays. */
function rewritingFetch(rewrite: (url: string, body: { certificate: Record<string, unknown> }) => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = String(input);
    if (!url.includes('/v1/epochs/') || !response.ok) return response;
    const body = (await response.json()) as { certificate: Record<string, unknown> };
    rewrite(url, body);
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

const fieldFor = (epoch: number, key: Uint8Array = certified.get(epoch)!.publicKey) => {
  const K = randomBytes(32);
  return { K, field: createEscrowField({ epoch, publicKey: key }, K, context) };
};

beforeAll(async () => {
  const ports = await Promise.all([1, 2, 3].map(() => freePort()));
  // Retention of one day, so crossing two boundaries also shows an erased epoch being refused.
  world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3, urls: ports.map((p) => `http://127.0.0.1:${p}`), retentionDays: 1 });
  custodians = await Promise.all(
    world.custodians.map((c, i) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'dl-deployment-escrow-'));
      dirs.push(dataDir);
      return startCustodian({
        port: ports[i],
        dataDir,
        trust: world.signedTrust,
        trustRoot: world.root.publicKey,
        keys: { staticSecret: c.staticKey.secret, signingSecret: c.signing.secretKey },
        now: () => custodianClock,
      });
    }),
  );
  [on, off] = await Promise.all([
    startTestServer({ lawfulAccess: { trust: world.signedTrust, trustRootKey: toBase64Url(world.root.publicKey), providerKeyId: 'provider-1', providerSecretKey: world.provider.secretKey } }),
    startTestServer(),
  ]);
  // The operator coordinates the ceremonies ahead of time; clients only fetch certificates.
  await certify(E);
  await certify(E + 1);
});

afterEach(() => {
  for (const escrow of opened.splice(0)) escrow.close();
});

afterAll(async () => {
  await Promise.all(custodians.map((c) => c.close()));
  await Promise.all([on?.close(), off?.close()]);
  await world?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('deploymentEscrow', () => {
  it('gives no provider when the deployment has lawful access off', async () => {
    expect(await deploymentEscrow({ serverUrl: off.url, trustRoot: world.root.publicKey })).toBeUndefined();
  });

  it('does not read a failing server as "off", and checks its options', async () => {
    await expect(deploymentEscrow({ serverUrl: custodians[0]!.url, trustRoot: world.root.publicKey })).rejects.toThrow(/HTTP 404/);
    await expect(deploymentEscrow({ serverUrl: 'chat.example', trustRoot: world.root.publicKey })).rejects.toThrow(/absolute URL/);
    await expect(deploymentEscrow({ serverUrl: on.url, trustRoot: world.root.publicKey, prefetchMs: -1 })).rejects.toThrow(/prefetchMs must be a positive integer/);
  });

  it('makes fields with the certified key of the current epoch, which recipients verify', async () => {
    const escrow = await open({ now: () => custodianClock });
    expect(escrow.trust.deployment).toBe('doublelock-test');
    expect(escrow.scheme).toBe(`doublelock-eaf-v2/${E}`);
    // Half an hour before the boundary: the next epoch's key is already held.
    expect(escrow.heldEpochs()).toEqual([E, E + 1]);
    expect(escrow.epochKey(E)!.publicKey).toEqual(certified.get(E)!.publicKey);

    const K = randomBytes(32);
    const field = escrow.create(K, context);
    expect(parseEscrowField(field).epoch).toBe(E);
    expect(verifyEscrowField(certified.get(E)!, field, K, context)).toBe(true);
    expect(escrow.verify(field, K, context, custodianClock)).toBe(true);
    expect(escrow.verify(field, K, { ...context, clientMessageId: 'another-message' }, custodianClock)).toBe(false);
    expect(escrow.verify(field, randomBytes(32), context, custodianClock)).toBe(false);
    const corrupted = field.slice();
    corrupted[40]! ^= 1;
    expect(escrow.verify(corrupted, K, context, custodianClock)).toBe(false);
    // The same field, delivered two epochs later (the custodians would refuse it then): refused.
    expect(escrow.verify(field, K, context, during(E + 2))).toBe(false);
  });

  it('refuses a trust configuration that does not verify under the pinned root', async () => {
    await expect(deploymentEscrow({ serverUrl: on.url, trustRoot: generateSigningKey().publicKey })).rejects.toThrow(/does not verify under the pinned root key/);
  });

  it('refuses a tampered certificate, and takes an intact copy from another custodian', async () => {
    const swapCommitments = (_url: string, body: { certificate: Record<string, unknown> }) => {
      const commitments = body.certificate.commitments as string[][];
      [commitments[0], commitments[1]] = [commitments[1]!, commitments[0]!];
    };
    const everywhere = await open({ now: () => custodianClock, fetch: rewritingFetch(swapCommitments) });
    expect(everywhere.heldEpochs()).toEqual([]);
    expect(() => everywhere.create(randomBytes(32), context)).toThrow(EpochKeyUnavailable);
    expect(() => everywhere.create(randomBytes(32), context)).toThrow(/no custodian served a valid certificate for epoch \d+ \(custodian \d: /);
    await expect(everywhere.refresh()).rejects.toThrow(EpochKeyUnavailable);

    // Custodians 1 and 2 serve tampered copies; clients start at a random custodian, here the first.
    const honestPort = new URL(custodians[2]!.url).port;
    let tamperedServed = 0;
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const oneHonest = await open({
        now: () => custodianClock,
        fetch: rewritingFetch((url, body) => {
          if (url.includes(`:${honestPort}/`)) return;
          tamperedServed++;
          swapCommitments(url, body);
        }),
      });
      expect(tamperedServed).toBe(4); // two tampered copies for each of epochs E and E + 1
      const K = randomBytes(32);
      expect(verifyEscrowField(certified.get(E)!, oneHonest.create(K, context), K, context)).toBe(true);
    } finally {
      random.mockRestore();
    }
  });

  it("refuses another epoch's valid certificate served as the current one (a replay)", async () => {
    const replay = await open({ now: () => custodianClock, fetch: (input, init) => fetch(String(input).replace(`/v1/epochs/${E}`, `/v1/epochs/${E + 1}`), init) });
    expect(replay.heldEpochs()).toEqual([E + 1]);
    expect(() => replay.create(randomBytes(32), context)).toThrow(/served the certificate of epoch/);
  });

  it("switches keys at the boundary, accepts the previous epoch's fields, and refuses erased or uncertified epochs", async () => {
    let now = custodianClock;
    const escrow = await open({ now: () => now });
    const K1 = randomBytes(32);
    const yesterday = escrow.create(K1, context);

    now = boundary(E) + MINUTE;
    expect(escrow.currentEpoch()).toBe(E + 1);
    expect(escrow.scheme).toBe(`doublelock-eaf-v2/${E + 1}`);
    const K2 = randomBytes(32);
    const today = escrow.create(K2, context);
    expect(parseEscrowField(today).epoch).toBe(E + 1);
    expect(verifyEscrowField(certified.get(E + 1)!, today, K2, context)).toBe(true);
    expect(escrow.verify(today, K2, context, now)).toBe(true);
    expect(escrow.verify(yesterday, K1, context, now)).toBe(true);

    // A key no custodian certified: refused, and fetching it finds no certificate.
    const forged = fieldFor(E + 3, encodePoint(Point.BASE.multiply(randomScalar())));
    expect(escrow.verify(forged.field, forged.K, context, during(E + 3))).toBe(false);
    expect(await escrow.ensureEpoch(E + 3)).toBe(false);
    expect(escrow.verify(forged.field, forged.K, context, during(E + 3))).toBe(false);

    // Past E's retention its shares are gone: a field for it could never be opened, so it is refused.
    now = boundary(E + 1) + MINUTE;
    expect(escrow.verify(yesterday, K1, context, boundary(E) - MINUTE)).toBe(false);
  });

  it('fetches, verifies and then accepts a field of an epoch it did not hold', async () => {
    await certify(E + 2);
    const escrow = await open({ now: () => custodianClock });
    expect(escrow.heldEpochs()).toEqual([E, E + 1]);
    const { K, field } = fieldFor(E + 2);
    // verify() is synchronous: the first sight of a new epoch is refused and starts the fetch.
    expect(escrow.verify(field, K, context, during(E + 2))).toBe(false);
    await vi.waitFor(() => expect(escrow.verify(field, K, context, during(E + 2))).toBe(true));
    expect(escrow.epochKey(E + 2)!.publicKey).toEqual(certified.get(E + 2)!.publicKey);

    // A messenger that awaits prepare() first gets the answer on the first try.
    const another = await open({ now: () => custodianClock });
    await another.prepare(field);
    expect(another.verify(field, K, context, during(E + 2))).toBe(true);
    // …but not as a message delivered in epoch E (a sender choosing a later epoch's key): refused
    expect(another.verify(field, K, context, during(E))).toBe(false);
  });

  it('throws rather than send without a field when the current epoch has no certificate', async () => {
    const escrow = await open({ now: () => boundary(E + 3) + MINUTE });
    expect(escrow.currentEpoch()).toBe(E + 4);
    expect(() => escrow.create(randomBytes(32), context)).toThrow(/no certified key for the current epoch \d+: no custodian served a valid certificate .*no key for epoch/);
    await expect(escrow.refresh()).rejects.toThrow(EpochKeyUnavailable);

    await certify(E + 4);
    await escrow.refresh();
    const K = randomBytes(32);
    expect(verifyEscrowField(certified.get(E + 4)!, escrow.create(K, context), K, context)).toBe(true);
  });

  it('prefetches the next key on its own before the boundary and uses it once the clock crosses', async () => {
    await certify(E + 5);
    const prefetchMs = 10 * MINUTE;
    const started = Date.now();
    let jump = 0;
    // A clock running at real speed, 300 ms before the prefetch point for epoch E + 6.
    const now = () => boundary(E + 5) - prefetchMs - 300 + (Date.now() - started) + jump;
    const escrow = await open({ now, prefetchMs, retryMs: 100 });
    expect(escrow.heldEpochs()).toEqual([E + 4, E + 5]);
    await certify(E + 6); // the operator's ceremony for tomorrow, run after the client started
    await vi.waitFor(() => expect(escrow.heldEpochs()).toContain(E + 6), { timeout: 10_000, interval: 50 });
    expect(now()).toBeGreaterThanOrEqual(boundary(E + 5) - prefetchMs);

    jump = prefetchMs + MINUTE; // across the boundary, with no call to refresh()
    const K = randomBytes(32);
    const field = escrow.create(K, context);
    expect(parseEscrowField(field).epoch).toBe(E + 6);
    expect(verifyEscrowField(certified.get(E + 6)!, field, K, context)).toBe(true);
  });
});
