/**
 * Public channels: channels, posts with text, hashtags, links, images and videos, replies, follows,
 * feeds and adverts. Everything a client sends is validated here, by server and clients alike.
 */
import { z } from 'zod';
import { storableText } from './common.ts';

/** A channel's handle: its URL name, 3–32 lowercase letters, digits, _ or - (case-insensitive). */
export const channelHandle = z
  .string()
  .min(3)
  .max(32)
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { message: 'letters, digits, _ and - only, starting with a letter or digit' }));

/** Text a store can hold: no U+0000 (PostgreSQL refuses it), no lone surrogates. */
const storable = storableText;

export const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** IAB Content Taxonomy 3.1 "Sensitive Topics" unique ids. */
export const SENSITIVE_TOPIC_IDS = ['Rm3SiT', 'avbNf2', 'XtODT3', 'I4GWl6', 'Z7rJBM', 'HxqYV1', 'pg0WhF', 'j9PaO9', 'mm3UXx', '6i4dB6', '8FD8nI'] as const;
export const sensitiveTopic = z.enum(SENSITIVE_TOPIC_IDS);

export const MAX_POST_TEXT = 10_000;
export const MAX_POST_MEDIA = 10;
export const MAX_POST_LINKS = 10;

export const createChannelRequest = z.object({
  handle: channelHandle,
  name: storable(100).pipe(z.string().trim().min(1)),
  description: storable(2000).default(''),
});
export type CreateChannelRequest = z.input<typeof createChannelRequest>;

export const updateChannelRequest = z.object({
  name: storable(100).pipe(z.string().trim().min(1)).optional(),
  description: storable(2000).optional(),
  /** one advert after every n posts of a feed page; 0 turns adverts off */
  adsEvery: z.number().int().min(0).max(50).optional(),
});

export const channelResponse = z.object({
  handle: z.string(),
  name: z.string(),
  description: z.string(),
  owner: z.string(),
  followers: z.number().int(),
  posts: z.number().int(),
  adsEvery: z.number().int(),
  createdAt: z.number().int(),
  url: z.string(),
});
export type ChannelResponse = z.infer<typeof channelResponse>;

