/** The app's languages: Kazakh first (the default), then Russian and English. */
export const LOCALES = ['kk', 'ru', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

/** One text in every language: what each catalogue (`*.i18n.ts`) exports. */
export type Catalogue = Record<Locale, Record<string, unknown>>;

/** Intl's tag for each language, Kazakhstan's conventions for kk and ru. */
const INTL_TAGS: Record<Locale, string> = { kk: 'kk-KZ', ru: 'ru-KZ', en: 'en-GB' };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

export function intlTag(locale: Locale): string {
  return INTL_TAGS[locale];
}

/**
 * A FHIR date, dateTime or instant for reading: a partial date stays partial (`2024-03` is a
 * month), a date without time has no time zone shift. Undefined for nothing or a malformed value.
 */
export function formatDate(value: string | undefined, locale: Locale, withTime = false): string | undefined {
  if (!value) return undefined;
  const tag = intlTag(locale);
  const partial = /^(\d{4})(?:-(\d{2}))?$/.exec(value);
  if (partial) {
    const [, year, month] = partial;
    if (!month) return year;
    return new Intl.DateTimeFormat(tag, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(Date.UTC(Number(year), Number(month) - 1, 1));
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const time = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(time)) return undefined;
  const options: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', ...(dateOnly ? { timeZone: 'UTC' } : {}) };
  if (withTime && !dateOnly) Object.assign(options, { hour: '2-digit', minute: '2-digit' });
  return new Intl.DateTimeFormat(tag, options).format(time);
}

export function formatNumber(value: number | undefined, locale: Locale, options?: Intl.NumberFormatOptions): string | undefined {
  return value === undefined ? undefined : new Intl.NumberFormat(intlTag(locale), options).format(value);
}
