import { blockingKeys, type BlockingOptions, type BlockingStatistics, forEachCandidatePair } from './blocking.js';
import {
  COMPARISON_FIELDS,
  compareInto,
  type ComparisonField,
  FIELD_LEVEL_COUNTS,
  FIELD_NAMES,
  perField,
  type PreparedPerson,
  preparePerson,
} from './comparison.js';
import type { PersonRecord } from './person-record.js';

/**
 * Fellegi–Sunter record linkage: for each field and agreement level, m is the
 * chance of that level when two records are the same person and u the chance
 * when they are not. A pair scores the sum of log₂(m/u) over its fields; a
 * field missing on either side adds nothing.
 *
 * Fellegi & Sunter (1969), JASA 64(328):1183–1210; m/u estimated by EM after
 * Winkler (1988), "Using the EM algorithm for weight computation in the
 * Fellegi–Sunter model of record linkage", Proc. Section on Survey Research
 * Methods, ASA.
 */
export interface MatchWeights {
  /** m[field][level], levels as in {@link COMPARISON_FIELDS}. */
  m: Record<ComparisonField, number[]>;
  u: Record<ComparisonField, number[]>;
  /** Share of true matches among the candidate pairs the weights were estimated on. */
  matchShare: number;
}

export interface MatchThresholds {
  /** At or above: the same person, linked without a human. */
  autoLink: number;
  /** At or above (and below autoLink): put on the work list for a registrar. */
  review: number;
}

export type MatchDecision = 'link' | 'review' | 'distinct';

/**
 * Priors, and the EM starting point: what registration practice in Kazakhstan
 * suggests before any data is seen.
 * - IIN: a person's two registrations carry the same IIN unless one is missing
 *   or mistyped (m 0.97 / 0.02 / 0.01); two people share one almost never.
 * - Names (m): most duplicates agree on the skeleton; script variants, typos and
 *   (family) marriage account for the rest. u: the generator's name lists are
 *   short, so unrelated people agree more often than in real life.
 * - Birth date: a swap needs day ≤ 12; one wrong component is the common typo.
 * - Contact (phone and address together): people change both, so m is modest.
 */
export const PRIOR_WEIGHTS: MatchWeights = {
  m: {
    iin: [0.97, 0.02, 0.01],
    family: [0.85, 0.05, 0.03, 0.07],
    given: [0.88, 0.06, 0.03, 0.03],
    patronymic: [0.85, 0.1, 0.05],
    birthDate: [0.93, 0.03, 0.03, 0.01],
    sex: [0.99, 0.01],
    contact: [0.4, 0.2, 0.15, 0.1, 0.15],
  },
  u: {
    iin: [0.0001, 0.001, 0.9989],
    family: [0.2, 0.05, 0.1, 0.65],
    given: [0.1, 0.05, 0.1, 0.75],
    patronymic: [0.1, 0.1, 0.8],
    birthDate: [0.05, 0.005, 0.1, 0.845],
    sex: [0.5, 0.5],
    contact: [0.00001, 0.0001, 0.0001, 0.05, 0.9498],
  },
  matchShare: 0.1,
};

/**
 * Weights fitted by {@link fitWeights} (random-pair u, anchored EM for m) on
 * the synthetic evaluation set of seed 1 with 20,000 base persons
 * (`npx tsx bench/identity-match.ts --fit`). Use them where fitting cannot
 * run: a single `$match` query has no population to learn from. Refit on the
 * real registry before go-live: the generator's name lists are short, so its
 * u for names is higher than a real population's.
 */
