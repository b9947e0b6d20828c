/** The platform's languages: Kazakh (the state language), Russian and English. */
export type Locale = 'kk' | 'ru' | 'en';
export const LOCALES: readonly Locale[] = ['kk', 'ru', 'en'];

/** A text in each of the platform's languages. */
export type Translated = Readonly<Record<Locale, string>>;

/** `template` with each `{name}` filled in from `values` as given; a name without a value stays as written. */
export function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}
