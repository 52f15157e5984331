/**
 * The narrow seam between cases and the content they are about. Cases never read channels' tables or
 * the upload pipeline's: the server hands them a ContentActioner built on moderation's actioner roles
 * (channels implements them for posts and accounts) plus what only the holder of the content can do —
 * find the content a URL points at, show it to a moderator, hand over a copy to preserve. Channels and
 * the upload check never import cases.
 */
import type { Restriction } from '@doublelock/protocol/cases';
import type { ContentType } from '@doublelock/protocol/dsa';

/** What a case is about: a public post, a reported private message. Its subject is `<kind>:<id>`. */
export interface ContentRef {
  kind: 'post' | 'message';
  id: string;
}

export const subjectOf = (ref: ContentRef): string => `${ref.kind}:${ref.id}`;
export const refKey = subjectOf;

export interface ContentSnapshot {
  ref: ContentRef;
  url: string;
  /** The uploader's username (the recipient of statements of reasons), when known. */
  owner: string | null;
  createdAt: number;
  contentTypes: ContentType[];
  /** Text as a moderator needs to see it (for a reported chat message: that message, nothing around it). */
  text: string;
  /** ISO 639-1, upper case, when known. */
  language?: string;
  /** Media of the content, for the console. */
  media?: Array<{ url: string; type: string }>;
  /** The holder's current state of it (visibility, restrictions), for the console. */
  state?: Record<string, unknown>;
}

/** One restriction (the wire schema is protocol's restrictionSchema). */
export type { Restriction };
export type ContentRestriction = Exclude<Restriction, { type: 'suspend_account' } | { type: 'terminate_account' }>;

/** Material preserved as evidence (TCO Art. 6): the content and the metadata around it. */
export interface EvidenceMaterial {
  metadata: Record<string, unknown>;
  files: Array<{ name: string; type: string; bytes: Uint8Array }>;
}

/** Who acted and why, recorded by the holder beside the state it changes. */
export interface ActionNote {
  decisionId: number;
  actor: 'moderator' | 'appeal' | 'authority' | 'upload_check';
  reason: string;
}

export type AccountAction = { type: 'suspend'; until: number | null } | { type: 'terminate' } | { type: 'reinstate' };

export interface ContentActioner {
  /** The content a URL points at on this service, or undefined. */
  resolve(url: string): Promise<ContentRef | undefined>;
  snapshot(ref: ContentRef): Promise<ContentSnapshot | undefined>;
  /** Applies a restriction; idempotent (a retry after a crash applies it again). */
  apply(ref: ContentRef, restriction: ContentRestriction, note: ActionNote): Promise<void>;
  /** A held item a person released: it becomes visible. */
  release(ref: ContentRef, note: ActionNote): Promise<void>;
  /** Undoes every restriction (a reversal on appeal): visible again as first published. */
  reinstate(ref: ContentRef, note: ActionNote): Promise<void>;
  applyToAccount(username: string, action: AccountAction, note: ActionNote): Promise<void>;
  /** What to preserve before the content goes. */
  evidence(ref: ContentRef): Promise<EvidenceMaterial | undefined>;
}

export const isAccountRestriction = (r: Restriction): r is Extract<Restriction, { type: 'suspend_account' } | { type: 'terminate_account' }> =>
  r.type === 'suspend_account' || r.type === 'terminate_account';
