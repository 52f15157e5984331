/**
 * Group commit of sends on PostgreSQL: sends that arrive together (the same event-loop turn) are accepted
 * in one transaction of multi-row statements instead of one transaction of five statements each, as
 * SQLite's group commit shares one fsync (sqlite.ts). Per batch: lock the groups' rows (in group id
 * order, so batches cannot deadlock), read their members and any earlier sends of the same ids, decide
 * each send (duplicate, unknown group, stale epoch, not a member, or its seq), then one statement that
 * moves the groups' next seq and inserts into sent_messages, messages and mailbox: BEGIN, two
 * statements and COMMIT per batch, whatever its size (round trips, not rows, bound PostgreSQL here). Each send's answer is as
 * if it had run alone; if the batch fails as a whole, its sends are run one by one (so an error lands on
 * the send that caused it).
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { SqlRunner } from './db.ts';
import type { Accepted, SendInput, StoredMessage } from './delivery.ts';
import { optionalBytes } from './sql.ts';

export type Outcome = { ok: true; value: Accepted } | { ok: false; error: unknown };

/**
 * Queues sends and runs them through `runBatch` (a lone send too: one transaction of two statements
 * beats the five of a send on its own). At most `maxInFlight` batches run at once, each on its own
 * connection, so their commits share the WAL's flushes (PostgreSQL's group commit); sends arriving
 * meanwhile wait and go together in the next one, so under load batches grow instead of transactions
 * multiplying. Batches running at once share no group: a send to a group that a running batch holds
 * waits for the next batch (the group row lock would make it wait in PostgreSQL anyway, holding a
 * connection and the other groups' locks meanwhile), so a popular group does not serialise every batch
 * behind it.
 */
type Waiting = { input: SendInput; resolve: (a: Accepted) => void; reject: (e: unknown) => void };

export class SendBatcher {
  #waiting: Waiting[] = [];
  #scheduled = false;
  #inFlight = 0;
  /** Groups held by running batches. */
  readonly #busy = new Set<string>();
  /** Sends that went through a batch of more than one (for metrics and tests). */
  batched = 0;

  constructor(
    private readonly runBatch: (inputs: SendInput[]) => Promise<Outcome[]>,
    private readonly maxBatch = 256,
    private readonly maxInFlight = 12,
  ) {}

