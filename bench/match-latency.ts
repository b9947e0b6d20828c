import type { Bundle, Parameters, Patient } from '@medplum/fhirtypes';
import type { AccessContext } from '../src/access/context.js';
import { matchOperation } from '../src/rest/match.js';
import type { Repository } from '../src/store/repository.js';
import type { PersonRecord } from '../src/identity/person-record.js';
import type { IdentityEvaluationSet } from '../src/synth/identity-evaluation.js';
import { patientFromRecord } from '../src/synth/identity-patients.js';
import { percentile } from './load.js';

/** A registration asked about, and which stored records are the same person. */
export interface MatchQuestion {
  patient: Patient;
  isSamePerson(id: string): boolean;
}

export interface MatchLatency {
  queries: number;
  p50: number;
  p95: number;
  p99: number;
  /** Share of questions answered first with a record of the same person. */
  firstHit: number;
}

/** Whether `$match` can look for candidates for the record: it needs an identifier, a birth date or a phone. */
export function askable(record: PersonRecord): boolean {
  return !!(record.iin || record.foreignIds?.length || record.birthDate || record.phone);
}

/**
 * Questions from a labelled set: each person's first record is the one stored; a later one (a
 * duplicate registration, without its id) is asked about, up to `count` of them.
 */
export function matchQuestions(set: IdentityEvaluationSet, count: number): MatchQuestion[] {
  const first = new Map<number, string>();
  const questions: MatchQuestion[] = [];
  set.records.forEach((record, i) => {
    const person = set.personOf[i]!;
    const stored = first.get(person);
    if (stored === undefined) first.set(person, record.id);
    else if (questions.length < count && askable(record)) {
      const { id: _id, ...patient } = patientFromRecord(record);
      questions.push({ patient, isSamePerson: (id) => id === stored });
    }
  });
  return questions;
}

/**
 * `Patient/$match` asked one question at a time through the operation's handler and the
 * repository, in process (no HTTP): the operation and its database work. The first 20 are a
 * warm-up and not counted.
 */
export async function measureMatch(repo: Repository, questions: readonly MatchQuestion[]): Promise<MatchLatency> {
  // Who asks is the repository's access; this only names the caller in the operation's context.
  const access: AccessContext = { role: 'platform', subject: 'bench', clientId: 'bench', scopes: [], purposeOfUse: 'HOPERAT' };
  const context = { repo, access, baseUrl: 'http://bench/fhir', maxBundleEntries: 1000 };
  const ask = async (patient: Patient) => {
    const body: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }] };
    return (await matchOperation({ method: 'POST', path: 'Patient/$match', query: [], headers: {}, body }, { type: 'Patient' }, context)).resource as Bundle;
  };
  for (const { patient } of questions.slice(0, 20)) await ask(patient);
  const times: number[] = [];
  let hits = 0;
  for (const { patient, isSamePerson } of questions) {
    const started = performance.now();
    const bundle = await ask(patient);
    times.push(performance.now() - started);
    const first = bundle.entry?.[0]?.resource?.id;
    if (first && isSamePerson(first)) hits++;
  }
  times.sort((a, b) => a - b);
  return { queries: questions.length, p50: percentile(times, 0.5), p95: percentile(times, 0.95), p99: percentile(times, 0.99), firstHit: hits / questions.length };
}