export const DEFAULT_WEIGHTS: MatchWeights = {
  m: {
    iin: [0.9786, 0.019, 0.00242],
    family: [0.8802, 0.06995, 0.005709, 0.04409],
    given: [0.9186, 0.06259, 0.01671, 0.002132],
    patronymic: [0.9842, 0.01533, 0.0004851],
    birthDate: [0.9386, 0.0186, 0.04242, 0.0003483],
    sex: [0.9999, 7.019e-05],
    contact: [0.4273, 0.1086, 0.4032, 0.003029, 0.0579],
  },
  u: {
    iin: [2.697e-05, 5e-06, 1],
    family: [0.008615, 0.009796, 0.006847, 0.9747],
    given: [0.008882, 0.0005062, 0.005067, 0.9855],
    patronymic: [0.01719, 0.006339, 0.9765],
    birthDate: [7.665e-05, 1.018e-05, 0.004174, 0.9957],
    sex: [0.4989, 0.5011],
    contact: [1.545e-05, 5e-06, 3.604e-05, 0.03783, 0.9621],
  },
  matchShare: 0.7335,
};

/**
 * Chosen on the evaluation set of seed 1 (the tuning seed, 20,000 base
 * persons, weights fitted on it) with {@link chooseThresholds}: auto-link at
 * the lowest score above which precision stays ≥ 0.999, review at the highest
 * score at which recall reaches 0.995 — both stricter than the targets
 * (precision ≥ 0.995 at auto-link, recall ≥ 0.98 at review), so an unseen
 * seed has room. Reported on seed 2, never tuned on it. Scores are log₂
 * likelihood ratios: 31.8 bits is odds of about 4·10⁹ to 1 before the prior.
 */
export const DEFAULT_THRESHOLDS: MatchThresholds = { autoLink: 31.8, review: 23.9 };

/** A pair's log₂ likelihood ratio from its agreement levels. */
export function scoreLevels(levels: ArrayLike<number>, weights: MatchWeights): number {
  let score = 0;
  for (let f = 0; f < FIELD_NAMES.length; f++) {
    const level = levels[f];
    if (level >= FIELD_LEVEL_COUNTS[f]) continue;
    const field = FIELD_NAMES[f];
    score += Math.log2(weights.m[field][level] / weights.u[field][level]);
  }
  return score;
}

/** Per-field log₂(m/u) tables, for scoring millions of pairs without recomputing logarithms. */
export function weightTable(weights: MatchWeights): Float64Array[] {
  return FIELD_NAMES.map((field, f) => {
    const table = new Float64Array(FIELD_LEVEL_COUNTS[f] + 1);
    for (let level = 0; level < FIELD_LEVEL_COUNTS[f]; level++) {
      table[level] = Math.log2(weights.m[field][level] / weights.u[field][level]);
    }
    return table;
  });
}

export function decide(score: number, thresholds: MatchThresholds = DEFAULT_THRESHOLDS): MatchDecision {
  return score >= thresholds.autoLink ? 'link' : score >= thresholds.review ? 'review' : 'distinct';
}

/**
 * Agreement patterns with how many pairs show each: EM runs over distinct
 * patterns, not pairs, so a million pairs cost a few thousand rows.
 */
export class ComparisonPatterns {
  private readonly counts = new Map<number, number>();

