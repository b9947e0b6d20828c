/**
 * The small world the access tests (authorization matrix, leaks, consent and break-glass) run
 * against: three organizations and a dozen patients, each in one care relationship (or none) with
 * organization A, written once per test file through the FHIR API — by the all-seeing
 * administrator, except the items whose author matters, which the organizations' own clinicians
 * write so that the store records them as their author.
 *
 *   P1  attached to A (generalPractitioner), lives in Астана, the citizen whose children we test
 *   P2  attached to B, with an ACTIVE (in-progress) Encounter at A: A reaches P2 by encounter
 *   P3  attached to B only; a FINISHED Encounter at A (no relationship); the patient A must not see
 *   P4  an active EpisodeOfCare managed by A
 *   P5  an active ServiceRequest (referral) performed by C
 *   P6  attached to A and B, a Consent denying Organization/A
 *   P7  attached to A, a Consent hiding the HIV label; an HIV-labelled Observation by A and one by B
 *   K   a child (under 18) with a RelatedPerson (MTH) naming P1's IIN: P1's dependant
 *   A18 an adult with the same kind of RelatedPerson naming P1: NOT a dependant
 *   T1  tuberculosis (ICD-10 A15.0) and hypertension, lives in Астана
 *   T2  tuberculosis, lives in Алматы
 *   W1  a walk-in patient nobody reaches (writes only)
 */
import assert from 'node:assert/strict';
import { buildIin } from '../../src/identity/iin.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { addUser } from '../../src/access/users.js';
import { mintAccessToken } from '../../src/access/tokens.js';
import { TEST_AUDIENCE, TEST_ISSUER, type FhirReply, type TestServer } from '../support/server.js';

export const V3_ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const LOINC = 'http://loinc.org';
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
export const LOCAL_CODES = 'http://densaulyq.test/codes';
/** The identifiers the world's Observations carry, for conditional operations. */
export const OBSERVATION_IDS = 'http://densaulyq.test/observation-id';

/** A valid IIN (src/identity/iin.ts) for a birth date and sex; serials are tried until one has a check digit. */
export function iin(birthDate: string, sex: 'male' | 'female', serial: number): string {
  for (let s = serial; s < serial + 50; s++) {
    const value = buildIin({ birthDate, sex, serial: s });
    if (value) return value;
  }
  throw new Error(`no IIN for ${birthDate}`);
}

