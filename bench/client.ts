/**
 * `npm run bench:client`: the messenger's client-side cost, without the network.
 *  - per-message encrypt and decrypt, 1:1 and in a 100-member group: the SDK's whole path (envelope seal
 *    + MLS application message + frame, and back), and ts-mls alone;
 *  - commits adding 1 and 99 members, joining groups of 100 and 1,000, creating a 1,000-member group;
 *  - every figure twice: with ts-mls 1.6.4's default crypto provider ("before") and with ours
 *    (packages/client/src/mls/cryptoProvider.ts, "after"). Both use our authentication service over an
 *    in-memory key directory of real signed device certificates, so credential checks are included.
 * Each provider runs in its own child process (same heap conditions for both), alternating, twice each in a
 * full run; figures are medians within a process, then medians across processes.
 * BENCH_QUICK=1 runs fewer iterations (and one 1,000-member run) for a fast check.
 * Signal's own library runs beside ours in one process (bench/lib/libsignal.ts): per-message encrypt and
 * decrypt, 1:1 (Double Ratchet, after the first reply) and groups (sender keys), interleaved in rounds with
 * our whole path (envelope + MLS + frame; 1:1 and a 100-member group), reported as ratios ours / libsignal.
 * A 10,000-member group (ts-mls with our provider and authentication service): the time to create a commit
 * adding one device, and for a member to process it.
 * Then, once, the SDK end to end against the real server (started in-process, SQLite, so server and client
 * share this process's CPU): creating 100- and 1,000-member groups (KeyPackage claims, directory lookups,
 * the commit, upload), a member joining, one message sent and received (BENCH_QUICK: 100 only); and a
 * device catching up after missing 1,000 messages and 10 commits.
 * Writes bench/results/client.json.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCryptoProvider,
  emptyPskIndex,
  encodeMlsMessage,
  joinGroup,
  processPrivateMessage,
  type MLSMessage,
  type CiphersuiteImpl,
  type ClientState,
  type CryptoProvider,
} from 'ts-mls';
import { startTestServer } from '../apps/server/src/testing.ts';
import { Messenger } from '../packages/client/src/messenger.ts';
import { MemoryStorage } from '../packages/client/src/storage/storage.ts';
import { encodeContent } from '../packages/client/src/envelope/content.ts';
import { splitLengthPrefixed } from '../packages/client/src/envelope/bytes.ts';
import { openEnvelope, sealEnvelope } from '../packages/client/src/envelope/envelope.ts';
import { decodeFrame, encodeFrame } from '../packages/client/src/envelope/frame.ts';
import { fastCryptoProvider } from '../packages/client/src/mls/cryptoProvider.ts';
import { CIPHERSUITE, suiteImpl } from '../packages/client/src/mls/suite.ts';
import { configFor, groupOf, keyPackage, makeDirectory, type Kp } from './lib/mlsFixtures.ts';
import { messageBreakdown, signatureCosts } from './lib/messageBreakdown.ts';
import { libsignalGroup, libsignalOneToOne, timeInterleaved, type Contestant, type PerMessage } from './lib/libsignal.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const MESSAGES = QUICK ? 100 : 400;
const COMMIT_RUNS = QUICK ? 3 : 7;
const BIG_RUNS = QUICK ? 1 : 2;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number) => Math.round(x * 1000) / 1000;

/** Per-message times: the SDK path (envelope + MLS + frame) and ts-mls alone, both directions. */
async function messages(sender: ClientState, receiver: ClientState, cs: CiphersuiteImpl) {
  const groupId = sender.groupContext.groupId;
  const context = { groupId, senderUsername: 'user0', senderDeviceId: 'A'.repeat(22), clientMessageId: 'bench-message-id' };
  const payload = encodeContent({ type: 'text', text: 'The quick brown fox jumps over the lazy dog. '.repeat(3) });
  const enc: number[] = [];
  const dec: number[] = [];
  const mlsEnc: number[] = [];
  const mlsDec: number[] = [];
  let s = sender;
  let r = receiver;
  for (let i = 0; i < MESSAGES; i++) {
    let t = performance.now();
    const sealed = sealEnvelope(payload, context);
    const made = await createApplicationMessage(s, sealed.keys, cs);
    s = made.newState;
    const wire = encodeFrame({ mlsMessage: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: made.privateMessage }), sealedPayload: sealed.sealedPayload, escrow: undefined });
    enc.push(performance.now() - t);

    t = performance.now();
    const frame = decodeFrame(wire);
    const message = decodeMlsMessage(frame.mlsMessage, 0)![0];
    if (message.wireformat !== 'mls_private_message') throw new Error('bad message');
    const opened = await processPrivateMessage(r, message.privateMessage, emptyPskIndex, cs);
    if (opened.kind !== 'applicationMessage') throw new Error('bad message');
    r = opened.newState;
    openEnvelope(opened.message, frame.sealedPayload, undefined, context, sealed.frankingCommitment);
    dec.push(performance.now() - t);
  }
  for (let i = 0; i < MESSAGES; i++) {
    let t = performance.now();
    const made = await createApplicationMessage(s, payload, cs);
    mlsEnc.push(performance.now() - t);
    s = made.newState;
    t = performance.now();
    const opened = await processPrivateMessage(r, made.privateMessage, emptyPskIndex, cs);
    mlsDec.push(performance.now() - t);
    r = opened.newState;
  }
  return { enc: median(enc), dec: median(dec), mlsEnc: median(mlsEnc), mlsDec: median(mlsDec) };
}

