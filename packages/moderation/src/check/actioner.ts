/**
 * The actioner role of Hasher-Matcher-Actioner, as an interface: what moderation (the upload check, the
 * retro-sweep) and case handling (moderators' decisions, appeals) can do to a content item or an account.
 * Moderation never knows what a subject is; the surface that owns it (channels: `post:<id>`) implements
 * this and the server hands the implementation to whoever acts. No domain imports another to act on it.
 */

/** What a piece of content is called across domains: `<kind>:<id>`, e.g. `post:42`. Opaque to moderation. */
export type Subject = string;

/** Restrictions a decision can put on a content item (EU DSA Art. 17 "restrictions"). */
export type ContentAction =
  /** pending or held → visible (the check passed, or a reviewer released it) */
  | { type: 'publish' }
  /** refused at upload: never visible to anyone but its uploader */
  | { type: 'block' }
  /** hidden until a person decides (a match that may not be auto-actioned, a disputed signal) */
  | { type: 'hold' }
  /** taken down after it was visible (retro-sweep, notice, removal order) */
  | { type: 'remove' }
  /** stays visible with these labels (taxonomy labels, `iab:<id>` Sensitive Topics); adds to existing labels */
  | { type: 'label'; labels: string[] }
  /** hidden where the reader is in one of these ISO 3166-1 alpha-2 territories; replaces the list */
  | { type: 'geo_restrict'; territories: string[] }
  /** shown to signed-in readers only */
  | { type: 'age_restrict' }
  /** left out of hashtag pages and discovery; still on its channel and in followers' home feeds */
  | { type: 'demote' }
  /** no advert is ever placed next to it */
  | { type: 'demonetise' }
  /** undoes every restriction (an appeal upheld): visible again as it was first published */
  | { type: 'reinstate' };

export type ContentActionType = ContentAction['type'];

/** Who acted, and why, so the owning surface can record it beside its state. */
export interface ActionContext {
  /** the stored decision (moderation_decisions.id, or the case system's own id) */
  decisionId?: number;
  actor: 'upload_check' | 'video_check' | 'retro_sweep' | 'moderator' | 'appeal' | 'authority';
  /** one line for the uploader: a label or rule, never a hash list's contents */
  reason: string;
}

/** A subject's visibility, as the owning surface keeps it. */
export type Visibility = 'pending' | 'published' | 'held' | 'blocked' | 'removed' | 'deleted';

export interface ContentState {
  visibility: Visibility;
  labels: string[];
  geoRestricted: string[];
  ageRestricted: boolean;
  demoted: boolean;
  demonetised: boolean;
}

/** What a case handler needs to write a statement of reasons about a subject. */
export interface SubjectInfo {
  subject: Subject;
  /** the account that posted it */
  uploader: string;
  contentTypes: Array<'text' | 'image' | 'video' | 'link'>;
  /** public URL path of the item (`/v1/posts/42`) */
  url: string;
  createdAt: number;
  state: ContentState;
}

export interface ActionOutcome {
  /** false when the subject does not exist or was deleted by its owner (nothing to act on) */
  applied: boolean;
  state?: ContentState;
}

export interface ContentActioner {
  /** Applies one action; idempotent (applying the same action twice changes nothing the second time). */
  apply(subject: Subject, action: ContentAction, context: ActionContext): Promise<ActionOutcome>;
  describe(subject: Subject): Promise<SubjectInfo | undefined>;
}

export type AccountAction = { type: 'suspend'; until: number | null } | { type: 'terminate' } | { type: 'reinstate' };

export interface AccountActioner {
  /** Suspension stops posting (and, terminated, hides the account's channels); reinstate lifts both. */
  applyToAccount(username: string, action: AccountAction, context: ActionContext): Promise<ActionOutcome>;
}