/** An ISO date `years` years (and a few days) before today, so ages do not drift as the calendar does. */
function yearsAgo(years: number, days = 0): string {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

export const ORG = { A: 'org-a', B: 'org-b', C: 'org-c', X: 'org-x' } as const;

export const PATIENT = {
  p1: 'p1',
  p2: 'p2',
  p3: 'p3',
  p4: 'p4',
  p5: 'p5',
  p6: 'p6',
  p7: 'p7',
  k: 'k',
  a18: 'a18',
  t1: 't1',
  t2: 't2',
  w1: 'w1',
} as const;
export type PatientKey = keyof typeof PATIENT;

/** Each patient's relationship to the world, for test names. */
export const STORY: Record<PatientKey, string> = {
  p1: 'P1 attached to A',
  p2: 'P2 attached to B, active encounter at A',
  p3: 'P3 attached to B, finished encounter at A',
  p4: 'P4 active episode of care at A',
  p5: 'P5 active referral to C',
  p6: 'P6 attached to A+B, Consent denies A',
  p7: 'P7 attached to A, Consent hides HIV',
  k: 'K child (MTH RelatedPerson names P1)',
  a18: 'A18 adult (MTH RelatedPerson names P1)',
  t1: 'T1 tuberculosis, Астана',
  t2: 'T2 tuberculosis, Алматы',
  w1: 'W1 walk-in, no relationship',
};

const BIRTH: Record<PatientKey, string> = {
  p1: '1980-03-04',
  p2: '1985-06-07',
  p3: '1979-11-12',
  p4: '1990-01-15',
  p5: '1970-09-09',
  p6: '1988-02-20',
  p7: '1992-07-30',
  k: yearsAgo(9),
  a18: yearsAgo(19, 10),
  t1: '1965-04-04',
  t2: '1966-05-05',
  w1: '2001-01-01',
};

const SEX: Record<PatientKey, 'male' | 'female'> = {
  p1: 'male',
  p2: 'female',
  p3: 'female',
  p4: 'male',
  p5: 'male',
  p6: 'female',
  p7: 'male',
  k: 'female',
  a18: 'male',
  t1: 'male',
  t2: 'female',
  w1: 'male',
};

/** Names unique in the world, so a chained search on one can match one patient only. */
export const FAMILY: Record<PatientKey, string> = {
  p1: 'Абенов',
  p2: 'Бекова',
  p3: 'Жаркынбекова',
  p4: 'Гафуров',
  p5: 'Даулетов',
  p6: 'Ермекова',
  p7: 'Жумабаев',
  k: 'Абенова',
  a18: 'Абенулы',
  t1: 'Касымов',
  t2: 'Лесова',
  w1: 'Муратов',
};

export const IIN: Record<PatientKey, string> = Object.fromEntries(
  (Object.keys(PATIENT) as PatientKey[]).map((key, i) => [key, iin(BIRTH[key], SEX[key], 100 + i * 7)]),
) as Record<PatientKey, string>;

/** The code only P3's Observation carries (the `_has` probes), and the code every other patient's has. */
export const P3_ONLY_CODE = 'X-P3-ONLY';
export const COMMON_CODE = '8867-4';
export const HIV_CODE = '25836-8';
export const HIV_LABEL = { system: V3_ACT_CODE, code: 'HIV' };

/** The ids of what the world holds; those the organizations' clinicians created are assigned by the server. */
export interface World {
  /** `Observation/obs-p1`, … one plain Observation per patient (P3's with P3_ONLY_CODE). */
  obs: Record<PatientKey, string>;
  /** An Observation of P1 created by clinician A (author Organization/A). */
  obsP1ByA: string;
  /** An Observation of P1 created by clinician A to be deleted by the matrix. */
  obsP1ByADelete: string;
  /** HIV-labelled Observations of P7, authored by A and by B. */
  obsP7HivA: string;
  obsP7HivB: string;
  /** B's Encounter of P7 (in progress while B wrote, finished since). */
  encP7ByB: string;
  /** A Binary and a List (no subject) written by clinician A; a List written by the administrator. */
  binaryA: string;
  listA: string;
  listAdmin: string;
}

export const FIXED = {
  encP2: 'enc-p2',
  encP3: 'enc-p3',
  encP7: 'enc-p7',
  eocP4: 'eoc-p4',
  srP5: 'sr-p5',
  consentP6: 'consent-p6',
  consentP7: 'consent-p7',
  rpK: 'rp-k',
  rpA18: 'rp-a18',
  condP1: 'cond-p1',
  condP3: 'cond-p3',
  condT1Tb: 'cond-t1-tb',
  condT1Htn: 'cond-t1-htn',
  condT2Tb: 'cond-t2-tb',
  devP3: 'dev-p3',
  prA: 'pr-a',
  prB: 'pr-b',
  med: 'med-1',
} as const;

export type Actor =
  | 'clinicianA'
  | 'clinicianB'
  | 'clinicianC'
  | 'systemA'
  | 'citizenP1'
  | 'smartP1'
  | 'citizenP3'
  | 'publicHealth'
  | 'analyst'
  | 'adminNoClinical'
  | 'adminClinical'
  | 'observationsOnly'
  | 'noOrganization'
  | 'expired'
  | 'revoked'
  | 'anonymous';

export const ACTORS: Record<Actor, string> = {
  clinicianA: 'clinician of A',
  clinicianB: 'clinician of B',
  clinicianC: 'clinician of C',
  systemA: 'system client of A',
  citizenP1: 'citizen P1',
  smartP1: 'citizen P1 via SMART app (patient/*.rs, launch P1)',
  citizenP3: 'citizen P3',
  publicHealth: 'public-health officer (Астана)',
  analyst: 'analyst',
  adminNoClinical: 'administrator without clinical access',
  adminClinical: 'administrator with clinical access',
  observationsOnly: 'clinician of A with only user/Observation.rs',
  noOrganization: 'clinician acting for no organization',
  expired: 'expired token',
  revoked: 'revoked token',
  anonymous: 'no token',
};

/** `Authorization` header values per actor (`''` for none). */
export type Tokens = Record<Actor, string>;

const observation = (id: string, patient: string, code = COMMON_CODE, extra: object = {}) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  identifier: [{ system: OBSERVATION_IDS, value: id }],
  code: { coding: [{ system: code === COMMON_CODE || code === HIV_CODE ? LOINC : LOCAL_CODES, code }] },
  subject: { reference: `Patient/${patient}` },
  valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  ...extra,
});

