/**
 * The searches of the search benchmark, their targets (issue "FHIR search, complete and fast",
 * set for real PostgreSQL on 2 cores at 1M resources), and the parameter values they vary over:
 * real ids, IINs, names and codes sampled from the loaded population, so no two consecutive
 * requests hit the same rows and the caches see a realistic spread.
 */
import type { Observation, Patient } from '@medplum/fhirtypes';
import type { Database } from '../src/store/driver.js';

export const IIN_SYSTEM = 'http://densaulyq.kz/fhir/sid/iin';
export const LOINC = 'http://loinc.org';

/** What a search must achieve; every field is optional, absent ones are not judged. */
export interface SearchGoal {
  /** p95 latency at most this many ms. */
  p95?: number;
  /** At least this many searches per second under the benchmark's concurrency. */
  throughput?: number;
  /** For `_include`: its p95 minus the p95 of the scenario named here, at most `maxMs`. */
  overheadOver?: { scenario: string; maxMs: number };
  /** The p95 from the smallest to the largest size must grow by less than this factor. */
  growth?: number;
}

export interface SearchScenario {
  name: string;
  label: string;
  goal: SearchGoal;
  /** Only checked for 200 and matches, not put under load. */
  probeOnly?: boolean;
  /** Builds the next request path (under /fhir) from the sampled values. */
  next: (samples: Samples) => () => string;
}

/** Parameter values sampled from the loaded data. */
export interface Samples {
  /** Patients with their IIN and the name prefixes a clerk would type. */
  patients: { id: string; iin: string; givenPrefixes: string[]; familyPrefixes: string[] }[];
  /** A given-name prefix and a rare code of one Patient who has an Observation with it (for `_has` narrowed by name). */
  namedRareCodes: { prefix: string; code: string }[];
  /** Observations: subject, LOINC code, year of effective date, and the subject's IIN. */
  observations: { patient: string; iin: string; code: string; year: number }[];
  /** Patients that have Encounters. */
  encounterPatients: string[];
  /** LOINC codes of Observations, most frequent first, with their counts. */
  codes: { code: string; count: number }[];
  /** Codes that only a small share of Observations carry (for `_has`). */
  rareCodes: string[];
  /** The most frequent Observation codes (for the broad `_total=accurate` query). */
  commonCodes: string[];
}

/** Letters of a family or given name a search types: enough to narrow, not the whole name. */
const PREFIX_LETTERS = 4;
const SAMPLE_SIZE = 400;

/** Cycles through `items` from a random start: each connection spreads its requests over all of them. */
function cycle<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error('no sampled values to vary the query over');
  let i = Math.floor(Math.random() * items.length);
  return () => items[i++ % items.length]!;
}

const q = encodeURIComponent;