export const pageQuery = z.object({
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const channelListResponse = z.object({ channels: z.array(channelResponse), next: z.number().int().nullable() });

const url = z.string().max(2048).url({ message: 'must be a URL' });

export const createPostRequest = z.object({
  text: storable(MAX_POST_TEXT).default(''),
  /** ids from POST /v1/channels/:handle/media */
  media: z.array(z.number().int().positive()).max(MAX_POST_MEDIA).default([]),
  /** links besides those in the text */
  links: z.array(url).max(MAX_POST_LINKS).default([]),
  /** sensitive topics the author declares (adverts that exclude them stay away) */
  categories: z.array(sensitiveTopic).max(11).default([]),
});
export type CreatePostRequest = z.input<typeof createPostRequest>;

export const editPostRequest = z.object({
  text: storable(MAX_POST_TEXT).optional(),
  links: z.array(url).max(MAX_POST_LINKS).optional(),
  categories: z.array(sensitiveTopic).max(11).optional(),
});

export const mediaResponse = z.object({
  id: z.number().int(),
  kind: z.enum(['image', 'video']),
  contentType: z.string(),
  bytes: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  url: z.string(),
});
export type MediaResponse = z.infer<typeof mediaResponse>;

export const VISIBILITIES = ['pending', 'published', 'held', 'blocked', 'removed', 'deleted'] as const;

/** What the uploader is told about a decision: the label and where it came from, never the list. */
export const publicReason = z.object({
  item: z.string(),
  label: z.string(),
  description: z.string(),
  source: z.string(),
  action: z.string(),
  span: z.object({ start: z.number().int(), end: z.number().int() }).optional(),
});
export type PublicReasonWire = z.infer<typeof publicReason>;

export const postResponse = z.object({
  id: z.number().int(),
  channel: z.object({ handle: z.string(), name: z.string() }),
  author: z.string(),
  text: z.string(),
  hashtags: z.array(z.string()),
  links: z.array(z.string()),
  media: z.array(mediaResponse),
  categories: z.array(z.string()),
  labels: z.array(z.string()),
  replyTo: z.number().int().nullable(),
  replies: z.number().int(),
  createdAt: z.number().int(),
  editedAt: z.number().int().nullable(),
  url: z.string(),
  /** the uploader's view only: the post's state and why */
  visibility: z.enum(VISIBILITIES).optional(),
  restrictions: z
    .object({ geoRestricted: z.array(z.string()), ageRestricted: z.boolean(), demoted: z.boolean(), demonetised: z.boolean() })
    .optional(),
  decision: z.object({ id: z.number().int(), verdict: z.string(), reasons: z.array(publicReason), createdAt: z.number().int() }).optional(),
});
export type PostResponse = z.infer<typeof postResponse>;

export const adResponse = z.object({ campaignId: z.number().int(), impressionId: z.number().int(), sponsor: z.string(), text: z.string(), url: z.string() });

export const feedItem = z.discriminatedUnion('type', [z.object({ type: z.literal('post'), post: postResponse }), z.object({ type: z.literal('ad'), ad: adResponse })]);
export const feedResponse = z.object({ items: z.array(feedItem), next: z.number().int().nullable() });
export type FeedResponse = z.infer<typeof feedResponse>;

export const postListResponse = z.object({ posts: z.array(postResponse), next: z.number().int().nullable() });

export const hashtagParam = z.object({
  tag: z
    .string()
    .min(1)
    .max(100)
    .transform((t) => t.replace(/^#/, '').normalize('NFKC').toLowerCase())
    .pipe(z.string().regex(/^[\p{L}\p{N}_]+$/u, { message: 'a hashtag is letters, digits and _' })),
});

export const followResponse = z.object({ following: z.boolean(), followers: z.number().int() });
export const followingResponse = z.object({ channels: z.array(channelResponse) });

export const createCampaignRequest = z.object({
  name: storable(100).pipe(z.string().trim().min(1)),
  text: storable(280).pipe(z.string().trim().min(1)),
  url,
  excludedCategories: z.array(sensitiveTopic).max(11).default([]),
  maxImpressions: z.number().int().min(1).max(1_000_000_000).default(100_000),
});
export type CreateCampaignRequest = z.input<typeof createCampaignRequest>;

export const campaignResponse = z.object({
  id: z.number().int(),
  name: z.string(),
  text: z.string(),
  url: z.string(),
  excludedCategories: z.array(z.string()),
  maxImpressions: z.number().int(),
  impressions: z.number().int(),
  status: z.string(),
  createdAt: z.number().int(),
});
export const campaignListResponse = z.object({ campaigns: z.array(campaignResponse) });

export const adNotice = z.object({
  id: z.number().int(),
  campaignId: z.number().int(),
  impressionId: z.number().int(),
  postId: z.number().int(),
  action: z.string(),
  reason: z.string(),
  servedAt: z.number().int(),
  createdAt: z.number().int(),
});
export const adNoticesResponse = z.object({ notices: z.array(adNotice) });

export const brandSafetyReport = z.object({
  advertiser: z.string(),
  generatedAt: z.number().int(),
  campaigns: z.array(
    z.object({
      id: z.number().int(),
      name: z.string(),
      excludedCategories: z.array(z.string()),
      impressions: z.number().int(),
      /** impressions next to a post that was later removed or restricted */
      flaggedImpressions: z.number().int(),
      byChannel: z.array(z.object({ handle: z.string(), impressions: z.number().int() })),
    }),
  ),
  impressions: z.number().int(),
  flaggedImpressions: z.number().int(),
  /** flagged impressions by what happened to the neighbouring post */
  flaggedByAction: z.record(z.string(), z.number().int()),
  /** impressions next to a post in an excluded category at the time it was served (should be 0) */
  exclusionViolations: z.number().int(),
});
export type BrandSafetyReport = z.infer<typeof brandSafetyReport>;