const condition = (id: string, patient: string, system: string, code: string) => ({
  resourceType: 'Condition',
  id,
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system, code }] },
  subject: { reference: `Patient/${patient}` },
});

const encounter = (id: string | undefined, patient: string, organization: string, status: string, extra: object = {}) => ({
  resourceType: 'Encounter',
  ...(id ? { id } : {}),
  status,
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: `Patient/${patient}` },
  serviceProvider: { reference: `Organization/${organization}` },
  ...extra,
});

const consentBase = (id: string, patient: string) => ({
  resourceType: 'Consent',
  id,
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: LOINC, code: '59284-0' }] }],
  patient: { reference: `Patient/${patient}` },
  policyRule: { coding: [{ system: V3_ACT_CODE, code: 'OPTIN' }] },
});

/** P6's Consent: deny Organization/A (nested deny provision under a permit). */
export function denyOrganizationConsent(id: string, patient: string, organization: string, status = 'active') {
  return {
    ...consentBase(id, patient),
    status,
    provision: {
      type: 'permit',
      provision: [
        {
          type: 'deny',
          actor: [
            {
              role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
              reference: { reference: `Organization/${organization}` },
            },
          ],
        },
      ],
    },
  };
}

/** P7's Consent: hide the items labelled `label` (v3-ActCode). */
export function hideLabelConsent(id: string, patient: string, label = 'HIV', status = 'active') {
  return {
    ...consentBase(id, patient),
    status,
    provision: { type: 'permit', provision: [{ type: 'deny', securityLabel: [{ system: V3_ACT_CODE, code: label }] }] },
  };
}

function relatedPerson(id: string, child: string, parentIin: string) {
  return {
    resourceType: 'RelatedPerson',
    id,
    active: true,
    patient: { reference: `Patient/${child}` },
    relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }],
    identifier: [{ system: IIN_SYSTEM, value: parentIin }],
    name: [{ family: FAMILY.p1 }],
  };
}

function patient(key: PatientKey, extra: object = {}) {
  return {
    resourceType: 'Patient',
    id: PATIENT[key],
    identifier: [{ system: IIN_SYSTEM, value: IIN[key] }],
    name: [{ family: FAMILY[key], given: ['Тест'] }],
    gender: SEX[key],
    birthDate: BIRTH[key],
    ...extra,
  };
}

const gp = (...orgs: string[]) => ({ generalPractitioner: orgs.map((o) => ({ reference: `Organization/${o}` })) });
const region = (state: string) => ({ address: [{ city: state, state }] });

export function bearer(token: string): Record<string, string> {
  return { authorization: token ? `Bearer ${token}` : '' };
}

/** Fails loudly when a world write does not succeed: a broken fixture must not pass as a denial. */
async function ok(reply: Promise<FhirReply>, what: string): Promise<FhirReply> {
  const r = await reply;
  assert.ok(r.status === 200 || r.status === 201, `world: ${what} → ${r.status} ${r.text}`);
  return r;
}

