/**
 * The passport benchmark (issue 14: "`$everything` streams 10,000 resources in under 1 s", on
 * PostgreSQL). One FHIR target (serve-target.ts) on a fresh database holds a patient attached to
 * the bench clinic whose record is BENCH_PASSPORT_RESOURCES resources, the Patient included (Encounters, Observations, Conditions
 * and MedicationRequests referring to the clinic, its practitioner and a medication), and some
 * other patients so the compartment is not the whole table.
 *
 * Measured end to end, as the clinic's clinician (the door's care-relationship and consent
 * conditions in the SQL, every page's audit record committed before it is served), from request
 * to the last byte received and parsed:
 *
 * - `$everything`: `Patient/[id]/$everything`, the whole record in one streamed page;
 * - baseline: the same rows by a plain compartment search, `Patient/[id]/*?_count=1000`,
 *   following next links (1,000 is search's largest page).
 *
 * Before measuring, both must return every resource of the record. Then BENCH_PASSPORT_RUNS
 * runs of each, alternating, after one warm-up; the table gives the median (and the fastest and
 * slowest) of each, and the load average of the machine.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/passport-run.ts
 *
 * Environment: DATABASE_URL (required), BENCH_PASSPORT_RESOURCES (10000), BENCH_PASSPORT_RUNS (7),
 * BENCH_KEEP_DATABASE. Results: the table on stdout and `.bench/passport-postgres.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { openBenchDatabase, settle } from './bench-database.js';
import { call } from './load.js';
import { OUT_DIR, envInteger } from './settings.js';
import { bearer, startFhirTarget } from './target-process.js';

const settings = {
  resources: envInteger('BENCH_PASSPORT_RESOURCES', 10_000),
  runs: envInteger('BENCH_PASSPORT_RUNS', 7),
};
const TARGET_MS = 1000;
/** The clinic the patient is attached to and the bench clinician acts for. */
const BENCH_ORGANIZATION = 'bench-passport-clinic';
const PER_TRANSACTION = 500;
/** Other patients, each with a few resources, so the compartment is a small part of the tables. */
const OTHER_PATIENTS = 200;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The i-th resource of the record: a realistic mix, most of it results, with references outside the compartment. */
function recordResource(i: number, patient: string): Resource {
  const subject = { reference: `Patient/${patient}` };
  const day = new Date(Date.UTC(2015, 0, 1) + i * 3_600_000 * 7).toISOString();
  switch (i % 10) {
    case 0:
      return {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        period: { start: day, end: day },
        serviceProvider: { reference: `Organization/${BENCH_ORGANIZATION}` },
        participant: [{ individual: { reference: 'Practitioner/bench-doctor' } }],
      };
    case 1:
      return { resourceType: 'Condition', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E11.9' }] }, subject, onsetDateTime: day, recorder: { reference: 'Practitioner/bench-doctor' } };
    case 2:
      return {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject,
        authoredOn: day,
        medicationReference: { reference: 'Medication/bench-metformin' },
        requester: { reference: 'Practitioner/bench-doctor' },
      };
    default:
      return {
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
        subject,
        effectiveDateTime: day,
        performer: [{ reference: 'Practitioner/bench-doctor' }],
        valueQuantity: { value: 4 + (i % 50) / 10, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      };
  }
}

async function send(base: string, auth: { authorization: string }, entry: BundleEntry[]): Promise<Bundle> {
  const reply = await call(base, { method: 'POST', body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }), headers: auth });
  if (reply.status !== 200) throw new Error(`preload failed with ${reply.status}: ${reply.text.slice(0, 500)}`);
  return JSON.parse(reply.text) as Bundle;
}

const post = (resource: Resource): BundleEntry => ({ request: { method: 'POST', url: resource.resourceType }, resource });
const put = (resource: Resource & { id: string }): BundleEntry => ({ request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` }, resource });

/** Loads the record (as the administrator); returns the patient's id. */
async function preload(base: string, auth: { authorization: string }): Promise<string> {
  await send(base, auth, [
    put({ resourceType: 'Organization', id: BENCH_ORGANIZATION, name: 'Bench clinic', active: true }),
    put({ resourceType: 'Practitioner', id: 'bench-doctor', name: [{ family: 'Әбенова' }] }),
    put({ resourceType: 'Medication', id: 'bench-metformin', code: { text: 'Metformin 500 mg' } }),
  ]);
  const created = await send(base, auth, [post({ resourceType: 'Patient', name: [{ family: 'Паспортова' }], generalPractitioner: [{ reference: `Organization/${BENCH_ORGANIZATION}` }] })]);
  const patient = created.entry![0]!.response!.location!.split('/')[1]!;
  // The record is BENCH_PASSPORT_RESOURCES resources, its Patient one of them.
  const clinical = settings.resources - 1;
  for (let first = 0; first < clinical; first += PER_TRANSACTION) {
    const count = Math.min(PER_TRANSACTION, clinical - first);
    await send(base, auth, Array.from({ length: count }, (_, i) => post(recordResource(first + i, patient))));
  }
  for (let first = 0; first < OTHER_PATIENTS; first += 50) {
    const entry: BundleEntry[] = [];
    for (let n = first; n < first + 50; n++) {
      const fullUrl = `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      entry.push({ fullUrl, ...post({ resourceType: 'Patient', name: [{ family: `Басқа-${n}` }] }) });
      for (let i = 0; i < 10; i++) entry.push(post({ ...recordResource(i + 3, 'x'), subject: { reference: fullUrl } } as Resource));
    }
    await send(base, auth, entry);
  }
  return patient;
}

