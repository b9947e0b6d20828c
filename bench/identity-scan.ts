/**
 * The batch duplicate finder (`densaulyq duplicates scan`, src/identity/duplicate-scan.ts) on
 * PostgreSQL: the labelled identity evaluation set is loaded as Patients, then the scan reads
 * every active Patient through the repository, blocks, scores and fills the work list. Reports
 * the time of each phase and the precision and recall of the work list against the labels.
 *
 *   DATABASE_URL=postgres://… NODE_OPTIONS=--max-old-space-size=12288 \
 *     npx tsx bench/identity-scan.ts [--persons 650000] [--seed 2] [--reload] [--writers 2] [--batch 1000] [--match-queries 300]
 *
 * `--persons` counts the set's base persons; with relatives and duplicate registrations the
 * set has about 1.5 times as many records (650,000 give about a million Patients). A
 * duplicate that carries its original's IIN is loaded without it, as the one-IIN rule leaves
 * a clinic no other way to register it; quality is reported with those records, and without
 * them (as if the clinic had found the existing record instead, the rule's purpose). The
 * loaded database (`bench_identity_<persons>_<seed>`)
 * is kept and reused by later runs unless `--reload`. Then `Patient/$match` is asked about
 * `--match-queries` of the stored registrations, one at a time, in process (bench/match-latency.ts),
 * against the whole population. Results: stdout and
 * `.bench/identity-scan-<persons>.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { admin } from './bench-database.js';
import { duplicateScanAccess, seedingAccess } from '../src/access/door.js';
import { scanDuplicates } from '../src/identity/duplicate-scan.js';
import { qualityAt } from '../src/identity/match-quality.js';
import { DEFAULT_THRESHOLDS } from '../src/identity/matcher.js';
import type { Database } from '../src/store/driver.js';
import { openDatabase } from '../src/store/open.js';
import { Repository } from '../src/store/repository.js';
import { identityEvaluationSet } from '../src/synth/identity-evaluation.js';
import { patientFromRecord } from '../src/synth/identity-patients.js';
import { askable, type MatchQuestion, measureMatch } from './match-latency.js';
import { OUT_DIR } from './settings.js';

const { values } = parseArgs({
  options: {
    persons: { type: 'string', default: '650000' },
    seed: { type: 'string', default: '2' },
    reload: { type: 'boolean', default: false },
    writers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1000' },
    'match-queries': { type: 'string', default: '300' },
  },
});
const persons = Number(values.persons);
const seed = Number(values.seed);
const serverUrl = process.env.DATABASE_URL ?? '';
if (!serverUrl) throw new Error('bench/identity-scan.ts runs on PostgreSQL: set DATABASE_URL (bash scripts/start-postgres.sh starts one)');

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const name = `bench_identity_${persons}_${seed}`;

/** The labels (true person of each record id) and the number of true pairs. */
interface Prepared {
  db: Database;
  /** The true person of each record id. */
  truth: Map<string, number>;
  truePairCount: number;
  /** Records loaded without the IIN they carry, and the true pairs left without them. */
  iinDropped: Set<string>;
  truePairCountWithoutDropped: number;
  questions: MatchQuestion[];
  loadMs?: number;
}