  add(levels: ArrayLike<number>): void {
    const code = encodePattern(levels);
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  get size(): number {
    return this.counts.size;
  }

  *entries(): IterableIterator<[levels: Uint8Array, count: number]> {
    for (const [code, count] of this.counts) yield [decodePattern(code), count];
  }
}

function encodePattern(levels: ArrayLike<number>): number {
  let code = 0;
  for (let f = 0; f < FIELD_NAMES.length; f++) code = code * (FIELD_LEVEL_COUNTS[f] + 1) + levels[f];
  return code;
}

function decodePattern(code: number): Uint8Array {
  const levels = new Uint8Array(FIELD_NAMES.length);
  for (let f = FIELD_NAMES.length - 1; f >= 0; f--) {
    const radix = FIELD_LEVEL_COUNTS[f] + 1;
    levels[f] = code % radix;
    code = Math.floor(code / radix);
  }
  return levels;
}

/**
 * u, the level shares among non-matches, read from random record pairs: among
 * n records almost every random pair is two different people, so no labels
 * are needed. u must come from random pairs, not from the blocked
 * candidates — inside a block non-matches already agree on the blocked
 * fields, and EM there learns that agreeing on a family name means little.
 * Deterministic for a given seed.
 */
export function estimateNonMatchShares(
  people: readonly PreparedPerson[],
  options: { samples?: number; seed?: number; prior?: MatchWeights; priorStrength?: number } = {},
): Record<ComparisonField, number[]> {
  const prior = options.prior ?? PRIOR_WEIGHTS;
  const strength = options.priorStrength ?? 5;
  const samples = options.samples ?? 200_000;
  const sums = FIELD_NAMES.map((_, f) => new Float64Array(FIELD_LEVEL_COUNTS[f]));
  const buffer = new Uint8Array(FIELD_NAMES.length);
  let state = (options.seed ?? 0x9e3779b9) >>> 0;
  // mulberry32: enough to spread sample pairs; identity does not import the generator's PRNG.
  const nextIndex = (n: number): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
  if (people.length >= 2) {
    for (let s = 0; s < samples; s++) {
      const i = nextIndex(people.length);
      let j = nextIndex(people.length - 1);
      if (j >= i) j++;
      compareInto(people[i], people[j], buffer);
      for (let f = 0; f < FIELD_NAMES.length; f++) {
        if (buffer[f] < FIELD_LEVEL_COUNTS[f]) sums[f][buffer[f]]++;
      }
    }
  }
  // A level never seen among the samples counts as seen once: random pairs
  // cannot tell 1e-6 from 1e-9, and a 30-bit weight from a shared family phone
  // would outvote every name.
  const floor = 1 / Math.max(1, samples);
  return perField((field, f) => normalise(sums[f], prior.u[field], strength).map((u) => Math.max(u, floor)));
}

export interface EstimateOptions {
  /** Starting point and Dirichlet prior; defaults to {@link PRIOR_WEIGHTS}. */
  prior?: MatchWeights;
  /** Pseudo-pairs of prior per field, keeping rare levels away from 0 and ∞ weights. */
  priorStrength?: number;
  maxIterations?: number;
  tolerance?: number;
  /** u held fixed (from {@link estimateNonMatchShares}); EM then fits only m and the match share. */
  u?: Record<ComparisonField, number[]>;
  /** Fields whose m is fitted; the others keep the prior's m. Default: all. */
  fields?: readonly ComparisonField[];
}

/**
 * m (and, without a fixed u, u) and the match share by expectation–maximisation
 * on unlabelled candidate pairs, under conditional independence of fields
 * given match status (the classical two-class latent model). Missing levels
 * are left out of both sides of each field's estimate. The prior enters as
 * pseudo-counts, a maximum a posteriori fit, so a level never seen among
 * matches keeps a finite weight.
 */
export function estimateWeights(patterns: ComparisonPatterns, options: EstimateOptions = {}): MatchWeights & { iterations: number } {
  const prior = options.prior ?? PRIOR_WEIGHTS;
  const strength = options.priorStrength ?? 50;
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-7;
  const fixedU = options.u;
  const fitted = new Set(options.fields ?? FIELD_NAMES);
  const rows = [...patterns.entries()];
  let weights = cloneWeights(fixedU ? { ...prior, u: fixedU } : prior);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const mSums = FIELD_NAMES.map((_, f) => new Float64Array(FIELD_LEVEL_COUNTS[f]));
    const uSums = FIELD_NAMES.map((_, f) => new Float64Array(FIELD_LEVEL_COUNTS[f]));
    const logOdds = Math.log2(weights.matchShare / (1 - weights.matchShare));
    let matchMass = 0;
    let total = 0;
    for (const [levels, count] of rows) {
      const posterior = 1 / (1 + 2 ** -(logOdds + scoreLevels(levels, weights)));
      matchMass += posterior * count;
      total += count;
      for (let f = 0; f < FIELD_NAMES.length; f++) {
        const level = levels[f];
        if (level >= FIELD_LEVEL_COUNTS[f]) continue;
        mSums[f][level] += posterior * count;
        uSums[f][level] += (1 - posterior) * count;
      }
    }
    const next: MatchWeights = { m: { ...weights.m }, u: { ...weights.u }, matchShare: clamp(matchMass / total) };
    let change = Math.abs(next.matchShare - weights.matchShare);
    FIELD_NAMES.forEach((field, f) => {
      if (!fitted.has(field) && fixedU) return;
      const m = fitted.has(field) ? normalise(mSums[f], prior.m[field], strength) : weights.m[field];
      const u = fixedU ? fixedU[field] : normalise(uSums[f], prior.u[field], strength);
      for (let level = 0; level < m.length; level++) {
        change = Math.max(change, Math.abs(m[level] - weights.m[field][level]), Math.abs(u[level] - weights.u[field][level]));
      }
      next.m[field] = m;
      next.u[field] = u;
    });
    weights = next;
    if (change < tolerance) break;
  }
  return { ...weights, iterations };
}

