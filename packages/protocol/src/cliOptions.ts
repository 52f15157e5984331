/**
 * Command-line numbers are outside input too, parsed one way by every command (the CLI's, the custodian's,
 * the matcher's): digits only — no "1e3", "0x10", " 7", "-0" or "" that Number() would turn into something —
 * a safe integer, at least `min`. For commander's option parsers: `.option('--port <n>', …, integerOption('--port'))`.
 */
export function integerOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new Error(min === 0 ? `${name} must be a non-negative integer, not "${value}"` : `${name} must be an integer ≥ ${min}, not "${value}"`);
    return n;
  };
}
