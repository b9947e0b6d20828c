import type { Locale } from '../validate.js';

/** A concept's display in each of the platform's languages. */
export type Displays = Readonly<Record<Locale, string>>;

const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';

/**
 * Displays of the codes the platform writes, in Kazakh, Russian and English, keyed by
 * `system|code`. Codes outside it keep the display the sender wrote.
 */
const DISPLAYS: ReadonlyMap<string, Displays> = new Map([
  [`${SNOMED}|185349003`, { kk: 'Профилактикалық тексеру', ru: 'Профилактический осмотр', en: 'Encounter for check up' }],
  [`${LOINC}|8867-4`, { kk: 'Жүрек соғу жиілігі', ru: 'Частота сердечных сокращений', en: 'Heart rate' }],
]);

/** The display of `system|code` in `locale`, when the bundled terminology has one. */
export function codeDisplay(system: string, code: string, locale: Locale): string | undefined {
  return DISPLAYS.get(`${system}|${code}`)?.[locale];
}
