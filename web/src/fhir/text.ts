import type { CodeableConcept, HumanName, Reference } from '@medplum/fhirtypes';

/** What a person reads for a coded concept: its text, else the first coding's display, else its code. */
export function conceptText(concept: CodeableConcept | undefined): string | undefined {
  if (!concept) return undefined;
  const coding = concept.coding?.find((c) => c.display) ?? concept.coding?.[0];
  return concept.text ?? coding?.display ?? coding?.code;
}

/** A person's name as written: the text, else given names then family. */
export function nameText(names: HumanName[] | undefined): string | undefined {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return undefined;
  return name.text ?? ([...(name.given ?? []), name.family].filter(Boolean).join(' ') || undefined);
}

/** The id in a relative reference to a resource of the type given (`Organization/7` → `7`). */
export function referenceId(reference: Reference | undefined, resourceType: string): string | undefined {
  const match = /^(?:.*\/)?([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(reference?.reference ?? '');
  return match && match[1] === resourceType ? match[2] : undefined;
}
