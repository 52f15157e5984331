/**
 * A witness (c2sp.org/tlog-witness semantics, pull style): it remembers the latest checkpoint it saw
 * per log, verifies the log's signature and a consistency proof from that checkpoint before it
 * cosigns (c2sp.org/tlog-cosignature, cosignature/v1), and refuses — loudly — a checkpoint
 * inconsistent with what it saw: that is a split view, the attack witnesses exist to expose.
 * Its state is persisted before a cosignature leaves, so it cannot forget what it vouched for.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CosignatureSigner, type SignerKey } from './signer.ts';
import { openCheckpoint, parseCheckpoint } from './verifier/checkpoint.ts';
import { equalBytes, fromBase64, toBase64, toHex } from './verifier/encoding.ts';
import { parseNote, parseVerifierKey, SIGNATURE_ED25519, type VerifierKey } from './verifier/note.ts';
import { ProofError, verifyConsistency } from './verifier/proof.ts';

export interface SeenCheckpoint {
  size: number;
  /** base64 root hash */
  rootHash: string;
  /** The log-signed note as received. */
  note: string;
}

export type WitnessStateData = Record<string, SeenCheckpoint>;

export interface WitnessStateStore {
  load(): Promise<WitnessStateData>;
  save(state: WitnessStateData): Promise<void>;
}

/** Witness state in a JSON file, replaced atomically (write to a temp file, then rename). */
export class FileWitnessState implements WitnessStateStore {
  constructor(readonly path: string) {}

  async load(): Promise<WitnessStateData> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const data = JSON.parse(text) as { version?: number; logs?: WitnessStateData };
    if (data.version !== 1 || typeof data.logs !== 'object' || data.logs === null) throw new Error(`${this.path} is not a witness state file (version 1)`);
    return data.logs;
  }

  async save(state: WitnessStateData): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${toHex(randomBytes(4))}.tmp`;
    await writeFile(temp, JSON.stringify({ version: 1, logs: state }, null, 2) + '\n', { mode: 0o600 });
    await rename(temp, this.path);
  }
}

/** The log showed two checkpoints that cannot both be true. Both notes are kept as evidence. */
export class SplitViewError extends Error {
  constructor(
    message: string,
    readonly seen: SeenCheckpoint,
    readonly offered: string,
  ) {
    super(`SPLIT VIEW: ${message}`);
    this.name = 'SplitViewError';
  }
}

/** The checkpoint is older than one already cosigned; a witness only vouches for the newest it saw. */
export class StaleCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleCheckpointError';
  }
}

export interface WitnessOptions {
  /** The witness's own signer key (PRIVATE+KEY+<name>+…). */
  signerKey: SignerKey | string;
  /** Verifier keys (type 0x01) of the logs it witnesses; each log's origin is its key's name. */
  logs: readonly string[];
  state: WitnessStateStore;
}

export interface Cosigned {
  origin: string;
  size: number;
  /** The cosignature line, without newline. */
  line: string;
  /** The received note with the cosignature line appended. */
  note: string;
}

export class Witness {
  readonly #signer: CosignatureSigner;
  readonly #logs: Map<string, VerifierKey>;
  readonly #store: WitnessStateStore;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: WitnessOptions) {
    this.#signer = new CosignatureSigner(options.signerKey);
    this.#logs = new Map(
      options.logs.map((vkey) => {
        const key = parseVerifierKey(vkey);
        if (key.type !== SIGNATURE_ED25519) throw new Error(`log key ${key.name} must be an Ed25519 (type 0x01) key`);
        return [key.name, key];
      }),
    );
    this.#store = options.state;
  }

  get name(): string {
    return this.#signer.name;
  }

  /** The key (type 0x04) logs and clients configure to accept this witness's cosignatures. */
  get verifierKey(): string {
    return this.#signer.verifierKey;
  }

  async lastSeen(origin: string): Promise<SeenCheckpoint | undefined> {
    return (await this.#store.load())[origin];
  }

  /**
   * Cosigns `note` if it is signed by a known log and consistent with the last checkpoint seen from
   * that log (`proof`: consistency proof from that size to the note's size; empty on first contact).
   */
  cosign(note: string, proof: readonly Uint8Array[], timestamp?: bigint): Promise<Cosigned> {
    // One at a time: the check-then-record below must not interleave.
    const run = this.#queue.then(() => this.#cosign(note, proof, timestamp));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #cosign(note: string, proof: readonly Uint8Array[], timestamp?: bigint): Promise<Cosigned> {
    const { origin } = parseCheckpoint(parseNote(note).text);
    const logKey = this.#logs.get(origin);
    if (!logKey) throw new Error(`this witness does not witness log ${JSON.stringify(origin)}`);
    const checkpoint = openCheckpoint(note, logKey);
    const state = await this.#store.load();
    const seen = state[origin];
    if (seen) {
      const seenRoot = fromBase64(seen.rootHash);
      if (checkpoint.size < seen.size) throw new StaleCheckpointError(`checkpoint size ${checkpoint.size} is older than the ${seen.size} already witnessed`);
      if (checkpoint.size === seen.size) {
        if (!equalBytes(seenRoot, checkpoint.rootHash)) throw new SplitViewError(`two different roots for size ${seen.size}`, seen, note);
      } else if (seen.size > 0) {
        if (proof.length === 0) throw new Error(`a consistency proof from size ${seen.size} is required`);
        try {
          verifyConsistency(seen.size, checkpoint.size, proof, seenRoot, checkpoint.rootHash);
        } catch (error) {
          if (error instanceof ProofError) throw new SplitViewError(`size ${checkpoint.size} is not consistent with size ${seen.size}: ${error.message}`, seen, note);
          throw error;
        }
      }
    }
    state[origin] = { size: checkpoint.size, rootHash: toBase64(checkpoint.rootHash), note };
    await this.#store.save(state);
    const line = this.#signer.cosign(checkpoint.text, timestamp);
    return { origin, size: checkpoint.size, line, note: `${note}${line}\n` };
  }
}
