import type { Encounter, Immunization, Observation, Patient, PractitionerRole, RelatedPerson, Resource } from '@medplum/fhirtypes';
import { type DemoAccount, ensureDemoAccounts, parseScopes, resourceScopes } from '../access/index.js';
import { accessPolicy } from '../access/door.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Database } from '../store/driver.js';
import { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { INFLUENZA, REFERENCE, measuredResult } from './care.js';
import { CATEGORY, ENCOUNTER_CLASS, ENCOUNTER_TYPE, LAB } from './codes.js';
import { DEMO_ACCESSION, type DemoImageStore, seedDemoImages } from './demo-images.js';

/**
 * One demo account per role, tied to the demo population so every screen of the citizen's app
 * has something to show: the citizen is an adult of working age, recorded by the registry as the
 * parent of a child (a RelatedPerson, as the door recognizes legal representation), with a
 * series of one laboratory test over time, immunizations, one open self-declared visit from
 * an organization other than their polyclinic, and (given an image store) a head CT. The clinician is a practitioner of that polyclinic
 * (which the citizen is attached to, so the one door lets the clinician in); the organization
 * administrator is that polyclinic's, who approves the systems acting for it.
 *
 * What the generator did not give the citizen is written here through the store, as its
 * writers would (the self-declared visit by the other organization's clinician), never by the
 * generator: `generate --seed` stays the same bytes.
 */
export async function createDemoAccounts(db: Database, repo: Repository, images?: DemoImageStore): Promise<DemoAccount[]> {
  const search = async <T extends Resource>(type: string, query: [string, string][], count = 1) =>
    (await repo.search(parseSearchRequest(type, [...query, ['_count', String(count)], ['_sort', '_id']]))).entries.map((e) => parseStored<T>(e));
  const adults = await search<Patient>('Patient', [['birthdate', `le${yearsAgo(25)}`], ['birthdate', `ge${yearsAgo(60)}`]], 50);
  const patient = (await richestRecord(adults.filter((p) => polyclinicOf(p)), search)) ?? (await search<Patient>('Patient', []))[0];
  const polyclinic = patient && polyclinicOf(patient);
  const role = (await search<PractitionerRole>('PractitionerRole', polyclinic ? [['organization', `Organization/${polyclinic}`]] : []))[0];
  if (patient?.id && polyclinic) {
    await recordFamily(repo, patient, polyclinic, search);
    await recordLabSeries(repo, patient.id, polyclinic);
    await recordImmunization(repo, patient.id, polyclinic);
    const imaged = async () => (await repo.search(parseSearchRequest('ImagingStudy', [['patient', patient.id!], ['identifier', DEMO_ACCESSION], ['_count', '1']]))).entries.length > 0;
    if (images && !(await imaged())) {
      await seedDemoImages(repo, images, patient, daysAgo(20));
    }
    const visiting = (await search<PractitionerRole>('PractitionerRole', [], 100)).find((r) => r.organization?.reference !== `Organization/${polyclinic}`);
    if (visiting) await recordSelfDeclaredVisit(db, patient.id, visiting);
  }
  return ensureDemoAccounts(db, {
    patientId: patient?.id,
    // The public-health officer covers the demo citizen's region, so notifiable cases there show.
    region: patient?.address?.[0]?.state,
    practitionerId: role?.practitioner?.reference?.split('/')[1],
    organizationId: role?.organization?.reference?.split('/')[1],
  });
}

type Search = <T extends Resource>(type: string, query: [string, string][], count?: number) => Promise<T[]>;

/** What the passport's home screen shows first: the candidate whose record has the most of them, the first by id among equals. */
const HOME_SECTIONS: [string, [string, string][]][] = [
  ['Condition', [['clinical-status', 'active']]],
  ['AllergyIntolerance', []],
  ['MedicationRequest', [['status', 'active']]],
];

async function richestRecord(candidates: Patient[], search: Search): Promise<Patient | undefined> {
  let best: { patient: Patient; score: number } | undefined;
  for (const patient of candidates) {
    let score = 0;
    for (const [type, query] of HOME_SECTIONS) if ((await search(type, [['patient', `Patient/${patient.id}`], ...query])).length > 0) score++;
    if (!best || score > best.score) best = { patient, score };
    if (score === HOME_SECTIONS.length) break;
  }
  return best?.patient;
}

const polyclinicOf = (patient: Patient) => patient.generalPractitioner?.find((r) => r.reference?.startsWith('Organization/'))?.reference?.slice('Organization/'.length);

/** The ISO date `years` years before today. */
function yearsAgo(years: number): string {
  const day = new Date();
  day.setUTCFullYear(day.getUTCFullYear() - years);
  return day.toISOString().slice(0, 10);
}

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The registry's record that the citizen is the parent of a child of the same polyclinic (any child when it has none). */
async function recordFamily(repo: Repository, parent: Patient, polyclinic: string, search: Search): Promise<void> {
  const iin = parent.identifier?.find((i) => i.system === IIN_SYSTEM)?.value;
  if (!iin) return;
  // Young enough to stay a child for years of demos.
  const children: [string, string][] = [['birthdate', `ge${yearsAgo(12)}`], ['birthdate', `le${yearsAgo(2)}`]];
  const child = (await search<Patient>('Patient', [...children, ['general-practitioner', `Organization/${polyclinic}`]]))[0] ?? (await search<Patient>('Patient', children))[0];
  if (!child?.id) return;
  await repo.create({
    resourceType: 'RelatedPerson',
    active: true,
    patient: { reference: `Patient/${child.id}` },
    relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: parent.gender === 'female' ? 'MTH' : 'FTH' }] }],
    identifier: [{ system: IIN_SYSTEM, value: iin }],
    ...(parent.name ? { name: parent.name } : {}),
    ...(parent.gender ? { gender: parent.gender } : {}),
    ...(parent.birthDate ? { birthDate: parent.birthDate } : {}),
  } satisfies RelatedPerson);
}