async function run(provider: CryptoProvider) {
  const cs = await suiteImpl(provider);
  // Fresh people for each 1,000-member run (no key cached from an earlier run), plus a few for add-1.
  const { accounts, members } = makeDirectory(1000 * (BIG_RUNS + 1) + COMMIT_RUNS);
  const extra = members.slice(1000 * (BIG_RUNS + 1));
  const config = configFor(accounts, cs);

  const pair = await groupOf(2, members, cs, config);
  const oneToOne = await messages(pair.sender, pair.receiver, cs);

  const add99: number[] = [];
  const join100: number[] = [];
  let group100 = await groupOf(100, members, cs, config);
  for (let i = 0; i < COMMIT_RUNS; i++) {
    const g = i === 0 ? group100 : await groupOf(100, members, cs, config);
    add99.push(g.commitMs);
    join100.push(g.joinMs);
    if (i === 0) group100 = g;
  }
  const inGroup = await messages(group100.sender, group100.receiver, cs);
  const add1: number[] = [];
  for (let i = 0; i < COMMIT_RUNS; i++) {
    const kp = await keyPackage(extra[i]!, cs);
    const t = performance.now();
    await createCommit({ state: group100.sender, cipherSuite: cs }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: kp.publicPackage } }] });
    add1.push(performance.now() - t);
  }

  // The first (cold: JIT and first-use costs) 1,000-member run is reported apart; medians are over warm runs.
  const create1000: number[] = [];
  const join1000: number[] = [];
  let cold = 0;
  for (let i = 0; i <= BIG_RUNS; i++) {
    const kps = await Promise.all(members.slice(1000 * i, 1000 * (i + 1)).map((m) => keyPackage(m, cs)));
    const t = performance.now();
    const creator = await createGroup(randomBytes(32), kps[0]!.publicPackage, kps[0]!.privatePackage, [], cs, config);
    const commit = await createCommit({ state: creator, cipherSuite: cs }, { extraProposals: kps.slice(1).map((k) => ({ proposalType: 'add' as const, add: { keyPackage: k.publicPackage } })) });
    const created = performance.now() - t;
    const t2 = performance.now();
    await joinGroup(commit.welcome!, kps[500]!.publicPackage, kps[500]!.privatePackage, emptyPskIndex, cs, commit.newState.ratchetTree, undefined, config);
    if (i === 0) {
      cold = created;
      continue;
    }
    create1000.push(created);
    join1000.push(performance.now() - t2);
  }

  return {
    encrypt_ms_1to1: round(oneToOne.enc),
    decrypt_ms_1to1: round(oneToOne.dec),
    encrypt_ms_group100: round(inGroup.enc),
    decrypt_ms_group100: round(inGroup.dec),
    mls_encrypt_ms_1to1: round(oneToOne.mlsEnc),
    mls_decrypt_ms_1to1: round(oneToOne.mlsDec),
    mls_encrypt_ms_group100: round(inGroup.mlsEnc),
    mls_decrypt_ms_group100: round(inGroup.mlsDec),
    commit_add1_ms: round(median(add1)),
    commit_add99_ms: round(median(add99)),
    join_ms_group100: round(median(join100)),
    create_group1000_ms: round(median(create1000)),
    join_ms_group1000: round(median(join1000)),
    create_group1000_cold_ms: round(cold),
  };
}