function normalise(sums: Float64Array, prior: readonly number[], strength: number): number[] {
  let total = strength;
  for (const s of sums) total += s;
  return Array.from(sums, (s, level) => (s + strength * prior[level]) / total);
}

function clamp(share: number): number {
  return Math.min(0.999, Math.max(1e-6, share));
}

function cloneWeights(weights: MatchWeights): MatchWeights {
  const copy = (table: Record<ComparisonField, number[]>): Record<ComparisonField, number[]> => perField((field) => [...table[field]]);
  return { m: copy(weights.m), u: copy(weights.u), matchShare: weights.matchShare };
}

/**
 * m and u for one population without labels, anchored so EM cannot drift.
 *
 * EM over all blocked candidates fails twice over: inside a block
 * non-matches already agree on the blocked fields, and households (twins,
 * siblings) agree on family name, patronymic, birth date and address at once,
 * so the latent "match" class swallows them. Instead:
 * 1. u from random record pairs ({@link estimateNonMatchShares});
 * 2. m of every field but the IIN by EM (u fixed) on candidate pairs that share
 *    a valid IIN — the IIN is the anchor, as Splink trains with a
 *    deterministic rule; any field disagreeing there is real registration noise;
 * 3. m of the IIN by EM on candidate pairs whose family name, given name and
 *    birth date agree exactly and that both carry an IIN — how often one
 *    person's two IINs agree, are mistyped, or differ;
 * 4. the match share by EM over all candidates, m and u fixed.
 */
export function fitWeights(
  people: readonly PreparedPerson[],
  candidateLevels: Iterable<ArrayLike<number>>,
  options: { samplingSeed?: number; prior?: MatchWeights } = {},
): MatchWeights {
  const prior = options.prior ?? PRIOR_WEIGHTS;
  const u = estimateNonMatchShares(people, { seed: options.samplingSeed, prior });
  const all = new ComparisonPatterns();
  const iinLinked = new ComparisonPatterns();
  const nameAndDateLinked = new ComparisonPatterns();
  const [iin, family, given, , birthDate] = [0, 1, 2, 3, 4];
  for (const levels of candidateLevels) {
    all.add(levels);
    if (levels[iin] === 0) iinLinked.add(levels);
    if (levels[family] === 0 && levels[given] === 0 && levels[birthDate] === 0 && levels[iin] < FIELD_LEVEL_COUNTS[iin]) {
      nameAndDateLinked.add(levels);
    }
  }
  const withoutIin = FIELD_NAMES.filter((field) => field !== 'iin');
  const names = estimateWeights(iinLinked, { prior, u, fields: withoutIin });
  const identifiers = estimateWeights(nameAndDateLinked, { prior: names, u, fields: ['iin'] });
  const share = estimateWeights(all, { prior: identifiers, u, fields: [] });
  return { m: identifiers.m, u, matchShare: share.matchShare };
}

export interface ScoredPair {
  /** Ids of the two records, in input order. */
  a: string;
  b: string;
  score: number;
  decision: MatchDecision;
}

