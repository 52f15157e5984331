/**
 * Group commit of sends on PostgreSQL: sends that arrive together (the same event-loop turn) are accepted
 * in one transaction of multi-row statements instead of one transaction of five statements each, as
 * SQLite's group commit shares one fsync (sqlite.ts). Per batch: lock the groups' rows (in group id
 * order, so batches cannot deadlock), read their members and any earlier sends of the same ids, decide
 * each send (duplicate, unknown group, stale epoch, not a member, or its seq), then one UPDATE of the
 * groups' next seq, one INSERT each into sent_messages, messages and mailbox. Each send's answer is as
 * if it had run alone; if the batch fails as a whole, its sends are run one by one (so an error lands on
 * the send that caused it).
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { SqlRunner } from './db.ts';
import type { Accepted, SendInput, StoredMessage } from './delivery.ts';
import { optionalBytes } from './sql.ts';

export type Outcome = { ok: true; value: Accepted } | { ok: false; error: unknown };

/** Rows per multi-row statement (PostgreSQL takes at most 65,535 parameters). */
const ROWS_PER_STATEMENT = 4000;

/**
 * Queues sends and runs them through `runBatch` (a batch of one through `runOne`). At most `maxInFlight`
 * batches run at once; sends arriving meanwhile wait and go together in the next one, so under load
 * batches grow instead of transactions multiplying.
 */
export class SendBatcher {
  #waiting: Array<{ input: SendInput; resolve: (a: Accepted) => void; reject: (e: unknown) => void }> = [];
  #scheduled = false;
  #inFlight = 0;
  /** Sends that went through a batch of more than one (for metrics and tests). */
  batched = 0;

  constructor(
    private readonly runBatch: (inputs: SendInput[]) => Promise<Outcome[]>,
    private readonly runOne: (input: SendInput) => Promise<Accepted>,
    private readonly maxBatch = 256,
    private readonly maxInFlight = 4,
  ) {}

  send(input: SendInput): Promise<Accepted> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#waiting.length > 0 && this.#inFlight < this.maxInFlight) {
      const batch = this.#waiting.splice(0, this.maxBatch);
      this.#inFlight++;
      const done = () => {
        this.#inFlight--;
        if (this.#waiting.length > 0 && !this.#scheduled) {
          this.#scheduled = true;
          setImmediate(() => this.#flush());
        }
      };
      if (batch.length === 1) {
        this.runOne(batch[0]!.input).then(batch[0]!.resolve, batch[0]!.reject).finally(done);
        continue;
      }
      this.batched += batch.length;
      this.runBatch(batch.map((w) => w.input))
        .then(
          (outcomes) => outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.error))),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(done);
    }
  }
}

/** A send id already taken inside this batch's transaction by another transaction: the batch is rerun one by one. */
export class BatchConflict extends Error {}

const key = (deviceId: string, clientMessageId: string) => `${deviceId} ${clientMessageId}`;
const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * Accepts distinct sends (no two with the same sender and client message id) in the transaction `tx`.
 * Returns each send's outcome, in order.
 */
