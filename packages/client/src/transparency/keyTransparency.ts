/**
 * Key transparency for the device directory, client side. Before a device trusts the devices it is shown
 * for an account, it checks that exactly that state is in the transparency log:
 *  1. it recomputes the log entry from the account as shown (directoryEntryBytes);
 *  2. it opens the checkpoint with the log's pinned key (and, if configured, k witness cosignatures);
 *  3. it checks the entry's inclusion proof against that checkpoint (RFC 9162 §2.1.3.2);
 *  4. it checks that the checkpoint is consistent with the last one it saw (RFC 9162 §2.1.4.2) — a
 *     server showing different trees to different people (a split view) is caught here;
 *  5. it remembers the newer checkpoint;
 *  6. it compares the account's directory version with the last one it accepted for that username: a lower
 *     version is a replay of an older state ('rollback'); the same version with other contents, or the next
 *     version not chained to the last entry seen ('equivocation'), is two histories for one account.
 * A device missing from the log (a "ghost" added to someone's chats) fails step 1 or 3. With no checkpoint
 * seen yet, a fresh client can first anchor on a checkpoint cosigned by witnesses (`anchor`).
 * Uses only the log's verifier (packages/log/src/verifier), never the server's tree code.
 */
import { directoryEntryBytes, directoryEntryHash, fromBase64Url, toBase64Url, type AccountResponse } from '@doublelock/protocol';
import { equalBytes, hashLeaf, openCheckpoint, requireWitnesses, verifyConsistency, verifyInclusion } from '@doublelock/log/verifier';

export type KeyTransparencyFailure = 'not_logged' | 'bad_checkpoint' | 'bad_proof' | 'split_view' | 'rollback' | 'equivocation';

export class KeyTransparencyError extends Error {
  constructor(
    readonly failure: KeyTransparencyFailure,
    message: string,
  ) {
    super(`key transparency: ${message}`);
    this.name = 'KeyTransparencyError';
  }
}

export interface SeenCheckpoint {
  size: number;
  rootHash: Uint8Array;
}

export interface KeyTransparencyOptions {
  /** The log's verifier key (`name+keyid+key`), pinned in the client's configuration. */
  logKey: string;
  /** Checkpoint origin, if it differs from the key's name. */
  origin?: string;
  /** Require cosignatures from `k` of these witness keys. */
  witnesses?: { keys: string[]; k: number };
  /** The last checkpoint this device saw (from its storage), if any. */
  lastSeen?: SeenCheckpoint;
  /** Fetches a consistency proof between two tree sizes from the server (GET /v1/log/proof/consistency). */
  consistencyProof: (from: number, to: number) => Promise<Uint8Array[]>;
  /** Called with each newer checkpoint, to persist it. */
  onCheckpoint?: (seen: SeenCheckpoint) => void | Promise<void>;
  /** The last directory version accepted per username (persisted by the SDK), for rollback/equivocation checks. */
  versions?: AccountVersions;
}

export interface AccountVersions {
  get(username: string): Promise<{ version: number; entryHash: Uint8Array } | undefined>;
  put(username: string, seen: { version: number; entryHash: Uint8Array }): Promise<void>;
}

export class KeyTransparency {
  #lastSeen: SeenCheckpoint | undefined;

  constructor(private readonly options: KeyTransparencyOptions) {
    this.#lastSeen = options.lastSeen;
  }

  get lastSeen(): SeenCheckpoint | undefined {
    return this.#lastSeen;
  }

