/**
 * The identity part of `npm run bench`:
 *
 * 1. matching quality on the labelled evaluation set (src/synth/identity-evaluation.ts, seed 2,
 *    which the shipped weights and thresholds were never tuned on): precision, recall and F1 at
 *    the auto-link and review thresholds, with DEFAULT_WEIGHTS as `$match` and the batch finder
 *    use them;
 * 2. `Patient/$match` latency: another seed's set loaded as Patients, then duplicate
 *    registrations of them asked one at a time through the operation's handler and the
 *    repository (in process, no HTTP: the figure is the operation and its database work), with
 *    how often the registered original comes first.
 *
 * On PGlite in memory; with DATABASE_URL also on PostgreSQL, in a fresh database dropped after.
 *
 *   npx tsx bench/identity-run.ts [--persons 20000] [--match-persons 6500] [--queries 300]
 *
 * Results: tables on stdout and `.bench/identity.json`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedingAccess } from '../src/access/door.js';
import { preparePerson } from '../src/identity/comparison.js';
import { qualityAt } from '../src/identity/match-quality.js';
import { DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, findDuplicatesAmong } from '../src/identity/matcher.js';
import type { Database } from '../src/store/driver.js';
import { openDatabase } from '../src/store/open.js';
import { Repository } from '../src/store/repository.js';
import { identityEvaluationSet } from '../src/synth/identity-evaluation.js';
import { patientFromRecord } from '../src/synth/identity-patients.js';
import { admin } from './bench-database.js';
import { type MatchLatency, matchQuestions, measureMatch } from './match-latency.js';
import { OUT_DIR } from './settings.js';

const { values } = parseArgs({
  options: {
    persons: { type: 'string', default: '20000' },
    'match-persons': { type: 'string', default: '6500' },
    queries: { type: 'string', default: '300' },
  },
});

/** The targets. */
const TARGETS = { autoLinkPrecision: 0.995, reviewRecall: 0.98, matchP95Ms: 20 };

interface QualityRow {
  threshold: 'auto-link' | 'review';
  score: number;
  pairs: number;
  precision: number;
  recall: number;
  f1: number;
}

function matchingQuality(persons: number): { rows: QualityRow[]; records: number; truePairs: number; seconds: number } {
  const started = performance.now();
  const set = identityEvaluationSet({ persons, seed: 2 });
  const people = set.records.map(preparePerson);
  const result = findDuplicatesAmong(people, { weights: DEFAULT_WEIGHTS, thresholds: DEFAULT_THRESHOLDS });
  const index = new Map(set.records.map((record, i) => [record.id, i]));
  const scores = result.pairs.map((pair) => ({ score: pair.score, isMatch: set.personOf[index.get(pair.a)!] === set.personOf[index.get(pair.b)!] }));
  const rows = (['auto-link', 'review'] as const).map((threshold) => {
    const q = qualityAt(scores, set.truePairCount, threshold === 'auto-link' ? DEFAULT_THRESHOLDS.autoLink : DEFAULT_THRESHOLDS.review);
    return { threshold, score: q.threshold, pairs: q.predicted, precision: q.precision, recall: q.recall, f1: q.f1 };
  });
  return { rows, records: set.records.length, truePairs: set.truePairCount, seconds: (performance.now() - started) / 1000 };
}

/** Loads a set's first record of each person as Patients, then asks `$match` about later ones. */
async function matchLatency(db: Database, driver: string, persons: number, queries: number): Promise<MatchLatency & { driver: string; patients: number }> {
  const set = identityEvaluationSet({ persons, seed: 3 });
  const repo = new Repository(db, seedingAccess());
  const seen = new Set<number>();
  const held = new Set<string>();
  const stored = set.records.flatMap((record, i) => {
    if (seen.has(set.personOf[i]!)) return [];
    seen.add(set.personOf[i]!);
    const taken = record.iin !== undefined && held.has(record.iin);
    if (record.iin) held.add(record.iin);
    return [patientFromRecord(record, { iin: !taken })];
  });
  for (let start = 0; start < stored.length; start += 1000) {
    await repo.writeMany(stored.slice(start, start + 1000).map((resource) => ({ resource, id: resource.id })), 'upsert');
  }
  await db.query('ANALYZE');
  return { driver, patients: stored.length, ...(await measureMatch(repo, matchQuestions(set, queries))) };
}

async function onPostgres<T>(serverUrl: string, work: (db: Database, description: string) => Promise<T>): Promise<T> {
  const name = `bench_identity_${randomBytes(5).toString('hex')}`;
  const run = (sql: string) => admin(serverUrl, (client) => client.query(sql));
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString() });
  try {
    return await work(db, `PostgreSQL (${url.host}/${name})`);
  } finally {
    await db.close();
    await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

async function main(): Promise<void> {
  const quality = matchingQuality(Number(values.persons));
  const yes = (met: boolean) => (met ? 'yes' : 'NO');
  console.log(
    [
      `\nidentity matching on the labelled set (seed 2, ${quality.records.toLocaleString('en')} records, ${quality.truePairs.toLocaleString('en')} true duplicate pairs; DEFAULT_WEIGHTS, ${quality.seconds.toFixed(1)} s)`,
      'threshold   score    pairs≥  precision  recall      F1  target                met?',
      ...quality.rows.map((r) => {
        const target = r.threshold === 'auto-link' ? `precision ≥ ${TARGETS.autoLinkPrecision}` : `recall ≥ ${TARGETS.reviewRecall}`;
        const met = r.threshold === 'auto-link' ? r.precision >= TARGETS.autoLinkPrecision : r.recall >= TARGETS.reviewRecall;
        return `${r.threshold.padEnd(10)} ${r.score.toFixed(1).padStart(6)} ${String(r.pairs).padStart(8)}     ${r.precision.toFixed(4)}  ${r.recall.toFixed(4)}  ${r.f1.toFixed(4)}  ${target.padEnd(20)}  ${yes(met)}`;
      }),
    ].join('\n'),
  );

  const latencies: (MatchLatency & { driver: string; patients: number })[] = [];
  const persons = Number(values['match-persons']);
  const queries = Number(values.queries);
  const pglite = await openDatabase({});
  try {
    latencies.push(await matchLatency(pglite, 'PGlite (memory)', persons, queries));
  } finally {
    await pglite.close();
  }
  const serverUrl = process.env.DATABASE_URL || undefined;
  if (serverUrl) latencies.push(await onPostgres(serverUrl, (db, description) => matchLatency(db, description, persons, queries)));
  console.log(
    [
      `\nPatient/$match, one query at a time, in process (handler + repository, no HTTP); questions are duplicate registrations of stored Patients`,
      'database                         patients  queries  p50 ms  p95 ms  p99 ms  original first  target p95      met?',
      ...latencies.map(
        (l) =>
          `${l.driver.slice(0, 32).padEnd(32)} ${String(l.patients).padStart(8)} ${String(l.queries).padStart(8)} ${l.p50.toFixed(2).padStart(7)} ${l.p95.toFixed(2).padStart(7)} ${l.p99.toFixed(2).padStart(7)}  ${(100 * l.firstHit).toFixed(1).padStart(13)}%  ≤ ${TARGETS.matchP95Ms} ms (1M, PG)  ${yes(l.p95 <= TARGETS.matchP95Ms)}`,
      ),
    ].join('\n'),
  );
  if (!serverUrl) console.log('DATABASE_URL is not set: $match was not measured on PostgreSQL.');
  await mkdir(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, 'identity.json');
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), quality, latencies }, null, 2));
  console.log(`(written to ${file})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
