import { describe, expect, it } from 'vitest';
import { integerOption } from '../src/cliOptions.ts';

describe('integerOption', () => {
  it('takes digits only, as a safe integer of at least its minimum', () => {
    expect(integerOption('--port')('0')).toBe(0);
    expect(integerOption('--port')('8080')).toBe(8080);
    expect(integerOption('--rate-limit', 1)('600')).toBe(600);
  });

  it('refuses what Number() would quietly accept, naming the option', () => {
    for (const bad of ['', ' 7', '7 ', '1e3', '0x10', '-0', '-1', '1.5', '007', 'NaN', 'Infinity', '9007199254740993'])
      expect(() => integerOption('--port')(bad), JSON.stringify(bad)).toThrow(`--port must be a non-negative integer, not "${bad}"`);
    expect(() => integerOption('--rate-limit', 1)('0')).toThrow('--rate-limit must be an integer ≥ 1, not "0"');
  });
});
