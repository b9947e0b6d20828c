import type { Patient } from '@medplum/fhirtypes';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { FieldEvidence } from '../store/duplicate-candidates.js';
import type { Repository } from '../store/repository.js';
import type { BlockingStatistics } from './blocking.js';
import { compare, type PreparedPerson, preparePerson } from './comparison.js';
import { DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, explainScore, findDuplicatesAmong, type MatchThresholds, type MatchWeights } from './matcher.js';
import { personRecordFromPatient } from './person-record.js';
import { parseStored } from '../store/stored-json.js';

/**
 * The batch duplicate finder over the whole registry (`densaulyq duplicates scan`): every active
 * Patient is read once, page by page through the repository, reduced to what matching needs,
 * and the blocking of blocking.ts pairs only records sharing a key — never the whole table
 * pairwise. Pairs at or above the review threshold go to the work list with their evidence;
 * open pairs the scan no longer finds are dropped, decided ones are kept.
 */
export interface ScanOptions {
  weights?: MatchWeights;
  thresholds?: MatchThresholds;
  /** Patients per page read; larger pages mean fewer round trips. */
  pageSize?: number;
  /** Called after each page read and after each phase. */
  onProgress?: (progress: ScanProgress) => void;
}

export interface ScanProgress {
  phase: 'read' | 'match' | 'save';
  done: number;
}

export interface ScanReport {
  patients: number;
  /** Pairs at or above the auto-link threshold, and between review and auto-link. */
  autoLink: number;
  review: number;
  /** Open pairs of an earlier scan not found again. */
  dropped: number;
  blocking: BlockingStatistics;
  /** Milliseconds per phase. */
  timings: { read: number; match: number; save: number };
}

const SAVE_BATCH = 5000;

export async function scanDuplicates(repo: Repository, options: ScanOptions = {}): Promise<ScanReport> {
  const weights = options.weights ?? DEFAULT_WEIGHTS;
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const progress = options.onProgress ?? (() => {});
  const scanStarted = new Date().toISOString();

  let started = performance.now();
  const people = await readActivePatients(repo, options.pageSize ?? 1000, (done) => progress({ phase: 'read', done }));
  const read = performance.now() - started;

  started = performance.now();
  const result = findDuplicatesAmong(people, { weights, thresholds });
  const index = new Map(people.map((person, i) => [person.record.id, i]));
  const match = performance.now() - started;
  progress({ phase: 'match', done: result.pairs.length });

  started = performance.now();
  let autoLink = 0;
  for (let start = 0; start < result.pairs.length; start += SAVE_BATCH) {
    const batch = result.pairs.slice(start, start + SAVE_BATCH).map((pair) => {
      if (pair.decision === 'link') autoLink++;
      const levels = compare(people[index.get(pair.a)!], people[index.get(pair.b)!]);
      const evidence: FieldEvidence[] = explainScore(levels, weights).map(({ field, level, weight }) => ({ field, level, weight: round(weight) }));
      return { a: pair.a, b: pair.b, score: round(pair.score), evidence };
    });
    await repo.duplicates.save(batch, scanStarted);
    progress({ phase: 'save', done: start + batch.length });
  }
  const dropped = await repo.duplicates.dropStale(scanStarted);
  const save = performance.now() - started;

  return {
    patients: people.length,
    autoLink,
    review: result.pairs.length - autoLink,
    dropped,
    blocking: result.blocking,
    timings: { read, match, save },
  };
}

/**
 * Active Patients (`active` not false: merged sources are inactive) in keyset pages; only the
 * prepared matching view is kept, so a million records fit in memory.
 */
async function readActivePatients(repo: Repository, pageSize: number, onPage: (done: number) => void): Promise<PreparedPerson[]> {
  const people: PreparedPerson[] = [];
  let cursor: string | undefined;
  do {
    const request = parseSearchRequest('Patient', [['active:not', 'false'], ['_count', String(pageSize)]]);
    request.cursor = cursor;
    const page = await repo.search(request);
    for (const entry of page.entries) people.push(preparePerson(personRecordFromPatient(parseStored<Patient>(entry))));
    cursor = page.nextCursor;
    onPage(people.length);
  } while (cursor);
  return people;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