export const SEARCH_SCENARIOS: SearchScenario[] = [
  {
    name: 'identifier',
    label: 'Patient?identifier=iin|…',
    goal: { p95: 15, throughput: 1500, growth: 2 },
    next: (s) => {
      const next = cycle(s.patients);
      return () => `/Patient?identifier=${q(`${IIN_SYSTEM}|${next().iin}`)}`;
    },
  },
  {
    name: 'name',
    label: 'Patient?name=<given-name prefix>',
    goal: { p95: 15, throughput: 1500, growth: 2 },
    next: (s) => {
      const next = cycle(s.patients.flatMap((p) => p.givenPrefixes));
      return () => `/Patient?name=${q(next())}`;
    },
  },
  {
    // Checked, not timed: a family-name prefix must find the Patient as a given-name one does
    // (https://hl7.org/fhir/R4/patient.html#search: name matches any of family, given, text…).
    name: 'nameFamily',
    label: 'Patient?name=<family-name prefix>',
    goal: {},
    probeOnly: true,
    next: (s) => {
      const next = cycle(s.patients.flatMap((p) => p.familyPrefixes));
      return () => `/Patient?name=${q(next())}`;
    },
  },
  {
    name: 'subjectCode',
    label: 'Observation?subject&code&_sort=date',
    goal: { p95: 15, throughput: 1500, growth: 2 },
    next: (s) => {
      const next = cycle(s.observations);
      return () => {
        const o = next();
        return `/Observation?subject=${q(`Patient/${o.patient}`)}&code=${q(`${LOINC}|${o.code}`)}&_sort=date`;
      };
    },
  },
  {
    name: 'subjectDate',
    label: 'Observation?subject&date=ge…&date=lt… (1 year)',
    goal: { p95: 15, throughput: 1500, growth: 2 },
    next: (s) => {
      const next = cycle(s.observations);
      return () => {
        const o = next();
        return `/Observation?subject=${q(`Patient/${o.patient}`)}&date=ge${o.year}-01-01&date=lt${o.year + 1}-01-01`;
      };
    },
  },
  {
    name: 'encounter',
    label: 'Encounter?patient',
    goal: { growth: 2 },
    next: (s) => {
      const next = cycle(s.encounterPatients);
      return () => `/Encounter?patient=${q(next())}`;
    },
  },
  {
    name: 'encounterInclude',
    label: 'Encounter?patient&_include=Encounter:service-provider',
    goal: { overheadOver: { scenario: 'encounter', maxMs: 5 }, growth: 2 },
    next: (s) => {
      const next = cycle(s.encounterPatients);
      return () => `/Encounter?patient=${q(next())}&_include=Encounter:service-provider`;
    },
  },
  {
    name: 'chain',
    label: 'Observation?code&patient.identifier=iin (1 level)',
    goal: { p95: 50, growth: 2 },
    next: (s) => {
      const next = cycle(s.observations);
      return () => {
        const o = next();
        return `/Observation?code=${q(`${LOINC}|${o.code}`)}&patient.identifier=${q(`${IIN_SYSTEM}|${o.iin}`)}`;
      };
    },
  },
  {
    name: 'chain2',
    label: 'Observation?code&encounter.patient.identifier=iin (2 levels)',
    goal: { p95: 50, growth: 2 },
    next: (s) => {
      const next = cycle(s.observations);
      return () => {
        const o = next();
        return `/Observation?code=${q(`${LOINC}|${o.code}`)}&encounter.patient.identifier=${q(`${IIN_SYSTEM}|${o.iin}`)}`;
      };
    },
  },
  {
    name: 'has',
    label: 'Patient?_has:Observation:patient:code=<rare>',
    goal: { p95: 50, growth: 2 },
    next: (s) => {
      const next = cycle(s.rareCodes);
      return () => `/Patient?_has:Observation:patient:code=${q(`${LOINC}|${next()}`)}`;
    },
  },
  {
    name: 'hasSelective',
    label: 'Patient?name=<prefix>&_has:Observation:patient:code=<rare>',
    goal: { p95: 50, growth: 2 },
    next: (s) => {
      const next = cycle(s.namedRareCodes);
      return () => {
        const { prefix, code } = next();
        return `/Patient?name=${q(prefix)}&_has:Observation:patient:code=${q(`${LOINC}|${code}`)}`;
      };
    },
  },
  {
    name: 'totalAccurate',
    label: 'Observation?code=<common>&_total=accurate&_count=10',
    // A count of a broad query reads every match: it grows with the data by nature, so no growth target.
    goal: {},
    next: (s) => {
      const next = cycle(s.commonCodes);
      return () => `/Observation?code=${q(`${LOINC}|${next()}`)}&_total=accurate&_count=10`;
    },
  },
];

/**
 * Prefixes a clerk would type: the first letters of the given and of the family name, in
 * Cyrillic and in Latin (the two ways a name reaches the registry).
 */
function namePrefixes(patient: Patient, part: 'given' | 'family'): string[] {
  const names = (patient.name ?? []).map((n) => (part === 'given' ? n.given?.[0] : n.family)).filter((n): n is string => !!n && n.length >= PREFIX_LETTERS);
  return [...new Set(names.map((n) => n.slice(0, PREFIX_LETTERS)))];
}

/**
 * Samples parameter values from the loaded data. `md5(id)` orders rows pseudo-randomly but
 * the same way every run, so two runs at one size ask the same questions.
 */
