/**
 * `date-holidays`, loaded only where a deadline needs it. The lawful-access package counts working days
 * (workingDays.ts: an urgent warrant lapses at the end of the third working day, s.24(3)) with the
 * bank-holiday rules of every country date-holidays knows, plus moment-timezone's data and astronomia:
 * about 1.4 MB (260 KB gzipped) that the public transparency page and the messenger would otherwise load
 * just for importing trust.ts. vite.config.ts resolves the package's `import Holidays from 'date-holidays'`
 * to this module, which has the same synchronous constructor once `loadHolidayRules()` has run; before that
 * it throws HolidayRulesNotLoaded, so a caller that reaches a deadline unexpectedly retries with the rules
 * (withHolidayRules) instead of computing a wrong one.
 */
import type RealHolidays from 'date-holidays';

type HolidaysClass = typeof RealHolidays;

let rules: HolidaysClass | undefined;
let loading: Promise<HolidaysClass> | undefined;

export class HolidayRulesNotLoaded extends Error {
  constructor() {
    super('the bank-holiday rules are not loaded yet');
    this.name = 'HolidayRulesNotLoaded';
  }
}

/** Loads date-holidays (its own chunk); every later `new Holidays(…)` is then the real one. */
export async function loadHolidayRules(): Promise<void> {
  loading ??= import('./holidayData.ts').then((m) => (rules = m.default));
  await loading;
}

export function holidayRulesLoaded(): boolean {
  return rules !== undefined;
}

/** Runs a synchronous computation; if it needed the holiday rules before they were loaded, loads them and runs it again. */
export async function withHolidayRules<T>(compute: () => T): Promise<T> {
  try {
    return compute();
  } catch (e) {
    if (!(e instanceof HolidayRulesNotLoaded)) throw e;
    await loadHolidayRules();
    return compute();
  }
}

/** Stands in for date-holidays' default export: `new Holidays(country, state, options)`. */
function Holidays(...args: ConstructorParameters<HolidaysClass>): InstanceType<HolidaysClass> {
  if (!rules) throw new HolidayRulesNotLoaded();
  return new rules(...args);
}

export default Holidays as unknown as HolidaysClass;
