import type { ValueSet, ValueSetComposeInclude, ValueSetExpansionContains, ValueSetExpansionParameter } from '@medplum/fhirtypes';
import { expandValueSet, r4Display, r4ValueSet } from '../definitions.js';
import type { Locale } from '../validate.js';
import { ATC } from './atc.js';
import { bundledConcept, CODE_SYSTEMS, DENSAULYQ_VALUE_SET_BASE, designations } from './code-systems.js';
import { CVX } from './cvx.js';
import { IPS_ABSENT_UNKNOWN } from './hl7.js';
import { ICD10 } from './icd10.js';
import { LOINC } from './loinc.js';
import type { BundledCodeSystem, ConceptKind } from './model.js';
import { RXNORM } from './rxnorm.js';
import { SNOMED } from './snomed.js';

/** Which bundled concepts of one code system a value set takes: all of them, those of some kinds, or named codes. */
interface Selection {
  system: BundledCodeSystem;
  kinds?: readonly ConceptKind[];
  codes?: readonly string[];
}

interface BundledValueSet {
  id: string;
  title: string;
  description: string;
  /** The IPS section (LOINC) whose entries the value set codes. */
  section?: string;
  selections: readonly Selection[];
}

/** The concept of a value set's expansion: code, system and its displays. */
export interface ExpansionConcept {
  system: string;
  version?: string;
  code: string;
  /** By language; only `en` for R4's value sets over codes Densaulyq does not translate. */
  displays: Partial<Record<Locale, string>>;
}

const absent = (...codes: string[]): Selection => ({ system: IPS_ABSENT_UNKNOWN, codes });
const snomedAbsent = (...codes: string[]): Selection => ({ system: SNOMED, kinds: ['absence'], codes });

/**
 * The value sets over the bundled terminology: one per code system, and one per section of the
 * International Patient Summary (https://hl7.org/fhir/uv/ips/StructureDefinition-Composition-uv-ips.html)
 * with the codes its entries carry here and its "no known …" codes.
 */
const BUNDLED_VALUE_SETS: readonly BundledValueSet[] = [
  ...CODE_SYSTEMS.map((system) => ({
    id: system.id,
    title: `${system.title} (Densaulyq)`,
    description: `The codes of ${system.title} that Densaulyq uses, with displays in Kazakh, Russian and English.`,
    selections: [{ system }],
  })),
  {
    id: 'ips-sections',
    title: 'IPS sections',
    description: 'The LOINC codes of an International Patient Summary: the document type and its sections.',
    selections: [{ system: LOINC, kinds: ['section'] }],
  },
  {
    id: 'ips-problems',
    title: 'IPS problems',
    description: 'Problems of the IPS problem list section: ICD-10 diagnoses, SNOMED CT disorders and findings, and the "no known problems" codes.',
    section: '11450-4',
    selections: [{ system: ICD10 }, { system: SNOMED, kinds: ['disorder', 'finding', 'situation'] }, snomedAbsent('160245001'), absent('no-known-problems', 'no-problem-info')],
  },
  {
    id: 'ips-allergies',
    title: 'IPS allergies and intolerances',
    description: 'Substances of the IPS allergies and intolerances section, and the "no known allergies" codes.',
    section: '48765-2',
    selections: [
      { system: SNOMED, kinds: ['substance'] },
      snomedAbsent('716186003', '409137002', '428607008', '429625007'),
      absent('no-known-allergies', 'no-known-medication-allergies', 'no-known-environmental-allergies', 'no-known-food-allergies', 'no-allergy-info'),
    ],
  },
  {
    id: 'ips-medications',
    title: 'IPS medication summary',
    description: 'Medicines of the IPS medication summary section (ATC, RxNorm), and the "no known medications" codes.',
    section: '10160-0',
    selections: [{ system: ATC, kinds: ['medication'] }, { system: RXNORM }, snomedAbsent('787481004'), absent('no-known-medications', 'no-medication-info')],
  },
  {
    id: 'ips-immunizations',
    title: 'IPS immunizations',
    description: 'Vaccines of the IPS immunizations section (CVX, ATC), and the "no known immunizations" codes.',
    section: '11369-6',
    selections: [{ system: CVX }, { system: ATC, kinds: ['vaccine'] }, snomedAbsent('787482006'), absent('no-known-immunizations', 'no-immunization-info')],
  },
  {
    id: 'ips-results',
    title: 'IPS results',
    description: 'Laboratory tests (LOINC) of the IPS results section.',
    section: '30954-2',
    selections: [{ system: LOINC, kinds: ['laboratory'] }],
  },
  {
    id: 'ips-procedures',
    title: 'IPS history of procedures',
    description: 'Procedures (SNOMED CT) of the IPS history of procedures section, and the "no known procedures" codes.',
    section: '47519-4',
    selections: [{ system: SNOMED, kinds: ['procedure'] }, snomedAbsent('787480003'), absent('no-known-procedures', 'no-procedure-info')],
  },
  {
    id: 'ips-medical-devices',
    title: 'IPS medical devices',
    description: 'The "no known devices" codes of the IPS medical devices section.',
    section: '46264-8',
    selections: [snomedAbsent('787483001'), absent('no-known-devices', 'no-device-info')],
  },
  {
    id: 'ips-vital-signs',
    title: 'IPS vital signs',
    description: 'Vital signs (LOINC) of the IPS vital signs section.',
    section: '8716-3',
    selections: [{ system: LOINC, kinds: ['vital-sign'] }],
  },
];

