/** What a post's text carries besides words: hashtags and links, parsed the same way everywhere. */

/** `#` + letters, digits or _, not inside a word ("a#b" is not a hashtag); NFKC, lower case. */
const HASHTAG = /(?<![\p{L}\p{N}_&])#([\p{L}\p{N}_]{1,100})/gu;
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/giu;

export const MAX_HASHTAGS = 30;

export function normaliseHashtag(tag: string): string {
  return tag.replace(/^#/, '').normalize('NFKC').toLowerCase();
}

/** Distinct hashtags in order of appearance (at most 30). */
export function hashtagsOf(text: string): string[] {
  const tags = new Set<string>();
  for (const m of text.matchAll(HASHTAG)) {
    tags.add(normaliseHashtag(m[1]!));
    if (tags.size >= MAX_HASHTAGS) break;
  }
  return [...tags];
}

/** http(s) URLs in the text, trailing punctuation left out ("see https://x.org/a." links x.org/a). */
export function linksOf(text: string): string[] {
  const links = new Set<string>();
  for (const m of text.matchAll(LINK)) {
    let url = m[0];
    while (/[.,;:!?'"]$/.test(url) || (url.endsWith(')') && !url.includes('('))) url = url.slice(0, -1);
    links.add(url);
  }
  return [...links];
}
