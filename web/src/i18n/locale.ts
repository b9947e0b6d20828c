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
    return new Intl.DateTimeFormat(tag, { year: 'numeric', month: locale === 'kk' ? '2-digit' : 'long', timeZone: 'UTC' }).format(Date.UTC(Number(year), Number(month) - 1, 1));
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const time = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(time)) return undefined;
  // Numeric in Kazakh (06.12.2026), as written there; browsers' ICU often lacks Kazakh month abbreviations.
  const month = locale === 'kk' ? { month: '2-digit', day: '2-digit' } : { month: 'short', day: 'numeric' };
  const options: Intl.DateTimeFormatOptions = { year: 'numeric', ...month, ...(dateOnly ? { timeZone: 'UTC' } : {}) } as Intl.DateTimeFormatOptions;
  if (withTime && !dateOnly) Object.assign(options, { hour: '2-digit', minute: '2-digit' });
  return new Intl.DateTimeFormat(tag, options).format(time);
}

export function formatNumber(value: number | undefined, locale: Locale, options?: Intl.NumberFormatOptions): string | undefined {
  return value === undefined ? undefined : new Intl.NumberFormat(intlTag(locale), options).format(value);
}

/** The namespace of a screen's catalogue file: `…/screens/access-log.i18n.ts` → `access-log`. */
export function namespaceOf(path: string): string {
  return path.replace(/^.*\//, '').replace(/\.i18n\.ts$/, '');
}