const PEER_BATCHES = QUICK ? 20 : 80;
const PEER_BATCH = 25;

/** Our whole per-message path (envelope + MLS + frame) as a contestant beside libsignal's. */
function ourPath(pair: { sender: ClientState; receiver: ClientState }, cs: CiphersuiteImpl, payload: Uint8Array): Contestant {
  const context = { groupId: pair.sender.groupContext.groupId, senderUsername: 'user0', senderDeviceId: 'A'.repeat(22), clientMessageId: 'bench-message-id' };
  return {
    async send() {
      const sealed = sealEnvelope(payload, context);
      const made = await createApplicationMessage(pair.sender, sealed.keys, cs);
      pair.sender = made.newState;
      return encodeFrame({ mlsMessage: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: made.privateMessage }), sealedPayload: sealed.sealedPayload, escrow: undefined }) as Uint8Array<ArrayBuffer>;
    },
    async receive(wire) {
      const frame = decodeFrame(wire);
      const message = decodeMlsMessage(frame.mlsMessage, 0)![0];
      if (message.wireformat !== 'mls_private_message') throw new Error('bad message');
      const opened = await processPrivateMessage(pair.receiver, message.privateMessage, emptyPskIndex, cs);
      if (opened.kind !== 'applicationMessage') throw new Error('bad message');
      pair.receiver = opened.newState;
      // The franking commitment the server tagged comes with the mailbox item; here, from the envelope itself.
      openEnvelope(opened.message, frame.sealedPayload, undefined, context, splitLengthPrefixed(opened.message, 7)[3]!);
    },
  };
}

/** Ours beside libsignal in one process, interleaved batch by batch. */
async function peer() {
  const cs = await suiteImpl(fastCryptoProvider);
  const { accounts, members } = makeDirectory(100);
  const config = configFor(accounts, cs);
  const payload = encodeContent({ type: 'text', text: 'The quick brown fox jumps over the lazy dog. '.repeat(3) }) as Uint8Array<ArrayBuffer>;
  const pair1 = await groupOf(2, members, cs, config);
  const pairG = await groupOf(100, members, cs, config);
  const contestants = [await libsignalOneToOne(payload), ourPath(pair1, cs, payload), await libsignalGroup(payload), ourPath(pairG, cs, payload)];
  await timeInterleaved(contestants, 4, PEER_BATCH); // warm-up (JIT, first-use costs on both sides)
  const profiler = process.env.BENCH_CLIENT_PROFILE ? await startProfile() : undefined;
  const [theirs1, ours1, theirsG, oursG] = (await timeInterleaved(contestants, PEER_BATCHES, PEER_BATCH)) as [PerMessage, PerMessage, PerMessage, PerMessage];
  await profiler?.stop(join(process.env.BENCH_CLIENT_PROFILE!, 'peer.cpuprofile'));
  // Then, in the same process: where our time goes, and what Ed25519 alone costs.
  const breakdown1 = await messageBreakdown(pair1, cs, payload, PEER_BATCHES >> 1, PEER_BATCH);
  const breakdownG = await messageBreakdown(pairG, cs, payload, PEER_BATCHES >> 1, PEER_BATCH);
  const signatures = await signatureCosts(cs, members[0]!, breakdown1.signed_bytes, QUICK ? 5 : 15, 100);
  return {
    libsignal_ratio_encrypt_1to1: round(ours1.encryptMs / theirs1.encryptMs),
    libsignal_ratio_decrypt_1to1: round(ours1.decryptMs / theirs1.decryptMs),
    libsignal_ratio_encrypt_group: round(oursG.encryptMs / theirsG.encryptMs),
    libsignal_ratio_decrypt_group: round(oursG.decryptMs / theirsG.decryptMs),
    libsignal_encrypt_ms_1to1: round(theirs1.encryptMs),
    libsignal_decrypt_ms_1to1: round(theirs1.decryptMs),
    libsignal_encrypt_ms_group: round(theirsG.encryptMs),
    libsignal_decrypt_ms_group: round(theirsG.decryptMs),
    ours_encrypt_ms_1to1: round(ours1.encryptMs),
    ours_decrypt_ms_1to1: round(ours1.decryptMs),
    ours_encrypt_ms_group100: round(oursG.encryptMs),
    ours_decrypt_ms_group100: round(oursG.decryptMs),
    // The same ratios over process CPU time (all threads), which other work on the machine disturbs less.
    libsignal_cpu_ratio_encrypt_1to1: round(ours1.encryptCpuMs / theirs1.encryptCpuMs),
    libsignal_cpu_ratio_decrypt_1to1: round(ours1.decryptCpuMs / theirs1.decryptCpuMs),
    libsignal_cpu_ratio_encrypt_group: round(oursG.encryptCpuMs / theirsG.encryptCpuMs),
    libsignal_cpu_ratio_decrypt_group: round(oursG.decryptCpuMs / theirsG.decryptCpuMs),
    libsignal_cpu_us_per_message: { encrypt_1to1: round(theirs1.encryptCpuMs * 1000), decrypt_1to1: round(theirs1.decryptCpuMs * 1000), encrypt_group: round(theirsG.encryptCpuMs * 1000), decrypt_group: round(theirsG.decryptCpuMs * 1000) },
    ...signatures,
    message_breakdown_us: { '1to1': breakdown1, group100: breakdownG },
  };
}

