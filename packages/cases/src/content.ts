/**
 * The narrow seam between cases and the content they are about. Cases never read channels' tables or
 * the upload pipeline's: the server hands them a ContentActioner built on whatever holds the content
 * (channels' posts, a reported chat message, an account), and the pipelines hand cases plain records
 * (intake.ts). Arrows keep pointing down: channels and the upload check never import cases.
 */
import type { Restriction } from '@doublelock/protocol/cases';
import type { ContentType } from '@doublelock/protocol/dsa';

/** What a case is about: a public post, a reported private message, an account. */
export interface ContentRef {
  kind: 'post' | 'message' | 'account';
  id: string;
}

export interface ContentSnapshot {
  ref: ContentRef;
  url: string;
  /** The uploader's username (the recipient of statements of reasons), when known. */
  owner: string | null;
  createdAt: number;
  contentTypes: ContentType[];
  /** Text as a moderator needs to see it (never the chat around a reported message). */
  text: string;
  /** ISO 639-1, upper case, when known. */
  language?: string;
  /** Media the post carries, for the console (served by the owner of the content). */
  media?: Array<{ url: string; type: string }>;
}

/** One restriction applied to content or an account (the wire schema is protocol's restrictionSchema). */
export type { Restriction };

export type RestrictionType = Restriction['type'];

/** Material preserved as evidence (TCO Art. 6): the content and the metadata around it. */
export interface EvidenceMaterial {
  metadata: Record<string, unknown>;
  /** Files of the content (image, video, text), named. */
  files: Array<{ name: string; type: string; bytes: Uint8Array }>;
}

export interface ContentActioner {
  /** The content a URL points at on this service, or undefined. */
  resolve(url: string): Promise<ContentRef | undefined>;
  snapshot(ref: ContentRef): Promise<ContentSnapshot | undefined>;
  /** Applies a restriction; must be idempotent (a retry after a crash applies it again). */
  apply(ref: ContentRef, restriction: Restriction): Promise<void>;
  /** Lifts it (a reversal on appeal); idempotent. */
  lift(ref: ContentRef, restriction: Restriction): Promise<void>;
  /** What to preserve before the content is removed. */
  evidence(ref: ContentRef): Promise<EvidenceMaterial | undefined>;
}

/** Account restrictions act on the account behind the content, not on the content itself. */
export const isAccountRestriction = (r: Restriction): boolean => r.type === 'suspend_account' || r.type === 'terminate_account';

export const refKey = (ref: ContentRef): string => `${ref.kind}:${ref.id}`;
