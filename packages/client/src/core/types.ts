/** The SDK's public shapes: options, events, received messages, group summaries and refusal reasons. */
import type { HandshakeOptions } from '../mls/handshake.ts';
import type { EscrowFieldProvider, MailboxItem } from '@doublelock/protocol';
import type { CryptoProvider } from 'ts-mls';
import type { ServerApi } from '../api/serverApi.ts';
import type { WebSocketConstructor } from '../api/mailboxSocket.ts';
import type { AccountVerifier } from '../directory.ts';
import type { ByteSource } from '../envelope/attachmentStream.ts';
import type { MessageContent } from '../envelope/content.ts';
import type { GroupMeta } from '../groupStore.ts';
import type { LeafFinding } from '../groups/leafCheck.ts';
import type { DeviceIdentity } from '../mls/credential.ts';
import type { Storage } from '../storage/storage.ts';
import type { MonitorAlarm } from '../transparency/monitor.ts';

/** Why an incoming item was refused; the item is acknowledged and dropped, never applied. */
export class MessageRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'MessageRejected';
  }
}
/** A send or commit in a group this device rejoined by external commit before a current member confirmed it. */
export class RejoinUnconfirmed extends Error {
  constructor(readonly groupId: string) {
    super(`Not sent: this device rejoined group ${groupId} and waits for one of its members to confirm it is the group they are in (not a copy the server made); try again after the next sync.`);
    this.name = 'RejoinUnconfirmed';
  }
}

export type RejectReason =
  | 'unknown_group'
  | 'malformed'
  | 'decryption_failed'
  | 'replayed'
  | 'stale_epoch_sender'
  | 'future_epoch'
  | 'sender_mismatch'
  | 'credential_rejected'
  | 'envelope_rejected'
  | 'no_key_package'
  /** a commit that changes membership or admins, by a member who is not an admin */
  | 'not_admin'
  /** an external commit that does not re-add, in its own place, a member device that lost its state (groups/externalRejoin.ts) */
  | 'external_commit_refused';

export interface ReceivedMessage {
  groupId: string;
  seq: number;
  serverTime: number;
  clientMessageId: string;
  sender: DeviceIdentity;
  content: MessageContent;
  /** What a franked report reveals (see report()). */
  franking: { payload: string; frankingKey: string; commitment: string; tag: string };
}

export interface GroupSummary {
  groupId: string;
  name: string;
  epoch: number;
  status: GroupMeta['status'];
  members: DeviceIdentity[];
}

export type MessengerEvent =
  | { type: 'message'; message: ReceivedMessage }
  | { type: 'joined'; groupId: string }
  | { type: 'membership'; groupId: string; added: DeviceIdentity[]; removed: DeviceIdentity[] }
  | { type: 'removed'; groupId: string }
  | { type: 'rejected'; item: MailboxItem; error: MessageRejected }
  /** Own-account monitoring found something this account did not do (transparency/monitor.ts). */
  | { type: 'transparency_alarm'; alarm: MonitorAlarm }
  /** Another device of this account added a device (seen in the log). */
  | { type: 'own_device_added'; deviceId: string }
  /**
   * The server voided commit `seq` because the group's members found it invalid. `rolledBack`: this device
   * had made or applied it and went back to the epoch before it (after checking the members' signed rejections);
   * `appliedHere` without `rolledBack`: it had applied it and either rejoins (a majority's rejections, but the
   * state before it not kept: `rejoin_pending` follows) or stays where it is (no majority: the server's word alone).
   */
  | { type: 'commit_voided'; groupId: string; seq: number; appliedHere: boolean; rolledBack: boolean }
  /**
   * The server's member list of a group is not the group's MLS members (groups/deliveryCheck.ts): devices it
   * does not deliver to, devices it delivers to that are not in the group, or this device itself cut out.
   */
  | { type: 'delivery_mismatch'; groupId: string; notDelivered: DeviceIdentity[]; unknown: string[]; cutOut: boolean }
  /** A group leaf that no longer passes the AS as the logged directory shows it now (groups/leafCheck.ts). */
  | { type: 'leaf_flagged'; finding: LeafFinding }
  /**
   * A device that lost its group state is back in: re-added by a member (groups/rejoin.ts) or by its own
   * external commit (groups/externalRejoin.ts); this device's own id when it was us.
   */
  | { type: 'rejoined'; groupId: string; username: string; deviceId: string }
  /** This device found it can no longer follow a group (its missing commits are gone) and asked to be re-added. */
  | { type: 'rejoin_requested'; groupId: string }
  /**
   * This device rejoined by external commit and waits for a current member's item in the new epoch before it
   * sends anything or counts itself back (groups/externalRejoin.ts): the server chose the GroupInfo.
   */
  | { type: 'rejoin_pending'; groupId: string }
  /** No member confirmed this device's external rejoin within `rejoinConfirmMs`: it asks to be re-added instead. */
  | { type: 'rejoin_unconfirmed'; groupId: string }
  /** An item for an epoch not reached yet: kept, and processed after the commit that reaches it. */
  | { type: 'buffered'; groupId: string; seq: number }
  /** Transport trouble (the push channel); the mailbox keeps everything, a later sync catches up. */
  | { type: 'error'; error: Error };

