/**
 * Where one message's time goes (bench:client → `message_breakdown_us`, `ed25519_*_us`): our whole
 * per-message path (envelope + MLS + frame, as `ourPath` in bench/client.ts) cut into stages, and the
 * Ed25519 calls on their own — WebCrypto as our provider makes them, and @noble/curves (pure TypeScript,
 * synchronous) for comparison — all in the process that times libsignal, right after it.
 *
 * Stages are wall time per message (µs), the median over batches of the batch mean. Inside ts-mls the
 * provider's calls are timed by wrapping them (KDF = every HKDF-Expand/Extract, AEAD = both
 * ChaCha20-Poly1305 passes, signature = the Ed25519 call from start to its promise settling);
 * `mls_other` is the rest of ts-mls's time: TLS encoding and decoding, padding, the reuse guard's random
 * draw, state copies, awaits. The wrappers add well under a microsecond per call.
 * `cpu_us` beside each direction is process CPU time per message (all threads: WebCrypto signs on the
 * thread pool), which other work on the machine disturbs less than wall time.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  createApplicationMessage,
  decodeMlsMessage,
  emptyPskIndex,
  encodeMlsMessage,
  processPrivateMessage,
  type CiphersuiteImpl,
  type ClientState,
} from 'ts-mls';
import { splitLengthPrefixed } from '../../packages/client/src/envelope/bytes.ts';
import { openEnvelope, sealEnvelope } from '../../packages/client/src/envelope/envelope.ts';
import { decodeFrame, encodeFrame } from '../../packages/client/src/envelope/frame.ts';
import type { Member } from './mlsFixtures.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const us = (x: number) => Math.round(x * 10) / 10;
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

type Slot = 'kdf' | 'aead' | 'signature';

/** The suite with its KDF, message AEAD and signature calls timed into `acc` (ms). */
function instrumented(cs: CiphersuiteImpl, acc: Record<Slot, number> & { signedBytes?: number }): CiphersuiteImpl {
  const timed =
    <A extends unknown[], R>(slot: Slot, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const t = performance.now();
      try {
        return await f(...a);
      } finally {
        acc[slot] += performance.now() - t;
      }
    };
  return {
    ...cs,
    kdf: { ...cs.kdf, expand: timed('kdf', cs.kdf.expand), extract: timed('kdf', cs.kdf.extract) },
    hpke: { ...cs.hpke, encryptAead: timed('aead', cs.hpke.encryptAead), decryptAead: timed('aead', cs.hpke.decryptAead) },
    signature: {
      ...cs.signature,
      sign: timed('signature', (key: Uint8Array, message: Uint8Array) => ((acc.signedBytes = message.length), cs.signature.sign(key, message))),
      verify: timed('signature', cs.signature.verify),
    },
  };
}

export interface Breakdown {
  /** The bytes each message signs (a FramedContentTBS carrying our envelope keys, with its label). */
  signed_bytes: number;
  encrypt: { envelope_seal: number; mls_signature: number; mls_kdf: number; mls_aead: number; mls_other: number; encode: number; total: number; cpu_us: number };
  decrypt: { decode: number; mls_signature: number; mls_kdf: number; mls_aead: number; mls_other: number; envelope_open: number; total: number; cpu_us: number };
}