const LARGE = 10_000;

/**
 * BENCH_CLIENT_PROFILE=<dir>: the V8 CPU profiler over the measured part of `peer` and `large` (set-up
 * excluded), written as <dir>/peer.cpuprofile and group10000.cpuprofile (Chrome DevTools, speedscope).
 */
async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(path: string) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * A 10,000-member group (one device each): the creator commits the addition of one more device; a member
 * processes that commit. Building the group (10,000 KeyPackages, the creating commit, a member's join) is
 * set-up, not measured.
 */
async function large() {
  const cs = await suiteImpl(fastCryptoProvider);
  const { accounts, members } = makeDirectory(LARGE + 2);
  const config = configFor(accounts, cs);
  const kps: Kp[] = [];
  for (let i = 0; i < LARGE; i += 500) kps.push(...(await Promise.all(members.slice(i, i + 500).map((m) => keyPackage(m, cs)))));
  const creator = await createGroup(randomBytes(32), kps[0]!.publicPackage, kps[0]!.privatePackage, [], cs, config);
  const created = await createCommit({ state: creator, cipherSuite: cs }, { extraProposals: kps.slice(1).map((k) => ({ proposalType: 'add' as const, add: { keyPackage: k.publicPackage } })) });
  const member = await joinGroup(created.welcome!, kps[LARGE / 2]!.publicPackage, kps[LARGE / 2]!.privatePackage, emptyPskIndex, cs, created.newState.ratchetTree, undefined, config);
  const newcomer = await keyPackage(members[LARGE]!, cs);
  const profiler = process.env.BENCH_CLIENT_PROFILE ? await startProfile() : undefined;
  let t = performance.now();
  const commit = await createCommit({ state: created.newState, cipherSuite: cs }, { extraProposals: [{ proposalType: 'add', add: { keyPackage: newcomer.publicPackage } }] });
  const commitMs = performance.now() - t;
  // Over the wire: the member decodes the commit's bytes, as the SDK does.
  const wire = encodeMlsMessage(commit.commit);
  t = performance.now();
  const decoded = decodeMlsMessage(wire, 0)![0] as MLSMessage;
  if (decoded.wireformat !== 'mls_private_message') throw new Error('expected a private commit');
  const processed = await processPrivateMessage(member, decoded.privateMessage, emptyPskIndex, cs);
  const processMs = performance.now() - t;
  await profiler?.stop(join(process.env.BENCH_CLIENT_PROFILE!, `group${LARGE}.cpuprofile`));
  if (processed.kind !== 'newState' || processed.newState.groupContext.epoch !== commit.newState.groupContext.epoch) throw new Error('the member did not reach the committer\'s epoch');
  return { commit_group10000_ms: round(commitMs), process_commit_group10000_ms: round(processMs) };
}

/**
 * A device that was offline while its group moved on by 1,000 messages and 10 commits (five devices added,
 * five removed, spread among the messages) comes back: the time of its `sync()` (fetch, process in order,
 * acknowledge).
 */
async function catchUp(people: Messenger[]): Promise<number> {
  const [sender, late, ...rest] = people;
  const others = rest.slice(0, 10);
  const groupId = await sender!.createGroup('catch-up', [late!.username, rest[10]!.username]);
  await late!.sync(); // also drains what the larger groups left in its mailbox
  let commits = 0;
  for (let i = 0; i < 1000; i++) {
    if (i % 100 === 50) {
      const who = others[commits >> 1]!.username;
      await (commits % 2 === 0 ? sender!.addMembers(groupId, [who]) : sender!.removeMembers(groupId, [who]));
      commits++;
    }
    await sender!.sendText(groupId, `message ${i} while you were away`);
  }
  const t = performance.now();
  await late!.sync();
  const ms = performance.now() - t;
  const history = await late!.history(groupId);
  if (history.filter((m) => m.content.type === 'text').length < 1000) throw new Error(`the late device caught up on only ${history.length} messages`);
  return ms;
}

/** The SDK against a real server: group creation, a join, a message, for each size. */
async function overServer(sizes: number[]) {
  const server = await startTestServer();
  const out: Record<string, number> = {};
  try {
    const people: Messenger[] = [];
    const largest = Math.max(...sizes);
    for (let i = 0; i < largest; i += 50) {
      people.push(...(await Promise.all(Array.from({ length: Math.min(50, largest - i) }, (_, j) => Messenger.register({ serverUrl: server.url, storage: new MemoryStorage(), keyPackageTarget: 2 }, `member${i + j}`)))));
    }
    for (const size of sizes) {
      const members = people.slice(0, size);
      let t = performance.now();
      const groupId = await members[0]!.createGroup(`group of ${size}`, members.slice(1).map((p) => p.username));
      out[`sdk_create_group${size}_ms`] = round(performance.now() - t);
      t = performance.now();
      await members[size - 1]!.sync();
      out[`sdk_join_group${size}_ms`] = round(performance.now() - t);
      // Per message, through HTTP and storage: 20 sends (median), then one catch-up of all 20 (mean).
      const sends: number[] = [];
      for (let i = 0; i < 20; i++) {
        t = performance.now();
        await members[0]!.sendText(groupId, `hello everyone ${i}`);
        sends.push(performance.now() - t);
      }
      out[`sdk_send_group${size}_ms`] = round(median(sends));
      t = performance.now();
      await members[size - 1]!.sync();
      out[`sdk_receive_group${size}_ms`] = round((performance.now() - t) / 20);
    }
    out.catch_up_1000_ms = round(await catchUp(people));
  } finally {
    await server.close();
  }
  return out;
}

const started = Date.now();
const providers: Record<string, CryptoProvider> = { default: defaultCryptoProvider, doublelock: fastCryptoProvider };
const only = process.env.BENCH_CLIENT_PROVIDER;
if (only) {
  // Child: measure one provider (or the SDK over the server) and hand the figures back on stdout.
  const figures = only === 'sdk' ? await overServer(QUICK ? [100] : [100, 1000]) : only === 'peer' ? await peer() : only === 'large' ? await large() : await run(providers[only]!);
  process.stdout.write(JSON.stringify(figures));
  process.exit(0);
}
console.log(`bench:client — ${QUICK ? 'quick' : 'full'} run (${MESSAGES} messages, ${COMMIT_RUNS} commit runs, ${BIG_RUNS} 1,000-member runs per provider)`);
const measure = (provider: string): Awaited<ReturnType<typeof run>> =>
  JSON.parse(execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_CLIENT_PROVIDER: provider }, encoding: 'utf8', maxBuffer: 1 << 20 }));
