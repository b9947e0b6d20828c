import type { StructureDefinition } from '@medplum/fhirtypes';

const held = new Map<string, StructureDefinition>();
let version = 0;

/**
 * Makes the StructureDefinitions the server holds known to the validator, the way
 * `registerSearchParameters` does for SearchParameters: profiles are then enforced on the
 * resources that claim them in `meta.profile` (https://hl7.org/fhir/R4/resource.html#Meta), and
 * extension definitions on every extension with their URL. Takes any resources written and keeps
 * the StructureDefinitions that constrain a type; one registered again replaces the earlier one
 * under its URL, a retired one is forgotten.
 */
export function registerStructureDefinitions(resources: readonly { resourceType: string }[]): void {
  let changed = false;
  for (const resource of resources) {
    if (resource?.resourceType !== 'StructureDefinition') continue;
    const definition = resource as StructureDefinition;
    const url = definition.url;
    if (!url || definition.derivation !== 'constraint') continue;
    if (definition.status === 'retired') held.delete(url);
    else held.set(url, definition);
    changed = true;
  }
  if (changed) version++;
}

/** A held StructureDefinition by canonical URL (a `|version` suffix is ignored: one version is held). */
export function heldDefinition(url: string): StructureDefinition | undefined {
  // Asked for every extension met: most servers hold none, and most URLs carry no version.
  if (held.size === 0) return undefined;
  return held.get(url) ?? (url.includes('|') ? held.get(url.split('|')[0]) : undefined);
}

/** Every held StructureDefinition, to register them in another thread alike. */
export function heldStructureDefinitions(): StructureDefinition[] {
  return [...held.values()];
}

/** The canonical URLs of the held profiles constraining `type`. */
export function heldProfiles(type: string): string[] {
  return [...held.values()].filter((d) => d.type === type && d.kind === 'resource').map((d) => d.url);
}

/** Changes with every registration, so compiled profiles know when to compile again. */
export function registryVersion(): number {
  return version;
}