/** Fasting glucose about every six months, rising into the high range: a trend to chart, unless the record has one already. */
async function recordLabSeries(repo: Repository, patient: string, polyclinic: string): Promise<void> {
  const code = LAB.glucose.coding![0]!;
  const existing = await repo.search(parseSearchRequest('Observation', [['patient', patient], ['code', `${code.system}|${code.code}`], ['_count', '3']]));
  if (existing.entries.length >= 3) return;
  for (const [days, value] of [[720, 5.2], [540, 5.6], [360, 5.9], [180, 6.4], [20, 6.8]] as const) {
    await repo.create({
      resourceType: 'Observation',
      status: 'final',
      category: CATEGORY.laboratory,
      subject: { reference: `Patient/${patient}` },
      effectiveDateTime: daysAgo(days),
      issued: daysAgo(days - 1),
      performer: [{ reference: `Organization/${polyclinic}` }],
      ...measuredResult(LAB.glucose, value, 'mmol/L', REFERENCE.glucose),
    } satisfies Observation);
  }
}

/** This season's influenza vaccination at the polyclinic, unless the record holds immunizations already. */
async function recordImmunization(repo: Repository, patient: string, polyclinic: string): Promise<void> {
  if ((await repo.search(parseSearchRequest('Immunization', [['patient', patient], ['_count', '1']]))).entries.length > 0) return;
  await repo.create({
    resourceType: 'Immunization',
    status: 'completed',
    vaccineCode: INFLUENZA,
    patient: { reference: `Patient/${patient}` },
    occurrenceDateTime: daysAgo(45),
    primarySource: true,
    performer: [{ actor: { reference: `Organization/${polyclinic}` } }],
    protocolApplied: [{ doseNumberPositiveInt: 1 }],
  } satisfies Immunization);
}

/**
 * A visit another organization records about the citizen today, written by that organization's
 * clinician through the door: with no relationship before it, it is self-declared care (told to
 * the citizen, listed for review, open for 24 hours unless confirmed), as a walk-in's would be.
 */
async function recordSelfDeclaredVisit(db: Database, patient: string, visiting: PractitionerRole): Promise<void> {
  const organization = visiting.organization?.reference?.slice('Organization/'.length);
  if (!organization) return;
  const clinician = new Repository(
    db,
    accessPolicy({
      role: 'clinician',
      subject: 'demo-visiting-clinician',
      clientId: 'densaulyq-demo',
      organization,
      ...(visiting.practitioner?.reference ? { fhirUser: visiting.practitioner.reference } : {}),
      scopes: resourceScopes(parseScopes('user/Encounter.cruds')),
      purposeOfUse: 'TREAT',
    }),
  );
  await clinician.create({
    resourceType: 'Encounter',
    status: 'in-progress',
    class: ENCOUNTER_CLASS.AMB,
    type: ENCOUNTER_TYPE.problem,
    subject: { reference: `Patient/${patient}` },
    serviceProvider: { reference: `Organization/${organization}` },
    ...(visiting.practitioner ? { participant: [{ individual: visiting.practitioner }] } : {}),
    period: { start: daysAgo(0) },
  } satisfies Encounter);
}
