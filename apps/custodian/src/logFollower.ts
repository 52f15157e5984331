/**
 * The custodian's own, persisted view of the transparency log (RFC 9162; C2SP tlog-checkpoint,
 * tlog-cosignature). It never trusts the log server's word, nor an HTTP status:
 *   - a checkpoint is accepted only if the log signed it and the witness quorum cosigned it, and only if
 *     it is consistent with the latest one accepted before — across restarts, since that one is kept in
 *     the custodian's database: a larger checkpoint needs an RFC 9162 consistency proof from it *and* the
 *     custodian recomputes its root from the new entries themselves, continuing the compact frontier of
 *     every entry it has read; a smaller one needs a consistency proof up to it; an equal size the same root;
 *   - every release record it reads on the way (any custodian's, signature checked) is indexed, so limits
 *     are counted globally from the log, not per custodian; so is every judge's refusal and Secretary of
 *     State's cancellation (signatures checked), which then bind this custodian's release rules;
 *   - its own release counts as published only once found in a checkpoint it accepted, at an index whose
 *     RFC 9162 inclusion proof verifies.
 * Calls are serialised: one follower per custodian.
 */
import { type TrustConfig, parseDecisionLogEntry, parseReleaseLogEntry, verifyCancellation, verifyRefusalNotice, verifyReleaseRecord } from '@doublelock/lawful-access';
import { LogHttpClient } from '@doublelock/log';
import { hashChildren, hashLeaf, openCheckpoint, requireWitnesses, verifyConsistency, verifyInclusion, EMPTY_TREE_ROOT } from '@doublelock/log/verifier';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { asBytes, type Db } from '@doublelock/store';

export class LogFollowError extends Error {
  constructor(
    readonly code: 'log_inconsistent' | 'log_unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'LogFollowError';
  }
}

interface Frontier {
  size: number;
  /** roots of the complete subtrees covering the leaves so far, largest first */
  stack: Array<{ height: number; hash: string }>;
}

interface LogState {
  size: number;
  rootHash: Uint8Array;
  checkpoint: string;
  frontier: Frontier;
}

function addLeaf(frontier: Frontier, leafHash: Uint8Array): void {
  let node = { height: 0, hash: leafHash };
  let top = frontier.stack.at(-1);
  while (top && top.height === node.height) {
    frontier.stack.pop();
    node = { height: node.height + 1, hash: hashChildren(fromBase64Url(top.hash), node.hash) };
    top = frontier.stack.at(-1);
  }
  frontier.stack.push({ height: node.height, hash: toBase64Url(node.hash) });
  frontier.size++;
}

