/**
 * Each device monitors its own account in the transparency log: it reads every log entry once (resuming
 * where it stopped, with the RFC 9162 root recomputed over all entries so far and checked against a
 * verified checkpoint — no entry can be skipped or hidden), picks out its own account's directory entries,
 * and checks that they form one chain (versions 1, 2, … each naming the previous entry's hash), that the
 * identity key is the account's, and that every device in them is validly certified (devices/authority.ts).
 * A ghost device or an identity key the server logged on its own, a replayed or forked account history:
 * each raises an alarm (event 'transparency_alarm'), kept in storage so it is shown until dismissed.
 * New devices validly added by another device of the account are announced (event 'own_device_added').
 */
import { directoryEntry, directoryEntryHash, fromBase64Url, toBase64Url, type DirectoryEntry } from '@doublelock/protocol';
import { equalBytes, RootBuilder } from '@doublelock/log/verifier';
import type { ServerApi } from '../api/serverApi.ts';
import { deviceStandings, type Verify } from '../devices/authority.ts';
import { getJson, jsonWrite, type Storage } from '../storage/storage.ts';
import { KeyTransparencyError, type KeyTransparency } from './keyTransparency.ts';

export type MonitorAlarmKind = 'identity_key_changed' | 'ghost_device' | 'forged_revocation' | 'forked_history' | 'log_mismatch';

export interface MonitorAlarm {
  kind: MonitorAlarmKind;
  message: string;
  /** Log index of the entry that raised it. */
  index: number;
}

interface MonitorState {
  size: number;
  stack: Array<{ height: number; hash: string }>;
  version: number;
  entryHash: string;
  /** Device ids already seen in this account's entries. */
  devices: string[];
}

const STATE_KEY = 'kt/monitor';
export const ALARMS_KEY = 'kt/alarms';
const decoder = new TextDecoder();

export class OwnAccountMonitor {
  constructor(
    private readonly api: ServerApi,
    private readonly kt: KeyTransparency,
    private readonly storage: Storage,
    private readonly account: { username: string; identityKey: string; deviceId: string },
    private readonly verify: Verify,
  ) {}

  /** Reads the log up to its latest checkpoint; returns new alarms and devices added since the last run. */
  async run(): Promise<{ alarms: MonitorAlarm[]; added: string[] }> {
    const checkpoint = await this.kt.acceptCheckpoint(await this.api.logCheckpoint());
    const saved = await getJson<MonitorState>(this.storage, STATE_KEY);
    const state: MonitorState = saved ?? { size: 0, stack: [], version: 0, entryHash: '', devices: [] };
    if (checkpoint.size < state.size) return { alarms: [], added: [] }; // an older checkpoint: nothing new
    const builder = RootBuilder.restore({ size: state.size, nodes: state.stack.map((n) => ({ height: n.height, hash: fromBase64Url(n.hash) })) });
    const alarms: MonitorAlarm[] = [];
    const added: string[] = [];
    const known = new Set(state.devices);
    while (builder.size < checkpoint.size) {
      const entries = await this.api.logEntries(builder.size, checkpoint.size);
      if (entries.length === 0) throw new KeyTransparencyError('bad_proof', 'the log returned no entries below its checkpoint size');
      for (const bytes of entries) {
        const index = builder.size;
        builder.addEntry(bytes);
        const entry = this.ownEntry(bytes);
        if (entry) await this.check(entry, bytes, index, state, known, alarms, saved ? added : []);
      }
    }
    if (!equalBytes(builder.root(), checkpoint.rootHash)) {
      // The entries served are not the log the checkpoint signs: nothing read this time can be trusted.
      const alarm = { kind: 'log_mismatch' as const, message: `the log entries do not hash to the signed checkpoint of size ${checkpoint.size}`, index: checkpoint.size };
      await this.raise([alarm]);
      return { alarms: [alarm], added: [] };
    }
    const snapshot = builder.snapshot();
    state.size = snapshot.size;
    state.stack = snapshot.nodes.map((n) => ({ height: n.height, hash: toBase64Url(n.hash) }));
    state.devices = [...known];
    await this.storage.write([jsonWrite(STATE_KEY, state)]);
    await this.raise(alarms);
    return { alarms, added };
  }

  private ownEntry(bytes: Uint8Array): DirectoryEntry | undefined {
    if (bytes[0] !== 0x7b) return undefined; // directory entries are JSON objects; others are skipped
    try {
      const parsed = directoryEntry.safeParse(JSON.parse(decoder.decode(bytes)));
      return parsed.success && parsed.data.username === this.account.username ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  private async check(entry: DirectoryEntry, bytes: Uint8Array, index: number, state: MonitorState, known: Set<string>, alarms: MonitorAlarm[], added: string[]): Promise<void> {
    const who = this.account.username;
    if (entry.version !== state.version + 1 || entry.previous !== state.entryHash) {
      alarms.push({ kind: 'forked_history', index, message: `entry ${index} for ${who} has version ${entry.version} after ${state.version} (previous ${entry.previous || '∅'}): the server logged a replayed or second history of this account` });
    }
    state.version = Math.max(state.version, entry.version);
    state.entryHash = toBase64Url(directoryEntryHash(bytes));
    if (entry.identityKey !== this.account.identityKey) {
      alarms.push({ kind: 'identity_key_changed', index, message: `entry ${index} gives ${who} another identity key (${entry.identityKey.slice(0, 12)}…): not made by this account` });
      return; // its devices are certified by that other key: the alarm above says it all
    }
    const standings = await deviceStandings(entry, this.verify);
    for (const device of entry.devices) {
      const standing = standings.get(device.deviceId)!;
      if (standing.revocationProblem) alarms.push({ kind: 'forged_revocation', index, message: `entry ${index}: ${standing.revocationProblem}` });
      if (standing.certificateProblem) {
        alarms.push({ kind: 'ghost_device', index, message: `entry ${index} lists device ${device.deviceId} ("${device.name}") for ${who}, which no device of the account certified: ${standing.certificateProblem}` });
      } else if (!known.has(device.deviceId)) {
        known.add(device.deviceId);
        if (device.deviceId !== this.account.deviceId) added.push(device.deviceId);
      }
    }
  }

  private async raise(alarms: MonitorAlarm[]): Promise<void> {
    if (alarms.length === 0) return;
    const kept = (await getJson<MonitorAlarm[]>(this.storage, ALARMS_KEY)) ?? [];
    await this.storage.write([jsonWrite(ALARMS_KEY, [...kept, ...alarms].slice(-100))]);
  }
}