// Alternate the providers (A B A B …) so that load from other work on the machine falls on both alike.
type Figures = Awaited<ReturnType<typeof run>>;
const ROUNDS = QUICK ? 1 : 2;
const runs: Record<'default' | 'doublelock', Figures[]> = { default: [], doublelock: [] };
for (let i = 0; i < ROUNDS; i++) {
  runs.default.push(measure('default'));
  runs.doublelock.push(measure('doublelock'));
}
const combine = (xs: Figures[]): Figures => Object.fromEntries(Object.keys(xs[0]!).map((k) => [k, round(median(xs.map((x) => x[k as keyof Figures])))])) as Figures;
const before = combine(runs.default);
const after = combine(runs.doublelock);
const peerFigures = measure('peer') as unknown as Awaited<ReturnType<typeof peer>>;
const largeFigures = measure('large') as unknown as Record<string, number>;
const sdk = measure('sdk') as unknown as Record<string, number>;
const speedup = Object.fromEntries(Object.keys(after).map((k) => [k, round(before[k as keyof typeof before] / after[k as keyof typeof after])]));

const rows = Object.keys(after).map((k) => ({
  metric: k,
  'ts-mls default provider': before[k as keyof typeof before],
  'doublelock provider': after[k as keyof typeof after],
  speedup: `${speedup[k]}×`,
}));
console.table(rows);
console.log('Beside Signal\'s libsignal (same process, interleaved; ratio = ours / libsignal, per message):');
console.table(
  (['encrypt', 'decrypt'] as const).flatMap((op) => [
    { metric: `${op} 1:1`, 'libsignal ms': peerFigures[`libsignal_${op}_ms_1to1`], 'doublelock ms': peerFigures[`ours_${op}_ms_1to1`], ratio: peerFigures[`libsignal_ratio_${op}_1to1`] },
    { metric: `${op} group`, 'libsignal ms': peerFigures[`libsignal_${op}_ms_group`], 'doublelock ms': peerFigures[`ours_${op}_ms_group100`], ratio: peerFigures[`libsignal_ratio_${op}_group`] },
  ]),
);
console.log('Ed25519 alone, per call (µs; WebCrypto as our provider calls it, and @noble/curves):');
console.table(Object.entries(peerFigures).filter(([k]) => k.includes('ed25519') || k.includes('base_multiply')).map(([metric, v]) => ({ metric, µs: v })));
console.log('Our path, stage by stage (wall µs per message; cpu_us = process CPU, all threads):');
console.table(
  Object.entries(peerFigures.message_breakdown_us).flatMap(([chat, b]) => [
    { chat, direction: 'encrypt', ...b.encrypt },
    { chat, direction: 'decrypt', ...b.decrypt },
  ]),
);
console.log('10,000-member group:');
console.table(Object.entries(largeFigures).map(([metric, ms]) => ({ metric, ms })));
console.log('SDK against the real server (in-process, doublelock provider):');
console.table(Object.entries(sdk).map(([metric, ms]) => ({ metric, ms })));