interface Read {
  ms: number;
  entries: number;
  bytes: number;
  requests: number;
  ids: Set<string>;
}

/** Follows a searchset from `path` through its next links; the time to the last byte, parsed. */
async function readAll(origin: string, path: string, auth: { authorization: string }): Promise<Read> {
  const started = performance.now();
  const ids = new Set<string>();
  let url: string | undefined = `${origin}${path}`;
  let entries = 0;
  let bytes = 0;
  let requests = 0;
  while (url) {
    const reply = await call(url, { headers: auth });
    if (reply.status !== 200) throw new Error(`${url}: ${reply.status} ${reply.text.slice(0, 300)}`);
    requests++;
    bytes += Buffer.byteLength(reply.text);
    const bundle = JSON.parse(reply.text) as Bundle;
    for (const e of bundle.entry ?? []) {
      if (e.search?.mode !== 'match') continue;
      entries++;
      ids.add(`${e.resource!.resourceType}/${e.resource!.id}`);
    }
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    url = next ? `${origin}${new URL(next).pathname}${new URL(next).search}` : undefined;
  }
  return { ms: performance.now() - started, entries, bytes, requests, ids };
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server (the target is on PostgreSQL)');
  const database = await openBenchDatabase('postgres', serverUrl);
  const target = await startFhirTarget({ ...database.env, BENCH_LOG_LEVEL: 'warn', BENCH_ORGANIZATION });
  try {
    const admin = bearer(target.accounts.administrator);
    const clinician = bearer(target.accounts.clinician);
    console.error(`loading a record of ${settings.resources} resources …`);
    const patient = await preload(`${target.origin}/fhir`, admin);
    await settle(database);
    const everythingPath = `/fhir/Patient/${patient}/$everything`;
    const compartmentPath = `/fhir/Patient/${patient}/*?_count=1000`;

    // Both must read the whole record, as the clinician, before anything is timed.
    const expected = settings.resources;
    const everything = await readAll(target.origin, everythingPath, clinician);
    const compartment = await readAll(target.origin, compartmentPath, clinician);
    for (const [name, read] of [['$everything', everything], ['compartment search', compartment]] as const) {
      if (read.ids.size !== expected) throw new Error(`${name} returned ${read.ids.size} of the record's ${expected} resources; nothing measured`);
    }
    if (everything.requests !== 1) throw new Error(`$everything took ${everything.requests} pages; expected one`);

    const runs = { everything: [] as number[], compartment: [] as number[] };
    for (let run = 0; run < settings.runs; run++) {
      const first = run % 2 === 0;
      for (const side of first ? (['everything', 'compartment'] as const) : (['compartment', 'everything'] as const)) {
        const read = await readAll(target.origin, side === 'everything' ? everythingPath : compartmentPath, clinician);
        runs[side].push(read.ms);
      }
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    const row = (label: string, values: number[], read: Read) =>
      `| ${label} | ${read.requests} | ${read.entries} | ${(read.bytes / 1e6).toFixed(1)} MB | ${median(values).toFixed(0)} | ${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} |`;
    const met = median(runs.everything) < TARGET_MS;
    console.log(`\n### Patient/$everything of ${expected} resources, as the clinic's clinician (door and audit on), ${database.description}\n`);
    console.log(`Median of ${settings.runs} runs each (alternating), end to end: request to the last byte received and parsed. Load average ${load}.\n`);
    console.log('| read | requests | resources | bytes | median ms | fastest–slowest ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(row('`Patient/[id]/$everything` (one streamed page)', runs.everything, everything));
    console.log(row('`Patient/[id]/*?_count=1000` (baseline, next links)', runs.compartment, compartment));
    console.log(`\nTarget: $everything under ${TARGET_MS} ms: ${met ? 'met' : 'NOT met'}.`);
    await mkdir(OUT_DIR, { recursive: true });
    await writeFile(
      join(OUT_DIR, 'passport-postgres.json'),
      JSON.stringify({ settings, database: database.description, loadavg: loadavg(), runs, met, bytes: { everything: everything.bytes, compartment: compartment.bytes } }, null, 2),
    );
  } finally {
    await target.stop();
    await database.drop();
  }
}

await main();
