/**
 * The passport benchmark (issue 14, on PostgreSQL: "`$summary` p95 ≤ 150 ms for a patient with
 * 2,000 resources; `$everything` streams 10,000 resources in under 1 s"). Two FHIR targets
 * (serve-target.ts) on one fresh database: the product, read as the clinic's clinician (the door's
 * care-relationship and consent conditions in the SQL, every page's audit record committed before
 * it is served), and the same server open (BENCH_OPEN: no token check, no access condition, no
 * audit), the honest limit the door is measured against. The database holds two patients attached
 * to the bench clinic, with records of BENCH_PASSPORT_RESOURCES and BENCH_SUMMARY_RESOURCES
 * resources (the Patient included: Encounters, Observations, Conditions and MedicationRequests
 * referring to the clinic, its practitioner and a medication), and other patients so the
 * compartment is not the whole table.
 *
 * Measured end to end, from request to the last byte received and parsed:
 * - `Patient/[id]/$everything` of the large record, the whole record in one streamed page,
 *   BENCH_PASSPORT_RUNS runs per side, alternating, after a warm-up that checks every resource came;
 * - `Patient/[id]/$summary` of the smaller record, BENCH_SUMMARY_RUNS runs per side, alternating:
 *   median and p95, as FHIR JSON and then as the printed PDF.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/passport-run.ts
 *
 * Environment: DATABASE_URL (required), BENCH_PASSPORT_RESOURCES (10000), BENCH_PASSPORT_RUNS (7),
 * BENCH_SUMMARY_RESOURCES (2000), BENCH_SUMMARY_RUNS (40), BENCH_KEEP_DATABASE. Results: the
 * tables on stdout and `.bench/passport-postgres.json`.
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
  summaryResources: envInteger('BENCH_SUMMARY_RESOURCES', 2_000),
  summaryRuns: envInteger('BENCH_SUMMARY_RUNS', 40),
};
const TARGET_MS = 1000;
const SUMMARY_P95_TARGET_MS = 150;
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
/** The nearest-rank 95th percentile. */
const p95 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.95) - 1]!;

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