/** Tokens of every actor; the accounts the administrators' grants are read from are created here. */
export async function tokens(server: TestServer): Promise<Tokens> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const adminPlain = await addUser(server.db, { username: `admin-plain-${suffix}`, role: 'administrator' });
  const adminClinical = await addUser(server.db, { username: `admin-clinical-${suffix}`, role: 'administrator', clinicalAccess: true });
  const user = 'user/*.cruds';
  const expired = await mintAccessToken(
    server.db,
    { sub: adminClinical.id, client_id: 'test-app', scope: user, role: 'administrator' },
    { issuer: TEST_ISSUER, fhirBaseUrl: TEST_AUDIENCE, ttlSeconds: -120 },
  );
  const revoked = await mintAccessToken(
    server.db,
    { sub: 'clinician-a', client_id: 'mis-a', scope: user, role: 'clinician', organization: ORG.A, fhirUser: `Practitioner/${FIXED.prA}` },
    { issuer: TEST_ISSUER, fhirBaseUrl: TEST_AUDIENCE },
  );
  await server.db.query(`DELETE FROM oauth_payload WHERE kind = 'IssuedAccessToken' AND id = $1`, [revoked.claims.jti]);
  return {
    clinicianA: await server.token({ sub: 'clinician-a', client_id: 'mis-a', scope: user, role: 'clinician', organization: ORG.A, fhirUser: `Practitioner/${FIXED.prA}` }),
    clinicianB: await server.token({ sub: 'clinician-b', client_id: 'mis-b', scope: user, role: 'clinician', organization: ORG.B, fhirUser: `Practitioner/${FIXED.prB}` }),
    clinicianC: await server.token({ sub: 'clinician-c', client_id: 'mis-c', scope: user, role: 'clinician', organization: ORG.C }),
    systemA: await server.token({ sub: 'system-a', client_id: 'system-a', scope: 'system/*.cruds', role: 'system', organization: ORG.A }),
    citizenP1: await server.token({ sub: 'citizen-p1', client_id: 'egov-app', scope: user, role: 'citizen', fhirUser: `Patient/${PATIENT.p1}` }),
    smartP1: await server.token({
      sub: 'citizen-p1',
      client_id: 'smart-app',
      scope: 'launch/patient patient/*.rs',
      role: 'citizen',
      fhirUser: `Patient/${PATIENT.p1}`,
      patient: PATIENT.p1,
    }),
    citizenP3: await server.token({ sub: 'citizen-p3', client_id: 'egov-app', scope: user, role: 'citizen', fhirUser: `Patient/${PATIENT.p3}` }),
    publicHealth: await server.token({ sub: 'officer-astana', client_id: 'ph-app', scope: 'user/*.rs', role: 'public-health', region: 'Астана' }),
    analyst: await server.token({ sub: 'analyst-1', client_id: 'stats-app', scope: 'user/*.rs', role: 'analyst' }),
    adminNoClinical: await server.token({ sub: adminPlain.id, client_id: 'admin-console', scope: user, role: 'administrator' }),
    adminClinical: await server.token({ sub: adminClinical.id, client_id: 'admin-console', scope: user, role: 'administrator' }),
    observationsOnly: await server.token({ sub: 'clinician-a2', client_id: 'mis-a', scope: 'user/Observation.rs', role: 'clinician', organization: ORG.A }),
    noOrganization: await server.token({ sub: 'clinician-unattached', client_id: 'mis-x', scope: user, role: 'clinician', fhirUser: `Practitioner/${FIXED.prB}` }),
    expired: expired.access_token,
    revoked: revoked.access_token,
    anonymous: '',
  };
}

