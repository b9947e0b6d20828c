import type { CodeSystem, CodeSystemConceptDesignation, Coding } from '@medplum/fhirtypes';
import { LOCALES, type Locale } from '../locale.js';
import { ATC } from './atc.js';
import { CVX } from './cvx.js';
import { DENSAULYQ_CODE_SYSTEMS } from './densaulyq.js';
import { HL7_CODE_SYSTEMS, IPS_ABSENT_UNKNOWN } from './hl7.js';
import { ICD10 } from './icd10.js';
import { LOINC } from './loinc.js';
import type { BundledCodeSystem, BundledConcept } from './model.js';
import { RXNORM } from './rxnorm.js';
import { SNOMED } from './snomed.js';

/** Every code system the platform bundles translations for. */
export const CODE_SYSTEMS: readonly BundledCodeSystem[] = [
  ICD10, LOINC, SNOMED, ATC, CVX, RXNORM, IPS_ABSENT_UNKNOWN, ...HL7_CODE_SYSTEMS, ...DENSAULYQ_CODE_SYSTEMS,
];

/** The canonical base of the value sets Densaulyq defines over the bundled code systems. */
export const DENSAULYQ_VALUE_SET_BASE = 'http://densaulyq.kz/fhir/ValueSet';

/**
 * The designation use of a concept's display in one language: THO's `preferredForLanguage`
 * (https://terminology.hl7.org/CodeSystem-hl7TermMaintInfra.html).
 */
const PREFERRED_FOR_LANGUAGE: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
  code: 'preferredForLanguage',
  display: 'Preferred For Language',
};

const byUrl = new Map(CODE_SYSTEMS.map((system) => [system.url, system]));
const concepts = new Map(CODE_SYSTEMS.flatMap((system) => system.concepts.map((concept) => [conceptKey(system, concept.code), concept] as const)));

/** Codes of a case-insensitive code system (LOINC) are compared upper-cased. */
function conceptKey(system: BundledCodeSystem, code: string): string {
  return `${system.url}|${system.caseSensitive ? code : code.toUpperCase()}`;
}

export function codeSystemByUrl(url: string): BundledCodeSystem | undefined {
  return byUrl.get(url);
}

/** The bundled concept `code` of the code system `url`, when the platform bundles it. */
export function bundledConcept(url: string, code: string): BundledConcept | undefined {
  const system = byUrl.get(url);
  return system && concepts.get(conceptKey(system, code));
}

/** A concept's displays as `designation`s, one per language. */
export function designations(concept: BundledConcept, languages: readonly Locale[] = LOCALES): CodeSystemConceptDesignation[] {
  return languages.map((language) => ({ language, use: PREFERRED_FOR_LANGUAGE, value: concept[language] }));
}

/**
 * The bundled part of a code system as a CodeSystem resource (https://hl7.org/fhir/R4/codesystem.html):
 * `content: fragment`, since Densaulyq holds a few hundred codes of LOINC, SNOMED CT, ICD-10…,
 * (`complete` for the small systems it holds whole),
 * each with its display in the code system's English and designations in Kazakh, Russian and English.
 */
export function codeSystemResource(system: BundledCodeSystem): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: system.id,
    url: system.url,
    ...(system.version ? { version: system.version } : {}),
    name: system.name,
    title: system.title,
    status: 'active',
    experimental: false,
    publisher: system.publisher,
    description: `The part of ${system.title} that Densaulyq uses, with displays in Kazakh, Russian and English.`,
    caseSensitive: system.caseSensitive,
    valueSet: `${DENSAULYQ_VALUE_SET_BASE}/${system.id}`,
    content: system.complete ? 'complete' : 'fragment',
    count: system.concepts.length,
    concept: system.concepts.map((concept) => ({ code: concept.code, display: concept.en, designation: designations(concept) })),
  };
}
