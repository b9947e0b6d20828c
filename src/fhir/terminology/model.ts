import type { Translated } from '../locale.js';

/** A concept's display in each of the platform's languages; `en` is the code system's own display. */
export type Displays = Translated;

/**
 * What a concept is, where it decides which IPS section's value set holds it: SNOMED CT's
 * semantic tags (https://confluence.ihtsdotools.org/display/DOCEG/Semantic+Tag), or the role a
 * LOINC code plays (a vital sign, a laboratory test, a document section).
 */
export type ConceptKind =
  | 'disorder' | 'finding' | 'situation' | 'procedure' | 'regime' | 'encounter' | 'substance'
  | 'body-structure' | 'qualifier' | 'vital-sign' | 'laboratory' | 'survey' | 'section' | 'vaccine' | 'medication'
  /** A situation stating there is nothing to list ("no known allergy"), kept apart from the problems. */
  | 'absence';

export interface BundledConcept extends Displays {
  readonly code: string;
  readonly kind?: ConceptKind;
}

/** The part of a code system Densaulyq bundles, with translations: served as a `fragment` CodeSystem unless complete. */
export interface BundledCodeSystem {
  /** Its id on this server: `CodeSystem/[id]`, `ValueSet/[id]`. */
  readonly id: string;
  readonly url: string;
  /** A computer-friendly name (https://hl7.org/fhir/R4/codesystem-definitions.html#CodeSystem.name). */
  readonly name: string;
  readonly title: string;
  /** The edition the English displays follow, when the code system versions its content. */
  readonly version?: string;
  readonly publisher: string;
  readonly caseSensitive: boolean;
  /** True when every code of the system is here (Densaulyq's own, IPS's absent-unknown): served `content: complete`. */
  readonly complete?: boolean;
  readonly concepts: readonly BundledConcept[];
}

/** A concept from its code, kind and displays: the data files read as a table. */
export function c(code: string, kind: ConceptKind | undefined, en: string, ru: string, kk: string): BundledConcept {
  return kind === undefined ? { code, en, ru, kk } : { code, kind, en, ru, kk };
}