/** Writes the world through the API; returns the ids the server assigned. */
export async function buildWorld(server: TestServer, t: Tokens): Promise<World> {
  const put = (resource: { resourceType: string; id: string }) => ok(server.fhir('PUT', `${resource.resourceType}/${resource.id}`, resource), `PUT ${resource.resourceType}/${resource.id}`);
  const post = async (actor: Actor, resource: { resourceType: string }) =>
    (await ok(server.fhir('POST', resource.resourceType, resource, bearer(t[actor])), `${actor} POST ${resource.resourceType}`)).body.id as string;

  for (const [key, id] of Object.entries(ORG)) await put({ resourceType: 'Organization', id, name: `Organization ${key}`, active: true } as never);
  await put({ resourceType: 'Practitioner', id: FIXED.prA, name: [{ family: 'Врачова' }] } as never);
  await put({ resourceType: 'Practitioner', id: FIXED.prB, name: [{ family: 'Докторов' }] } as never);
  await put({ resourceType: 'Medication', id: FIXED.med, code: { text: 'Paracetamol 500 mg' } } as never);

  await put(patient('p1', { ...gp(ORG.A), ...region('Астана') }));
  await put(patient('p2', gp(ORG.B)));
  await put(patient('p3', gp(ORG.B)));
  await put(patient('p4'));
  await put(patient('p5'));
  await put(patient('p6', gp(ORG.A, ORG.B)));
  await put(patient('p7', gp(ORG.A)));
  await put(patient('k', gp(ORG.B)));
  await put(patient('a18', gp(ORG.B)));
  await put(patient('t1', { ...gp(ORG.B), ...region('Астана') }));
  await put(patient('t2', { ...gp(ORG.B), ...region('Алматы') }));
  await put(patient('w1'));

  const obs = Object.fromEntries((Object.keys(PATIENT) as PatientKey[]).map((key) => [key, `obs-${key}`])) as Record<PatientKey, string>;
  for (const key of Object.keys(PATIENT) as PatientKey[]) {
    if (key === 'w1') continue;
    // P1's Observation was derived from P3's: an _include must not follow that reference.
    const extra = key === 'p1' ? { derivedFrom: [{ reference: `Observation/${obs.p3}` }] } : {};
    await put(observation(obs[key], PATIENT[key], key === 'p3' ? P3_ONLY_CODE : COMMON_CODE, extra));
  }

  await put(encounter(FIXED.encP2, PATIENT.p2, ORG.A, 'in-progress', { reasonReference: [{ reference: `Condition/${FIXED.condP3}` }] }) as never);
  await put(encounter(FIXED.encP3, PATIENT.p3, ORG.A, 'finished') as never);
  await put({
    resourceType: 'EpisodeOfCare',
    id: FIXED.eocP4,
    status: 'active',
    patient: { reference: `Patient/${PATIENT.p4}` },
    managingOrganization: { reference: `Organization/${ORG.A}` },
  } as never);
  await put({
    resourceType: 'ServiceRequest',
    id: FIXED.srP5,
    status: 'active',
    intent: 'order',
    code: { text: 'Cardiology referral' },
    subject: { reference: `Patient/${PATIENT.p5}` },
    requester: { reference: `Practitioner/${FIXED.prB}` },
    performer: [{ reference: `Organization/${ORG.C}` }],
  } as never);
  await put(relatedPerson(FIXED.rpK, PATIENT.k, IIN.p1));
  await put(relatedPerson(FIXED.rpA18, PATIENT.a18, IIN.p1));

  await put(condition(FIXED.condP1, PATIENT.p1, ICD10, 'I10') as never);
  await put(condition(FIXED.condP3, PATIENT.p3, LOCAL_CODES, 'X-P3-CONDITION') as never);
  await put(condition(FIXED.condT1Tb, PATIENT.t1, ICD10, 'A15.0') as never);
  await put(condition(FIXED.condT1Htn, PATIENT.t1, ICD10, 'I10') as never);
  await put(condition(FIXED.condT2Tb, PATIENT.t2, ICD10, 'A15.0') as never);
  await put({ resourceType: 'Device', id: FIXED.devP3, patient: { reference: `Patient/${PATIENT.p3}` }, deviceName: [{ name: 'Implanted cardiac pacemaker', type: 'user-friendly-name' }] } as never);

  // Authored items: clinician A writes for P1 and P7; B opens an encounter with P7 to write its
  // HIV result, and that encounter is finished afterwards (B keeps no relationship with P7).
  const obsP1ByA = await post('clinicianA', observation('ignored', PATIENT.p1, COMMON_CODE, { identifier: [{ system: OBSERVATION_IDS, value: 'obs-p1-by-a' }] }));
  const obsP1ByADelete = await post('clinicianA', observation('ignored', PATIENT.p1, 'to-delete', { identifier: [{ system: OBSERVATION_IDS, value: 'obs-p1-by-a-delete' }] }));
  const hiv = { meta: { security: [HIV_LABEL] } };
  const obsP7HivA = await post('clinicianA', observation('ignored', PATIENT.p7, HIV_CODE, { ...hiv, identifier: [{ system: OBSERVATION_IDS, value: 'obs-p7-hiv-a' }] }));
  const encP7ByB = await post('clinicianB', encounter(undefined, PATIENT.p7, ORG.B, 'in-progress'));
  const obsP7HivB = await post('clinicianB', observation('ignored', PATIENT.p7, HIV_CODE, { ...hiv, identifier: [{ system: OBSERVATION_IDS, value: 'obs-p7-hiv-b' }] }));
  await put(encounter(encP7ByB, PATIENT.p7, ORG.B, 'finished') as { resourceType: string; id: string });
  // A's finished encounter with P7, whose reason is B's hidden HIV result (an _include target).
  await put(encounter(FIXED.encP7, PATIENT.p7, ORG.A, 'finished', { reasonReference: [{ reference: `Observation/${obsP7HivB}` }] }) as never);

  await put(denyOrganizationConsent(FIXED.consentP6, PATIENT.p6, ORG.A));
  await put(hideLabelConsent(FIXED.consentP7, PATIENT.p7));

  const binaryA = await post('clinicianA', { resourceType: 'Binary', contentType: 'text/plain', data: Buffer.from('referral letter').toString('base64') } as never);
  const items = [{ item: { reference: `Observation/${obs.p1}` } }, { item: { reference: `Observation/${obs.p3}` } }];
  const listA = await post('clinicianA', { resourceType: 'List', status: 'current', mode: 'working', title: 'A worklist', entry: items } as never);
  await put({ resourceType: 'List', id: 'list-admin', status: 'current', mode: 'working', title: 'Admin list', entry: items } as never);

  return { obs, obsP1ByA, obsP1ByADelete, obsP7HivA, obsP7HivB, encP7ByB, binaryA, listA, listAdmin: 'list-admin' };
}

