/**
 * Working days as the Investigatory Powers Act 2016 counts them (s.263(1): "working day" means a day
 * other than a Saturday, a Sunday, Christmas Day, Good Friday or a day which is a bank holiday under the
 * Banking and Financial Dealings Act 1971 in any part of the United Kingdom).
 *
 * Days are calendar days in the issuing jurisdiction's time zone (Europe/London: a day is 23 hours at
 * the start of British Summer Time and 25 at its end), counted with luxon. The bank holidays of every
 * part of the UK — England and Wales, Scotland, Northern Ireland, substitute days included — come from
 * date-holidays' rule data rather than a list someone must keep up to date; one-off holidays proclaimed
 * later (a coronation, a state funeral) are added in the signed trust configuration's `bankHolidays`.
 * The custodians, the provider and the agency all derive the same calendar from that configuration.
 */
import Holidays from 'date-holidays';
import { DateTime } from 'luxon';

export interface WorkingDayCalendar {
  /** IANA time zone in which the jurisdiction's days begin and end */
  timeZone: string;
  /** ISO 3166-2 regions whose bank holidays are not working days (a holiday in any one counts) */
  regions: readonly string[];
  /** extra non-working days (YYYY-MM-DD), e.g. a one-off bank holiday proclaimed after the rules were written */
  extraHolidays: readonly string[];
}

/** The UK: London time, and a bank holiday anywhere in the UK is not a working day (s.263(1)). */
export const UK_REGIONS = ['GB-ENG', 'GB-WLS', 'GB-SCT', 'GB-NIR'] as const;
export const UK_CALENDAR: WorkingDayCalendar = { timeZone: 'Europe/London', regions: UK_REGIONS, extraHolidays: [] };

export function ukCalendar(extraHolidays: readonly string[] = []): WorkingDayCalendar {
  return { ...UK_CALENDAR, extraHolidays };
}

const yearCache = new Map<string, ReadonlySet<string>>();

/** Bank holidays of the calendar's regions in one year, as YYYY-MM-DD dates (cached). */
export function bankHolidays(calendar: WorkingDayCalendar, year: number): ReadonlySet<string> {
  const key = `${calendar.regions.join(',')}:${year}`;
  let days = yearCache.get(key);
  if (!days) {
    const set = new Set<string>();
    for (const region of calendar.regions) {
      const [country, state] = region.split('-');
      const holidays = new Holidays(country!, state!, { types: ['public', 'bank'] });
      if (!holidays.getCountries()[country!]) throw new Error(`unknown holiday region ${region}`);
      for (const h of holidays.getHolidays(year)) set.add(h.date.slice(0, 10));
    }
    days = set;
    yearCache.set(key, days);
  }
  return days;
}

function zoned(t: number, calendar: WorkingDayCalendar): DateTime {
  const d = DateTime.fromMillis(t, { zone: calendar.timeZone });
  if (!d.isValid) throw new RangeError(`invalid time or time zone: ${d.invalidExplanation ?? calendar.timeZone}`);
  return d;
}

/** Whether the calendar day (in the jurisdiction's zone) is a working day under s.263(1). */
export function isWorkingDay(day: DateTime, calendar: WorkingDayCalendar): boolean {
  if (day.weekday === 6 || day.weekday === 7) return false;
  const iso = day.toISODate()!;
  if (iso.endsWith('-12-25')) return false; // Christmas Day, named by s.263 itself
  return !bankHolidays(calendar, day.year).has(iso) && !calendar.extraHolidays.includes(iso);
}

/** The start (as an instant) of the jurisdiction's calendar day containing `t`. */
export function startOfLocalDay(t: number, calendar: WorkingDayCalendar = UK_CALENDAR): number {
  return zoned(t, calendar).startOf('day').toMillis();
}

/** The instant the n-th working day after the day containing `t` ends (s.24(3), s.32(2)(a)). */
export function endOfNthWorkingDayAfter(t: number, n: number, calendar: WorkingDayCalendar = UK_CALENDAR): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  let day = zoned(t, calendar).startOf('day');
  let counted = 0;
  while (counted < n) {
    day = day.plus({ days: 1 });
    if (isWorkingDay(day, calendar)) counted++;
  }
  return day.plus({ days: 1 }).toMillis();
}

/** Calendar months in the jurisdiction's zone, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb). */
export function addLocalMonths(t: number, months: number, calendar: WorkingDayCalendar = UK_CALENDAR): number {
  return zoned(t, calendar).plus({ months }).toMillis();
}
