import type { Bundle, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { readSpecFile } from './definitions.js';

let summaryElements: Map<string, { summary: Set<string>; mandatory: Set<string> }> | undefined;

/** Top-level elements marked isSummary, and those with min > 0, per resource type. */
function elementsOf(resourceType: string): { summary: Set<string>; mandatory: Set<string> } {
  if (!summaryElements) {
    summaryElements = new Map();
    const bundle = readSpecFile<Bundle<StructureDefinition>>('fhir/r4/profiles-resources.json');
    for (const entry of bundle.entry ?? []) {
      const definition = entry.resource;
      if (definition?.resourceType !== 'StructureDefinition' || definition.kind !== 'resource' || !definition.name) continue;
      const summary = new Set<string>();
      const mandatory = new Set<string>();
      for (const element of definition.snapshot?.element ?? []) {
        const parts = element.path.split('.');
        if (parts.length !== 2) continue;
        const name = parts[1].replace('[x]', '');
        if (element.isSummary) summary.add(name);
        if ((element.min ?? 0) > 0) mandatory.add(name);
      }
      summaryElements.set(definition.name, { summary, mandatory });
    }
  }
  return summaryElements.get(resourceType) ?? { summary: new Set(), mandatory: new Set() };
}

const ALWAYS = new Set(['resourceType', 'id', 'meta']);

function keep(resource: Resource, wanted: (name: string) => boolean): Resource {
  // A copy with the unwanted elements removed, rather than one built up, keeps what rides on the object (decimals' texts, src/fhir/json.ts).
  const result: Record<string, unknown> = { ...resource };
  for (const key of Object.keys(result)) {
    const base = key.replace(/^_/, '');
    if (!ALWAYS.has(key) && !wanted(base)) delete result[key];
  }
  // A subset: it may lack elements its type requires, which the SUBSETTED tag tells the reader.
  return markSubsetted(result as unknown as Resource);
}

function markSubsetted(resource: Resource): Resource {
  const tag = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
  const meta = resource.meta ?? {};
  return { ...resource, meta: { ...meta, tag: [...(meta.tag ?? []), tag] } };
}

/**
 * `_summary` and `_elements` (https://hl7.org/fhir/R4/search.html#summary): the subset of a
 * resource the client asked for, tagged SUBSETTED. Choice elements match by their base name.
 */
export function summarize(resource: Resource, summary?: string, elements?: string[]): Resource {
  const { summary: summaryNames, mandatory } = elementsOf(resource.resourceType);
  const choice = (names: Set<string>) => (name: string) => names.has(name) || [...names].some((n) => name.startsWith(n) && /^[A-Z]/.test(name.slice(n.length)));
  switch (summary) {
    case 'true':
      return keep(resource, choice(summaryNames));
    case 'text':
      return keep(resource, (name) => name === 'text' || choice(mandatory)(name));
    case 'data': {
      const rest = { ...resource };
      if ('text' in rest) delete rest.text;
      return markSubsetted(rest);
    }
    default:
      break;
  }
  if (elements?.length) {
    const names = new Set(elements);
    return keep(resource, (name) => choice(names)(name) || choice(mandatory)(name));
  }
  return resource;
}
