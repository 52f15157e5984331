/**
 * The MLS Delivery Service's state: groups (membership by device, current epoch, a total order of
 * handshake and application messages), and per-device mailboxes with acknowledgement.
 *
 * Every accepted message is written with its whole fan-out in one transaction, so an acknowledged send
 * is in every recipient's mailbox or nowhere. The group row is updated first in each transaction: that
 * row lock (PostgreSQL) or the single writer (SQLite) orders a group's messages, and a commit is accepted
 * for an epoch only once.
 */
import { adminRuleViolation, DomainError, ErrorCode, toBase64Url } from '@doublelock/protocol';
import type { Db, SqlRunner } from './db.ts';
import { acceptedMessage, acceptSends, SendBatcher, type Outcome } from './sendBatch.ts';
import { asBytes, optionalBytes, placeholders } from './sql.ts';

export type MessageKind = 'application' | 'commit' | 'welcome' | 'void';

export interface Sender {
  username: string;
  deviceId: string;
}

export interface StoredMessage {
  /** Mailbox id (per recipient), used to acknowledge. */
  id: number;
  kind: MessageKind;
  groupId: string;
  seq: number;
  epoch: number;
  sender: Sender;
  clientMessageId: string;
  payload: Uint8Array;
  ratchetTree?: Uint8Array;
  serverTime: number;
  franking?: { commitment: Uint8Array; tag: Uint8Array };
}

export interface Accepted {
  seq: number;
  epoch: number;
  serverTime: number;
  frankingTag?: Uint8Array;
  /** Devices that got new mail (for push); empty when this was a resend of an earlier message. */
  recipients: string[];
  duplicate: boolean;
  /** For application messages: each recipient's mailbox entry, and the message as stored (for direct push). */
  deliveries?: Array<{ deviceId: string; id: number }>;
  message?: Omit<StoredMessage, 'id'>;
}

export interface SendInput {
  groupId: string;
  sender: Sender;
  clientMessageId: string;
  epoch: number;
  ciphertext: Uint8Array;
  frankingCommitment?: Uint8Array;
  /** Computes the server's franking tag once the server time and the message's seq are fixed. */
  frankingTag?: (serverTime: number, seq: number) => Uint8Array;
  /** Lawful access: runs inside the accepting transaction with the fan-out, to retain what a warrant covers. */
  retain?: (tx: SqlRunner, message: { seq: number; recipientDevices: string[] }) => Promise<unknown>;
  now: number;
  expiresAt: number;
}

export interface CommitInput {
  groupId: string;
  sender: Sender;
  clientMessageId: string;
  epoch: number;
  commit: Uint8Array;
  adds: string[];
  removes: string[];
  welcome?: Uint8Array;
  ratchetTree?: Uint8Array;
  /** What the commit itself says it changes (read by the server from the public commit); required for checked groups. */
  membership?: CommitMembership;
  /**
   * The GroupInfo for the epoch the commit starts (RFC 9420 §12.4.3), its signature already checked against the
   * committer's key (apps/server/src/commitCheck.ts parseGroupInfo); kept when `signer` is the committer's leaf.
   */
  groupInfo?: { bytes: Uint8Array; signer: number; tree?: Uint8Array };
  /** Most bytes of GroupInfos and their trees kept per group (the two latest epochs'); beyond it none is kept. */
  groupInfoQuotaBytes?: number;
  /** SHA-256 of the commit's bytes (what members' signed rejections name). */
  commitHash?: Uint8Array;
  now: number;
  expiresAt: number;
}

/** What a commit changed at the Delivery Service (group_commits.changes), so that it can be undone. */
interface CommitChanges {
  removed: Array<{ leaf: number; deviceId: string; username: string }>;
  added: Array<{ leaf: number; deviceId: string; username: string }>;
  adminsBefore: string[] | null;
}

export interface CommitVerdict {
  voided: boolean;
  rejecting: number;
  needed: number;
  /** Devices that got the `void` item (for push). */
  recipients: string[];
  noticeSeq?: number;
}

/** A commit's membership changes as its proposals state them (apps/server/src/commitCheck.ts). */
export interface CommitMembership {
  /** The committer's leaf index (a member's commit). */
  senderLeaf?: number;
  /** An external commit (RFC 9420 §12.4.3.2): the device its new leaf is for. */
  external?: { username: string; deviceId: string; signatureKey: Uint8Array };
  /** Devices added, in proposal order (each takes the leftmost blank leaf, RFC 9420 §7.7). */
  adds: Array<{ username: string; deviceId: string; signatureKey: Uint8Array }>;
  removedLeaves: number[];
  /** The new admin list, when the commit changes the group's extensions. */
  admins?: string[];
}

type MailRow = {
  id: number;
  kind: MessageKind;
  group_id: string;
  seq: number;
  epoch: number;
  sender_username: string;
  sender_device: string;
  client_message_id: string;
  payload: Uint8Array;
  ratchet_tree: Uint8Array | null;
  server_time: number;
  franking_commitment: Uint8Array | null;
  franking_tag: Uint8Array | null;
};

const toStored = (row: MailRow): StoredMessage => {
  const commitment = optionalBytes(row.franking_commitment);
  const tag = optionalBytes(row.franking_tag);
  const ratchetTree = optionalBytes(row.ratchet_tree);
  return {
    id: Number(row.id),
    kind: row.kind,
    groupId: row.group_id,
    seq: Number(row.seq),
    epoch: Number(row.epoch),
    sender: { username: row.sender_username, deviceId: row.sender_device },
    clientMessageId: row.client_message_id,
    payload: asBytes(row.payload),
    serverTime: Number(row.server_time),
    ...(ratchetTree && { ratchetTree }),
    ...(commitment && tag && { franking: { commitment, tag } }),
  };
};

/** Sends and acknowledgements are ordered by the group row lock / touch only their own rows. */
const READ_COMMITTED = { readCommitted: true };

