/** The real date-holidays (its own chunk, `holidayData-*.js`): imported only by holidayRules.ts, on demand. */
export { default } from 'date-holidays';