  /** Throws KeyTransparencyError unless this exact account state is in a checkpoint consistent with what this device saw. */
  async verifyAccount(account: AccountResponse): Promise<void> {
    const proof = account.transparency;
    if (!proof) throw new KeyTransparencyError('not_logged', `the server gave no log proof for ${account.username}'s devices`);
    let checkpoint;
    try {
      checkpoint = openCheckpoint(proof.checkpoint, this.options.logKey, this.options.origin);
      if (this.options.witnesses) requireWitnesses(proof.checkpoint, this.options.witnesses.keys, this.options.witnesses.k);
    } catch (error) {
      throw new KeyTransparencyError('bad_checkpoint', `the checkpoint does not verify: ${(error as Error).message}`);
    }
    if (checkpoint.size !== proof.treeSize) throw new KeyTransparencyError('bad_proof', 'the proof is for another tree size than its checkpoint');

    const entry = directoryEntryBytes(account);
    try {
      verifyInclusion(proof.leafIndex, proof.treeSize, hashLeaf(entry), proof.inclusionProof.map(fromBase64Url), checkpoint.rootHash);
    } catch {
      throw new KeyTransparencyError('not_logged', `${account.username}'s devices as shown are not in the transparency log`);
    }
    await this.#advance({ size: checkpoint.size, rootHash: checkpoint.rootHash });
    await this.#checkVersion(account.username, account.version, account.previous, directoryEntryHash(entry));
  }

  async #checkVersion(username: string, version: number, previous: string, entryHash: Uint8Array): Promise<void> {
    const versions = this.options.versions;
    if (!versions) return;
    const last = await versions.get(username);
    if (last) {
      if (version < last.version) throw new KeyTransparencyError('rollback', `${username}'s account is shown at version ${version}, older than version ${last.version} seen before (a replayed state)`);
      if (version === last.version && !equalBytes(entryHash, last.entryHash)) throw new KeyTransparencyError('equivocation', `two different logged states of ${username} claim version ${version}`);
      if (version === last.version + 1 && previous !== toBase64Url(last.entryHash)) throw new KeyTransparencyError('equivocation', `${username}'s version ${version} does not follow the version ${last.version} seen before`);
      if (version === last.version) return;
    }
    await versions.put(username, { version, entryHash });
  }

  /**
   * Verifies a checkpoint note (log key, witnesses) and accepts it if consistent with the last one seen.
   * Monitors use it; a fresh client uses it to anchor on a witness-cosigned checkpoint (`requireWitnesses`).
   */
  async acceptCheckpoint(note: string, witnesses?: { keys: string[]; k: number }): Promise<SeenCheckpoint> {
    let checkpoint;
    try {
      checkpoint = openCheckpoint(note, this.options.logKey, this.options.origin);
      const required = witnesses ?? this.options.witnesses;
      if (required) requireWitnesses(note, required.keys, required.k);
    } catch (error) {
      throw new KeyTransparencyError('bad_checkpoint', `the checkpoint does not verify: ${(error as Error).message}`);
    }
    const seen = { size: checkpoint.size, rootHash: checkpoint.rootHash };
    await this.#advance(seen);
    return seen;
  }

  /** Accepts a checkpoint only if it extends (or equals) the last one seen. */
  async #advance(next: SeenCheckpoint): Promise<void> {
    const last = this.#lastSeen;
    if (last) {
      if (next.size < last.size) {
        // An older checkpoint is fine only if the newer one we saw extends it.
        await this.#checkConsistent(next, last);
        return;
      }
      if (next.size === last.size) {
        if (!equalBytes(next.rootHash, last.rootHash)) throw new KeyTransparencyError('split_view', `two different trees of size ${next.size}`);
        return;
      }
      await this.#checkConsistent(last, next);
    }
    this.#lastSeen = next;
    await this.options.onCheckpoint?.(next);
  }

  async #checkConsistent(older: SeenCheckpoint, newer: SeenCheckpoint): Promise<void> {
    if (older.size === 0) return;
    let path: Uint8Array[];
    try {
      path = await this.options.consistencyProof(older.size, newer.size);
    } catch (error) {
      throw new KeyTransparencyError('split_view', `no consistency proof from size ${older.size} to ${newer.size}: ${(error as Error).message}`);
    }
    try {
      verifyConsistency(older.size, newer.size, path, older.rootHash, newer.rootHash);
    } catch {
      throw new KeyTransparencyError('split_view', `the log of size ${newer.size} does not extend the one of size ${older.size} seen before`);
    }
  }
}
