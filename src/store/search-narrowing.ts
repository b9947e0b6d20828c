import { compartmentKeyParameters } from '../fhir/compartment.js';
import type { SearchFilter, SearchRequest } from '../fhir/search-request.js';

const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** `Patient/x`, `Patient/x/_history/n`, or an absolute URL ending so. */
const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/**
 * The Patients a search is narrowed to by name: the compartment it searches
 * (https://hl7.org/fhir/R4/compartmentdefinition.html#search, `$everything`), a reference
 * parameter naming `Patient/x` (subject, patient, performer… any reference into the patient
 * compartment), `Patient?_id=x`, or a chain to the Patient by `_id`. Such a search is about those
 * patients whatever it returns, a count or nothing at all, so each of them gets its audit record
 * (issue 10, item 7). Searches that find a patient by what the record says (identifier, name)
 * are audited by the rows they show.
 */
export function narrowedPatients(request: SearchRequest): string[] {
  const named = new Set<string>();
  if (Array.isArray(request.compartments)) for (const id of request.compartments) named.add(id);
  const filters = request.types ? request.types.flatMap((t) => t.filters) : request.filters;
  for (const filter of filters) for (const id of namedBy(filter)) named.add(id);
  return [...named].filter((id) => PATIENT_ID.test(id));
}

function namedBy(filter: SearchFilter): string[] {
  switch (filter.kind) {
    case 'has':
      return [];
    case 'chain':
      return filter.targets.flatMap(({ resourceType, next }) => (resourceType === 'Patient' && next.kind === 'value' && next.code === '_id' && !next.modifier ? next.values : []));
    case 'value': {
      const { code, modifier, parameter, resourceType, values } = filter;
      if (code === '_id') return resourceType === 'Patient' && !modifier ? values : [];
      if (parameter.type !== 'reference' || (modifier !== undefined && modifier !== 'Patient')) return [];
      // A bare id names a Patient when the modifier says so, or when the parameter may point at one.
      const targets: readonly string[] = parameter.target ?? [];
      const bare = modifier === 'Patient' || targets.includes('Patient') || targets.includes('Resource');
      return values.flatMap((value) => {
        const match = PATIENT_REFERENCE.exec(value);
        if (match) return [match[1]];
        return bare && !value.includes('/') && !value.includes(':') ? [value] : [];
      });
    }
  }
}

const LOCAL_PATIENT = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * The patients every row a search can match belongs to (their compartment key), when the search
 * itself guarantees it: a compartment search, `Patient?_id=`, or a filter on a parameter that is
 * the type's compartment key (src/fhir/compartment.ts) naming only local Patients. The door can
 * then judge those patients once instead of every row (src/access/door.ts, `judgePatients`).
 */
export function compartmentPatients(request: SearchRequest): string[] | undefined {
  if (request.types || request.resourceType === '*') return undefined;
  if (Array.isArray(request.compartments)) return request.compartments.every((id) => PATIENT_ID.test(id)) ? [...request.compartments] : undefined;
  const keys = compartmentKeyParameters(request.resourceType);
  for (const filter of request.filters) {
    if (filter.kind !== 'value' || !keys.has(filter.code) || (filter.modifier !== undefined && filter.modifier !== 'Patient')) continue;
    const bare = filter.code === '_id' || filter.modifier === 'Patient' || (filter.parameter.target ?? []).every((type) => type === 'Patient');
    const ids = filter.values.map((value) => LOCAL_PATIENT.exec(value)?.[1] ?? (bare && PATIENT_ID.test(value) ? value : undefined));
    if (ids.every((id) => id !== undefined)) return [...new Set(ids)];
  }
  return undefined;
}