export interface DuplicateSearchOptions extends BlockingOptions {
  /** Fixed weights; when absent they are estimated by EM on this run's candidate pairs. */
  weights?: MatchWeights;
  thresholds?: MatchThresholds;
  /** Seed of the random pairs u is estimated from, when weights are estimated. */
  samplingSeed?: number;
  /** Keep pairs below the review threshold too (for evaluation); default false. */
  keepDistinct?: boolean;
}

export interface DuplicateSearchResult {
  pairs: ScoredPair[];
  weights: MatchWeights;
  blocking: BlockingStatistics;
}

/**
 * Every pair of records that may be one person, scored and decided: blocking,
 * then comparison of each candidate pair, then (unless weights are given) EM
 * on the candidates' agreement patterns, then scoring. The registrar's work
 * list is the `review` pairs; `link` pairs may be merged automatically.
 */
export function findDuplicateCandidates(records: readonly PersonRecord[], options: DuplicateSearchOptions = {}): DuplicateSearchResult {
  const people = records.map(preparePerson);
  return findDuplicatesAmong(people, options);
}

/** {@link findDuplicateCandidates} over records already prepared. */
export function findDuplicatesAmong(people: readonly PreparedPerson[], options: DuplicateSearchOptions = {}): DuplicateSearchResult {
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const fieldCount = FIELD_NAMES.length;
  const candidates = new CandidateList(fieldCount);
  const buffer = new Uint8Array(fieldCount);
  const blocking = forEachCandidatePair(
    people.map(blockingKeys),
    (i, j) => {
      compareInto(people[i], people[j], buffer);
      candidates.push(i, j, buffer);
    },
    options,
  );
  const weights =
    options.weights ?? fitWeights(people, candidates.levelRows(), { samplingSeed: options.samplingSeed });
  const table = weightTable(weights);
  const pairs: ScoredPair[] = [];
  for (let p = 0; p < candidates.length; p++) {
    let score = 0;
    const at = p * fieldCount;
    for (let f = 0; f < fieldCount; f++) score += table[f][candidates.levels[at + f]];
    const decision = decide(score, thresholds);
    if (decision !== 'distinct' || options.keepDistinct) {
      pairs.push({ a: people[candidates.firsts[p]].record.id, b: people[candidates.seconds[p]].record.id, score, decision });
    }
  }
  return { pairs, weights, blocking };
}

/** Candidate pairs and their agreement levels in growing typed arrays: tens of millions fit in memory. */
class CandidateList {
  firsts = new Int32Array(1024);
  seconds = new Int32Array(1024);
  levels: Uint8Array;
  length = 0;

  constructor(private readonly fieldCount: number) {
    this.levels = new Uint8Array(1024 * fieldCount);
  }

  push(i: number, j: number, levels: Uint8Array): void {
    if (this.length === this.firsts.length) {
      const filled = <T extends Int32Array | Uint8Array>(next: T, from: ArrayLike<number>): T => {
        next.set(from);
        return next;
      };
      this.firsts = filled(new Int32Array(this.length * 2), this.firsts);
      this.seconds = filled(new Int32Array(this.length * 2), this.seconds);
      this.levels = filled(new Uint8Array(this.length * 2 * this.fieldCount), this.levels);
    }
    this.firsts[this.length] = i;
    this.seconds[this.length] = j;
    this.levels.set(levels, this.length * this.fieldCount);
    this.length++;
  }

  *levelRows(): IterableIterator<Uint8Array> {
    for (let p = 0; p < this.length; p++) yield this.levels.subarray(p * this.fieldCount, (p + 1) * this.fieldCount);
  }
}

/** Field-by-field reading of a pair's score, for the registrar's review screen. */
export function explainScore(levels: ArrayLike<number>, weights: MatchWeights): { field: ComparisonField; level: string; weight: number }[] {
  return FIELD_NAMES.map((field, f) => {
    const level = levels[f];
    const names: readonly string[] = COMPARISON_FIELDS[field];
    if (level >= FIELD_LEVEL_COUNTS[f]) return { field, level: 'missing', weight: 0 };
    return { field, level: names[level], weight: Math.log2(weights.m[field][level] / weights.u[field][level]) };
  });
}
