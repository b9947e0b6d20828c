import type { Locale } from '../validate.js';
import { bundledConcept } from './code-systems.js';

export type { Displays } from './model.js';

/**
 * The display of `system|code` in `locale`, when the bundled terminology has one (src/fhir/terminology).
 * Codes outside it keep the display the sender wrote.
 */
export function codeDisplay(system: string, code: string, locale: Locale): string | undefined {
  return bundledConcept(system, code)?.[locale];
}

/**
 * The platform language a BCP-47 tag asks for (`ru-RU` is ru), or undefined for any other language.
 * https://www.rfc-editor.org/rfc/rfc5646
 */
export function localeOfTag(tag: string): Locale | undefined {
  const primary = tag.trim().toLowerCase().split('-')[0];
  return primary === 'kk' || primary === 'ru' || primary === 'en' ? primary : undefined;
}