/** `Type/id` of a Bundle's entries (matches and includes), sorted. */
export function entryRefs(bundle: { entry?: { resource?: { resourceType: string; id: string }; fullUrl?: string; search?: { mode?: string } }[] } | undefined): string[] {
  return (bundle?.entry ?? [])
    .filter((e) => e.resource?.resourceType !== 'OperationOutcome' && e.search?.mode !== 'outcome')
    .map((e) => (e.resource ? `${e.resource.resourceType}/${e.resource.id}` : (e.fullUrl ?? '').split('/').slice(-2).join('/')))
    .sort();
}

/** The path below the FHIR base of an absolute URL the server gave (`Content-Location`, manifest `url`). */
export function relativePath(url: string): string {
  return url.slice(url.indexOf('/fhir/') + '/fhir/'.length);
}

export interface ExportOutcome {
  /** The status URL's path, for probing it as someone else. */
  statusPath: string;
  /** The output files' paths. */
  outputPaths: string[];
  /** `Type/id` of every exported resource, sorted. */
  refs: string[];
}

/** Follows an export job from its kick-off reply to its files, as `headers` (the kick-off's caller). */
export async function finishExport(server: TestServer, kickOff: FhirReply, headers: Record<string, string>): Promise<ExportOutcome> {
  assert.equal(kickOff.status, 202, kickOff.text);
  const statusPath = relativePath(kickOff.headers.get('content-location') ?? '');
  for (let attempt = 0; attempt < 400; attempt++) {
    const status = await server.fhir('GET', statusPath, undefined, headers);
    if (status.status === 202) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      continue;
    }
    assert.equal(status.status, 200, `export status: ${status.text}`);
    const outputPaths = (status.body.output as { url: string }[]).map((o) => relativePath(o.url));
    const refs: string[] = [];
    for (const path of outputPaths) {
      const file = await server.fhir('GET', path, undefined, headers);
      assert.equal(file.status, 200, file.text);
      for (const line of file.text.split('\n').filter(Boolean)) {
        const resource = JSON.parse(line) as { resourceType: string; id: string };
        refs.push(`${resource.resourceType}/${resource.id}`);
      }
    }
    return { statusPath, outputPaths, refs: refs.sort() };
  }
  throw new Error(`export ${statusPath} did not finish`);
}

/** A well-formed AuditEvent (so only the rule, not validation, can refuse it) claiming a read of P3's record. */
export function forgedAuditEvent(id?: string) {
  return {
    resourceType: 'AuditEvent',
    ...(id ? { id } : {}),
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action: 'R',
    recorded: '2026-01-01T00:00:00Z',
    outcome: '0',
    agent: [{ who: { display: 'someone else' }, requestor: true }],
    source: { observer: { display: 'densaulyq' } },
    entity: [{ what: { reference: `Patient/${PATIENT.p3}` } }],
  };
}
