/**
 * Hub log entries: the UTF-8 JSON of one HubEntry (packages/protocol/src/hub.ts) per RFC 9162 leaf.
 * Keys are written in one fixed order, so the same change is always the same bytes; members hash the
 * bytes they receive and never re-serialise.
 */
import { hubEntry, type HubEntry } from '@doublelock/protocol';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The entry's fields in their fixed order (zod's output order is the schema's, not the input's). */
function ordered(e: HubEntry): Record<string, unknown> {
  switch (e.op) {
    case 'signal':
      return { op: e.op, at: e.at, by: e.by, bank: e.bank, type: e.type, value: e.value, member: e.member, labels: e.labels, quality: e.quality, incident: e.incident, disputed: e.disputed };
    case 'withdraw':
      return { op: e.op, at: e.at, by: e.by, bank: e.bank, type: e.type, value: e.value };
    case 'opinion':
      return { op: e.op, at: e.at, by: e.by, bank: e.bank, type: e.type, value: e.value, opinion: e.opinion, feedback: e.feedback };
    case 'incident':
      return { op: e.op, at: e.at, by: e.by, id: e.id, name: e.name, label: e.label, open: e.open };
    case 'member':
      return { op: e.op, at: e.at, by: e.by, member: e.member, active: e.active };
  }
}

export function encodeEntry(entry: HubEntry): Uint8Array {
  return encoder.encode(JSON.stringify(ordered(entry)));
}

export class EntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryError';
  }
}

/** Parses one leaf; throws EntryError when it is not a hub entry. */
export function decodeEntry(data: Uint8Array | string): HubEntry {
  let json: unknown;
  try {
    json = JSON.parse(typeof data === 'string' ? data : decoder.decode(data));
  } catch {
    throw new EntryError('a hub log entry is not UTF-8 JSON');
  }
  const parsed = hubEntry.safeParse(json);
  if (!parsed.success) throw new EntryError(`not a hub log entry: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return parsed.data;
}
