/**
 * Text rules against the evasions people use, and against ordinary sentences with look-alike words that
 * must pass. Offsets are checked against the original text, so a reviewer sees what was written.
 */
import { describe, expect, it } from 'vitest';
import { foldAsciiWord, foldRule, foldText, parseTextRule, TextRules } from '../src/index.ts';

function rules(...values: Array<string | [string, string]>): TextRules {
  const r = new TextRules();
  values.forEach((v, i) => {
    const [value, action] = Array.isArray(v) ? v : [v, 'block'];
    r.add({ id: i + 1, bank: 'test', value, action, severity: 'high', labels: ['tvec:branded_content'] });
  });
  return r;
}

const fired = (r: TextRules, text: string) => r.match(text).filter((m) => !m.allowed);

describe('text rules: evasions are caught', () => {
  const r = rules('isis', 'daesh', 'abu bakr al baghdadi', '#caliphate', '*amaq*');
  const evasions: Array<[string, string]> = [
    ['Join ISIS today', 'ISIS'],
    ['join і\u200bѕіѕ today', 'і\u200bѕіѕ'], // Cyrillic і and ѕ, a zero-width space
    ['ＩＳＩＳ', 'ＩＳＩＳ'], // full-width
    ['𝐢𝐬𝐢𝐬 forever', '𝐢𝐬𝐢𝐬'], // mathematical bold
    ['I S I S', 'I S I S'], // spaced out
    ['i.s.i.s', 'i.s.i.s'],
    ['i-s_i*s!', 'i-s_i*s'],
    ['1s1s', '1s1s'], // leetspeak
    ['1$i5 rules', '1$i5'],
    ['lSlS', 'lSlS'], // lower-case L for capital i
    ['iiisssiiiisss', 'iiisssiiiisss'], // repeated letters
    ['ïśïś', 'ïśïś'], // diacritics
    ['ＤＡＥＳＨ', 'ＤＡＥＳＨ'],
    ['d@3sh', 'd@3sh'],
    ['Dаеsh', 'Dаеsh'], // Cyrillic а, е: mixed scripts
    ['d\u00ADa\u200Ce\u2060s\uFE0Fh', 'd\u00ADa\u200Ce\u2060s\uFE0Fh'], // soft hyphen, ZWNJ, word joiner, variation selector
    ['Abu-Bakr al-Baghdadi', 'Abu-Bakr al-Baghdadi'],
    ['AbuBakrAlBaghdadi', 'AbuBakrAlBaghdadi'], // camel case, no spaces
    ['abu  bakr   al baghdadi', 'abu  bakr   al baghdadi'],
    ['#StandWithISIS', 'ISIS'], // camel-case hashtag
    ['glory to the #Caliphate', 'Caliphate'],
    ['via amaqnews', 'amaq'],
  ];
  it.each(evasions)('%j', (text, expected) => {
    const matches = fired(r, text);
    expect(matches.length, JSON.stringify(matches)).toBeGreaterThan(0);
    expect(matches[0]!.text).toBe(expected);
    expect(text.slice(matches[0]!.start, matches[0]!.end)).toBe(expected);
  });
});

describe('text rules: ordinary sentences pass', () => {
  const r = rules('isis', 'daesh', 'isil', 'abu bakr al baghdadi', '#caliphate', '*isis*');
  const ordinary = [
    'The crisis is over and this is it.',
    'An emphasis is a thing; analysis is another.',
    'We read the thesis, is it good?', // "thesis is"
    'Mississippi is a state; his is mine.',
    'The caliphate was a historical state, discussed in class.', // the word, not the hashtag
    'I saw Lisa is late; this island is large.',
    'Daisy has a dash of paint.',
    'Basil is growing; fossil is old; civil is polite.',
    'He said: is is the verb.',
    '#crisisteam meets today', // *isis* inside an English word
    'Abu Dhabi and the bakery are baghdad-bound',
  ];
  it.each(ordinary)('%j', (text) => {
    expect(fired(r, text)).toEqual([]);
  });

  it('the English words that contain a *…* rule are allowed, and reported as such', () => {
    const [m] = r.match('a crisis');
    expect(m).toMatchObject({ text: 'isis', allowed: true });
  });
});

describe('text rules: syntax and allow-lists', () => {
  it('a hashtag rule fires only on the whole hashtag', () => {
    const r = rules('#caliphate');
    expect(fired(r, '#caliphate now')).toHaveLength(1);
    expect(fired(r, '#caliphatenow')).toHaveLength(0);
    expect(fired(r, 'caliphate now')).toHaveLength(0);
  });

  it('prefix and suffix rules fire at the start or end of a longer word', () => {
    const r = rules('jihad*', '*shahid');
    expect(fired(r, 'jihadistan').map((m) => m.text)).toEqual(['jihad']);
    expect(fired(r, 'superjihad')).toEqual([]);
    expect(fired(r, 'supershahid').map((m) => m.text)).toEqual(['shahid']);
    expect(fired(r, 'shahidnow')).toEqual([]);
  });

  it('a bank allow rule suppresses matches inside it', () => {
    const r = rules('isis', ['isis pharmaceuticals', 'allow']);
    expect(fired(r, 'ISIS Pharmaceuticals reports earnings')).toEqual([]);
    expect(fired(r, 'isis today')).toHaveLength(1);
  });

  it('rules are canonical and validated', () => {
    expect(parseTextRule('  Abu   BAKR ')).toMatchObject({ value: 'abu bakr', mode: 'word', letters: 'abu bakr' });
    expect(parseTextRule('*Daesh*')).toMatchObject({ value: '*daesh*', mode: 'substring' });
    expect(parseTextRule('#Caliphate')).toMatchObject({ mode: 'hashtag', letters: 'caiphate' });
    expect(() => parseTextRule('')).toThrow(/empty/);
    expect(() => parseTextRule('* *')).toThrow(/letters/);
    expect(() => parseTextRule('***')).toThrow(/\*/);
    expect(() => parseTextRule('a*b')).toThrow(/\*/);
    expect(() => parseTextRule('#two words')).toThrow(/hashtag/);
    expect(() => parseTextRule('x'.repeat(201))).toThrow(/200/);
  });

  it('offsets are UTF-16 offsets of the original text, across astral characters', () => {
    const r = rules('isis');
    const text = '🙂🙂 𝐢𝐬𝐢𝐬!';
    const [m] = fired(r, text);
    expect(text.slice(m!.start, m!.end)).toBe('𝐢𝐬𝐢𝐬');
  });

  it('folding dictionary words by table agrees with the full fold', () => {
    for (const w of ['crisis', 'emphasis', 'mammal', 'illicit', 'bookkeeper']) expect(foldAsciiWord(w)).toBe(foldRule(w));
    expect(foldText('a\u200Bb').letters).toEqual(['a', 'b']);
  });

  it('pathological input stays linear-ish (no blow-up on long runs of ambiguous letters)', () => {
    const r = rules('illicit', '*lll*', 'lil lil');
    const text = `${'1l|!I'.repeat(4000)} end`;
    const started = process.hrtime.bigint();
    r.match(text);
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(20); // a hang (it took 94 s before runs of one letter were skipped), not a timing test, not a timing test
  });
});
