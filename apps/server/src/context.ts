/** What every plugin is handed: configuration, stores, blob storage, push, metrics, server keys. */
import type { Cases } from '@doublelock/cases';
import type { ChannelService } from '@doublelock/channels';
import type { LiveBanks, UploadCheck } from '@doublelock/moderation';
import type { Stores } from '@doublelock/store';
import type { HubLink } from './hubLink.ts';
import type { AckBatcher } from './ackBatcher.ts';
import type { BlobStore } from './blobStore.ts';
import type { Directory } from './directory.ts';
import type { LawfulAccess } from './lawfulAccess.ts';
import type { ServerConfig } from './config.ts';
import type { Metrics } from './metrics.ts';
import type { Push } from './push.ts';
import type { Quotas } from './quotas.ts';
import type { StorageGuard } from './storage.ts';

export interface ServerContext {
  config: ServerConfig;
  stores: Stores;
  blobs: BlobStore;
  push: Push;
  acks: AckBatcher;
  quotas: Quotas;
  /** The store's health; refuses data-adding writes while the disk is full. */
  storage: StorageGuard;
  /** Key transparency: the device directory in the transparency log. */
  directory: Directory;
  /** Present only when the deployment enables lawful access. */
  lawfulAccess: LawfulAccess | undefined;
  metrics: Metrics;
  /** MAC key for message franking tags; shared by every node through the store. */
  frankingKey: Uint8Array;
  origins: () => string[];
  now: () => number;
  /** The upload check over the live banks (moderation), and the public channels on top of it. */
  moderation: { banks: LiveBanks; check: UploadCheck };
  channels: ChannelService;
  /** Notice and action: the case queue, decisions, statements of reasons, appeals, reports. */
  cases: Cases;
  /** The hash-sharing hub link, when this platform is a member of one. */
  hub: HubLink | undefined;
}
