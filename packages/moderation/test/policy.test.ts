/** Policy: how matches become a verdict. Pure, so each rule of docs/MODERATION.md is stated here. */
import { describe, expect, it } from 'vitest';
import { decide, defaultBankSettings, inRollout, type BankSettings, type FoundMatch } from '../src/index.ts';

const match = (over: Partial<FoundMatch> = {}): FoundMatch => ({
  item: 'media:1',
  bank: 'tvec',
  signalId: 1,
  signalType: 'pdq',
  labels: ['tvec:branded_content'],
  signalAction: null,
  severity: null,
  distance: 4,
  ...over,
});

const settings = (...s: Array<Partial<BankSettings> & { bank: string }>) => new Map(s.map((x) => [x.bank, { ...defaultBankSettings(x.bank), ...x }]));
const item = (matches: FoundMatch[], key = 'k') => ({ item: matches[0]?.item ?? 'media:1', key, matches });

describe('policy', () => {
  it('blocks on a match, and tells the uploader the label and the bank’s public name only', () => {
    const r = decide([item([match()])], settings({ bank: 'tvec', publicLabel: 'Known terrorist content' }));
    expect(r.verdict).toBe('block');
    expect(r.reasons).toEqual([{ item: 'media:1', label: 'tvec:branded_content', description: expect.stringContaining('Branded content') as string, source: 'Known terrorist content', action: 'block' }]);
    expect(JSON.stringify(r.reasons)).not.toMatch(/signalId|distance|"1"/);
    expect(r.labels).toEqual(['tvec:branded_content']);
  });

  it('ignores disabled banks entirely', () => {
    expect(decide([item([match()])], settings({ bank: 'tvec', enabled: false }))).toMatchObject({ verdict: 'publish', matches: [] });
  });

  it('applies each bank’s PDQ threshold', () => {
    const s = settings({ bank: 'tvec', pdqThreshold: 10 });
    expect(decide([item([match({ distance: 10 })])], s).verdict).toBe('block');
    const far = decide([item([match({ distance: 11 })])], s);
    expect(far.verdict).toBe('publish');
    expect(far.matches[0]!.skipped).toBe('threshold');
  });

  it('rolls a bank out to a stable share of items, chosen by content', () => {
    const s = settings({ bank: 'tvec', rolloutPercent: 30 });
    let acted = 0;
    for (let i = 0; i < 2000; i++) {
      const r = decide([item([match()], `content-${i}`)], s);
      if (r.verdict === 'block') acted++;
      else expect(r.matches[0]!.skipped).toBe('rollout');
      expect(decide([item([match()], `content-${i}`)], s).verdict).toBe(r.verdict); // stable per item
    }
    expect(acted / 2000).toBeGreaterThan(0.25);
    expect(acted / 2000).toBeLessThan(0.35);
    expect(inRollout('tvec', 'x', 0)).toBe(false);
    expect(inRollout('tvec', 'x', 100)).toBe(true);
  });

  it('lets a negative bank veto the other banks’ matches on the same item only', () => {
    const s = settings({ bank: 'tvec' }, { bank: 'news', negative: true });
    const r = decide([item([match(), match({ bank: 'news', signalId: 2, labels: ['custom:news'] })]), item([match({ item: 'media:2', signalId: 3 })])], s);
    expect(r.verdict).toBe('block'); // media:2 is still blocked
    expect(r.matches.find((m) => m.item === 'media:1' && m.bank === 'tvec')!.skipped).toBe('negative_bank');
    const alone = decide([item([match(), match({ bank: 'news', signalId: 2 })])], s);
    expect(alone.verdict).toBe('publish');
  });

  it('holds instead of blocking what may not be auto-actioned: low PDQ quality, disputed signals', () => {
    expect(decide([item([match({ needsReview: 'low_quality' })])], settings({ bank: 'tvec' })).verdict).toBe('hold');
    const disputed = decide([item([match({ labels: ['tvec:glorification', 'review:disputed'] })])], settings({ bank: 'tvec' }));
    expect(disputed.verdict).toBe('hold');
    expect(disputed.matches[0]!.needsReview).toBe('disputed');
    expect(disputed.reasons.every((r) => r.action === 'hold')).toBe(true);
  });

  it('never acts on a signal reviewed as a false positive, nor on an allow-listed span', () => {
    expect(decide([item([match({ labels: ['review:false_positive'] })])], settings({ bank: 'tvec' })).verdict).toBe('publish');
    expect(decide([item([match({ signalType: 'text', allowed: true, distance: undefined })])], settings({ bank: 'tvec' })).verdict).toBe('publish');
  });

  it('takes the strongest action: block > hold > label > publish; a rule’s own action over its bank’s', () => {
    const s = settings({ bank: 'tvec', action: 'hold' });
    expect(decide([item([match()])], s).verdict).toBe('hold');
    expect(decide([item([match({ signalAction: 'label', labels: ['iab:I4GWl6'] })])], s)).toMatchObject({ verdict: 'label', labels: ['iab:I4GWl6'] });
    expect(decide([item([match({ signalAction: 'label' }), match({ signalId: 2, signalAction: 'block' })])], s).verdict).toBe('block');
  });

  it('keeps a subject with an unchecked video pending, unless something else already blocks it', () => {
    expect(decide([], settings(), ['media:9']).verdict).toBe('pending');
    expect(decide([item([match()])], settings({ bank: 'tvec' }), ['media:9']).verdict).toBe('block');
  });
});
