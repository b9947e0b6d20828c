/**
 * Dates as whole days since 1970-01-01, turned into FHIR `date` and `dateTime`
 * strings through a table built once: the generator formats millions of dates
 * and `Date#toISOString` per resource would dominate its run time.
 */

const FIRST_YEAR = 1900;
const LAST_YEAR = 2035;
const FIRST_DAY = Date.UTC(FIRST_YEAR, 0, 1) / 86_400_000;
const LAST_DAY = Date.UTC(LAST_YEAR, 11, 31) / 86_400_000;

const isoDates: string[] = [];
const years = new Int16Array(LAST_DAY - FIRST_DAY + 1);
const monthDays = new Int16Array(LAST_DAY - FIRST_DAY + 1);
for (let day = FIRST_DAY; day <= LAST_DAY; day++) {
  const date = new Date(day * 86_400_000);
  isoDates.push(date.toISOString().slice(0, 10));
  years[day - FIRST_DAY] = date.getUTCFullYear();
  monthDays[day - FIRST_DAY] = (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
}

/**
 * The generator's fixed "today": records end the day before, ages are counted
 * on it. Never the wall clock, so the same seed gives the same bytes.
 */
export const REFERENCE_DAY = dayOf('2026-01-01');

/** First day of the care history the generator writes. */
export const CARE_START_DAY = dayOf('2019-01-01');

/** Kazakhstan moved all regions to UTC+5 on 1 March 2024. */
const SINGLE_TIME_ZONE_DAY = dayOf('2024-03-01');

export function dayOf(isoDate: string): number {
  return Date.UTC(+isoDate.slice(0, 4), +isoDate.slice(5, 7) - 1, +isoDate.slice(8, 10)) / 86_400_000;
}

export function isoDate(day: number): string {
  return isoDates[day - FIRST_DAY];
}

export function yearOf(day: number): number {
  return years[day - FIRST_DAY];
}

/** Completed years of age on `day`. */
export function ageOn(birthDay: number, day: number): number {
  const age = years[day - FIRST_DAY] - years[birthDay - FIRST_DAY];
  return monthDays[day - FIRST_DAY] < monthDays[birthDay - FIRST_DAY] ? age - 1 : age;
}

/** The day `years` after `day`, on the same calendar date (28 Feb for 29 Feb). */
export function addYears(day: number, yearsToAdd: number): number {
  const iso = isoDates[day - FIRST_DAY];
  const year = +iso.slice(0, 4) + yearsToAdd;
  const candidate = `${year}${iso.slice(4)}`;
  return iso.endsWith('02-29') && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))
    ? dayOf(`${year}-02-28`)
    : dayOf(candidate);
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * A local `dateTime` with the region's UTC offset: `+06:00` in the east
 * before the 2024 switch, `+05:00` everywhere after it and in the west always.
 */
export function localDateTime(day: number, minuteOfDay: number, westernZone: boolean): string {
  const offset = westernZone || day >= SINGLE_TIME_ZONE_DAY ? '+05:00' : '+06:00';
  return `${isoDates[day - FIRST_DAY]}T${TWO_DIGITS[(minuteOfDay / 60) | 0]}:${TWO_DIGITS[minuteOfDay % 60]}:00${offset}`;
}