export interface TransparencyConfig {
  /** The log's verifier key (`name+keyid+key`), from the deployment. */
  logKey: string;
  /** Require `k` of these witnesses' cosignatures on the checkpoint a fresh device starts from. */
  witnesses?: { keys: string[]; k: number };
}

export interface MessengerOptions {
  serverUrl: string;
  storage: Storage;
  /** Needed for push (browsers: globalThis.WebSocket; Node 20: the `ws` package). */
  webSocket?: WebSocketConstructor;
  /** Lawful-access deployments: fills and verifies the envelope's escrow access field. */
  escrow?: EscrowFieldProvider;
  fetch?: typeof fetch;
  cryptoProvider?: CryptoProvider;
  /** How often (at most) a sync compares the server's member lists with the groups' MLS members (ms; default 10 minutes). */
  deliveryCheckMs?: number;
  /**
   * Key transparency: every account is checked against the log before its devices are trusted. Give a
   * verifier, or a factory that gets this device's API (for consistency proofs), e.g.
   * `(api) => new KeyTransparency({ logKey, consistencyProof: (a, b) => api.consistencyProof(a, b) })`.
   */
  keyTransparency?: AccountVerifier | ((api: ServerApi) => AccountVerifier);
  /**
   * Key transparency as the SDK runs it (preferred over `keyTransparency`): the deployment's log key (and
   * witnesses), pinned by the app; the SDK keeps the last checkpoint and each account's last version in
   * storage (a split view or a replayed account is caught across restarts), anchors a fresh device on a
   * witness-cosigned checkpoint, and monitors this device's own account (monitorOwnAccount()).
   */
  transparency?: TransparencyConfig;
  /** One-time KeyPackages kept on the server (topped up when fewer than half remain). */
  keyPackageTarget?: number;
  /** Largest sealed attachment the server takes (its `maxBlobBytes`; default the protocol's 100 MiB). */
  maxAttachmentBytes?: number;
  /**
   * Makes image previews on this device (Node: `imagePreview` from `@doublelock/client/node/imagePreview`,
   * on sharp; browsers: a canvas). Without it, images are sent without a preview.
   */
  imagePreview?: ImagePreviewer;
  /** How often group leaves are re-checked against the logged directory while syncing (default 60 s; 0: never). */
  leafCheckIntervalMs?: number;
  /** How commits and Welcomes are framed (mls/handshake.ts): public commits, the tree inside the Welcome. */
  mls?: HandshakeOptions;
  /**
   * How long a device that rejoined by external commit waits for a current member to confirm it (an item in the
   * new epoch) before it asks to be re-added instead (default 5 minutes).
   */
  rejoinConfirmMs?: number;
}

/** A file to send: `open()` gives its bytes from the start each time it is called (a file path, a Blob). */
export interface OutgoingFile {
  open: () => ByteSource;
  size: number;
  name: string;
  mime: string;
}

/** A small image shown before (or instead of) downloading the file. */
export interface ImagePreview {
  bytes: Uint8Array;
  mime: 'image/webp' | 'image/jpeg' | 'image/png';
  width: number;
  height: number;
}

/** Makes a preview of an image file; undefined when it is not an image it can decode. */
export type ImagePreviewer = (open: () => ByteSource, mime: string) => Promise<ImagePreview | undefined>;
