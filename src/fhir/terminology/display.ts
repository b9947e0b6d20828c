import type { Locale } from '../validate.js';
import { bundledConcept } from './code-systems.js';

/**
 * The display of `system|code` in `locale`, when the bundled terminology has one (src/fhir/terminology).
 * Codes outside it keep the display the sender wrote.
 */
export function codeDisplay(system: string, code: string, locale: Locale): string | undefined {
  return bundledConcept(system, code)?.[locale];
}

