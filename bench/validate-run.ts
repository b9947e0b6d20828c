/**
 * Validation cost per resource: Densaulyq's validator (src/fhir/validator/, compiled from the R4
 * StructureDefinitions) and @medplum/core's `validateResource`, which it replaced on the write
 * path, side by side in one process on the same data: every resource of the Synthea R4 sample
 * (SYNTHEA_DIR, 5,039 resources). Each resource is timed alone; rounds alternate between the two
 * validators so that the machine's load falls on both alike. The first pass of each, which
 * compiles (ours) or indexes the definitions (Medplum's), is reported apart.
 *
 *   npx tsx bench/validate-run.ts [--rounds 3]
 *
 * Results: a table on stdout and `.bench/validate.json`. Target (issue 12): median ≤ 15 µs.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { validateResource } from '../src/fhir/validate.js';
import { SYNTHEA_DIR } from './fixtures.js';
import { OUT_DIR } from './settings.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const ROUNDS = Number(values.rounds);
const TARGET_MEDIAN_US = 15;

type Validator = (resource: Resource) => void;

const ours: Validator = (resource) => {
  validateResource(resource);
};

const medplum: Validator = (resource) => {
  try {
    medplumValidate(resource);
  } catch (e) {
    // Medplum throws the issues of an invalid resource; the sample has none, anything else is a fault.
    if (!(e instanceof OperationOutcomeError)) throw e;
  }
};

interface Result {
  validator: string;
  firstPassMs: number;
  medianUs: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  perSecond: number;
}

async function loadResources(): Promise<Resource[]> {
  const resources: Resource[] = [];
  for (const file of (await readdir(SYNTHEA_DIR)).filter((f) => f.endsWith('.json')).sort()) {
    const bundle = JSON.parse(await readFile(join(SYNTHEA_DIR, file), 'utf8')) as Bundle;
    for (const entry of bundle.entry ?? []) if (entry.resource) resources.push(entry.resource);
  }
  return resources;
}

function firstPass(validate: Validator, resources: readonly Resource[]): number {
  const started = performance.now();
  for (const resource of resources) validate(resource);
  return performance.now() - started;
}

/** One round: each resource timed alone, in µs. */
function round(validate: Validator, resources: readonly Resource[], into: number[]): void {
  for (const resource of resources) {
    const started = process.hrtime.bigint();
    validate(resource);
    into.push(Number(process.hrtime.bigint() - started) / 1000);
  }
}

function summarize(validator: string, firstPassMs: number, times: number[]): Result {
  const sorted = times.slice().sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((sum, t) => sum + t, 0) / sorted.length;
  return { validator, firstPassMs, medianUs: at(0.5), p90Us: at(0.9), p99Us: at(0.99), meanUs: mean, perSecond: 1e6 / mean };
}

const resources = await loadResources();
const oursFirst = firstPass(ours, resources);
const medplumFirst = firstPass((r) => (loadDefinitions(), medplum(r)), resources);
const oursTimes: number[] = [];
const medplumTimes: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  round(ours, resources, oursTimes);
  round(medplum, resources, medplumTimes);
}
const results = [summarize('densaulyq', oursFirst, oursTimes), summarize('@medplum/core', medplumFirst, medplumTimes)];

const fixed = (n: number, digits = 1) => n.toFixed(digits).padStart(9);
console.log(`Validation of ${resources.length} Synthea resources, ${ROUNDS} rounds each, one resource at a time`);
console.log(`${'validator'.padEnd(15)}${'median µs'.padStart(10)}${'p90 µs'.padStart(10)}${'p99 µs'.padStart(10)}${'mean µs'.padStart(10)}${'per s'.padStart(10)}${'first pass ms'.padStart(15)}`);
for (const r of results) {
  console.log(`${r.validator.padEnd(15)} ${fixed(r.medianUs)} ${fixed(r.p90Us)} ${fixed(r.p99Us)} ${fixed(r.meanUs)} ${fixed(r.perSecond, 0)} ${fixed(r.firstPassMs, 0).padStart(14)}`);
}
const [densaulyq, theirs] = results as [Result, Result];
const met = densaulyq.medianUs <= TARGET_MEDIAN_US;
console.log(`median ${(theirs.medianUs / densaulyq.medianUs).toFixed(1)}× faster than @medplum/core; target median ≤ ${TARGET_MEDIAN_US} µs: ${met ? 'met' : 'NOT met'}`);

await mkdir(OUT_DIR, { recursive: true });
await writeFile(join(OUT_DIR, 'validate.json'), JSON.stringify({ resources: resources.length, rounds: ROUNDS, targetMedianUs: TARGET_MEDIAN_US, met, results }, null, 2));
