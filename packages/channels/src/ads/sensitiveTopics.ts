/**
 * IAB Tech Lab Content Taxonomy 3.1, tier-2 nodes under "Sensitive Topics" (parent id v9i3On), with the
 * unique ids IAB publishes (Content Taxonomy 3.1.tsv). They replaced GARM's brand-safety categories
 * (GARM ended in 2024) as what ad platforms exchange.
 */
import { SENSITIVE_TOPIC_IDS } from '@doublelock/protocol';

export type SensitiveTopicId = (typeof SENSITIVE_TOPIC_IDS)[number];

export const SENSITIVE_TOPICS: Record<SensitiveTopicId, string> = {
  Rm3SiT: 'Adult & Explicit Sexual Content',
  avbNf2: 'Arms & Ammunition',
  XtODT3: 'Crime & Harmful Acts to Individuals, Society & Human Right Violations',
  I4GWl6: 'Death, Injury, or Military Conflict',
  Z7rJBM: 'Debated Sensitive Social Issues',
  HxqYV1: 'Hate Speech and Acts of Aggression',
  pg0WhF: 'Illegal Drugs, Tobacco, eCigarettes, Vaping, Alcohol',
  j9PaO9: 'Obscenity and Profanity',
  mm3UXx: 'Online Piracy',
  '6i4dB6': 'Spam or Harmful Content',
  '8FD8nI': 'Terrorism',
};

/** Excluded by every campaign, whatever it asks. */
export const TERRORISM: SensitiveTopicId = '8FD8nI';

/**
 * The sensitive topics a post falls under: those its author declared, `iab:` labels from decisions,
 * and Terrorism for any label of the terrorist-content taxonomy (tvec:, basis:, incident:).
 */
export function topicsOf(categories: readonly string[], labels: readonly string[]): Set<string> {
  const topics = new Set<string>(categories);
  for (const l of labels) {
    if (l.startsWith('iab:')) topics.add(l.slice(4));
    else if (/^(tvec|basis|incident):/.test(l)) topics.add(TERRORISM);
  }
  return topics;
}