/** Loads the clinic and the other patients (as the administrator). */
async function preloadShared(base: string, auth: { authorization: string }): Promise<void> {
  await send(base, auth, [
    put({ resourceType: 'Organization', id: BENCH_ORGANIZATION, name: 'Bench clinic', active: true }),
    put({ resourceType: 'Practitioner', id: 'bench-doctor', name: [{ family: 'Әбенова' }] }),
    put({ resourceType: 'Medication', id: 'bench-metformin', code: { text: 'Metformin 500 mg' } }),
  ]);
  for (let first = 0; first < OTHER_PATIENTS; first += 50) {
    const entry: BundleEntry[] = [];
    for (let n = first; n < first + 50; n++) {
      const fullUrl = `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      entry.push({ fullUrl, ...post({ resourceType: 'Patient', name: [{ family: `Басқа-${n}` }] }) });
      for (let i = 0; i < 10; i++) entry.push(post({ ...recordResource(i + 3, 'x'), subject: { reference: fullUrl } } as Resource));
    }
    await send(base, auth, entry);
  }
}

/** Loads a patient attached to the clinic whose record is `size` resources, the Patient one of them; returns its id. */
async function preloadRecord(base: string, auth: { authorization: string }, size: number, family: string): Promise<string> {
  const created = await send(base, auth, [post({ resourceType: 'Patient', name: [{ family }], generalPractitioner: [{ reference: `Organization/${BENCH_ORGANIZATION}` }] })]);
  const patient = created.entry![0]!.response!.location!.split('/')[1]!;
  const clinical = size - 1;
  for (let first = 0; first < clinical; first += PER_TRANSACTION) {
    const count = Math.min(PER_TRANSACTION, clinical - first);
    await send(base, auth, Array.from({ length: count }, (_, i) => post(recordResource(first + i, patient))));
  }
  return patient;
}

/** One `$summary`, end to end: milliseconds to the last byte received (and, as JSON, parsed). */
async function summaryOnce(origin: string, path: string, auth: { authorization: string }, pdf = false): Promise<number> {
  const started = performance.now();
  if (pdf) {
    const response = await fetch(`${origin}${path}`, { headers: { ...auth, accept: 'application/pdf' } });
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || bytes.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error(`${path} as PDF: ${response.status}`);
    return performance.now() - started;
  }
  const reply = await call(`${origin}${path}`, { headers: auth });
  if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.text.slice(0, 300)}`);
  const document = JSON.parse(reply.text) as Bundle;
  if (document.type !== 'document') throw new Error(`${path} gave a ${document.type} Bundle`);
  return performance.now() - started;
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
  const door = await startFhirTarget({ ...database.env, BENCH_LOG_LEVEL: 'warn', BENCH_ORGANIZATION });
  const open = await startFhirTarget({ ...database.env, BENCH_LOG_LEVEL: 'warn', BENCH_ORGANIZATION, BENCH_OPEN: 'on' });
  try {
    const admin = bearer(door.accounts.administrator);
    const sides = [
      { name: 'door', target: door, auth: bearer(door.accounts.clinician) },
      { name: 'open', target: open, auth: bearer(open.accounts.administrator) },
    ] as const;
    console.error(`loading records of ${settings.resources} and ${settings.summaryResources} resources …`);
    const base = `${door.origin}/fhir`;
    await preloadShared(base, admin);
    const large = await preloadRecord(base, admin, settings.resources, 'Паспортова');
    const small = await preloadRecord(base, admin, settings.summaryResources, 'Түйіндемеова');
    await settle(database);
    const everythingPath = `/fhir/Patient/${large}/$everything`;
    const summaryPath = `/fhir/Patient/${small}/$summary`;

    // Each side must read the whole record, in one page, before anything is timed.
    const reads = new Map<string, Read>();
    for (const side of sides) {
      const read = await readAll(side.target.origin, everythingPath, side.auth);
      if (read.ids.size !== settings.resources) throw new Error(`${side.name}: $everything returned ${read.ids.size} of the record's ${settings.resources} resources; nothing measured`);
      if (read.requests !== 1) throw new Error(`${side.name}: $everything took ${read.requests} pages; expected one`);
      reads.set(side.name, read);
      for (let i = 0; i < 3; i++) await summaryOnce(side.target.origin, summaryPath, side.auth);
    }

    const everything: Record<string, number[]> = { door: [], open: [] };
    const summary: Record<string, number[]> = { door: [], open: [] };
    const printed: Record<string, number[]> = { door: [], open: [] };
    for (let run = 0; run < settings.runs; run++) {
      for (const side of run % 2 === 0 ? sides : [...sides].reverse()) everything[side.name]!.push((await readAll(side.target.origin, everythingPath, side.auth)).ms);
    }
    for (let run = 0; run < settings.summaryRuns; run++) {
      for (const side of run % 2 === 0 ? sides : [...sides].reverse()) summary[side.name]!.push(await summaryOnce(side.target.origin, summaryPath, side.auth));
    }
    for (let run = 0; run < settings.summaryRuns; run++) {
      for (const side of run % 2 === 0 ? sides : [...sides].reverse()) printed[side.name]!.push(await summaryOnce(side.target.origin, summaryPath, side.auth, true));
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    const everythingMet = median(everything.door!) < TARGET_MS;
    const summaryMet = p95(summary.door!) <= SUMMARY_P95_TARGET_MS;
    const read = reads.get('door')!;
    console.log(`\n### The health passport, ${database.description}; load average ${load}\n`);
    console.log('End to end: request to the last byte received and parsed; sides alternating. door = the clinic\'s clinician (token, access conditions, audit); open = the same server with all three off.\n');
    console.log('| operation | record | side | runs | median ms | p95 ms | fastest–slowest ms | door/open (median) |');
    console.log('|---|---:|---|---:|---:|---:|---:|---:|');
    const row = (operation: string, size: number, values: Record<string, number[]>) => {
      for (const side of ['door', 'open'] as const) {
        const v = values[side]!;
        const ratio = side === 'door' ? `${(median(v) / median(values.open!)).toFixed(2)}×` : '';
        console.log(`| ${operation} | ${size} | ${side} | ${v.length} | ${median(v).toFixed(0)} | ${p95(v).toFixed(0)} | ${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)} | ${ratio} |`);
      }
    };
    row(`\`$everything\` (one streamed page, ${(read.bytes / 1e6).toFixed(1)} MB)`, settings.resources, everything);
    row('`$summary` (IPS document)', settings.summaryResources, summary);
    row('`$summary` as PDF (`Accept: application/pdf`)', settings.summaryResources, printed);
    console.log(`\nTargets (door): $everything under ${TARGET_MS} ms: ${everythingMet ? 'met' : 'NOT met'}; $summary p95 ≤ ${SUMMARY_P95_TARGET_MS} ms: ${summaryMet ? 'met' : 'NOT met'}.`);
    await mkdir(OUT_DIR, { recursive: true });
    await writeFile(
      join(OUT_DIR, 'passport-postgres.json'),
      JSON.stringify({ settings, database: database.description, loadavg: loadavg(), everything, summary, printed, met: { everything: everythingMet, summary: summaryMet }, bytes: read.bytes }, null, 2),
    );
  } finally {
    await door.stop();
    await open.stop();
    await database.drop();
  }
}

await main();
