/**
 * Working days as the Investigatory Powers Act 2016 counts them (s.263(1): "working day" means a day
 * other than a Saturday, a Sunday, Christmas Day, Good Friday or a bank holiday). Days are UTC calendar
 * days here; the bank holidays come from the signed trust configuration (ISO dates, YYYY-MM-DD), so the
 * custodians, the provider and the agency all count the same way.
 */
import { DAY_MS } from './epoch.ts';

export const startOfUtcDay = (t: number): number => Math.floor(t / DAY_MS) * DAY_MS;
const isoDate = (t: number): string => new Date(t).toISOString().slice(0, 10);

export function isWorkingDay(dayStart: number, holidays: ReadonlySet<string>): boolean {
  const weekday = new Date(dayStart).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !holidays.has(isoDate(dayStart));
}

/** The instant the n-th working day after the day containing `t` ends (s.24(3), s.32(2)(a)). */
export function endOfNthWorkingDayAfter(t: number, n: number, holidays: readonly string[] = []): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  const set = new Set(holidays);
  let day = startOfUtcDay(t);
  let counted = 0;
  while (counted < n) {
    day += DAY_MS;
    if (isWorkingDay(day, set)) counted++;
  }
  return day + DAY_MS;
}

/** Calendar months in UTC, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb). */
export function addUtcMonths(t: number, months: number): number {
  const d = new Date(t);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.getTime();
}
