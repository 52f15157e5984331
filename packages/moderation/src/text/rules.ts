/**
 * Keyword and hashtag rules over folded text (normalise.ts). A rule list is a bank whose signals have
 * type `text`; each signal is one rule with labels, a severity and an action (`allow` for allow-list
 * entries). Rule syntax (the signal's canonical value):
 *
 *   isis          the word, whole: not inside "crisis"
 *   abu bakr      words in sequence; the space may be absent, doubled, or punctuation
 *   isis*  *isis  *isis*   also at the start / end / anywhere inside a longer word
 *   #isis         a whole hashtag
 *
 * Matching walks a trie of rule letters from every place a rule may start (word starts; anywhere for
 * `*x` and `*x*`), following each letter's candidates (the i/l class), absorbing repeated letters,
 * crossing punctuation and case changes, and crossing whitespace only where the rule has a space or
 * the text is spelled out in single letters ("i s i s"). Matches inside an allow-listed span are kept
 * but marked `allowed`. For `*…*` rules, the English words of the `word-list` package that contain
 * the rule after their first letter are allow-listed automatically ("crisis" for `*isis*`; not "nazis"
 * for `*nazi*`, which starts with it). A letter repeated more than 32 times is not absorbed.
 */
import { readFileSync } from 'node:fs';
import wordListPath from 'word-list';
import { GAP, foldRule, foldText, type FoldedText } from './normalise.ts';

export type TextRuleMode = 'word' | 'prefix' | 'suffix' | 'substring' | 'hashtag';

export interface ParsedTextRule {
  /** canonical value, as stored in a bank */
  value: string;
  mode: TextRuleMode;
  /** folded letters, ' ' where the rule has a word boundary */
  letters: string;
}

const MAX_RULE_LENGTH = 200;

