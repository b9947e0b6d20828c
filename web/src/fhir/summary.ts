import type { AllergyIntolerance, Bundle, Composition, Condition, Immunization, MedicationStatement, Observation, Resource } from '@medplum/fhirtypes';

/**
 * The sections of an International Patient Summary the home screen shows, by their LOINC codes
 * (https://hl7.org/fhir/uv/ips/StructureDefinition-Composition-uv-ips.html), as src/passport/ips-sections.ts writes them.
 */
export const SUMMARY_SECTIONS = {
  problems: '11450-4',
  allergies: '48765-2',
  medications: '10160-0',
  immunizations: '11369-6',
  results: '30954-2',
} as const;

export interface PassportSummary {
  problems: Condition[];
  allergies: AllergyIntolerance[];
  /** MedicationStatement or MedicationRequest, as the record has them. */
  medications: Resource[];
  immunizations: Immunization[];
  results: Observation[];
}

/** Each section's resources, resolved from the document Bundle by fullUrl; a missing section is empty. */
export function passportSummary(bundle: Bundle): PassportSummary {
  const byUrl = new Map<string, Resource>();
  for (const entry of bundle.entry ?? []) if (entry.fullUrl && entry.resource) byUrl.set(entry.fullUrl, entry.resource);
  const composition = bundle.entry?.find((e) => e.resource?.resourceType === 'Composition')?.resource as Composition | undefined;
  const section = <T extends Resource>(code: string): T[] =>
    (composition?.section?.find((s) => s.code?.coding?.some((c) => c.code === code))?.entry ?? [])
      .map((reference) => byUrl.get(reference.reference ?? ''))
      .filter((resource): resource is T => resource !== undefined);
  return {
    problems: section<Condition>(SUMMARY_SECTIONS.problems),
    allergies: section<AllergyIntolerance>(SUMMARY_SECTIONS.allergies),
    medications: section<MedicationStatement>(SUMMARY_SECTIONS.medications),
    immunizations: section<Immunization>(SUMMARY_SECTIONS.immunizations),
    results: section<Observation>(SUMMARY_SECTIONS.results),
  };
}