/** Bytes counted per item beyond its payload (ids, sender, JSON framing), so many tiny items are bounded too. */
const ITEM_OVERHEAD = 256;

const MAIL_COLUMNS = `mailbox.id, m.kind, m.group_id, m.seq, m.epoch, m.sender_username, m.sender_device,
  m.client_message_id, m.payload, m.ratchet_tree, m.server_time, m.franking_commitment, m.franking_tag`;

export class DeliveryStore {
  /** PostgreSQL: sends arriving together share one transaction of multi-row statements (sendBatch.ts). */
  readonly #batcher: SendBatcher | undefined;

  constructor(private readonly db: Db) {
    if (db.dialect === 'postgres') this.#batcher = new SendBatcher((inputs) => this.#sendMany(inputs));
  }

  async createGroup(groupId: string, creator: Sender, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const inserted = await tx.run(
        'INSERT INTO chat_groups (group_id, epoch, next_seq, created_by, created_at) VALUES (?, 0, 1, ?, ?) ON CONFLICT DO NOTHING',
        [groupId, creator.deviceId, now],
      );
      if (inserted.changes === 0) throw new DomainError(ErrorCode.groupExists, 'A group with this id already exists.');
      await tx.run('UPDATE chat_groups SET checked = 1 WHERE group_id = ?', [groupId]);
      await tx.run('INSERT INTO group_members (group_id, device_id) VALUES (?, ?)', [groupId, creator.deviceId]);
      await tx.run('INSERT INTO group_leaves (group_id, leaf_index, device_id, username) VALUES (?, 0, ?, ?)', [groupId, creator.deviceId, creator.username]);
    });
  }

  async group(groupId: string): Promise<{ epoch: number; members: string[] } | undefined> {
    const group = await this.db.get<{ epoch: number }>('SELECT epoch FROM chat_groups WHERE group_id = ?', [groupId]);
    if (!group) return undefined;
    const members = await this.db.all<{ device_id: string }>('SELECT device_id FROM group_members WHERE group_id = ? ORDER BY device_id', [groupId]);
    return { epoch: Number(group.epoch), members: members.map((m) => m.device_id) };
  }

  /** The latest GroupInfo a committer left in the group, for one of its member devices (undefined: none kept). */
  async groupInfo(groupId: string, deviceId: string): Promise<{ epoch: number; groupInfo: Uint8Array; ratchetTree?: Uint8Array } | undefined> {
    if (!(await this.isMember(groupId, deviceId))) throw new DomainError(ErrorCode.notMember, 'This device is not a member of the group.');
    const row = await this.db.get<{ epoch: number; group_info: Uint8Array; ratchet_tree: Uint8Array | null }>(
      `SELECT g.epoch, g.group_info, g.ratchet_tree FROM group_infos g JOIN chat_groups c ON c.group_id = g.group_id AND c.epoch = g.epoch WHERE g.group_id = ?`,
      [groupId],
    );
    const ratchetTree = row && optionalBytes(row.ratchet_tree);
    return row && { epoch: Number(row.epoch), groupInfo: asBytes(row.group_info), ...(ratchetTree && { ratchetTree }) };
  }

  /** The GroupInfo kept for one epoch of a group (what an external commit at that epoch was made from), if any. */
  async groupInfoAt(groupId: string, epoch: number): Promise<Uint8Array | undefined> {
    const row = await this.db.get<{ group_info: Uint8Array }>('SELECT group_info FROM group_infos WHERE group_id = ? AND epoch = ?', [groupId, epoch]);
    return row && asBytes(row.group_info);
  }

  async isMember(groupId: string, deviceId: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS one FROM group_members WHERE group_id = ? AND device_id = ?', [groupId, deviceId])) !== undefined;
  }

  /** Whether the device is in the group now, or was when the message at `seq` was ordered (removed later). */
  async wasMemberAt(groupId: string, deviceId: string, seq: number): Promise<boolean> {
    if (await this.isMember(groupId, deviceId)) return true;
    const row = await this.db.get('SELECT 1 AS one FROM group_former_members WHERE group_id = ? AND device_id = ? AND removed_at_seq > ?', [groupId, deviceId, seq]);
    return row !== undefined;
  }

  /** Sends accepted through a multi-send batch so far (PostgreSQL). */
  get batchedSends(): number {
    return this.#batcher?.batched ?? 0;
  }

  /** Batches that failed as a whole and were rerun one by one (a concurrent resend of one id; never a bug). */
  batchesRerun = 0;

  async send(input: SendInput): Promise<Accepted> {
    return this.#batcher ? this.#batcher.send(input) : this.#sendAlone(input);
  }

  /**
   * Sends of one turn in one transaction. Two sends with one id in the batch: the later ones run alone
   * afterwards (and get the first one's answer). A batch that fails as a whole is rerun one by one.
   */
  async #sendMany(inputs: SendInput[]): Promise<Outcome[]> {
    const seen = new Set<string>();
    const first: number[] = [];
    const later: number[] = [];
    inputs.forEach((input, i) => {
      const k = `${input.sender.deviceId} ${input.clientMessageId}`;
      (seen.has(k) ? later : first).push(i);
      seen.add(k);
    });
    const settle = (p: Promise<Accepted>): Promise<Outcome> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
    const outcomes: Outcome[] = new Array(inputs.length);
    let batch: Outcome[] | undefined;
    try {
      batch = await this.db.transaction((tx) => acceptSends(tx, first.map((i) => inputs[i]!)), READ_COMMITTED);
    } catch {
      this.batchesRerun++;
      batch = undefined;
    }
    if (batch) first.forEach((i, j) => (outcomes[i] = batch[j]!));
    else for (const i of first) outcomes[i] = await settle(this.#sendAlone(inputs[i]!));
    for (const i of later) outcomes[i] = await settle(this.#sendAlone(inputs[i]!));
    return outcomes;
  }

  async #sendAlone(input: SendInput): Promise<Accepted> {
    try {
      return await this.#send(input);
    } catch (error) {
      // A resend of an accepted message: its transaction was rolled back; answer as the first time.
      if (error instanceof DuplicateSend) return (await previouslyAccepted(this.db, input.sender.deviceId, input.clientMessageId))!;
      throw error;
    }
  }

  #send(input: SendInput): Promise<Accepted> {
    return this.db.transaction(async (tx) => {
      const seq = await takeSeq(tx, input.groupId, input.epoch, input.sender.deviceId, 1);
      const frankingTag = input.frankingCommitment && input.frankingTag?.(input.now, seq);
      // The idempotency key goes in first: a resend conflicts here, before anything else is written.
      if (!(await rememberSent(tx, input, seq, input.epoch, frankingTag))) throw new DuplicateSend();
      const messageId = await insertMessage(tx, {
        ...input,
        kind: 'application',
        seq,
        payload: input.ciphertext,
        frankingCommitment: input.frankingCommitment,
        frankingTag,
      });
      const recipients = await tx.all<{ device_id: string; id: number }>(
        `INSERT INTO mailbox (device_id, message_id, expires_at)
         SELECT device_id, ?, ? FROM group_members WHERE group_id = ? AND device_id <> ? RETURNING device_id, id`,
        [messageId, input.expiresAt, input.groupId, input.sender.deviceId],
      );
      await input.retain?.(tx, { seq, recipientDevices: recipients.map((r) => r.device_id) });
      const message = acceptedMessage(input, seq, frankingTag);
      return {
        seq,
        epoch: input.epoch,
        serverTime: input.now,
        recipients: recipients.map((r) => r.device_id),
        deliveries: recipients.map((r) => ({ deviceId: r.device_id, id: Number(r.id) })),
        message,
        duplicate: false,
        ...(frankingTag && { frankingTag }),
      };
    }, READ_COMMITTED);
  }

  /**
   * Accepts the commit for the group's current epoch (the first one wins): it goes to every member as
   * the group was, the Welcome goes to the added devices, and membership changes.
   */
  async commit(input: CommitInput): Promise<Accepted> {
    return this.db.transaction(async (tx) => {
      const earlier = await previouslyAccepted(tx, input.sender.deviceId, input.clientMessageId);
      if (earlier) return earlier;
      if (input.adds.length > 0 && !input.welcome) throw new DomainError(ErrorCode.validation, 'A commit that adds devices needs a Welcome.');
      const seq = await takeSeq(tx, input.groupId, input.epoch, input.sender.deviceId, input.welcome ? 2 : 1);
      const newEpoch = input.epoch + 1;
      await tx.run('UPDATE chat_groups SET epoch = ? WHERE group_id = ?', [newEpoch, input.groupId]);
      const committerLeaf = await checkAndApplyMembership(tx, input, seq);
      await keepGroupInfo(tx, input, committerLeaf);

      const commitId = await insertMessage(tx, { ...input, kind: 'commit', seq, payload: input.commit });
      const recipients = (
        await tx.all<{ device_id: string }>(
          `INSERT INTO mailbox (device_id, message_id, expires_at)
           SELECT device_id, ?, ? FROM group_members WHERE group_id = ? AND device_id <> ? RETURNING device_id`,
          [commitId, input.expiresAt, input.groupId, input.sender.deviceId],
        )
      ).map((r) => r.device_id);

      if (input.removes.length > 0) {
        const removed = await tx.all<{ device_id: string }>(
          `DELETE FROM group_members WHERE group_id = ? AND device_id IN (${placeholders(input.removes.length)}) RETURNING device_id`,
          [input.groupId, ...input.removes],
        );
        for (const { device_id } of removed) {
          await tx.run('INSERT INTO group_former_members (group_id, device_id, removed_at_seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [input.groupId, device_id, seq]);
        }
      }
      for (const deviceId of input.adds) {
        await tx.run('INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [input.groupId, deviceId]);
      }
      if (input.welcome && input.adds.length > 0) {
        const welcomeId = await insertMessage(tx, { ...input, kind: 'welcome', seq: seq + 1, epoch: newEpoch, payload: input.welcome });
        for (const deviceId of input.adds) {
          await tx.run('INSERT INTO mailbox (device_id, message_id, expires_at) VALUES (?, ?, ?)', [deviceId, welcomeId, input.expiresAt]);
          recipients.push(deviceId);
        }
      }
      if (!(await rememberSent(tx, input, seq, newEpoch, undefined))) throw new DomainError(ErrorCode.conflict, 'This commit was already accepted.');
      return { seq, epoch: newEpoch, serverTime: input.now, recipients, duplicate: false };
    });
  }

  /**
   * A member reports that commit `seq` is invalid (its own MLS checks refused it). The report counts when
   * the device was in the group before the commit and still is after it. When devices of a majority of the
   * accounts that stayed (the committer's own excepted) have reported it, it is still the group's latest
   * commit, and nobody outside the committer's account has sent anything since (nobody built on it), the
   * commit is void: the group goes back to its epoch, leaves, members and admins from before it, the
   * commit, its Welcome and what followed it are dropped, and every device concerned gets a `void` item.
   */
  async rejectCommit(input: {
    groupId: string;
    seq: number;
    reporter: Sender;
    reason: string;
    signature: Uint8Array;
    /** Checks the reporter's signature (commitRejectionBytes) over this commit with the reporter's device key. */
    verify: (commit: { epoch: number; commitHash: Uint8Array }, signatureKey: Uint8Array) => boolean;
    now: number;
    expiresAt: number;
  }): Promise<CommitVerdict> {
    return this.db.transaction(async (tx) => {
      // The group row first: it orders this with the group's sends and commits.
      const group = await tx.get<{ epoch: number }>('UPDATE chat_groups SET next_seq = next_seq WHERE group_id = ? RETURNING epoch', [input.groupId]);
      if (!group) throw new DomainError(ErrorCode.notFound, 'No such group.');
      const c = await tx.get<{ epoch: number; sender_username: string; sender_device: string; changes: string; commit_hash: Uint8Array; voided_at: number | null }>(
        'SELECT epoch, sender_username, sender_device, changes, commit_hash, voided_at FROM group_commits WHERE group_id = ? AND seq = ?',
        [input.groupId, input.seq],
      );
      if (!c) throw new DomainError(ErrorCode.notFound, 'No such commit in this group.');
      const changes = JSON.parse(c.changes) as CommitChanges;
      const leaves = await tx.all<{ device_id: string; username: string }>('SELECT device_id, username FROM group_leaves WHERE group_id = ?', [input.groupId]);
      const added = new Set(changes.added.map((a) => a.deviceId));
      const stayed = leaves.filter((l) => !added.has(l.device_id));
      if (!stayed.some((l) => l.device_id === input.reporter.deviceId)) {
        throw new DomainError(ErrorCode.notMember, 'Only a device that was in the group before the commit and still is can report it.');
      }
      const key = await tx.get<{ signature_key: Uint8Array }>('SELECT signature_key FROM devices WHERE device_id = ?', [input.reporter.deviceId]);
      if (!key || !input.verify({ epoch: Number(c.epoch), commitHash: asBytes(c.commit_hash) }, asBytes(key.signature_key))) {
        throw new DomainError(ErrorCode.badSignature, 'The rejection is not signed by this device for this commit.');
      }
      if (c.voided_at !== null) return { voided: true, rejecting: 0, needed: 0, recipients: [] };
      if (Number(group.epoch) !== Number(c.epoch) + 1) throw new DomainError(ErrorCode.conflict, 'A later commit was accepted on top of this one: it can no longer be voided.');
      await tx.run('INSERT INTO commit_rejections (group_id, seq, device_id, username, reason, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
        input.groupId,
        input.seq,
        input.reporter.deviceId,
        input.reporter.username,
        input.reason,
        input.signature,
        input.now,
      ]);
      const eligible = new Set(stayed.map((l) => l.username).filter((u) => u !== c.sender_username));
      const reported = await tx.all<{ username: string }>('SELECT DISTINCT username FROM commit_rejections WHERE group_id = ? AND seq = ?', [input.groupId, input.seq]);
      const rejecting = reported.filter((r) => eligible.has(r.username)).length;
      const needed = Math.floor(eligible.size / 2) + 1;
      const builtOn = await tx.get(
        `SELECT 1 AS one FROM sent_messages s JOIN devices d ON d.device_id = s.sender_device
         WHERE s.group_id = ? AND s.seq > ? AND d.username <> ? LIMIT 1`,
        [input.groupId, input.seq, c.sender_username],
      );
      if (eligible.size === 0 || rejecting < needed || builtOn) return { voided: false, rejecting, needed, recipients: [] };

      // Void: back to the group as it was before the commit.
      await tx.run('UPDATE group_commits SET voided_at = ? WHERE group_id = ? AND seq = ?', [input.now, input.groupId, input.seq]);
      await tx.run('UPDATE chat_groups SET epoch = ?, admins = ? WHERE group_id = ?', [Number(c.epoch), changes.adminsBefore ? JSON.stringify(changes.adminsBefore) : null, input.groupId]);
      for (const a of changes.added) {
        await tx.run('DELETE FROM group_leaves WHERE group_id = ? AND leaf_index = ?', [input.groupId, a.leaf]);
        await tx.run('DELETE FROM group_members WHERE group_id = ? AND device_id = ?', [input.groupId, a.deviceId]);
      }
      for (const r of changes.removed) {
        await tx.run('INSERT INTO group_leaves (group_id, leaf_index, device_id, username) VALUES (?, ?, ?, ?)', [input.groupId, r.leaf, r.deviceId, r.username]);
        await tx.run('INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [input.groupId, r.deviceId]);
      }
      await tx.run('DELETE FROM group_former_members WHERE group_id = ? AND removed_at_seq = ?', [input.groupId, input.seq]);
      await tx.run('DELETE FROM group_infos WHERE group_id = ? AND epoch > ?', [input.groupId, Number(c.epoch)]);
      const dropped = `SELECT id FROM messages WHERE group_id = ? AND seq >= ?`;
      await tx.run(`DELETE FROM mailbox WHERE message_id IN (${dropped})`, [input.groupId, input.seq]);
      await tx.run('DELETE FROM messages WHERE group_id = ? AND seq >= ?', [input.groupId, input.seq]);
      const next = await tx.get<{ next_seq: number }>('UPDATE chat_groups SET next_seq = next_seq + 1 WHERE group_id = ? RETURNING next_seq', [input.groupId]);
      const noticeSeq = Number(next!.next_seq) - 1;
      const signed = await tx.all<{ username: string; device_id: string; signature: Uint8Array }>('SELECT username, device_id, signature FROM commit_rejections WHERE group_id = ? AND seq = ? ORDER BY device_id', [
        input.groupId,
        input.seq,
      ]);
      const rejections = signed.map((r) => ({ username: r.username, deviceId: r.device_id, signature: toBase64Url(asBytes(r.signature)) }));
      const payload = new TextEncoder().encode(JSON.stringify({ voidedSeq: input.seq, epoch: Number(c.epoch), rejections }));
      const noticeId = await insertMessage(tx, {
        groupId: input.groupId,
        kind: 'void',
        seq: noticeSeq,
        epoch: Number(c.epoch),
        sender: { username: c.sender_username, deviceId: c.sender_device },
        clientMessageId: `voided-commit-${input.seq}`,
        payload,
        now: input.now,
      });
      // Everyone in the group again, and the devices the commit had added (so they drop what they joined).
      const recipients = [...new Set([...(await tx.all<{ device_id: string }>('SELECT device_id FROM group_members WHERE group_id = ?', [input.groupId])).map((m) => m.device_id), ...added])];
      for (const deviceId of recipients) await tx.run('INSERT INTO mailbox (device_id, message_id, expires_at) VALUES (?, ?, ?)', [deviceId, noticeId, input.expiresAt]);
      return { voided: true, rejecting, needed, recipients, noticeSeq };
    });
  }

  /** Unacknowledged mail of a device, oldest first: at most `limit` items and about `maxBytes` (always at least one item). */
  async mailbox(deviceId: string, limit: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<StoredMessage[]> {
    return (await this.readMail([deviceId], limit, maxBytes)).byDevice.get(deviceId)!;
  }

  /** Unacknowledged mail of several devices at once (push batches its reads), oldest first per device. */
  async mailboxes(deviceIds: string[], limit: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Map<string, StoredMessage[]>> {
    return (await this.readMail(deviceIds, limit, maxBytes)).byDevice;
  }

  /**
   * The oldest unacknowledged mail of these devices, in mailbox order, bounded by count and by bytes:
   * sizes are summed first without reading a payload (LENGTH of a blob/bytea reads only its header), and
   * only the items that fit are read. The item that crosses `maxBytes` is included, so one large item
   * still gets through. `complete` is false if mail was left out.
   */
  async readMail(deviceIds: string[], limit: number, maxBytes: number): Promise<{ byDevice: Map<string, StoredMessage[]>; complete: boolean }> {
    const byDevice = new Map<string, StoredMessage[]>(deviceIds.map((d) => [d, []]));
    if (deviceIds.length === 0) return { byDevice, complete: true };
    const sized = `SELECT mailbox.id, mailbox.device_id, mailbox.message_id,
         LENGTH(m.payload) + COALESCE(LENGTH(m.ratchet_tree), 0) + ${ITEM_OVERHEAD} AS size,
         SUM(LENGTH(m.payload) + COALESCE(LENGTH(m.ratchet_tree), 0) + ${ITEM_OVERHEAD}) OVER (ORDER BY mailbox.id) AS running
       FROM mailbox JOIN messages m ON m.id = mailbox.message_id
       WHERE mailbox.device_id IN (${placeholders(deviceIds.length)}) ORDER BY mailbox.id LIMIT ?`;
    const rows = await this.db.all<MailRow & { device_id: string; running: number; size: number }>(
      `WITH sized AS (${sized})
       SELECT sized.device_id, sized.running, sized.size, ${MAIL_COLUMNS.replace('mailbox.id', 'sized.id')}
       FROM sized JOIN messages m ON m.id = sized.message_id
       WHERE sized.running - sized.size < ? ORDER BY sized.id`,
      [...deviceIds, limit, maxBytes],
    );
    for (const row of rows) byDevice.get(row.device_id)!.push(toStored(row));
    const last = rows.at(-1);
    const complete = rows.length < limit && (!last || Number(last.running) < maxBytes);
    return { byDevice, complete };
  }

  /** Deletes acknowledged mail; a message goes once its last recipient has acknowledged it. */
  /**
   * Delivery state of messages a device sent: for each of its messages (by seq) in the group whose send
   * record still lives, how many recipient devices have not fetched and acknowledged it yet (0: delivered
   * to every device it was addressed to). Another device's messages are not answered.
   */
  async deliveryOf(groupId: string, senderDevice: string, seqs: number[]): Promise<Array<{ seq: number; pending: number }>> {
    if (seqs.length === 0) return [];
    const rows = await this.db.all<{ seq: number; pending: number }>(
      `SELECT s.seq, (SELECT COUNT(*) FROM messages m JOIN mailbox mb ON mb.message_id = m.id WHERE m.group_id = s.group_id AND m.seq = s.seq) AS pending
       FROM sent_messages s WHERE s.sender_device = ? AND s.group_id = ? AND s.seq IN (${seqs.map(() => '?').join(', ')}) ORDER BY s.seq`,
      [senderDevice, groupId, ...seqs],
    );
    return rows.map((r) => ({ seq: Number(r.seq), pending: Number(r.pending) }));
  }

  async ack(deviceId: string, ids: number[]): Promise<number> {
    return (await this.ackMany([{ deviceId, ids }]))[0]!;
  }

  /**
   * Acknowledgements of several devices in one transaction (the server batches those arriving together).
   * Each device can only delete its own mail. Returns the number deleted per entry.
   */
  async ackMany(entries: Array<{ deviceId: string; ids: number[] }>): Promise<number[]> {
    const pairs = entries.flatMap((e) => e.ids.map((id) => [e.deviceId, id] as const));
    if (pairs.length === 0) return entries.map(() => 0);
    type Deleted = { device_id: string; id: number };
    let rows: Deleted[];
    if (this.db.dialect === 'postgres') {
      // One statement, one round trip, for the whole batch (atomic on its own: no BEGIN/COMMIT), one
      // primary-key probe per item (mailbox_ack, migration 0780, says why it is a function). Two batches
      // freeing a message's last two rows at once both see the other's row: the message stays until
      // sweep() (as with two statements at READ COMMITTED).
      rows = await this.db.all<Deleted>('SELECT device_id, id FROM mailbox_ack(CAST(? AS TEXT[]), CAST(? AS BIGINT[]))', [
        pairs.map(([deviceId]) => deviceId),
        pairs.map(([, id]) => id),
      ]);
    } else {
      rows = await this.db.transaction(async (tx) => {
        // SQLite: one indexed statement per device (measured faster there than a row-value list, which
        // SQLite materialises). Each device deletes only its own mail.
        const deleted: Array<Deleted & { message_id: number }> = [];
        for (const e of entries) {
          if (e.ids.length === 0) continue;
          const sql = `DELETE FROM mailbox WHERE device_id = ? AND id IN (${placeholders(e.ids.length)}) RETURNING device_id, id, message_id`;
          deleted.push(...(await tx.all<Deleted & { message_id: number }>(sql, [e.deviceId, ...e.ids])));
        }
        const messageIds = [...new Set(deleted.map((r) => Number(r.message_id)))];
        if (messageIds.length > 0) {
          await tx.run(
            `DELETE FROM messages WHERE id IN (${placeholders(messageIds.length)})
             AND NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id)`,
            messageIds,
          );
        }
        return deleted;
      });
    }
    const deleted = new Set(rows.map((r) => `${r.device_id} ${Number(r.id)}`));
    return entries.map((e) => e.ids.filter((id) => deleted.has(`${e.deviceId} ${id}`)).length);
  }

  /**
   * The mailbox byte quota: a device that never connects cannot make the server keep more than
   * `maxBytes` for it. Beyond it its oldest application messages are dropped (commits and Welcomes stay:
   * without them the device could not follow its groups' epochs). Returns the mailbox entries dropped.
   */
  async trimMailboxes(maxBytes: number): Promise<{ trimmed: number; devices: string[] }> {
    const size = 'LENGTH(m.payload) + COALESCE(LENGTH(m.ratchet_tree), 0)';
    const over = await this.db.all<{ device_id: string; bytes: number }>(
      `SELECT mailbox.device_id, SUM(${size}) AS bytes FROM mailbox JOIN messages m ON m.id = mailbox.message_id
       GROUP BY mailbox.device_id HAVING SUM(${size}) > ?`,
      [maxBytes],
    );
    let trimmed = 0;
    for (const { device_id: deviceId, bytes } of over) {
      const rows = await this.db.all<{ id: number; size: number }>(
        `SELECT mailbox.id, ${size} AS size FROM mailbox JOIN messages m ON m.id = mailbox.message_id
         WHERE mailbox.device_id = ? AND m.kind = 'application' ORDER BY mailbox.id`,
        [deviceId],
      );
      let excess = Number(bytes) - maxBytes;
      const drop: number[] = [];
      for (const row of rows) {
        if (excess <= 0) break;
        drop.push(Number(row.id));
        excess -= Number(row.size);
      }
      for (let i = 0; i < drop.length; i += 500) {
        const ids = drop.slice(i, i + 500);
        trimmed += (await this.db.run(`DELETE FROM mailbox WHERE device_id = ? AND id IN (${placeholders(ids.length)})`, [deviceId, ...ids])).changes;
      }
    }
    return { trimmed, devices: over.map((o) => o.device_id) };
  }

  /** Drops undelivered mail past its expiry and messages nobody is waiting for. */
  async sweep(now: number): Promise<{ expired: number }> {
    const expired = await this.db.run('DELETE FROM mailbox WHERE expires_at < ?', [now]);
    await this.db.run('DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id)');
    await this.db.run('DELETE FROM sent_messages WHERE expires_at < ?', [now]);
    return { expired: expired.changes };
  }
}

async function previouslyAccepted(tx: SqlRunner | Db, deviceId: string, clientMessageId: string): Promise<Accepted | undefined> {
  const row = await tx.get<{ seq: number; epoch: number; server_time: number; franking_tag: Uint8Array | null }>(
    'SELECT seq, epoch, server_time, franking_tag FROM sent_messages WHERE sender_device = ? AND client_message_id = ?',
    [deviceId, clientMessageId],
  );
  if (!row) return undefined;
  const frankingTag = optionalBytes(row.franking_tag);
  return { seq: Number(row.seq), epoch: Number(row.epoch), serverTime: Number(row.server_time), recipients: [], duplicate: true, ...(frankingTag && { frankingTag }) };
}

/** Reserves `count` sequence numbers in the group, checking epoch and membership; returns the first. */
async function takeSeq(tx: SqlRunner, groupId: string, epoch: number, deviceId: string, count: number): Promise<number> {
  const row = await tx.get<{ next_seq: number }>(
    `UPDATE chat_groups SET next_seq = next_seq + ? WHERE group_id = ? AND epoch = ?
     AND EXISTS (SELECT 1 FROM group_members WHERE group_members.group_id = chat_groups.group_id AND device_id = ?) RETURNING next_seq`,
    [count, groupId, epoch, deviceId],
  );
  if (row) return Number(row.next_seq) - count;
  // Refused: say why.
  const group = await tx.get<{ epoch: number }>('SELECT epoch FROM chat_groups WHERE group_id = ?', [groupId]);
  if (!group) throw new DomainError(ErrorCode.notFound, 'No such group.');
  if (Number(group.epoch) !== epoch) {
    throw new DomainError(ErrorCode.staleEpoch, `The group is at epoch ${group.epoch}, not ${epoch}: fetch the missing commits and retry.`, {
      currentEpoch: Number(group.epoch),
    });
  }
  throw new DomainError(ErrorCode.notMember, 'This device is not a member of the group.');
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length && new Set(a).size === a.length;
const rejectCommit = (message: string, details?: unknown): never => {
  throw new DomainError(ErrorCode.commitRejected, message, details);
};

/**
 * For groups with a leaf map (all created since migration 0020): the commit's own proposals must match what
 * the client declared, name only devices it may (members to remove, active directory devices with the key
 * their KeyPackage carries to add), come from the leaf of the authenticated device, and respect the group's
 * admins. Then the leaves and the admin list move on as the members' trees do, and the change is recorded
 * (group_commits) so the commit can be voided if every member finds it invalid.
 */
async function checkAndApplyMembership(tx: SqlRunner, input: CommitInput, seq: number): Promise<number | undefined> {
  const group = await tx.get<{ checked: number; admins: string | null }>('SELECT checked, admins FROM chat_groups WHERE group_id = ?', [input.groupId]);
  if (!group || Number(group.checked) !== 1) {
    await checkDevicesActive(tx, input.adds); // a group from before the leaf map
    return undefined;
  }
  const m = input.membership ?? rejectCommit('This group’s commits must be public handshake messages the server can read.');
  const leaves = new Map(
    (await tx.all<{ leaf_index: number; device_id: string; username: string }>('SELECT leaf_index, device_id, username FROM group_leaves WHERE group_id = ?', [input.groupId])).map((l) => [
      Number(l.leaf_index),
      { leaf: Number(l.leaf_index), deviceId: l.device_id, username: l.username },
    ]),
  );
  const record = (changes: CommitChanges) =>
    tx.run('INSERT INTO group_commits (group_id, seq, epoch, sender_username, sender_device, changes, commit_hash) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      input.groupId,
      seq,
      input.epoch,
      input.sender.username,
      input.sender.deviceId,
      JSON.stringify(changes),
      input.commitHash ?? new Uint8Array(),
    ]);
  if (m.external) return applyExternalCommit(tx, input, m.external, m.removedLeaves, leaves, (changes) => record({ ...changes, adminsBefore: group.admins ? (JSON.parse(group.admins) as string[]) : null }));
  if (m.senderLeaf === undefined) return rejectCommit('The commit names no sender leaf.');
  const sender = leaves.get(m.senderLeaf);
  if (sender?.deviceId !== input.sender.deviceId) rejectCommit(`The commit is signed as leaf ${m.senderLeaf}, which is not this device’s leaf.`);
  const removed = m.removedLeaves.map((leaf) => leaves.get(leaf) ?? rejectCommit(`The commit removes leaf ${leaf}, which is empty.`));
  if (removed.some((r) => r.deviceId === input.sender.deviceId)) rejectCommit('A member cannot commit its own removal.');
  if (!sameSet(removed.map((r) => r.deviceId), input.removes)) {
    rejectCommit('The devices the request declares removed are not the ones the commit removes.', { declared: input.removes, inCommit: removed.map((r) => r.deviceId) });
  }
  if (!sameSet(m.adds.map((a) => a.deviceId), input.adds)) {
    rejectCommit('The devices the request declares added are not the ones the commit adds.', { declared: input.adds, inCommit: m.adds.map((a) => a.deviceId) });
  }
  const removedIds = new Set(removed.map((r) => r.deviceId));
  for (const a of m.adds) {
    if ([...leaves.values()].some((l) => l.deviceId === a.deviceId && !removedIds.has(a.deviceId))) rejectCommit(`The commit adds device ${a.deviceId}, which is already in the group.`);
  }
  if (m.adds.length > 0) {
    const rows = await tx.all<{ device_id: string; username: string; signature_key: Uint8Array }>(
      `SELECT device_id, username, signature_key FROM devices WHERE revoked_at IS NULL AND device_id IN (${placeholders(m.adds.length)})`,
      m.adds.map((a) => a.deviceId),
    );
    const byId = new Map(rows.map((r) => [r.device_id, r]));
    for (const a of m.adds) {
      const row = byId.get(a.deviceId);
      if (!row || row.username !== a.username || !equalBytes(asBytes(row.signature_key), a.signatureKey)) {
        rejectCommit(`The commit adds device ${a.deviceId} of ${a.username}, which the key directory does not list with that key (or lists as revoked).`);
      }
    }
  }
  const revoked = new Set(
    removed.length === 0
      ? []
      : (
          await tx.all<{ device_id: string }>(`SELECT device_id FROM devices WHERE revoked_at IS NOT NULL AND device_id IN (${placeholders(removed.length)})`, removed.map((r) => r.deviceId))
        ).map((r) => r.device_id),
  );
  const adminsBefore: string[] = group.admins ? (JSON.parse(group.admins) as string[]) : [];
  const violation = adminRuleViolation({
    admins: adminsBefore,
    committer: input.sender.username,
    added: m.adds,
    removed: removed.map((r) => ({ username: r.username, deviceId: r.deviceId, revoked: revoked.has(r.deviceId) })),
    adminsChanged: m.admins !== undefined && !sameSet(m.admins, adminsBefore),
  });
  if (violation) throw new DomainError(ErrorCode.notAdmin, `${violation}.`);

  // The leaves move on as every member's tree does: removes blank leaves, then each add takes the leftmost blank one.
  for (const r of removed) leaves.delete(r.leaf);
  const added: Array<{ leaf: number; deviceId: string; username: string }> = [];
  for (const a of m.adds) {
    let leaf = 0;
    while (leaves.has(leaf)) leaf++;
    const entry = { leaf, deviceId: a.deviceId, username: a.username };
    leaves.set(leaf, entry);
    added.push(entry);
  }
  if (removed.length > 0) await tx.run(`DELETE FROM group_leaves WHERE group_id = ? AND leaf_index IN (${placeholders(removed.length)})`, [input.groupId, ...removed.map((r) => r.leaf)]);
  for (const a of added) await tx.run('INSERT INTO group_leaves (group_id, leaf_index, device_id, username) VALUES (?, ?, ?, ?)', [input.groupId, a.leaf, a.deviceId, a.username]);
  if (m.admins !== undefined) await tx.run('UPDATE chat_groups SET admins = ? WHERE group_id = ?', [m.admins.length > 0 ? JSON.stringify(m.admins) : null, input.groupId]);
  await record({ removed, added, adminsBefore: group.admins ? adminsBefore : null });
  return m.senderLeaf;
}

/**
 * An external commit (RFC 9420 §12.4.3.2) is accepted only as a resync: a member device that lost its group
 * state re-adds itself with its own key — its new leaf names the authenticated device, the directory lists that
 * device active with that key, the one leaf it removes is its own old leaf, and a GroupInfo of this epoch is kept
 * here (none is for groups whose policy allows no external commits). Nobody can join a group this
 * way (joining goes through an add, which a member commits), and the routing does not change. Returns the
 * device's new leaf (the leftmost blank one after the removal, as in every member's tree).
 */
async function applyExternalCommit(
  tx: SqlRunner,
  input: CommitInput,
  device: NonNullable<CommitMembership['external']>,
  removedLeaves: number[],
  leaves: Map<number, { leaf: number; deviceId: string; username: string }>,
  record: (changes: Omit<CommitChanges, 'adminsBefore'>) => Promise<unknown>,
): Promise<number> {
  if (device.deviceId !== input.sender.deviceId || device.username !== input.sender.username) rejectCommit('An external commit may only re-add the device that sends it.');
  if (removedLeaves.length !== 1) rejectCommit('An external commit must remove the device’s own old leaf (a resync): devices join a group by being added.');
  const old = leaves.get(removedLeaves[0]!);
  if (old?.deviceId !== input.sender.deviceId) rejectCommit(`The external commit removes leaf ${removedLeaves[0]}, which is not this device’s leaf.`);
  if (input.adds.length > 0 || input.removes.length > 0) rejectCommit('An external commit re-adds its own device: it declares no adds or removes.');
  // Only from a GroupInfo kept here: a group whose policy allows no external commits keeps none.
  if (!(await tx.get('SELECT 1 AS one FROM group_infos WHERE group_id = ? AND epoch = ?', [input.groupId, input.epoch]))) {
    rejectCommit('The group keeps no group info for this epoch, so it takes no external commits (its policy, or a tree too large): ask to be re-added.');
  }
  const row = await tx.get<{ signature_key: Uint8Array }>('SELECT signature_key FROM devices WHERE device_id = ? AND username = ? AND revoked_at IS NULL', [device.deviceId, device.username]);
  if (!row || !equalBytes(asBytes(row.signature_key), device.signatureKey)) rejectCommit('The key directory does not list this device, active, with the key of the external commit’s leaf.');
  leaves.delete(old!.leaf);
  let leaf = 0;
  while (leaves.has(leaf)) leaf++;
  const added = { leaf, deviceId: device.deviceId, username: device.username };
  await tx.run('DELETE FROM group_leaves WHERE group_id = ? AND leaf_index = ?', [input.groupId, old!.leaf]);
  await tx.run('INSERT INTO group_leaves (group_id, leaf_index, device_id, username) VALUES (?, ?, ?, ?)', [input.groupId, leaf, device.deviceId, device.username]);
  await record({ removed: [old!], added: [added] });
  return leaf;
}

/**
 * Keeps the GroupInfo a commit carries for the epoch it starts, when it is signed as the committer's leaf; the
 * one of the epoch before stays too (it serves again if this commit is voided), older ones go.
 */
async function keepGroupInfo(tx: SqlRunner, input: CommitInput, committerLeaf: number | undefined): Promise<void> {
  await tx.run('DELETE FROM group_infos WHERE group_id = ? AND epoch < ?', [input.groupId, input.epoch]);
  if (!input.groupInfo || committerLeaf === undefined) return;
  if (input.groupInfo.signer !== committerLeaf) rejectCommit(`The group info is signed as leaf ${input.groupInfo.signer}, not as the committer’s leaf ${committerLeaf}.`);
  // A per-group byte quota (GroupInfo and tree, the epoch before's included): beyond it none is kept for this
  // epoch, and a device that loses its state asks to be re-added instead. The commit itself stands.
  const size = input.groupInfo.bytes.length + (input.groupInfo.tree?.length ?? 0);
  if (input.groupInfoQuotaBytes !== undefined) {
    const kept = await tx.get<{ bytes: number | null }>('SELECT SUM(LENGTH(group_info) + COALESCE(LENGTH(ratchet_tree), 0)) AS bytes FROM group_infos WHERE group_id = ?', [input.groupId]);
    if (Number(kept?.bytes ?? 0) + size > input.groupInfoQuotaBytes) return;
  }
  await tx.run('INSERT INTO group_infos (group_id, epoch, group_info, ratchet_tree, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
    input.groupId,
    input.epoch + 1,
    input.groupInfo.bytes,
    input.groupInfo.tree ?? null,
    input.now,
  ]);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function checkDevicesActive(tx: SqlRunner, deviceIds: string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  const rows = await tx.all<{ device_id: string }>(
    `SELECT device_id FROM devices WHERE revoked_at IS NULL AND device_id IN (${placeholders(deviceIds.length)})`,
    deviceIds,
  );
  const active = new Set(rows.map((r) => r.device_id));
  const unknown = deviceIds.filter((d) => !active.has(d));
  if (unknown.length > 0) throw new DomainError(ErrorCode.validation, 'A commit adds devices that do not exist or are revoked.', { devices: unknown });
}

async function insertMessage(
  tx: SqlRunner,
  m: Omit<StoredMessage, 'id' | 'serverTime' | 'franking' | 'ratchetTree'> & {
    ratchetTree?: Uint8Array | undefined;
    now: number;
    frankingCommitment?: Uint8Array | undefined;
    frankingTag?: Uint8Array | undefined;
  },
): Promise<number> {
  const row = await tx.get<{ id: number }>(
    `INSERT INTO messages (group_id, seq, kind, epoch, sender_username, sender_device, client_message_id, payload,
       ratchet_tree, server_time, franking_commitment, franking_tag)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [
      m.groupId,
      m.seq,
      m.kind,
      m.epoch,
      m.sender.username,
      m.sender.deviceId,
      m.clientMessageId,
      m.payload,
      m.kind === 'welcome' ? (m.ratchetTree ?? null) : null,
      m.now,
      m.frankingCommitment ?? null,
      m.frankingTag ?? null,
    ],
  );
  return Number(row!.id);
}

async function rememberSent(
  tx: SqlRunner,
  input: { sender: Sender; clientMessageId: string; groupId: string; now: number; expiresAt: number },
  seq: number,
  epoch: number,
  frankingTag: Uint8Array | undefined,
): Promise<boolean> {
  const inserted = await tx.run(
    `INSERT INTO sent_messages (sender_device, client_message_id, group_id, seq, epoch, server_time, franking_tag, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [input.sender.deviceId, input.clientMessageId, input.groupId, seq, epoch, input.now, frankingTag ?? null, input.expiresAt],
  );
  return inserted.changes > 0;
}

class DuplicateSend extends Error {}