export async function sampleValues(db: Database): Promise<Samples> {
  const patientRows = await db.query<{ id: string; content: string }>(
    `SELECT id, content FROM resource WHERE resource_type = 'Patient' AND NOT deleted ORDER BY md5(id) LIMIT ${SAMPLE_SIZE}`,
  );
  const patients = patientRows.map((row) => {
    const patient = JSON.parse(row.content) as Patient;
    const iin = patient.identifier?.find((i) => i.system === IIN_SYSTEM)?.value;
    if (!iin) throw new Error(`Patient/${row.id} has no IIN`);
    return { id: row.id, iin, givenPrefixes: namePrefixes(patient, 'given'), familyPrefixes: namePrefixes(patient, 'family') };
  });

  const observationRows = await db.query<{ content: string }>(
    `SELECT content FROM resource WHERE resource_type = 'Observation' AND NOT deleted ORDER BY md5(id) LIMIT ${SAMPLE_SIZE}`,
  );
  const parsed = observationRows
    .map((row) => JSON.parse(row.content) as Observation)
    .map((o) => ({
      patient: o.subject?.reference?.split('/')[1],
      encounter: o.encounter?.reference,
      code: o.code.coding?.find((c) => c.system === LOINC)?.code,
      date: o.effectiveDateTime ?? o.effectivePeriod?.start,
    }))
    .filter((o) => o.patient && o.code && o.date && o.encounter);
  const iins = new Map(
    (
      await db.query<{ id: string; value: string }>(
        `SELECT id, value FROM search_token WHERE resource_type = 'Patient' AND code = 'identifier' AND system = $1 AND id = ANY($2::text[])`,
        [IIN_SYSTEM, parsed.map((o) => o.patient!)],
      )
    ).map((row) => [row.id, row.value]),
  );
  const observations = parsed.map((o) => ({ patient: o.patient!, iin: iins.get(o.patient!)!, code: o.code!, year: Number(o.date!.slice(0, 4)) })).filter((o) => o.iin);

  const encounterPatients = (
    await db.query<{ compartment: string }>(
      `SELECT compartment FROM (SELECT DISTINCT compartment FROM resource WHERE resource_type = 'Encounter' AND compartment IS NOT NULL) e
       ORDER BY md5(compartment) LIMIT ${SAMPLE_SIZE}`,
    )
  ).map((row) => row.compartment);

  const codes = (
    await db.query<{ value: string; n: string }>(
      `SELECT value, count(*)::text AS n FROM search_token WHERE resource_type = 'Observation' AND code = 'code' AND system = $1
       GROUP BY value ORDER BY count(*) DESC, value`,
      [LOINC],
    )
  ).map((row) => ({ code: row.value, count: Number(row.n) }));
  const totalObservations = codes.reduce((sum, c) => sum + c.count, 0);
  // Rare: under 1% of Observations each — a lab test few patients had, as a cohort query asks.
  const rare = codes.filter((c) => c.count <= totalObservations * 0.01);
  const rareCodes = (rare.length ? rare : codes.slice(-3)).map((c) => c.code);
  const commonCodes = codes.slice(0, 3).map((c) => c.code);
  const namedRareCodes = (
    await db.query<{ code: string; content: string }>(
      `SELECT s.value AS code, p.content FROM search_token s
       JOIN resource o ON o.resource_type = 'Observation' AND o.id = s.id
       JOIN resource p ON p.resource_type = 'Patient' AND p.id = o.compartment
       WHERE s.resource_type = 'Observation' AND s.code = 'code' AND s.system = $1 AND s.value = ANY($2::text[])
       ORDER BY md5(s.id) LIMIT ${SAMPLE_SIZE}`,
      [LOINC, rareCodes],
    )
  ).flatMap((row) => namePrefixes(JSON.parse(row.content) as Patient, 'given').map((prefix) => ({ prefix, code: row.code })));
  return { patients, observations, encounterPatients, codes, rareCodes, commonCodes, namedRareCodes };
}