function selected({ system, kinds, codes }: Selection) {
  return system.concepts.filter((concept) => (!kinds || (concept.kind !== undefined && kinds.includes(concept.kind))) && (!codes || codes.includes(concept.code)));
}

function valueSetResource(definition: BundledValueSet): ValueSet {
  const include: ValueSetComposeInclude[] = definition.selections.map((selection) => ({
    system: selection.system.url,
    ...(selection.system.version ? { version: selection.system.version } : {}),
    concept: selected(selection).map((concept) => ({ code: concept.code, display: concept.en })),
  }));
  return {
    resourceType: 'ValueSet',
    id: definition.id,
    url: `${DENSAULYQ_VALUE_SET_BASE}/${definition.id}`,
    version: '1',
    name: definition.id.replace(/(^|-)([a-z0-9])/g, (_m, _dash, letter: string) => letter.toUpperCase()),
    title: definition.title,
    status: 'active',
    experimental: false,
    publisher: 'Densaulyq',
    description: definition.description,
    ...(definition.section
      ? { useContext: [{ code: { system: 'http://terminology.hl7.org/CodeSystem/usage-context-type', code: 'focus' }, valueCodeableConcept: { coding: [{ system: LOINC.url, code: definition.section, display: bundledConcept(LOINC.url, definition.section)?.en }] } }] }
      : {}),
    compose: { include },
  };
}

/** The value sets over the bundled terminology as ValueSet resources, by id. */
export const VALUE_SETS: ReadonlyMap<string, ValueSet> = new Map(BUNDLED_VALUE_SETS.map((definition) => [definition.id, valueSetResource(definition)]));

const valueSetsByUrl = new Map([...VALUE_SETS.values()].map((valueSet) => [valueSet.url!, valueSet]));

/**
 * The concepts of a value set by canonical URL: a bundled one, or one shipped with R4 that the
 * validator expands (src/fhir/definitions.ts), with the bundled translations where they exist and
 * R4's English display otherwise. Undefined when neither holds it.
 */
export function valueSetConcepts(canonical: string): { valueSet: ValueSet; concepts: ExpansionConcept[] } | undefined {
  const url = canonical.split('|')[0];
  const bundled = valueSetsByUrl.get(url);
  if (bundled) return { valueSet: bundled, concepts: conceptsOf(bundled.compose?.include ?? []) };
  const r4 = r4ValueSet(url);
  const codes = r4 && expandValueSet(url);
  if (!r4 || !codes) return undefined;
  const concepts: ExpansionConcept[] = [];
  for (const [system, set] of codes.bySystem) {
    for (const code of set) {
      const concept = bundledConcept(system, code);
      const en = r4Display(system, code);
      concepts.push({ system, code, displays: concept ? { kk: concept.kk, ru: concept.ru, en: concept.en } : en ? { en } : {} });
    }
  }
  return { valueSet: r4, concepts };
}

/** The concepts of a ValueSet resource that enumerates its codes, as the bundled ones and a resource sent to $expand do. */
export function conceptsOf(include: readonly ValueSetComposeInclude[]): ExpansionConcept[] {
  return include.flatMap((part) =>
    (part.concept ?? []).map((entry) => {
      const concept = bundledConcept(part.system ?? '', entry.code);
      const displays: Partial<Record<Locale, string>> = concept ? { kk: concept.kk, ru: concept.ru, en: concept.en } : entry.display ? { en: entry.display } : {};
      return { system: part.system ?? '', ...(part.version ? { version: part.version } : {}), code: entry.code, displays };
    }),
  );
}

export interface ExpansionOptions {
  /** Case-insensitive text the code or the display (in `language`) must contain. */
  filter?: string;
  offset: number;
  count: number;
  /** The language of `display`; English (the code system's own display) when not asked. */
  language: Locale;
  includeDesignations: boolean;
  /** The parameters to echo in `expansion.parameter`. */
  parameter: ValueSetExpansionParameter[];
  identifier: string;
  timestamp: string;
}

/**
 * A value set with its expansion (https://hl7.org/fhir/R4/valueset.html#expansion): the concepts
 * matching `filter`, `count` of them from `offset`, displayed in `language` (falling back to the
 * English display where a concept has no translation), `total` counting every match.
 */
export function expansion(valueSet: ValueSet, concepts: readonly ExpansionConcept[], options: ExpansionOptions): ValueSet {
  const needle = options.filter?.toLowerCase();
  const display = (concept: ExpansionConcept) => concept.displays[options.language] ?? concept.displays.en;
  const matches = needle === undefined ? concepts : concepts.filter((concept) => concept.code.toLowerCase().includes(needle) || (display(concept)?.toLowerCase().includes(needle) ?? false));
  const contains = matches.slice(options.offset, options.offset + options.count).map((concept): ValueSetExpansionContains => {
    const shown = display(concept);
    const bundled = options.includeDesignations ? bundledConcept(concept.system, concept.code) : undefined;
    return {
      system: concept.system,
      ...(concept.version ? { version: concept.version } : {}),
      code: concept.code,
      ...(shown ? { display: shown } : {}),
      ...(bundled ? { designation: designations(bundled) } : {}),
    };
  });
  const { compose: _compose, text: _text, ...rest } = valueSet;
  return {
    ...rest,
    expansion: {
      identifier: options.identifier,
      timestamp: options.timestamp,
      total: matches.length,
      offset: options.offset,
      ...(options.parameter.length ? { parameter: options.parameter } : {}),
      ...(contains.length ? { contains } : {}),
    },
  };
}
