/**
 * Labels for bank signals. The `tvec:` labels follow the GIFCT hash-sharing database taxonomy (behavioural
 * categories of terrorist and violent extremist content, as GIFCT publishes them in its transparency
 * reports); `basis:` says why content is in scope; `incident:` ties it to a crisis protocol activation.
 * docs/MODERATION.md documents each. Other labels must be namespaced `custom:…` so a typo is not silently
 * a new category.
 */
export const TAXONOMY = {
  'tvec:imminent_threat': 'Imminent credible threat: content that threatens a specific, imminent attack',
  'tvec:graphic_violence': 'Graphic violence against defenceless people (e.g. execution footage)',
  'tvec:glorification': 'Glorification of terrorist acts',
  'tvec:recruitment_instruction': 'Radicalisation, recruitment or instruction (incl. attack manuals)',
  'tvec:attacker_manifesto': 'Manifesto or livestream of a perpetrator of a violent extremist attack',
  'tvec:branded_content': 'Branded content of a designated terrorist organisation (logos, official media outlets)',
  'tvec:publication': 'Terrorist publication (magazines, newsletters)',
  'basis:un_designated': 'Produced by or supporting an entity on the UN Security Council Consolidated Sanctions List',
  'basis:national_designation': 'Produced by or supporting an organisation designated under national law (e.g. UK Terrorism Act 2000 Sch. 2)',
  'basis:incident': 'In scope because of a declared real-world violent incident',
  'incident:cip': 'Shared under the GIFCT Content Incident Protocol',
  'incident:cir': 'Shared under the GIFCT Content Incident (lower-severity) declaration',
  'review:false_positive': 'Reviewed and found not to be terrorist content (kept so peers learn of it)',
  'review:disputed': 'Members of the hash-sharing hub disagree about it: matches are held for human review, never blocked automatically',
  // IAB Content Taxonomy 3.1 "Sensitive Topics" (unique ids as IAB publishes them): for labelling
  // content and keeping adverts away from it.
  'iab:Rm3SiT': 'Adult & Explicit Sexual Content',
  'iab:avbNf2': 'Arms & Ammunition',
  'iab:XtODT3': 'Crime & Harmful Acts to Individuals, Society & Human Right Violations',
  'iab:I4GWl6': 'Death, Injury, or Military Conflict',
  'iab:Z7rJBM': 'Debated Sensitive Social Issues',
  'iab:HxqYV1': 'Hate Speech and Acts of Aggression',
  'iab:pg0WhF': 'Illegal Drugs, Tobacco, eCigarettes, Vaping, Alcohol',
  'iab:j9PaO9': 'Obscenity and Profanity',
  'iab:mm3UXx': 'Online Piracy',
  'iab:6i4dB6': 'Spam or Harmful Content',
  'iab:8FD8nI': 'Terrorism',
} as const;

export type TaxonomyLabel = keyof typeof TAXONOMY;

const LABEL = /^[a-z][a-z0-9_]*:[a-z0-9_.-]+$/;

export function isTaxonomyLabel(label: string): label is TaxonomyLabel {
  return Object.hasOwn(TAXONOMY, label);
}

/** IAB ids are case-sensitive: `iab:8fd8ni` written in lower case is read as `iab:8FD8nI`. */
const IAB_BY_LOWER = new Map(Object.keys(TAXONOMY).filter((k) => k.startsWith('iab:')).map((k) => [k.toLowerCase(), k]));

/** Checks one label: a taxonomy label or `custom:<name>`. */
export function checkLabel(label: string): string {
  const l = label.trim().toLowerCase();
  const iab = IAB_BY_LOWER.get(l);
  if (iab) return iab;
  if (isTaxonomyLabel(l) || (l.startsWith('custom:') && LABEL.test(l))) return l;
  throw new TypeError(`unknown label "${label}": use one of ${Object.keys(TAXONOMY).join(', ')}, or custom:<name>`);
}

/**
 * Labels coming from another exchange (ThreatExchange tags, HMA notes): taxonomy labels are kept, and
 * anything else is kept as custom:<tag> rather than dropped.
 */
export function labelFromForeignTag(tag: string): string {
  const t = tag.trim().toLowerCase();
  const iab = IAB_BY_LOWER.get(t);
  if (iab) return iab;
  if (isTaxonomyLabel(t) || (t.startsWith('custom:') && LABEL.test(t))) return t;
  const slug = t.replace(/[^a-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
  return `custom:${slug || 'unnamed'}`;
}