/** Checks a rule and puts it in canonical form (trimmed, NFKC, lower case, single spaces). */
export function parseTextRule(input: string): ParsedTextRule {
  if (typeof input !== 'string') throw new TypeError('a text rule must be a string');
  const value = input.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
  if (!value) throw new TypeError('a text rule must not be empty');
  if (value.length > MAX_RULE_LENGTH) throw new TypeError(`a text rule is at most ${MAX_RULE_LENGTH} characters`);
  let mode: TextRuleMode = 'word';
  let body = value;
  if (value.startsWith('#')) {
    mode = 'hashtag';
    body = value.slice(1);
    if (/[\s*#]/.test(body)) throw new TypeError(`a hashtag rule is one hashtag without spaces or *: "${input}"`);
  } else {
    const head = body.startsWith('*');
    const tail = body.endsWith('*') && body.length > 1;
    body = body.slice(head ? 1 : 0, tail ? -1 : undefined);
    mode = head && tail ? 'substring' : head ? 'suffix' : tail ? 'prefix' : 'word';
    if (body.includes('*')) throw new TypeError(`* may only stand at the start or end of a rule: "${input}"`);
  }
  const letters = foldRule(body).trim();
  if (!letters.replaceAll(' ', '')) throw new TypeError(`the rule "${input}" has no letters or digits to match`);
  return { value, mode, letters };
}

export interface TextRule {
  id: number;
  bank: string;
  value: string;
  /** what a match asks for; `allow` entries only suppress other matches */
  action: string;
  severity: string | null;
  labels: string[];
}

export interface TextMatch {
  rule: TextRule;
  /** UTF-16 offsets in the original text, end exclusive */
  start: number;
  end: number;
  text: string;
  /** inside an allow-listed span (a bank's allow rule, or a dictionary word for *…* rules) */
  allowed: boolean;
}

interface Node {
  id: number;
  next: Map<string, Node>;
  /** rules ending here */
  rules: Array<{ rule: CompiledRule }>;
}

interface CompiledRule extends ParsedTextRule {
  rule: TextRule;
}

let nodes = 0;
const newNode = (): Node => ({ id: nodes++, next: new Map(), rules: [] });

function insert(root: Node, letters: string, rule: CompiledRule): void {
  let node = root;
  for (const c of letters) {
    let child = node.next.get(c);
    if (!child) node.next.set(c, (child = newNode()));
    node = child;
  }
  node.rules.push({ rule });
}

/** Letters of an ASCII dictionary word folded as foldRule would (i/l one class, m → rn, repeats collapsed). */
export function foldAsciiWord(word: string): string {
  let out = '';
  for (const ch of word.toLowerCase()) {
    const piece = ch === 'l' ? 'i' : ch === 'm' ? 'rn' : ch;
    for (const c of piece) if (!out.endsWith(c)) out += c;
  }
  return out;
}

let dictionary: string[] | undefined;
function dictionaryWords(): string[] {
  dictionary ??= [...new Set(readFileSync(wordListPath, 'utf8').split('\n').filter((w) => /^[a-z]{3,}$/.test(w)).map(foldAsciiWord))];
  return dictionary;
}

/** Dictionary words containing each rule (folded letters, no spaces), computed once per rule text. */
const containing = new Map<string, string[]>();
function wordsContaining(keys: Iterable<string>): Map<string, string[]> {
  const missing = [...keys].filter((k) => !containing.has(k));
  if (missing.length) {
    const wanted = new Set(missing);
    const lengths = [...new Set(missing.map((k) => k.length))];
    for (const k of missing) containing.set(k, []);
    for (const word of dictionaryWords()) {
      for (const length of lengths) {
        // a word that starts with the rule is the rule's own family ("nazis"), not an innocent host
        for (let i = 1; i + length <= word.length; i++) {
          const key = word.slice(i, i + length);
          if (wanted.has(key)) {
            containing.get(key)!.push(word);
            break;
          }
        }
      }
    }
  }
  return containing;
}

/** A letter repeated more often than this is not absorbed (bounds every walk: no run makes it quadratic). */
const MAX_REPEATS = 32;

/**
 * Raw matches of a trie over folded text, from the allowed starts. A state is (next letter, trie node):
 * the last rule letter, which repeats may absorb, is the letter of the edge into the node.
 */
function walk(f: FoldedText, root: Node, anywhere: boolean, found: (rule: CompiledRule, first: number, last: number) => void): void {
  const n = f.letters.length;
  const { gaps, pieces, letters } = f;
  const stack: Array<[number, Node, string, number]> = [];
  let seen: Set<number> | undefined;
  let start = 0;
  for (let s = 0; s < n; s++) {
    start = s;
    if (!anywhere && gaps[s]! < GAP.case) continue;
    const first = letters[s]!;
    // inside a run of one letter, a match from here is a shorter copy of one from the run's start
    if (s > 0 && gaps[s] === GAP.none && letters[s - 1] === first) continue;
    if (!root.next.has(first[0]!) && !(first.length > 1 && root.next.has(first[1]!))) continue;
    stack.push([s, root, '', 0]);
    seen?.clear();
    let steps = 0;
    while (stack.length) {
      const [j, node, last, repeats] = stack.pop()!;
      if (j >= n) continue;
      // i/l letters branch, so a state can be reached twice: visit it once
      if (++steps > 1) {
        seen ??= new Set();
        const key = j * nodes + node.id;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      const gap = j > s ? gaps[j]! : GAP.none;
      // whitespace inside a match: only where the rule has a space, or between single spelled-out letters
      const direct = gap < GAP.space || (pieces[j - 1] === 1 && pieces[j] === 1);
      const candidates = letters[j]!;
      if (direct) step(node, candidates, j);
      const space = j > s ? node.next.get(' ') : undefined;
      if (space) step(space, candidates, j);
      // a repeated letter ("iisis", "kiiil") is absorbed by the rule letter before it
      if (last && direct && repeats < MAX_REPEATS && candidates.includes(last)) {
        for (const r of node.rules) found(r.rule, s, j);
        stack.push([j + 1, node, last, repeats + 1]);
      }
    }
  }
  // not a closure in the loop: a function made per visited state cost more than the walk itself
  function step(from: Node, candidates: string, j: number) {
    for (let k = 0; k < candidates.length; k++) {
      const c = candidates[k]!;
      const child = from.next.get(c);
      if (!child) continue;
      for (const r of child.rules) found(r.rule, start, j);
      stack.push([j + 1, child, c, 0]);
    }
  }
}

/** A compiled rule set: add and remove rules as their banks change, match any text. */
export class TextRules {
  private readonly rules = new Map<number, CompiledRule>();
  private tries: { start: Node; anywhere: Node; dictionary: Node } | undefined;

  get size(): number {
    return this.rules.size;
  }

  add(rule: TextRule): void {
    this.rules.set(rule.id, { ...parseTextRule(rule.value), rule });
    this.tries = undefined;
  }

  remove(id: number): boolean {
    const removed = this.rules.delete(id);
    if (removed) this.tries = undefined;
    return removed;
  }

  private compile(): { start: Node; anywhere: Node; dictionary: Node } {
    if (this.tries) return this.tries;
    const start = newNode();
    const anywhere = newNode();
    const dictionary = newNode();
    const inside = new Set<string>();
    for (const r of this.rules.values()) {
      insert(r.mode === 'suffix' || r.mode === 'substring' ? anywhere : start, r.letters, r);
      if (r.rule.action !== 'allow' && r.mode === 'substring') inside.add(r.letters.replaceAll(' ', ''));
    }
    // dictionary words containing a rule that may fire inside words are allowed wherever they occur
    const words = wordsContaining(inside);
    const allowed = new Set<string>();
    for (const key of inside) for (const word of words.get(key) ?? []) allowed.add(word);
    for (const word of allowed) insert(dictionary, word, { value: word, mode: 'substring', letters: word, rule: { id: -1, bank: '', value: word, action: 'allow', severity: null, labels: [] } });
    this.tries = { start, anywhere, dictionary };
    return this.tries;
  }

  /** Every rule match in the text, with offsets in the original; allow-listed ones marked. */
  match(text: string): TextMatch[] {
    const tries = this.compile();
    const f = foldText(text);
    const best = new Map<string, { rule: CompiledRule; first: number; last: number }>();
    const allows: Array<[number, number]> = [];
    const found = (rule: CompiledRule, first: number, last: number) => {
      if (!endsWell(f, rule.mode, first, last)) return;
      if (rule.rule.action === 'allow') {
        allows.push([f.starts[first]!, f.ends[last]!]);
        return;
      }
      const key = `${rule.rule.id}:${first}`;
      const seen = best.get(key);
      if (!seen || last > seen.last) best.set(key, { rule, first, last });
    };
    walk(f, tries.start, false, found);
    walk(f, tries.anywhere, true, found);
    if (best.size) walk(f, tries.dictionary, true, found);
    const out: TextMatch[] = [];
    const reach = new Map<number, number>(); // per rule, the end of its last match: overlapping ones are one
    for (const { rule, first, last } of [...best.values()].sort((a, b) => a.first - b.first || b.last - a.last)) {
      const start = f.starts[first]!;
      const end = f.ends[last]!;
      if ((reach.get(rule.rule.id) ?? -1) > start) continue;
      reach.set(rule.rule.id, end);
      out.push({ rule: rule.rule, start, end, text: text.slice(start, end), allowed: allows.some(([a, b]) => a <= start && end <= b) });
    }
    return out.sort((a, b) => a.start - b.start || a.rule.id - b.rule.id);
  }
}

/** Does a match of this mode end (and, for hashtags, start) where it must? */
function endsWell(f: FoldedText, mode: TextRuleMode, first: number, last: number): boolean {
  const after = f.gaps[last + 1]!;
  switch (mode) {
    case 'word':
    case 'suffix':
      return after >= GAP.case;
    case 'hashtag':
      return f.hashtag[first] === 1 && after >= GAP.punct;
    case 'prefix':
    case 'substring':
      return true;
  }
}