function frontierRoot(frontier: Frontier): Uint8Array {
  if (frontier.stack.length === 0) return EMPTY_TREE_ROOT;
  let hash = fromBase64Url(frontier.stack.at(-1)!.hash);
  for (let i = frontier.stack.length - 2; i >= 0; i--) hash = hashChildren(fromBase64Url(frontier.stack[i]!.hash), hash);
  return hash;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class LogFollower {
  readonly client: LogHttpClient;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    logUrl: string,
    private readonly trust: TrustConfig,
    /** this custodian's index: urgent notices addressed to it are indexed (urgentNotices.ts) */
    private readonly me?: number,
  ) {
    this.client = new LogHttpClient(logUrl);
  }

  #serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async state(): Promise<LogState | undefined> {
    const row = await this.db.get<{ size: number; root_hash: Uint8Array; checkpoint: string; frontier: string }>('SELECT size, root_hash, checkpoint, frontier FROM custodian_log_state WHERE id = 1');
    return row && { size: Number(row.size), rootHash: asBytes(row.root_hash), checkpoint: row.checkpoint, frontier: JSON.parse(row.frontier) as Frontier };
  }

  /** Accepts the newest checkpoint the witness quorum cosigned. */
  sync(): Promise<void> {
    return this.#serial(async () => {
      let note: string;
      try {
        note = await this.client.witnessedCheckpoint(Math.max(1, this.trust.log.witnessQuorum));
      } catch (error) {
        throw new LogFollowError('log_unavailable', `no witnessed checkpoint from the log: ${(error as Error).message}`);
      }
      await this.#accept(note);
    });
  }

  /** Accepts a checkpoint from elsewhere (a share request's): throws unless it is consistent with what was seen. */
  accept(note: string): Promise<void> {
    return this.#serial(() => this.#accept(note));
  }

  async #accept(note: string): Promise<void> {
    let size: number;
    let rootHash: Uint8Array;
    try {
      ({ size, rootHash } = openCheckpoint(note, this.trust.log.verifierKey));
      requireWitnesses(note, this.trust.log.witnesses, Math.max(1, this.trust.log.witnessQuorum));
    } catch (error) {
      throw new LogFollowError('log_inconsistent', `the checkpoint is not signed by the log and its witnesses: ${(error as Error).message}`);
    }
    const state = (await this.state()) ?? { size: 0, rootHash: EMPTY_TREE_ROOT, checkpoint: '', frontier: { size: 0, stack: [] } };
    const proof = async (from: number, to: number) => {
      try {
        return await this.client.consistencyProof(from, to);
      } catch (error) {
        throw new LogFollowError('log_unavailable', `no consistency proof ${from} → ${to}: ${(error as Error).message}`);
      }
    };
    const consistent = (from: number, to: number, path: Uint8Array[], a: Uint8Array, b: Uint8Array) => {
      try {
        verifyConsistency(from, to, path, a, b);
      } catch (error) {
        throw new LogFollowError('log_inconsistent', `checkpoint ${to} is not consistent with checkpoint ${from} seen before (a forked log): ${(error as Error).message}`);
      }
    };
    if (size === state.size) {
      if (!equal(rootHash, state.rootHash)) throw new LogFollowError('log_inconsistent', `two different roots for tree size ${size} (a split view)`);
      return;
    }
    if (size < state.size) {
      if (size > 0) consistent(size, state.size, await proof(size, state.size), rootHash, state.rootHash);
      return;
    }
    if (state.size > 0) consistent(state.size, size, await proof(state.size, size), state.rootHash, rootHash);
    // Read the new entries, recompute the root from them, and index the release records among them.
    const frontier = state.frontier;
    const releases: Array<[number, string, string, number, string, number]> = [];
    // Refusals and cancellations in the log bind this custodian too, whether or not anyone sent them to it.
    const decisions: Array<[string, string, string, string]> = [];
    // Urgent notices addressed to this custodian: (leaf, custodian, commitment, warrant tag, target tag, approved, approve by)
    const urgent: Array<[number, number, string, string, string, number, number]> = [];
    while (frontier.size < size) {
      let entries: Uint8Array[];
      try {
        entries = await this.client.entries(frontier.size, size);
      } catch (error) {
        throw new LogFollowError('log_unavailable', `cannot read log entries from ${frontier.size}: ${(error as Error).message}`);
      }
      for (const entry of entries) {
        const release = parseReleaseLogEntry(entry);
        const signer = release && this.trust.custodians.find((c) => c.index === release.record.custodian);
        if (release && signer && verifyReleaseRecord(release, signer.signingKey)) {
          const r = release.record;
          releases.push([frontier.size, r.warrantCommitment, r.messageDigest, r.custodian, r.requestId, r.releasedAt]);
          for (const t of r.urgent?.tags ?? [])
            if (t.to === this.me) for (const target of t.targets) urgent.push([frontier.size, r.custodian, r.warrantCommitment, t.warrant, target, r.urgent!.approved ? 1 : 0, r.urgent!.approveBy]);
        }
        const decision = release ? undefined : parseDecisionLogEntry(entry);
        if (decision && 'refusal' in decision && verifyRefusalNotice(decision.refusal, this.trust)) {
          const n = decision.refusal;
          decisions.push([`refusal:${n.warrantId}:${n.warrantDigest}`, n.warrantId, 'refusal', JSON.stringify(n)]);
        } else if (decision && 'cancellation' in decision && verifyCancellation(decision.cancellation, this.trust)) {
          const c = decision.cancellation;
          decisions.push([`cancellation:${c.nonce}`, c.warrantId, 'cancellation', JSON.stringify(c)]);
        }
        addLeaf(frontier, hashLeaf(entry));
      }
    }
    if (!equal(frontierRoot(frontier), rootHash)) throw new LogFollowError('log_inconsistent', `the log's entries do not hash to the root of checkpoint ${size}`);
    await this.db.transaction(async (tx) => {
      for (const r of releases)
        await tx.run('INSERT INTO custodian_log_releases (leaf_index, warrant_commitment, message_digest, custodian, request_id, released_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', r);
      // (same keys as CustodianStore.saveRefusal / saveCancellation)
      for (const u of urgent)
        await tx.run(
          'INSERT INTO custodian_log_urgent (leaf_index, custodian, warrant_commitment, warrant_tag, target_tag, approved, approve_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          u,
        );
      for (const d of decisions) await tx.run('INSERT INTO custodian_warrant_decisions (decision_key, warrant_id, kind, document) VALUES (?, ?, ?, ?) ON CONFLICT (decision_key) DO NOTHING', d);
      await tx.run('DELETE FROM custodian_log_state WHERE id = 1');
      await tx.run('INSERT INTO custodian_log_state (id, size, root_hash, checkpoint, frontier) VALUES (1, ?, ?, ?, ?)', [size, rootHash, note, JSON.stringify(frontier)]);
    });
  }

  /** Distinct messages released under a warrant commitment, by any custodian, as the log shows. */
  async messages(commitment: string): Promise<{ total: number; since: (t: number) => number; has: (digest: string) => boolean; rank: (digest: string) => number }> {
    const rows = await this.db.all<{ message_digest: string; first: number; latest: number }>(
      'SELECT message_digest, MIN(leaf_index) AS first, MAX(released_at) AS latest FROM custodian_log_releases WHERE warrant_commitment = ? GROUP BY message_digest',
      [commitment],
    );
    const ordered = rows.map((r) => ({ digest: r.message_digest, first: Number(r.first), latest: Number(r.latest) })).sort((a, b) => a.first - b.first);
    return {
      total: ordered.length,
      since: (t) => ordered.filter((r) => r.latest >= t).length,
      has: (digest) => ordered.some((r) => r.digest === digest),
      rank: (digest) => ordered.findIndex((r) => r.digest === digest),
    };
  }

  /** Urgent notices from custodian `from` to this one whose target tags are among `targetTags`. */
  async urgentNotices(from: number, targetTags: readonly string[]): Promise<Array<{ leafIndex: number; commitment: string; warrantTag: string; approveBy: number }>> {
    if (targetTags.length === 0) return [];
    const rows = await this.db.all<{ leaf_index: number; warrant_commitment: string; warrant_tag: string; approve_by: number }>(
      `SELECT leaf_index, warrant_commitment, warrant_tag, approve_by FROM custodian_log_urgent WHERE custodian = ? AND approved = 0 AND target_tag IN (${targetTags.map(() => '?').join(', ')}) ORDER BY leaf_index`,
      [from, ...targetTags],
    );
    return rows.map((r) => ({ leafIndex: Number(r.leaf_index), commitment: r.warrant_commitment, warrantTag: r.warrant_tag, approveBy: Number(r.approve_by) }));
  }

  /** Whether any custodian released under this warrant commitment with the judge's approval in hand. */
  async urgentApproved(commitment: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS yes FROM custodian_log_urgent WHERE warrant_commitment = ? AND approved = 1', [commitment])) !== undefined;
  }

  /**
   * For the per-day limit after logging: how many other messages under the commitment have a release in the
   * log before the first release of `digest`, released at or after `since`. The log's order decides between
   * custodians racing on different messages, as `rank` does for the total limit.
   */
  async releasedBefore(commitment: string, digest: string, since: number): Promise<number> {
    const row = await this.db.get<{ n: number }>(
      `SELECT COUNT(DISTINCT message_digest) AS n FROM custodian_log_releases
        WHERE warrant_commitment = ? AND message_digest <> ? AND released_at >= ?
          AND leaf_index < (SELECT MIN(leaf_index) FROM custodian_log_releases WHERE warrant_commitment = ? AND message_digest = ?)`,
      [commitment, digest, since, commitment, digest],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Where this custodian's release record sits in the log, proven: its index among the entries the
   * follower read (under an accepted checkpoint), and an RFC 9162 inclusion proof from the log server
   * that verifies against that checkpoint. Undefined while it is not there.
   */
  async proveOwnRelease(custodian: number, requestId: string, entry: Uint8Array): Promise<{ leafIndex: number; checkpoint: string } | undefined> {
    const row = await this.db.get<{ leaf_index: number }>('SELECT leaf_index FROM custodian_log_releases WHERE custodian = ? AND request_id = ? ORDER BY leaf_index LIMIT 1', [custodian, requestId]);
    const state = await this.state();
    if (!row || !state) return undefined;
    const leafIndex = Number(row.leaf_index);
    try {
      verifyInclusion(leafIndex, state.size, hashLeaf(entry), await this.client.inclusionProof(leafIndex, state.size), state.rootHash);
    } catch {
      return undefined;
    }
    return { leafIndex, checkpoint: state.checkpoint };
  }
}