/** Our path, stage by stage, over `batches` × `batch` messages from `pair.sender` to `pair.receiver`. */
export async function messageBreakdown(pair: { sender: ClientState; receiver: ClientState }, cs: CiphersuiteImpl, payload: Uint8Array, batches: number, batch: number): Promise<Breakdown> {
  const context = { groupId: pair.sender.groupContext.groupId, senderUsername: 'user0', senderDeviceId: 'A'.repeat(22), clientMessageId: 'bench-message-id' };
  const enc = { envelope_seal: [] as number[], mls_signature: [] as number[], mls_kdf: [] as number[], mls_aead: [] as number[], mls_other: [] as number[], encode: [] as number[], total: [] as number[], cpu_us: [] as number[] };
  const dec = { decode: [] as number[], mls_signature: [] as number[], mls_kdf: [] as number[], mls_aead: [] as number[], mls_other: [] as number[], envelope_open: [] as number[], total: [] as number[], cpu_us: [] as number[] };
  let signed = 0;
  for (let b = 0; b < batches; b++) {
    const e = { envelope_seal: 0, mls: 0, encode: 0 };
    const eAcc: Record<Slot, number> & { signedBytes?: number } = { kdf: 0, aead: 0, signature: 0 };
    const eCs = instrumented(cs, eAcc);
    const wires: Uint8Array[] = [];
    let cpu = cpuUs();
    const start = performance.now();
    for (let i = 0; i < batch; i++) {
      const t = performance.now();
      const sealed = sealEnvelope(payload, context);
      const t1 = performance.now();
      const made = await createApplicationMessage(pair.sender, sealed.keys, eCs);
      pair.sender = made.newState;
      const t2 = performance.now();
      wires.push(encodeFrame({ mlsMessage: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: made.privateMessage }), sealedPayload: sealed.sealedPayload, escrow: undefined }));
      e.encode += performance.now() - t2;
      e.mls += t2 - t1;
      e.envelope_seal += t1 - t;
    }
    const encTotal = performance.now() - start;
    signed = eAcc.signedBytes ?? 0;
    enc.cpu_us.push((cpuUs() - cpu) / batch);
    enc.total.push((encTotal / batch) * 1000);
    enc.envelope_seal.push((e.envelope_seal / batch) * 1000);
    enc.encode.push((e.encode / batch) * 1000);
    enc.mls_signature.push((eAcc.signature / batch) * 1000);
    enc.mls_kdf.push((eAcc.kdf / batch) * 1000);
    enc.mls_aead.push((eAcc.aead / batch) * 1000);
    enc.mls_other.push(((e.mls - eAcc.signature - eAcc.kdf - eAcc.aead) / batch) * 1000);

    const d = { decode: 0, mls: 0, envelope_open: 0 };
    const dAcc: Record<Slot, number> = { kdf: 0, aead: 0, signature: 0 };
    const dCs = instrumented(cs, dAcc);
    cpu = cpuUs();
    const dStart = performance.now();
    for (const wire of wires) {
      const t = performance.now();
      const frame = decodeFrame(wire);
      const message = decodeMlsMessage(frame.mlsMessage, 0)![0];
      if (message.wireformat !== 'mls_private_message') throw new Error('bad message');
      const t1 = performance.now();
      const opened = await processPrivateMessage(pair.receiver, message.privateMessage, emptyPskIndex, dCs);
      if (opened.kind !== 'applicationMessage') throw new Error('bad message');
      pair.receiver = opened.newState;
      const t2 = performance.now();
      openEnvelope(opened.message, frame.sealedPayload, undefined, context, splitLengthPrefixed(opened.message, 7)[3]!);
      d.envelope_open += performance.now() - t2;
      d.mls += t2 - t1;
      d.decode += t1 - t;
    }
    const decTotal = performance.now() - dStart;
    dec.cpu_us.push((cpuUs() - cpu) / batch);
    dec.total.push((decTotal / batch) * 1000);
    dec.decode.push((d.decode / batch) * 1000);
    dec.envelope_open.push((d.envelope_open / batch) * 1000);
    dec.mls_signature.push((dAcc.signature / batch) * 1000);
    dec.mls_kdf.push((dAcc.kdf / batch) * 1000);
    dec.mls_aead.push((dAcc.aead / batch) * 1000);
    dec.mls_other.push(((d.mls - dAcc.signature - dAcc.kdf - dAcc.aead) / batch) * 1000);
  }
  const summarise = <T extends Record<string, number[]>>(x: T) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, us(median(v))])) as { [K in keyof T]: number };
  return { signed_bytes: signed, encrypt: summarise(enc), decrypt: summarise(dec) };
}