export async function acceptSends(tx: SqlRunner, inputs: SendInput[]): Promise<Outcome[]> {
  const groupIds = [...new Set(inputs.map((i) => i.groupId))].sort();
  const groups = new Map(
    (await tx.all<{ group_id: string; epoch: number; next_seq: number }>(
      `SELECT group_id, epoch, next_seq FROM chat_groups WHERE group_id IN (${groupIds.map(() => '?').join(', ')}) ORDER BY group_id FOR UPDATE`,
      groupIds,
    )).map((g) => [g.group_id, { epoch: Number(g.epoch), next: Number(g.next_seq), first: Number(g.next_seq) }]),
  );
  const members = new Map<string, string[]>();
  if (groups.size > 0) {
    const known = [...groups.keys()];
    for (const m of await tx.all<{ group_id: string; device_id: string }>(`SELECT group_id, device_id FROM group_members WHERE group_id IN (${known.map(() => '?').join(', ')})`, known)) {
      let list = members.get(m.group_id);
      if (!list) members.set(m.group_id, (list = []));
      list.push(m.device_id);
    }
  }
  const earlier = new Map(
    (await tx.all<{ sender_device: string; client_message_id: string; seq: number; epoch: number; server_time: number; franking_tag: Uint8Array | null }>(
      `SELECT sender_device, client_message_id, seq, epoch, server_time, franking_tag FROM sent_messages
       WHERE (sender_device, client_message_id) IN (VALUES ${inputs.map(() => '(CAST(? AS TEXT), CAST(? AS TEXT))').join(', ')})`,
      inputs.flatMap((i) => [i.sender.deviceId, i.clientMessageId]),
    )).map((r) => [key(r.sender_device, r.client_message_id), r]),
  );

  type Taken = { input: SendInput; seq: number; frankingTag: Uint8Array | undefined; recipients: string[] };
  const outcomes: Outcome[] = [];
  const taken: Array<Taken | undefined> = [];
  for (const input of inputs) {
    const before = earlier.get(key(input.sender.deviceId, input.clientMessageId));
    const group = groups.get(input.groupId);
    const groupMembers = members.get(input.groupId) ?? [];
    let outcome: Outcome | undefined;
    if (before) {
      const frankingTag = optionalBytes(before.franking_tag);
      outcome = { ok: true, value: { seq: Number(before.seq), epoch: Number(before.epoch), serverTime: Number(before.server_time), recipients: [], duplicate: true, ...(frankingTag && { frankingTag }) } };
    } else if (!group) {
      outcome = { ok: false, error: new DomainError(ErrorCode.notFound, 'No such group.') };
    } else if (group.epoch !== input.epoch) {
      outcome = { ok: false, error: new DomainError(ErrorCode.staleEpoch, `The group is at epoch ${group.epoch}, not ${input.epoch}: fetch the missing commits and retry.`, { currentEpoch: group.epoch }) };
    } else if (!groupMembers.includes(input.sender.deviceId)) {
      outcome = { ok: false, error: new DomainError(ErrorCode.notMember, 'This device is not a member of the group.') };
    }
    if (outcome) {
      outcomes.push(outcome);
      taken.push(undefined);
      continue;
    }
    const seq = group!.next++;
    const frankingTag = input.frankingCommitment && input.frankingTag?.(input.now, seq);
    outcomes.push({ ok: false, error: new Error('pending') });
    taken.push({ input, seq, frankingTag, recipients: groupMembers.filter((d) => d !== input.sender.deviceId) });
  }
  const accepted = taken.filter((t): t is Taken => t !== undefined);
  if (accepted.length === 0) return outcomes;

  const moved = [...groups].filter(([, g]) => g.next !== g.first);
  await tx.run(
    `UPDATE chat_groups SET next_seq = v.next FROM (VALUES ${moved.map(() => '(CAST(? AS TEXT), CAST(? AS BIGINT))').join(', ')}) AS v(group_id, next)
     WHERE chat_groups.group_id = v.group_id`,
    moved.flatMap(([groupId, g]) => [groupId, g.next]),
  );
  for (const part of chunks(accepted, ROWS_PER_STATEMENT / 8)) {
    const inserted = await tx.all(
      `INSERT INTO sent_messages (sender_device, client_message_id, group_id, seq, epoch, server_time, franking_tag, expires_at)
       VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING RETURNING seq`,
      part.flatMap((t) => [t.input.sender.deviceId, t.input.clientMessageId, t.input.groupId, t.seq, t.input.epoch, t.input.now, t.frankingTag ?? null, t.input.expiresAt]),
    );
    if (inserted.length !== part.length) throw new BatchConflict('a send id was taken concurrently');
  }
  const messageIds = new Map<string, number>();
  for (const part of chunks(accepted, ROWS_PER_STATEMENT / 12)) {
    const rows = await tx.all<{ id: number; group_id: string; seq: number }>(
      `INSERT INTO messages (group_id, seq, kind, epoch, sender_username, sender_device, client_message_id, payload, ratchet_tree, server_time, franking_commitment, franking_tag)
       VALUES ${part.map(() => "(?, ?, 'application', ?, ?, ?, ?, ?, NULL, ?, ?, ?)").join(', ')} RETURNING id, group_id, seq`,
      part.flatMap((t) => [t.input.groupId, t.seq, t.input.epoch, t.input.sender.username, t.input.sender.deviceId, t.input.clientMessageId, t.input.ciphertext, t.input.now, t.input.frankingCommitment ?? null, t.frankingTag ?? null]),
    );
    for (const r of rows) messageIds.set(`${r.group_id} ${Number(r.seq)}`, Number(r.id));
  }
  const mail = accepted.flatMap((t) => t.recipients.map((deviceId) => ({ deviceId, messageId: messageIds.get(`${t.input.groupId} ${t.seq}`)!, expiresAt: t.input.expiresAt })));
  const mailIds = new Map<string, number>();
  for (const part of chunks(mail, ROWS_PER_STATEMENT / 3)) {
    const rows = await tx.all<{ id: number; device_id: string; message_id: number }>(
      `INSERT INTO mailbox (device_id, message_id, expires_at) VALUES ${part.map(() => '(?, ?, ?)').join(', ')} RETURNING id, device_id, message_id`,
      part.flatMap((m) => [m.deviceId, m.messageId, m.expiresAt]),
    );
    for (const r of rows) mailIds.set(`${r.device_id} ${Number(r.message_id)}`, Number(r.id));
  }
  for (const [i, t] of taken.entries()) {
    if (!t) continue;
    const { input, seq, frankingTag, recipients } = t;
    const messageId = messageIds.get(`${input.groupId} ${seq}`)!;
    await input.retain?.(tx, { seq, recipientDevices: recipients });
    const message = acceptedMessage(input, seq, frankingTag);
    outcomes[i] = {
      ok: true,
      value: {
        seq,
        epoch: input.epoch,
        serverTime: input.now,
        recipients,
        deliveries: recipients.map((deviceId) => ({ deviceId, id: mailIds.get(`${deviceId} ${messageId}`)! })),
        message,
        duplicate: false,
        ...(frankingTag && { frankingTag }),
      },
    };
  }
  return outcomes;
}

/** An accepted application message as push delivers it (one send or a batch's). */
export function acceptedMessage(input: SendInput, seq: number, frankingTag: Uint8Array | undefined): Omit<StoredMessage, 'id'> {
  return {
    kind: 'application',
    groupId: input.groupId,
    seq,
    epoch: input.epoch,
    sender: input.sender,
    clientMessageId: input.clientMessageId,
    payload: input.ciphertext,
    serverTime: input.now,
    ...(input.frankingCommitment && frankingTag && { franking: { commitment: input.frankingCommitment, tag: frankingTag } }),
  };
}
