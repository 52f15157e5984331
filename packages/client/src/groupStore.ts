/**
 * What a device keeps per group: the ts-mls state (RFC 9420 GroupState, encoded by ts-mls) and our
 * bookkeeping — name, status, the server positions already applied (at-least-once delivery), and where
 * each past epoch ended (so late messages can be told from a removed member's).
 */
import type { ClientConfig, ClientState, EpochReceiverData } from 'ts-mls';
import { decodeGroupStateWithoutTree, encodeGroupStateWithoutTree } from 'ts-mls/clientState.js';
import { encode } from 'ts-mls/codec/tlsEncoder.js';
import { decodeEpochReceiverData, epochReceiverDataEncoder } from 'ts-mls/epochReceiverData.js';
import { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { parseDeviceCredential, type DeviceIdentity } from './mls/credential.ts';
import { getJson, jsonWrite, type Storage, type StorageWrite } from './storage/storage.ts';

export interface GroupMeta {
  name: string;
  status: 'active' | 'removed' | 'left';
  /** Recently processed server seqs (duplicates are dropped); anything at or below `floor` counts as seen. */
  seen: number[];
  floor: number;
  /** epoch → seq of the commit that ended it: late messages of that epoch must be ordered before it. */
  epochEnds: Record<string, number>;
  /** The seq of the Welcome this device joined from (a voided commit's joiners leave again). */
  joinedAt?: number;
  /**
   * Set when this device rejoined by external commit into `epoch` (at time `at`) and no current member has
   * confirmed it yet (groups/externalRejoin.ts): nothing is sent in the group meanwhile.
   */
  unconfirmedRejoin?: { epoch: number; at: number };
}

export const SEEN_WINDOW = 4096;

export function newGroupMeta(name: string): GroupMeta {
  return { name, status: 'active', seen: [], floor: 0, epochEnds: {} };
}

export function markSeen(meta: GroupMeta, ...seqs: number[]): void {
  for (const seq of seqs) if (!meta.seen.includes(seq)) meta.seen.push(seq);
  meta.seen.sort((a, b) => a - b);
  while (meta.seen.length > SEEN_WINDOW) meta.floor = Math.max(meta.floor, meta.seen.shift()!);
}

export function isSeen(meta: GroupMeta, seq: number): boolean {
  return seq <= meta.floor || meta.seen.includes(seq);
}

/** The devices in a ratchet tree, by their credentials (leaf index = node index / 2, RFC 9420 §4.2). */
export function groupMembers(state: Pick<ClientState, 'ratchetTree'>): Array<DeviceIdentity & { leafIndex: number }> {
  const out: Array<DeviceIdentity & { leafIndex: number }> = [];
  state.ratchetTree.forEach((node, nodeIndex) => {
    if (node?.nodeType !== 'leaf') return;
    const identity = parseDeviceCredential(node.leaf.credential);
    if (identity) out.push({ ...identity, leafIndex: nodeIndex / 2 });
  });
  return out;
}

/**
 * Group states, cached decoded in memory and persisted in parts so that a message does not rewrite the
 * whole group: the ratchet tree (`tree`) changes only with commits, each retained past epoch (`epoch/<n>`)
 * only when it is added, dropped or a late message spends one of its keys; what changes per message (the
 * secret tree's ratchets) is in `state`. ts-mls states are immutable, so "changed" is object identity.
 * A `version` counter, bumped in every batch, makes another process's writes to the same storage visible:
 * a stale cache entry is reloaded (one device should still be driven by one process at a time).
 */
interface Cached {
  state: ClientState;
  meta: GroupMeta;
  version: number;
}

const EMPTY_HISTORY = new Map<bigint, EpochReceiverData>();
const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
const fromU32 = (b: Uint8Array) => ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;

export class GroupStore {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly storage: Storage,
    private readonly config: ClientConfig,
  ) {}

  private async version(groupId: string): Promise<number> {
    const bytes = await this.storage.get(`group/${groupId}/version`);
    return bytes && bytes.length === 4 ? fromU32(bytes) : 0;
  }

  async load(groupId: string): Promise<{ state: ClientState; meta: GroupMeta } | undefined> {
    const version = await this.version(groupId);
    const cached = this.cache.get(groupId);
    if (cached && cached.version === version) return { state: cached.state, meta: structuredClone(cached.meta) };
    const [stateBytes, treeBytes, meta] = await Promise.all([this.storage.get(`group/${groupId}/state`), this.storage.get(`group/${groupId}/tree`), this.meta(groupId)]);
    if (!stateBytes || !treeBytes || !meta) {
      this.cache.delete(groupId);
      return undefined;
    }
    const tree = decodeRatchetTree(treeBytes, 0)?.[0];
    const decoded = tree && decodeGroupStateWithoutTree(tree)(stateBytes, 0)?.[0];
    if (!decoded) throw new Error(`stored state of group ${groupId} does not decode`);
    const history = new Map<bigint, EpochReceiverData>();
    for (const key of await this.storage.keys(`group/${groupId}/epoch/`)) {
      const entry = decodeEpochReceiverData((await this.storage.get(key))!, 0)?.[0];
      if (!entry) throw new Error(`stored epoch ${key} of group ${groupId} does not decode`);
      history.set(BigInt(key.slice(key.lastIndexOf('/') + 1)), entry);
    }
    const state: ClientState = { ...decoded, historicalReceiverData: history, clientConfig: this.config };
    this.cache.set(groupId, { state, meta: structuredClone(meta), version });
    return { state, meta };
  }

  meta(groupId: string): Promise<GroupMeta | undefined> {
    return getJson<GroupMeta>(this.storage, `group/${groupId}/meta`);
  }

  /** The group as this device can use it, or a precise error. */
  async require(groupId: string): Promise<{ state: ClientState; meta: GroupMeta }> {
    const meta = await this.meta(groupId);
    if (meta && meta.status !== 'active') throw new Error(`This device is no longer in group ${groupId} (${meta.status}).`);
    const group = await this.load(groupId);
    if (!group) throw new Error(`This device is not in group ${groupId}.`);
    return group;
  }

  /** Stores a new state (only its changed parts) and bookkeeping, with `extra` writes, in one batch. */
  async save(groupId: string, state: ClientState, meta: GroupMeta, extra: StorageWrite[] = []): Promise<void> {
    const cached = this.cache.get(groupId);
    const previous = cached && cached.version === (await this.version(groupId)) ? cached.state : undefined;
    const version = (await this.version(groupId)) + 1;
    const writes: StorageWrite[] = [
      { key: `group/${groupId}/state`, value: encodeGroupStateWithoutTree({ ...state, historicalReceiverData: EMPTY_HISTORY }) },
      jsonWrite(`group/${groupId}/meta`, meta),
      { key: `group/${groupId}/version`, value: u32(version) },
      ...extra,
    ];
    if (previous?.ratchetTree !== state.ratchetTree) writes.push({ key: `group/${groupId}/tree`, value: encodeRatchetTree(state.ratchetTree) });
    const before = previous?.historicalReceiverData;
    for (const [epoch, data] of state.historicalReceiverData) {
      if (before?.get(epoch) !== data) writes.push({ key: `group/${groupId}/epoch/${String(epoch).padStart(20, '0')}`, value: encode(epochReceiverDataEncoder)(data) });
    }
    const stored = before ? [...before.keys()] : (await this.storage.keys(`group/${groupId}/epoch/`)).map((k) => BigInt(k.slice(k.lastIndexOf('/') + 1)));
    for (const epoch of stored) {
      if (!state.historicalReceiverData.has(epoch)) writes.push({ key: `group/${groupId}/epoch/${String(epoch).padStart(20, '0')}`, value: undefined });
    }
    await this.storage.write(writes);
    this.cache.set(groupId, { state, meta: structuredClone(meta), version });
  }

  /** Bookkeeping only (the MLS state is unchanged). */
  async saveMeta(groupId: string, meta: GroupMeta, extra: StorageWrite[] = []): Promise<void> {
    const version = (await this.version(groupId)) + 1;
    const cached = this.cache.get(groupId);
    await this.storage.write([jsonWrite(`group/${groupId}/meta`, meta), { key: `group/${groupId}/version`, value: u32(version) }, ...extra]);
    if (cached) this.cache.set(groupId, { state: cached.state, meta: structuredClone(meta), version });
  }

  /**
   * Writes that keep the group as it is now (state, tree, bookkeeping: the stored bytes, not re-encoded) as
   * the undo point of commit `seq` (hash of its bytes: `commitHash`) — this device's own or one it applied —
   * one per group, until the next commit. Put them in the same batch as the commit's new state.
   */
  async undoPoint(groupId: string, seq: number, commitHash: Uint8Array): Promise<StorageWrite[]> {
    const [state, tree, meta] = await Promise.all(['state', 'tree', 'meta'].map((part) => this.storage.get(`group/${groupId}/${part}`)));
    if (!state || !tree || !meta) return [];
    return [
      { key: `undo/${groupId}/state`, value: state },
      { key: `undo/${groupId}/tree`, value: tree },
      { key: `undo/${groupId}/meta`, value: meta },
      jsonWrite(`undo/${groupId}/commit`, { seq, commitHash: [...commitHash] }),
    ];
  }

  /**
   * The undo point kept for commit `seq`, if any: the commit's hash, and the state before it (not cached) when
   * that is still kept.
   */
  async undoFor(groupId: string, seq: number): Promise<{ before?: ClientState; commitHash: Uint8Array } | undefined> {
    const record = await getJson<{ seq: number; commitHash: number[] }>(this.storage, `undo/${groupId}/commit`);
    if (record?.seq !== seq) return undefined;
    const commitHash = new Uint8Array(record.commitHash);
    const [stateBytes, treeBytes] = await Promise.all([this.storage.get(`undo/${groupId}/state`), this.storage.get(`undo/${groupId}/tree`)]);
    const tree = treeBytes && decodeRatchetTree(treeBytes, 0)?.[0];
    const decoded = tree && stateBytes && decodeGroupStateWithoutTree(tree)(stateBytes, 0)?.[0];
    if (!decoded) return { commitHash };
    return { before: { ...decoded, historicalReceiverData: EMPTY_HISTORY, clientConfig: this.config }, commitHash };
  }

  /**
   * Goes back to the undo point of commit `seq` (made in `epoch`): the stored state, tree and bookkeeping
   * from before it; the past epoch the commit had retained (`epoch` itself) is dropped.
   */
  async rollBack(groupId: string, seq: number, epoch: number): Promise<boolean> {
    const record = await getJson<{ seq: number }>(this.storage, `undo/${groupId}/commit`);
    if (record?.seq !== seq) return false;
    const parts = await Promise.all(['state', 'tree', 'meta'].map((part) => this.storage.get(`undo/${groupId}/${part}`)));
    if (parts.some((p) => !p)) return false;
    await this.storage.write([
      { key: `group/${groupId}/state`, value: parts[0] },
      { key: `group/${groupId}/tree`, value: parts[1] },
      { key: `group/${groupId}/meta`, value: parts[2] },
      { key: `group/${groupId}/epoch/${String(epoch).padStart(20, '0')}`, value: undefined },
      { key: `group/${groupId}/version`, value: u32((await this.version(groupId)) + 1) },
      ...['state', 'tree', 'meta', 'commit'].map((part) => ({ key: `undo/${groupId}/${part}`, value: undefined })),
    ]);
    this.cache.delete(groupId);
    return true;
  }

  /** Drops the MLS state (left or removed), keeping the bookkeeping. */
  async forget(groupId: string, meta: GroupMeta): Promise<void> {
    const epochs = await this.storage.keys(`group/${groupId}/epoch/`);
    await this.storage.write([
      ...(await this.storage.keys(`undo/${groupId}/`)).map((key) => ({ key, value: undefined })),
      { key: `group/${groupId}/state`, value: undefined },
      { key: `group/${groupId}/tree`, value: undefined },
      ...epochs.map((key) => ({ key, value: undefined })),
      jsonWrite(`group/${groupId}/meta`, meta),
      { key: `group/${groupId}/version`, value: u32((await this.version(groupId)) + 1) },
    ]);
    this.cache.delete(groupId);
  }

  async ids(): Promise<string[]> {
    return [...new Set((await this.storage.keys('group/')).map((k) => k.split('/')[1]!))];
  }
}