export interface SignatureCosts {
  /** WebCrypto Ed25519 as our provider calls it (imported key cached), µs per call: wall, and CPU of all threads. */
  ed25519_sign_us: number;
  ed25519_verify_us: number;
  ed25519_sign_cpu_us: number;
  ed25519_verify_cpu_us: number;
  /** @noble/curves Ed25519, synchronous: sign, verify (RFC 8032 §5.1.7, zip215: false). */
  noble_ed25519_sign_us: number;
  noble_ed25519_verify_us: number;
  /** noble with its base-point table widened (precompute(8)): sign, and one fixed-base multiplication alone — a floor under any noble signature. */
  noble_ed25519_sign_w8_us: number;
  noble_fixed_base_multiply_w8_us: number;
}

/**
 * Ed25519 alone, per call, on a message the size of a FramedContentTBS carrying our envelope keys.
 * Interleaved in rounds so load falls on all alike; widening noble's table (a process-wide change) comes last.
 */
export async function signatureCosts(cs: CiphersuiteImpl, signer: Member, tbsBytes: number, rounds: number, perRound: number): Promise<SignatureCosts> {
  const message = new Uint8Array(tbsBytes).map((_, i) => i);
  const signature = await cs.signature.sign(signer.secret, message);
  if (!ed25519.verify(signature, message, signer.publicKey, { zip215: false })) throw new Error('WebCrypto and noble disagree');
  const time = async (n: number, f: () => unknown): Promise<{ wall: number; cpu: number }> => {
    const cpu = cpuUs();
    const t = performance.now();
    for (let i = 0; i < n; i++) await f();
    return { wall: ((performance.now() - t) * 1000) / n, cpu: (cpuUs() - cpu) / n };
  };
  const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
  const record = (name: string, s: { wall: number; cpu: number }) => {
    const slot = (samples[name] ??= { wall: [], cpu: [] });
    slot.wall.push(s.wall);
    slot.cpu.push(s.cpu);
  };
  const nobleN = Math.max(2, perRound >> 3); // noble is an order of magnitude slower: fewer calls, similar time
  for (let r = 0; r <= rounds; r++) {
    const webSign = await time(perRound, () => cs.signature.sign(signer.secret, message));
    const webVerify = await time(perRound, () => cs.signature.verify(signer.publicKey, message, signature));
    const nobleSign = await time(nobleN, () => ed25519.sign(message, signer.secret));
    const nobleVerify = await time(nobleN, () => ed25519.verify(signature, message, signer.publicKey, { zip215: false }));
    if (r === 0) continue; // warm-up
    record('webSign', webSign);
    record('webVerify', webVerify);
    record('nobleSign', nobleSign);
    record('nobleVerify', nobleVerify);
  }
  ed25519.Point.BASE.precompute(8, false);
  const scalar = ed25519.utils.getExtendedPublicKey(signer.secret).scalar;
  for (let r = 0; r <= rounds; r++) {
    const sign = await time(nobleN, () => ed25519.sign(message, signer.secret));
    const multiply = await time(nobleN, () => ed25519.Point.BASE.multiply(scalar));
    if (r === 0) continue;
    record('nobleSignW8', sign);
    record('baseW8', multiply);
  }
  const wall = (name: string) => us(median(samples[name]!.wall));
  const cpu = (name: string) => us(median(samples[name]!.cpu));
  return {
    ed25519_sign_us: wall('webSign'),
    ed25519_verify_us: wall('webVerify'),
    ed25519_sign_cpu_us: cpu('webSign'),
    ed25519_verify_cpu_us: cpu('webVerify'),
    noble_ed25519_sign_us: wall('nobleSign'),
    noble_ed25519_verify_us: wall('nobleVerify'),
    noble_ed25519_sign_w8_us: wall('nobleSignW8'),
    noble_fixed_base_multiply_w8_us: wall('baseW8'),
  };
}