/** Loads the Patients unless a loaded database exists; returns the labels. */
async function prepare(): Promise<Prepared> {
  const exists = await admin(serverUrl, async (client) => (await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1);
  if (exists && values.reload) await admin(serverUrl, (client) => client.query(`DROP DATABASE ${name} WITH (FORCE)`));
  if (!exists || values.reload) await admin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString() });

  let started = performance.now();
  const set = identityEvaluationSet({ persons, seed });
  console.error(`evaluation set: ${set.records.length.toLocaleString('en')} records built in ${seconds(performance.now() - started)}`);
  const truth = new Map(set.records.map((record, i) => [record.id, set.personOf[i]!]));
  const held = new Set<string>();
  const iinDropped = new Set<string>();
  for (const record of set.records) {
    if (record.iin && held.has(record.iin)) iinDropped.add(record.id);
    if (record.iin) held.add(record.iin);
  }
  const kept = new Map<number, number>();
  set.records.forEach((record, i) => {
    if (!iinDropped.has(record.id)) kept.set(set.personOf[i]!, (kept.get(set.personOf[i]!) ?? 0) + 1);
  });
  let truePairCountWithoutDropped = 0;
  for (const n of kept.values()) truePairCountWithoutDropped += (n * (n - 1)) / 2;
  const labels = { truth, truePairCount: set.truePairCount, iinDropped, truePairCountWithoutDropped };
  // Registrations spread over the whole set, asked as they were stored: the answer must be the same person.
  const step = Math.max(1, Math.floor(set.records.length / Math.max(1, Number(values['match-queries']))));
  const questions: MatchQuestion[] = [];
  for (let i = 0; i < set.records.length && questions.length < Number(values['match-queries']); i += step) {
    if (!askable(set.records[i]!)) continue;
    const { id: _id, ...patient } = patientFromRecord(set.records[i]!);
    const person = set.personOf[i]!;
    questions.push({ patient, isSamePerson: (id) => truth.get(id) === person });
  }
  const [loaded] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource WHERE resource_type = 'Patient'`);
  if (Number(loaded?.n) === set.records.length) {
    console.error(`reusing ${name}: ${Number(loaded!.n).toLocaleString('en')} Patients loaded`);
    return { db, ...labels, questions };
  }

  started = performance.now();
  const repo = new Repository(db, seedingAccess());
  const patients = set.records.map((record) => patientFromRecord(record, { iin: !iinDropped.has(record.id) }));
  const batch = Number(values.batch);
  let next = 0;
  let refused = 0;
  let lastReport = performance.now();
  const writer = async () => {
    while (next < patients.length) {
      const items = patients.slice(next, (next += batch)).map((resource) => ({ resource, id: resource.id }));
      refused += (await repo.writeMany(items, 'upsert')).refused.length;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        console.error(`  loaded ${Math.min(next, patients.length).toLocaleString('en')} of ${patients.length.toLocaleString('en')} Patients`);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.writers) }, writer));
  await db.query('ANALYZE');
  const loadMs = performance.now() - started;
  console.error(`loaded ${patients.length.toLocaleString('en')} Patients in ${seconds(loadMs)} (${refused} refused)`);
  return { db, ...labels, questions, loadMs };
}

async function main(): Promise<void> {
  const machine = `${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`;
  const { db, truth, truePairCount, iinDropped, truePairCountWithoutDropped, questions, loadMs } = await prepare();
  try {
    await db.query('TRUNCATE duplicate_candidate');
    const started = performance.now();
    let lastReport = started;
    const report = await scanDuplicates(new Repository(db, duplicateScanAccess()), {
      onProgress: ({ phase, done }) => {
        if (performance.now() - lastReport < 10_000) return;
        lastReport = performance.now();
        console.error(`  ${phase}: ${done.toLocaleString('en')}`);
      },
    });
    const totalMs = performance.now() - started;
    const memory = process.memoryUsage();

    const rows = await db.query<{ patient_a: string; patient_b: string; score: number }>(`SELECT patient_a, patient_b, score FROM duplicate_candidate WHERE status = 'open'`);
    const scored = (list: typeof rows) => list.map((row) => ({ score: Number(row.score), isMatch: truth.get(row.patient_a) === truth.get(row.patient_b) }));
    const quality = (['autoLink', 'review'] as const).map((which) => ({ which, ...qualityAt(scored(rows), truePairCount, DEFAULT_THRESHOLDS[which]) }));
    const withoutDropped = rows.filter((row) => !iinDropped.has(row.patient_a) && !iinDropped.has(row.patient_b));
    const qualityWithoutDropped = (['autoLink', 'review'] as const).map((which) => ({
      which,
      ...qualityAt(scored(withoutDropped), truePairCountWithoutDropped, DEFAULT_THRESHOLDS[which]),
    }));

    const lines = [
      `\nduplicate scan on PostgreSQL (${name}) — ${machine}`,
      `patients scanned      ${report.patients.toLocaleString('en')}`,
      `read (search pages)   ${seconds(report.timings.read)}`,
      `block + compare + score ${seconds(report.timings.match)}  (${report.blocking.candidatePairs.toLocaleString('en')} pairs compared of ${report.blocking.allPairs.toLocaleString('en')}, largest block ${report.blocking.largestBlock}, skipped blocks ${report.blocking.skippedBlocks})`,
      `save work list        ${seconds(report.timings.save)}  (${(report.autoLink + report.review).toLocaleString('en')} pairs: ${report.autoLink.toLocaleString('en')} auto-link, ${report.review.toLocaleString('en')} review)`,
      `total                 ${seconds(totalMs)}   (target: 1M patients < 10 min on 2 cores)`,
      `memory                rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB`,
      `work list vs labels, every record (${truePairCount.toLocaleString('en')} true pairs, ${iinDropped.size.toLocaleString('en')} duplicates loaded without their IIN):`,
      ...quality.map((q) => `  ${q.which.padEnd(8)} ≥ ${q.threshold}: ${q.predicted.toLocaleString('en')} pairs, precision ${q.precision.toFixed(4)}, recall ${q.recall.toFixed(4)}, F1 ${q.f1.toFixed(4)}`),
      `work list vs labels, without those duplicates (${truePairCountWithoutDropped.toLocaleString('en')} true pairs):`,
      ...qualityWithoutDropped.map((q) => `  ${q.which.padEnd(8)} ≥ ${q.threshold}: ${q.predicted.toLocaleString('en')} pairs, precision ${q.precision.toFixed(4)}, recall ${q.recall.toFixed(4)}, F1 ${q.f1.toFixed(4)}`),
    ];
    const match = questions.length ? await measureMatch(new Repository(db, seedingAccess()), questions) : undefined;
    if (match) {
      lines.push(
        `$match over all ${report.patients.toLocaleString('en')} Patients, one at a time in process: p50 ${match.p50.toFixed(1)} ms, p95 ${match.p95.toFixed(1)} ms, p99 ${match.p99.toFixed(1)} ms ` +
          `(${match.queries} questions; the same person first in ${(100 * match.firstHit).toFixed(1)}%; target p95 ≤ 20 ms)`,
      );
    }
    console.log(lines.join('\n'));
    await mkdir(OUT_DIR, { recursive: true });
    const file = join(OUT_DIR, `identity-scan-${persons}.json`);
    await writeFile(file, JSON.stringify({ date: new Date().toISOString(), machine, database: name, loadMs, totalMs, report, quality, qualityWithoutDropped, match }, null, 2));
    console.log(`(written to ${file})`);
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
