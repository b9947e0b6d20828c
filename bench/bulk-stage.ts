/** One stage of bench/bulk-run.ts, in a process of its own; prints its result as the last line. */
import { createReadStream } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import { createInterface } from 'node:readline';
import { importAccess } from '../src/access/door.js';
import { exportToDirectory } from '../src/bulk/export.js';
import { importFiles, ndjsonFiles } from '../src/bulk/import.js';
import { inThread, workerPool } from '../src/bulk/prepare-pool.js';
import { parseFhirJson } from '../src/fhir/json.js';
import { validateResource } from '../src/fhir/validate.js';
import { openDatabase } from '../src/store/open.js';
import { prepareResource } from '../src/store/prepared-resource.js';
import { Repository } from '../src/store/repository.js';
import { generatePopulation } from '../src/synth/population.js';

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);

/** CPU ms of this process so far, all its threads (workers included). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function timed(work: () => Promise<{ resources: number; detail?: Record<string, number> }>) {
  const started = performance.now();
  const cpuBefore = cpuMs();
  const { resources, detail } = await work();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { resources, seconds, peakRssMb: Math.round(peak / 2 ** 20), detail: { ...detail, processCpuMs: Math.round(cpuMs() - cpuBefore) } };
}

async function* allLines(files: readonly string[]): AsyncGenerator<string> {
  for (const file of files) {
    for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) if (line.trim()) yield line;
  }
}

/** Lines prepared once, uncounted, before the measured pass: loading the definitions and the JIT's warm-up are no resource's cost. */
const WARM_UP_LINES = 2000;

/**
 * CPU per resource, in this one thread, of what the import does before the database: parsing with
 * validation, and index extraction (search rows, words, access facts and the JSON to store).
 */
async function cpuPerResource(from: string) {
  const files = await ndjsonFiles(from);
  let warm = 0;
  for await (const line of allLines(files)) {
    const resource = parseFhirJson(line) as Resource;
    validateResource(resource);
    prepareResource(resource, resource.id!);
    if (++warm >= WARM_UP_LINES) break;
  }
  let validation = 0;
  let extraction = 0;
  let resources = 0;
  for await (const line of allLines(files)) {
    const start = process.cpuUsage();
    const resource = parseFhirJson(line) as Resource;
    validateResource(resource);
    const validated = process.cpuUsage(start);
    prepareResource(resource, resource.id!);
    const prepared = process.cpuUsage(start);
    validation += validated.user + validated.system;
    extraction += prepared.user + prepared.system - validated.user - validated.system;
    resources++;
  }
  return { resources, detail: { validationUs: validation / resources, extractionUs: extraction / resources } };
}

const [name, json] = process.argv.slice(2) as [string, string];
const args = JSON.parse(json) as Record<string, string>;
let result;
switch (name) {
  case 'generate':
    result = await timed(async () => ({ resources: (await generatePopulation({ patients: Number(args.patients), seed: 1, outDir: args.out! })).resources }));
    break;
  case 'import': {
    const db = await openDatabase({ databaseUrl: args.url });
    const repo = new Repository(db, importAccess());
    const workers = Number(args.workers ?? 0);
    result = await timed(async () => {
      const pool = workers > 0 ? workerPool(workers) : inThread();
      if (args.initial === 'true') await repo.deferIndexes();
      try {
        const progress = await importFiles(await ndjsonFiles(args.from!), { repo, pool, onRejected: () => undefined });
        return { resources: progress.written, detail: { ...progress } };
      } finally {
        await pool.close();
        await repo.buildDeferredIndexes();
      }
    });
    await db.close();
    break;
  }
  case 'cpu':
    result = await timed(() => cpuPerResource(args.from!));
    break;
  case 'export': {
    const db = await openDatabase({ databaseUrl: args.url });
    result = await timed(async () => {
      return { resources: (await exportToDirectory({ db, outDir: args.out! })).resources };
    });
    await db.close();
    break;
  }
  default:
    throw new Error(`unknown stage ${name}`);
}
console.log(JSON.stringify(result));