const result = {
  ...after,
  ...peerFigures,
  ...largeFigures,
  ...sdk,
  before_ts_mls_default_provider: before,
  speedup,
  notes: {
    suite: CIPHERSUITE,
    sdk_over_server: 'Messenger against startTestServer in the same process (server CPU included); KeyPackage claims and directory lookups 16 at a time; send = median of 20 HTTP sends, receive = one sync of 20 messages / 20',
    encrypt_decrypt: 'SDK path: envelope (XChaCha20-Poly1305 + key commitment + franking HMAC) + MLS application message + frame; mls_* are ts-mls alone',
    authentication: 'our directory-backed authentication service, in-memory directory of signed device certificates',
    libsignal: `@signalapp/libsignal-client (native) in the same process, interleaved with ours batch by batch (${PEER_BATCHES} batches of ${PEER_BATCH} messages each, medians); 1:1 = Double Ratchet after the first reply, group = sender keys; in-memory stores holding record objects; no sealed sender. Ours: envelope + MLS + frame, 1:1 and a 100-member group; ratio = ours / libsignal`,
    group10000: 'ts-mls with our provider and authentication service; commit = the creator adds one device (no path needed); process = a member decodes and applies it',
    catch_up_1000: 'SDK against the server: a device that missed 1,000 messages and 10 commits (5 adds, 5 removes) runs sync()',
    load_average: loadavg().map((x) => Math.round(x * 100) / 100),
    iterations: { messages: MESSAGES, commitRuns: COMMIT_RUNS, group1000Runs: BIG_RUNS, processesPerProvider: ROUNDS, quick: QUICK },
    node: process.version,
    seconds: Math.round((Date.now() - started) / 1000),
  },
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/client.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.log(`wrote bench/results/client.json in ${result.notes.seconds} s`);
