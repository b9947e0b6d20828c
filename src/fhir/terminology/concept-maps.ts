import type { Coding, ConceptMap } from '@medplum/fhirtypes';

/** One translation of a code (https://hl7.org/fhir/R4/conceptmap-operation-translate.html, output `match`). */
export interface Translation {
  equivalence: string;
  concept: Coding;
  /** The canonical URL of the ConceptMap that says so. */
  source?: string;
}

/** Equivalences that say the target does NOT mean the source (https://hl7.org/fhir/R4/valueset-concept-map-equivalence.html). */
const NOT_A_MATCH = new Set(['unmatched', 'disjoint']);

/**
 * What `maps` translate `system|code` to, in map order, optionally only into `targetSystem`.
 * A group's `unmapped` applies when its elements do not list the code: `provided` keeps the
 * code, `fixed` gives the one named (`other-map` is not followed).
 */
export function translate(maps: readonly ConceptMap[], coding: { system: string; code: string }, targetSystem?: string): Translation[] {
  const found: Translation[] = [];
  for (const map of maps) {
    for (const group of map.group ?? []) {
      if (group.source !== coding.system || (targetSystem !== undefined && group.target !== targetSystem)) continue;
      const source = map.url ? { source: map.url } : {};
      const element = group.element?.find((e) => e.code === coding.code);
      if (element) {
        for (const target of element.target ?? []) {
          const concept: Coding = { ...(group.target ? { system: group.target } : {}), ...(target.code ? { code: target.code } : {}), ...(target.display ? { display: target.display } : {}) };
          found.push({ equivalence: target.equivalence, concept, ...source });
        }
        continue;
      }
      const unmapped = group.unmapped;
      const code = unmapped?.mode === 'provided' ? coding.code : unmapped?.mode === 'fixed' ? unmapped.code : undefined;
      if (code) found.push({ equivalence: unmapped?.mode === 'provided' ? 'equal' : 'inexact', concept: { ...(group.target ? { system: group.target } : {}), code, ...(unmapped?.display ? { display: unmapped.display } : {}) }, ...source });
    }
  }
  return found;
}

/** True when some translation says the target means the source. */
export function translated(matches: readonly Translation[]): boolean {
  return matches.some((m) => !NOT_A_MATCH.has(m.equivalence));
}

/** The ConceptMap search that finds the maps able to translate `system|code` (by their url, when one is named). */
export function conceptMapQuery(coding: { system: string; code: string }, options: { url?: string; targetSystem?: string } = {}): [string, string][] {
  if (options.url) return [['url', options.url], ['status:not', 'retired']];
  return [['source-system', coding.system], ['source-code', coding.code], ['status:not', 'retired'], ...(options.targetSystem ? ([['target-system', options.targetSystem]] as [string, string][]) : [])];
}
