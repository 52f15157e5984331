/**
 * What a device keeps per group: the ts-mls state (RFC 9420 GroupState, encoded by ts-mls) and our
 * bookkeeping — name, status, the server positions already applied (at-least-once delivery), and where
 * each past epoch ended (so late messages can be told from a removed member's).
 */
import { decodeGroupState, encodeGroupState, type ClientConfig, type ClientState } from 'ts-mls';
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

export class GroupStore {
  constructor(
    private readonly storage: Storage,
    private readonly config: ClientConfig,
  ) {}

  async load(groupId: string): Promise<{ state: ClientState; meta: GroupMeta } | undefined> {
    const [bytes, meta] = await Promise.all([this.storage.get(`group/${groupId}/state`), this.meta(groupId)]);
    if (!bytes || !meta) return undefined;
    const decoded = decodeGroupState(bytes, 0);
    if (!decoded) throw new Error(`stored state of group ${groupId} does not decode`);
    return { state: { ...decoded[0], clientConfig: this.config }, meta };
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

  /** Writes for a batch: the new MLS state (if any) with the bookkeeping, or, without state, forgetting it. */
  writes(groupId: string, state: ClientState | undefined, meta: GroupMeta): StorageWrite[] {
    return [...(state ? [{ key: `group/${groupId}/state`, value: encodeGroupState(state) }] : []), jsonWrite(`group/${groupId}/meta`, meta)];
  }

  forget(groupId: string, meta: GroupMeta): StorageWrite[] {
    return [{ key: `group/${groupId}/state`, value: undefined }, jsonWrite(`group/${groupId}/meta`, meta)];
  }

  async ids(): Promise<string[]> {
    return [...new Set((await this.storage.keys('group/')).map((k) => k.split('/')[1]!))];
  }
}
