import { badRequest } from './outcome.js';

/** A FHIR date, dateTime or instant as the closed range of instants it stands for. */
export interface DateRange {
  low: string;
  high: string;
}

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * Implicit range of a date search value: `2024` covers the whole year, `2024-03` the month,
 * and a time without seconds the minute (https://hl7.org/fhir/R4/search.html#date).
 * A time without a zone is taken as UTC.
 */
export function dateRange(value: string, expression = 'date'): DateRange {
  const match = DATE_PATTERN.exec(value);
  if (!match) throw badRequest(`Invalid date search value "${value}"`, expression);
  const [, y, mo, d, h, mi, s, frac, zone] = match;
  const year = Number(y);
  const month = mo ? Number(mo) : undefined;
  const day = d ? Number(d) : undefined;
  if ((month !== undefined && (month < 1 || month > 12)) || (day !== undefined && (day < 1 || day > 31))) {
    throw badRequest(`Invalid date search value "${value}"`, expression);
  }
  if (h === undefined) {
    const low = Date.UTC(year, (month ?? 1) - 1, day ?? 1);
    const high =
      day !== undefined
        ? Date.UTC(year, month! - 1, day + 1)
        : month !== undefined
          ? Date.UTC(year, month, 1)
          : Date.UTC(year + 1, 0, 1);
    return { low: new Date(low).toISOString(), high: new Date(high - 1).toISOString() };
  }
  const offsetMinutes = zone && zone !== 'Z' ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) : 0;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const base = Date.UTC(year, month! - 1, day!, Number(h), Number(mi), s ? Number(s) : 0, ms) - offsetMinutes * 60_000;
  if (Number.isNaN(base)) throw badRequest(`Invalid date search value "${value}"`, expression);
  const span = frac ? 1 : s !== undefined ? 1000 : 60_000;
  return { low: new Date(base).toISOString(), high: new Date(base + span - 1).toISOString() };
}