  send(input: SendInput): Promise<Accepted> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** The next batch: waiting sends (in order) of groups no running batch holds. */
  #take(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of this.#waiting) (batch.length < this.maxBatch && !this.#busy.has(w.input.groupId) ? batch : rest).push(w);
    this.#waiting = rest;
    return batch;
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#waiting.length > 0 && this.#inFlight < this.maxInFlight) {
      const batch = this.#take();
      if (batch.length === 0) return; // every waiting send's group is held: the next batch to finish reschedules
      const groups = new Set(batch.map((w) => w.input.groupId));
      for (const g of groups) this.#busy.add(g);
      this.#inFlight++;
      const done = () => {
        this.#inFlight--;
        for (const g of groups) this.#busy.delete(g);
        this.#schedule();
      };
      if (batch.length > 1) this.batched += batch.length;
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

/**
 * One round trip: lock the batch's group rows (in group id order), and read their members and any
 * earlier sends of the batch's ids. `seen_seq` is the group's next seq in the statement's snapshot: the
 * members subquery reads that snapshot, while the locked row may be newer (READ COMMITTED hands FOR
 * UPDATE the latest version after waiting). Every change of membership by a commit or a void moves
 * next_seq, so where the two differ the members are read again (now, under the lock).
 */
const READ_BATCH = `WITH locked AS (
    SELECT group_id, epoch, next_seq FROM chat_groups WHERE group_id = ANY(CAST(? AS TEXT[])) ORDER BY group_id FOR UPDATE
  ), seen AS (
    SELECT group_id, next_seq FROM chat_groups WHERE group_id = ANY(CAST(? AS TEXT[]))
  )
  SELECT 'group' AS row_kind, l.group_id, l.epoch, l.next_seq, s.next_seq AS seen_seq,
    ARRAY(SELECT gm.device_id FROM group_members gm WHERE gm.group_id = l.group_id) AS members,
    CAST(NULL AS TEXT) AS sender_device, CAST(NULL AS TEXT) AS client_message_id, CAST(NULL AS BIGINT) AS seq,
    CAST(NULL AS BIGINT) AS server_time, CAST(NULL AS BYTEA) AS franking_tag
  FROM locked l LEFT JOIN seen s ON s.group_id = l.group_id
  UNION ALL
  SELECT 'earlier', group_id, epoch, NULL, NULL, NULL, sender_device, client_message_id, seq, server_time, franking_tag
  FROM sent_messages WHERE (sender_device, client_message_id) IN (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[])))`;

type ReadRow = {
  row_kind: 'group' | 'earlier';
  group_id: string;
  epoch: number;
  next_seq: number | null;
  seen_seq: number | null;
  members: string[] | null;
  sender_device: string | null;
  client_message_id: string | null;
  seq: number | null;
  server_time: number | null;
  franking_tag: Uint8Array | null;
};

/**
 * One round trip for every write of the batch (data-modifying CTEs): the groups' next seq, the
 * idempotency keys, the messages and their fan-out. Mailbox rows are inserted in the batch's order
 * (ORDER BY ordinality), so each device's mailbox ids follow seq order within a group.
 */
const writeBatch = (sends: number) => `WITH moved AS (
    UPDATE chat_groups SET next_seq = v.next FROM unnest(CAST(? AS TEXT[]), CAST(? AS BIGINT[])) AS v(group_id, next)
    WHERE chat_groups.group_id = v.group_id RETURNING 1
  ), sent AS (
    INSERT INTO sent_messages (sender_device, client_message_id, group_id, seq, epoch, server_time, franking_tag, expires_at)
    VALUES ${Array.from({ length: sends }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING RETURNING 1
  ), stored AS (
    INSERT INTO messages (group_id, seq, kind, epoch, sender_username, sender_device, client_message_id, payload, ratchet_tree, server_time, franking_commitment, franking_tag)
    VALUES ${Array.from({ length: sends }, () => "(?, ?, 'application', ?, ?, ?, ?, ?, NULL, ?, ?, ?)").join(', ')} RETURNING id, group_id, seq
  ), mail AS (
    INSERT INTO mailbox (device_id, message_id, expires_at)
    SELECT r.device_id, stored.id, r.expires_at
    FROM unnest(CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[])) WITH ORDINALITY AS r(group_id, seq, device_id, expires_at, ord)
    JOIN stored ON stored.group_id = r.group_id AND stored.seq = r.seq
    ORDER BY r.ord
    RETURNING id, device_id, message_id
  )
  SELECT 'message' AS row_kind, id, group_id, seq, CAST(NULL AS TEXT) AS device_id, CAST(NULL AS BIGINT) AS message_id FROM stored
  UNION ALL SELECT 'mail', id, NULL, NULL, device_id, message_id FROM mail
  UNION ALL SELECT 'sent', (SELECT COUNT(*) FROM sent), NULL, NULL, NULL, NULL`;

type WriteRow = { row_kind: 'message' | 'mail' | 'sent'; id: number; group_id: string | null; seq: number | null; device_id: string | null; message_id: number | null };

/** At most this many sends per batch: the write statement binds 18 parameters per send (PostgreSQL takes 65,535). */
export const MAX_SENDS_PER_BATCH = 2000;

/**
 * Accepts distinct sends (no two with the same sender and client message id) in the transaction `tx`,
 * in two statements whatever the batch's size. Returns each send's outcome, in order.
 */
export async function acceptSends(tx: SqlRunner, inputs: SendInput[]): Promise<Outcome[]> {
  if (inputs.length > MAX_SENDS_PER_BATCH) throw new RangeError(`at most ${MAX_SENDS_PER_BATCH} sends per batch`);
  const groupIds = [...new Set(inputs.map((i) => i.groupId))].sort();
  const read = await tx.all<ReadRow>(READ_BATCH, [groupIds, groupIds, inputs.map((i) => i.sender.deviceId), inputs.map((i) => i.clientMessageId)]);
  const groups = new Map<string, { epoch: number; next: number; first: number }>();
  const members = new Map<string, string[]>();
  const earlier = new Map<string, ReadRow>();
  const stale: string[] = [];
  for (const row of read) {
    if (row.row_kind === 'earlier') {
      earlier.set(key(row.sender_device!, row.client_message_id!), row);
      continue;
    }
    const next = Number(row.next_seq);
    groups.set(row.group_id, { epoch: Number(row.epoch), next, first: next });
    members.set(row.group_id, row.members ?? []);
    if (row.seen_seq === null || Number(row.seen_seq) !== next) stale.push(row.group_id);
  }
  if (stale.length > 0) {
    for (const groupId of stale) members.set(groupId, []);
    for (const m of await tx.all<{ group_id: string; device_id: string }>('SELECT group_id, device_id FROM group_members WHERE group_id = ANY(CAST(? AS TEXT[]))', [stale])) {
      members.get(m.group_id)!.push(m.device_id);
    }
  }

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
  const mail = accepted.flatMap((t) => t.recipients.map((deviceId) => ({ t, deviceId })));
  const written = await tx.all<WriteRow>(writeBatch(accepted.length), [
    moved.map(([groupId]) => groupId),
    moved.map(([, g]) => g.next),
    ...accepted.flatMap((t) => [t.input.sender.deviceId, t.input.clientMessageId, t.input.groupId, t.seq, t.input.epoch, t.input.now, t.frankingTag ?? null, t.input.expiresAt]),
    ...accepted.flatMap((t) => [t.input.groupId, t.seq, t.input.epoch, t.input.sender.username, t.input.sender.deviceId, t.input.clientMessageId, t.input.ciphertext, t.input.now, t.input.frankingCommitment ?? null, t.frankingTag ?? null]),
    mail.map((m) => m.t.input.groupId),
    mail.map((m) => m.t.seq),
    mail.map((m) => m.deviceId),
    mail.map((m) => m.t.input.expiresAt),
  ]);
  const messageIds = new Map<string, number>();
  const mailIds = new Map<string, number>();
  for (const row of written) {
    if (row.row_kind === 'sent' && Number(row.id) !== accepted.length) throw new BatchConflict('a send id was taken concurrently');
    if (row.row_kind === 'message') messageIds.set(`${row.group_id} ${Number(row.seq)}`, Number(row.id));
    if (row.row_kind === 'mail') mailIds.set(`${row.device_id} ${Number(row.message_id)}`, Number(row.id));
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
