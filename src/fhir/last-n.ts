/**
 * The selection rule of Observation/$lastn (https://hl7.org/fhir/R4/operation-observation-lastn.html):
 * observations grouped by Observation.code, where two codes are the same when they share a
 * coding (system and code), transitively across translations, and text-only codes group by their
 * exact text; in each group the `max` most recent by effective time, a tie at the limit kept
 * whole (so a group may hold more than `max`).
 */
export interface LastNCandidate {
  id: string;
  /** `system|code` of each coding of Observation.code. */
  codings: readonly string[];
  /** Observation.code.text, which groups only a code without codings. */
  text: string | null;
  /** Epoch milliseconds of the effective time; null sorts last. */
  effective: number | null;
}

/** The ids chosen, group by group (groups in order of their most recent member), newest first within each. */
export function lastN(candidates: readonly LastNCandidate[], max: number): string[] {
  const parent = candidates.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const firstWithKey = new Map<string, number>();
  candidates.forEach((candidate, i) => {
    const keys = candidate.codings.length > 0 ? candidate.codings.map((c) => `c:${c}`) : [`t:${candidate.text ?? ''}`];
    for (const key of keys) {
      const seen = firstWithKey.get(key);
      if (seen === undefined) firstWithKey.set(key, i);
      else parent[root(i)] = root(seen);
    }
  });
  const groups = new Map<number, LastNCandidate[]>();
  candidates.forEach((candidate, i) => {
    const group = groups.get(root(i));
    if (group) group.push(candidate);
    else groups.set(root(i), [candidate]);
  });
  const newestFirst = (a: LastNCandidate, b: LastNCandidate) => (b.effective ?? -Infinity) - (a.effective ?? -Infinity) || a.id.localeCompare(b.id);
  const chosen = [...groups.values()].map((group) => {
    group.sort(newestFirst);
    const limit = group[Math.min(max, group.length) - 1]!.effective;
    return group.filter((c, i) => i < max || c.effective === limit);
  });
  chosen.sort((a, b) => newestFirst(a[0]!, b[0]!));
  return chosen.flat().map((c) => c.id);
}
