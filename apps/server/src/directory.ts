/**
 * Key transparency on the server: publishes the directory outbox (every change to an account's devices)
 * to the transparency log, and proves an account's current state against a signed checkpoint.
 */
import { toBase64Url, type DirectoryProof } from '@doublelock/protocol';
import type { TransparencyLog } from '@doublelock/log';
import type { DirectoryStore } from '@doublelock/store';
import { equalBytes } from '@noble/curves/utils.js';

export class Directory {
  #publishing: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly store: DirectoryStore,
    readonly log: TransparencyLog,
  ) {}

  /** Appends every pending entry; concurrent callers share one run (and wait for their entries). */
  publish(): Promise<void> {
    if (this.#publishing) {
      this.#again = true;
      return this.#publishing;
    }
    this.#publishing = (async () => {
      try {
        do {
          this.#again = false;
          for (let batch = await this.store.pending(); batch.length > 0; batch = await this.store.pending()) {
            const { firstIndex } = await this.log.append(batch.map((e) => e.entry));
            await this.store.published(batch, firstIndex);
          }
        } while (this.#again);
      } finally {
        this.#publishing = undefined;
      }
    })();
    return this.#publishing;
  }

  /** The proof that `entry` (the account's state as about to be shown) is the logged one. */
  async proof(username: string, entry: Uint8Array): Promise<DirectoryProof | undefined> {
    let leaf = await this.store.leaf(username);
    if (!leaf || !equalBytes(leaf.entry, entry)) {
      await this.publish();
      leaf = await this.store.leaf(username);
      if (!leaf || !equalBytes(leaf.entry, entry)) return undefined;
    }
    const checkpoint = await this.log.checkpoint();
    const inclusionProof = await this.log.inclusionProof(leaf.leafIndex, checkpoint.size);
    return { leafIndex: leaf.leafIndex, treeSize: checkpoint.size, inclusionProof: inclusionProof.map(toBase64Url), checkpoint: checkpoint.note };
  }
}
