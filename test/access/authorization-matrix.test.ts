/**
 * The authorization matrix (issue 5, item 8; issue 10, item 10): roles × interactions × care
 * relationship (kind, verified or self-declared) × consent,
 * each case one request with the status it must get and, for searches, the exact set of
 * resources it must return. The expectations are written out here as data — who sees what in
 * the world of ./world.ts — not derived from the door's code, so a change to the rules shows up
 * as a named failing case ("clinician of A · read Observation/obs-p6 (P6 … Consent denies A) → 404").
 *
 * Reads and searches come first, writes last (they add resources), so every search's expected
 * set is the world as built.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import {
  ACTORS,
  type Actor,
  type PatientKey,
  FIXED,
  HIV_LABEL,
  IIN,
  LOCAL_CODES,
  OBSERVATION_IDS,
  ORG,
  STORY,
  type Tokens,
  type World,
  bearer,
  buildWorld,
  entryRefs,
  finishExport,
  forgedAuditEvent,
  tokens,
} from './world.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';

type Status = number | readonly number[];

interface Case {
  name: string;
  actor: Actor;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below the FHIR base; `{obsP1ByA}` and the like are replaced by the world's server-assigned ids. */
  path: string;
  body?: object;
  headers?: Record<string, string>;
  status: Status;
  /** For Bundles: exactly these `Type/id` (matches and includes). */
  ids?: readonly string[];
  /** For export kick-offs: the job's files hold exactly these `Type/id`. */
  exported?: readonly string[];
  check?: (reply: FhirReply, world: World) => void;
}

// ---------------------------------------------------------------------------------------------
// The world, as references (placeholders for the ids the server assigned)
// ---------------------------------------------------------------------------------------------

const P = (key: PatientKey) => `Patient/${key}`;
const O = (key: PatientKey) => `Observation/obs-${key}`;
const OBS_P1_BY_A = 'Observation/{obsP1ByA}';
const OBS_P1_BY_A_DELETE = 'Observation/{obsP1ByADelete}';
const OBS_P7_HIV_A = 'Observation/{obsP7HivA}';
const OBS_P7_HIV_B = 'Observation/{obsP7HivB}';
const ENC_P7_BY_B = 'Encounter/{encP7ByB}';
const BINARY_A = 'Binary/{binaryA}';
const LIST_A = 'List/{listA}';
const LIST_ADMIN = 'List/list-admin';

const PATIENTS: PatientKey[] = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'k', 'a18', 't1', 't2', 'w1'];
const PUBLIC = ['Organization/org-a', 'Organization/org-b', 'Organization/org-c', 'Organization/org-x', `Practitioner/${FIXED.prA}`, `Practitioner/${FIXED.prB}`, `Medication/${FIXED.med}`, `Device/${FIXED.devP3}`];

/** Every resource of the world, and what each is, for case names. */
const LABEL: Record<string, string> = {
  ...Object.fromEntries(PATIENTS.map((k) => [P(k), STORY[k]])),
  ...Object.fromEntries(PATIENTS.filter((k) => k !== 'w1').map((k) => [O(k), STORY[k]])),
  [OBS_P1_BY_A]: `${STORY.p1}, written by A`,
  [OBS_P1_BY_A_DELETE]: `${STORY.p1}, written by A`,
  [OBS_P7_HIV_A]: `${STORY.p7}; HIV-labelled, written by A`,
  [OBS_P7_HIV_B]: `${STORY.p7}; HIV-labelled, written by B`,
  [`Condition/${FIXED.condP1}`]: STORY.p1,
  [`Condition/${FIXED.condP3}`]: STORY.p3,
  [`Condition/${FIXED.condT1Tb}`]: `${STORY.t1}: the notifiable condition`,
  [`Condition/${FIXED.condT1Htn}`]: `${STORY.t1}: hypertension, not notifiable`,
  [`Condition/${FIXED.condT2Tb}`]: STORY.t2,
  [`Encounter/${FIXED.encP2}`]: `${STORY.p2}: that encounter`,
  [`Encounter/${FIXED.encP3}`]: `${STORY.p3}: that encounter`,
  [`Encounter/${FIXED.encP7}`]: `${STORY.p7}: A's finished encounter`,
  [ENC_P7_BY_B]: `${STORY.p7}: B's finished encounter`,
  [`EpisodeOfCare/${FIXED.eocP4}`]: STORY.p4,
  [`ServiceRequest/${FIXED.srP5}`]: STORY.p5,
  [`Consent/${FIXED.consentP6}`]: `${STORY.p6}: the Consent`,
  [`Consent/${FIXED.consentP7}`]: `${STORY.p7}: the Consent`,
  [`RelatedPerson/${FIXED.rpK}`]: `${STORY.k}: the RelatedPerson`,
  [`RelatedPerson/${FIXED.rpA18}`]: `${STORY.a18}: the RelatedPerson`,
  [BINARY_A]: 'Binary written by A',
  [LIST_A]: 'List without subject written by A',
  [LIST_ADMIN]: 'List without subject written by the administrator',
  ...Object.fromEntries(PUBLIC.map((ref) => [ref, 'outside any compartment'])),
};
const WORLD_REFS = Object.keys(LABEL);
const typeOf = (ref: string) => ref.split('/')[0]!;

/** Actors that get past authentication. */
const SIGNED_IN = [
  'clinicianA',
  'clinicianB',
  'clinicianC',
  'systemA',
  'citizenP1',
  'smartP1',
  'citizenP3',
  'publicHealth',
  'analyst',
  'adminNoClinical',
  'adminClinical',
  'observationsOnly',
  'noOrganization',
] as const satisfies readonly Actor[];
type SignedIn = (typeof SIGNED_IN)[number];

const A_SEES = [
  P('p1'), P('p2'), P('p4'), P('p7'),
  O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE, O('p2'), O('p4'), O('p7'), OBS_P7_HIV_A,
  `Condition/${FIXED.condP1}`,
  `Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`, ENC_P7_BY_B,
  `EpisodeOfCare/${FIXED.eocP4}`,
  // Not P7's Consent: that it hides HIV says something about HIV, so it is hidden like what it hides.
  BINARY_A, LIST_A,
];

/**
 * What each signed-in actor sees of the world's patient data and private resources; everyone
 * but the analyst also sees the resources outside any compartment (PUBLIC).
 */
const SEES: Record<SignedIn, readonly string[]> = {
  clinicianA: A_SEES,
  systemA: A_SEES,
  clinicianB: [
    P('p2'), P('p3'), P('p6'), P('k'), P('a18'), P('t1'), P('t2'),
    O('p2'), O('p3'), O('p6'), O('k'), O('a18'), O('t1'), O('t2'),
    `Condition/${FIXED.condP3}`, `Condition/${FIXED.condT1Tb}`, `Condition/${FIXED.condT1Htn}`, `Condition/${FIXED.condT2Tb}`,
    `Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP3}`,
    `Consent/${FIXED.consentP6}`,
    `RelatedPerson/${FIXED.rpK}`, `RelatedPerson/${FIXED.rpA18}`,
  ],
  clinicianC: [P('p5'), O('p5'), `ServiceRequest/${FIXED.srP5}`],
  citizenP1: [P('p1'), P('k'), O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE, O('k'), `Condition/${FIXED.condP1}`, `RelatedPerson/${FIXED.rpK}`],
  smartP1: [P('p1'), O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE, `Condition/${FIXED.condP1}`],
  citizenP3: [P('p3'), O('p3'), `Condition/${FIXED.condP3}`, `Encounter/${FIXED.encP3}`],
  publicHealth: [P('t1'), `Condition/${FIXED.condT1Tb}`],
  analyst: [],
  adminNoClinical: [],
  adminClinical: WORLD_REFS.filter((ref) => !PUBLIC.includes(ref)),
  observationsOnly: A_SEES.filter((ref) => typeOf(ref) === 'Observation'),
  noOrganization: [],
};

/** Why an actor is refused a type outright (403), if it is. */
function refusal(actor: SignedIn, type: string): string | undefined {
  if (actor === 'analyst') return 'an analyst reads no resource';
  if (actor === 'observationsOnly' && type !== 'Observation') return 'no scope for ' + type;
  return undefined;
}

function sees(actor: SignedIn, ref: string): boolean {
  return PUBLIC.includes(ref) || SEES[actor].includes(ref);
}

const statusText = (status: Status) => [status].flat().join('/');

function named(actor: Actor, what: string, status: Status): string {
  return `${ACTORS[actor]} · ${what} → ${statusText(status)}`;
}

// ---------------------------------------------------------------------------------------------
// Reads and searches over the whole world, generated from SEES
// ---------------------------------------------------------------------------------------------

/** Read targets: every world resource but the directory entries the other cases cover. */
const READ_TARGETS = WORLD_REFS.filter((ref) => !['Organization/org-b', 'Organization/org-c', 'Organization/org-x', `Practitioner/${FIXED.prB}`, `Device/${FIXED.devP3}`].includes(ref));

const readGrid: Case[] = SIGNED_IN.flatMap((actor) =>
  READ_TARGETS.map((ref): Case => {
    const refused = refusal(actor, typeOf(ref));
    const status = refused ? 403 : sees(actor, ref) ? 200 : 404;
    const why = refused ?? (status === 200 ? 'visible' : 'not visible');
    return { name: named(actor, `read ${ref} [${LABEL[ref]}] (${why})`, status), actor, method: 'GET', path: ref, status };
  }),
);

const SEARCH_TYPES = ['Patient', 'Observation', 'Condition', 'Encounter', 'EpisodeOfCare', 'ServiceRequest', 'Consent', 'RelatedPerson', 'List', 'Binary'];

const searchGrid: Case[] = SIGNED_IN.flatMap((actor) =>
  SEARCH_TYPES.map((type): Case => {
    const refused = refusal(actor, type);
    const ids = WORLD_REFS.filter((ref) => typeOf(ref) === type && sees(actor, ref));
    if (refused) return { name: named(actor, `search ${type} (${refused})`, 403), actor, method: 'GET', path: `${type}?_count=1000`, status: 403 };
    return {
      name: named(actor, `search ${type} returns exactly [${ids.join(', ') || 'nothing'}]`, 200),
      actor,
      method: 'GET',
      path: `${type}?_count=1000&_total=accurate`,
      status: 200,
      ids,
      check: (reply) => assert.equal(reply.body.total, ids.length, '_total counts the visible matches only'),
    };
  }),
);

// ---------------------------------------------------------------------------------------------
// Hand-written cases: other interactions
// ---------------------------------------------------------------------------------------------

const get = (actor: Actor, what: string, path: string, status: Status, extra: Partial<Case> = {}): Case => ({
  name: named(actor, what, status),
  actor,
  method: 'GET',
  path,
  status,
  ...extra,
});

const send = (actor: Actor, what: string, method: Case['method'], path: string, body: object | undefined, status: Status, extra: Partial<Case> = {}): Case => ({
  name: named(actor, what, status),
  actor,
  method,
  path,
  ...(body ? { body } : {}),
  status,
  ...extra,
});

const vreads: Case[] = [
  get('clinicianA', `vread ${O('p1')} [${STORY.p1}]`, `${O('p1')}/_history/1`, 200),
  get('clinicianA', `vread ${O('p3')} [${STORY.p3}]`, `${O('p3')}/_history/1`, 404),
  get('clinicianA', `vread ${P('p6')} [${STORY.p6}]`, `${P('p6')}/_history/1`, 404),
  get('clinicianA', `vread ${OBS_P7_HIV_A} [hidden label, own author]`, `${OBS_P7_HIV_A}/_history/1`, 200),
  get('clinicianA', `vread ${OBS_P7_HIV_B} [hidden label, other author]`, `${OBS_P7_HIV_B}/_history/1`, 404),
  get('clinicianA', `vread ${ENC_P7_BY_B} version 1 [B's encounter of A's patient]`, `${ENC_P7_BY_B}/_history/1`, 200),
  get('clinicianB', `vread ${O('p3')} [${STORY.p3}]`, `${O('p3')}/_history/1`, 200),
  get('clinicianB', `vread ${ENC_P7_BY_B} version 1 [B's own encounter, finished: no relationship left]`, `${ENC_P7_BY_B}/_history/1`, 404),
  get('citizenP1', `vread ${O('k')} [dependant child]`, `${O('k')}/_history/1`, 200),
  get('citizenP1', `vread ${O('a18')} [adult child]`, `${O('a18')}/_history/1`, 404),
  get('publicHealth', `vread Condition/${FIXED.condT1Tb} [notifiable, in region]`, `Condition/${FIXED.condT1Tb}/_history/1`, 200),
  get('publicHealth', `vread Condition/${FIXED.condT2Tb} [notifiable, other region]`, `Condition/${FIXED.condT2Tb}/_history/1`, 404),
  get('analyst', `vread ${O('p1')}`, `${O('p1')}/_history/1`, 403),
  get('adminNoClinical', `vread ${O('p1')} [no clinical access]`, `${O('p1')}/_history/1`, 404),
  get('adminNoClinical', 'vread Organization/org-a [configuration]', 'Organization/org-a/_history/1', 200),
  get('adminClinical', `vread ${O('p3')}`, `${O('p3')}/_history/1`, 200),
];

const histories: Case[] = [
  get('clinicianA', `history of ${O('p1')} [attached]`, `${O('p1')}/_history`, 200, { ids: [O('p1')] }),
  get('clinicianA', `history of ${O('p3')} [finished encounter]`, `${O('p3')}/_history`, 404),
  get('clinicianA', `history of ${P('p2')} [active encounter]`, `${P('p2')}/_history`, 200, { ids: [P('p2')] }),
  get('clinicianA', `history of ${P('p6')} [Consent denies A]`, `${P('p6')}/_history`, 404),
  get('clinicianA', `history of ${ENC_P7_BY_B} [both versions of B's encounter of A's patient]`, `${ENC_P7_BY_B}/_history`, 200, { ids: [ENC_P7_BY_B, ENC_P7_BY_B] }),
  get('clinicianB', `history of ${ENC_P7_BY_B} [own encounter, finished: no relationship left]`, `${ENC_P7_BY_B}/_history`, 404),
  get('citizenP1', `history of ${P('k')} [dependant child]`, `${P('k')}/_history`, 200, { ids: [P('k')] }),
  get('citizenP1', `history of ${P('a18')} [adult child]`, `${P('a18')}/_history`, 404),
  get('smartP1', `history of ${P('k')} [patient/ scopes bind to the launch patient P1]`, `${P('k')}/_history`, 404),
  get('clinicianA', 'Observation history shows only the visible Observations', 'Observation/_history?_count=1000', 200, {
    ids: A_SEES.filter((ref) => typeOf(ref) === 'Observation'),
  }),
  get('clinicianB', 'Encounter history shows only the visible Encounters', 'Encounter/_history?_count=1000', 200, {
    ids: SEES.clinicianB.filter((ref) => typeOf(ref) === 'Encounter'),
  }),
  get('citizenP1', 'Observation history: own and dependant child only', 'Observation/_history?_count=1000', 200, {
    ids: SEES.citizenP1.filter((ref) => typeOf(ref) === 'Observation'),
  }),
  get('publicHealth', 'Condition history: notifiable in region only', 'Condition/_history?_count=1000', 200, { ids: [`Condition/${FIXED.condT1Tb}`] }),
  get('adminNoClinical', 'Observation history: none without clinical access', 'Observation/_history?_count=1000', 200, { ids: [] }),
  get('analyst', `history of ${O('p1')}`, `${O('p1')}/_history`, 403),
  get('analyst', 'Observation type history (aggregates only)', 'Observation/_history', 403),
  get('analyst', 'system history (aggregates only)', '_history', 403),
];

const includes: Case[] = [
  get('clinicianA', 'Encounter _include reason and subject: not P3\'s Condition, not B\'s hidden HIV result', `Encounter?_id=${FIXED.encP2},${FIXED.encP7}&_include=Encounter:reason-reference&_include=Encounter:subject`, 200, {
    ids: [`Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`, P('p2'), P('p7')],
  }),
  get('adminClinical', 'Encounter _include reason and subject: everything', `Encounter?_id=${FIXED.encP2},${FIXED.encP7}&_include=Encounter:reason-reference&_include=Encounter:subject`, 200, {
    ids: [`Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`, P('p2'), P('p7'), `Condition/${FIXED.condP3}`, OBS_P7_HIV_B],
  }),
  get('clinicianB', 'Encounter _include reason: P3\'s Condition (B reaches P3)', `Encounter?_id=${FIXED.encP2}&_include=Encounter:reason-reference`, 200, {
    ids: [`Encounter/${FIXED.encP2}`, `Condition/${FIXED.condP3}`],
  }),
  get('clinicianA', 'Observation _include derived-from: not P3\'s Observation', `Observation?_id=obs-p1&_include=Observation:derived-from`, 200, { ids: [O('p1')] }),
  get('clinicianA', 'P7 _revinclude Observation: own HIV result shown, B\'s hidden', `Patient?_id=p7&_revinclude=Observation:subject`, 200, {
    ids: [P('p7'), O('p7'), OBS_P7_HIV_A],
  }),
  get('clinicianB', 'P7 _revinclude Observation: P7 not reached at all', `Patient?_id=p7&_revinclude=Observation:subject`, 200, { ids: [] }),
  get('clinicianA', 'Patient _revinclude Observation: visible patients and their visible Observations', 'Patient?_revinclude=Observation:subject&_count=100', 200, {
    ids: A_SEES.filter((ref) => typeOf(ref) === 'Patient' || typeOf(ref) === 'Observation'),
  }),
  get('clinicianA', 'Organization A _revinclude Encounter: not P3\'s finished encounter', 'Organization?_id=org-a&_revinclude=Encounter:service-provider', 200, {
    ids: ['Organization/org-a', `Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`],
  }),
  get('clinicianB', 'Organization A _revinclude Encounter: the ones of B\'s patients', 'Organization?_id=org-a&_revinclude=Encounter:service-provider', 200, {
    ids: ['Organization/org-a', `Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP3}`],
  }),
  get('citizenP1', 'Patient _revinclude RelatedPerson: own and the child\'s', 'Patient?_revinclude=RelatedPerson:patient', 200, {
    ids: [P('p1'), P('k'), `RelatedPerson/${FIXED.rpK}`],
  }),
  get('citizenP1', 'RelatedPerson _include patient: the child only, not the adult', 'RelatedPerson?_include=RelatedPerson:patient', 200, {
    ids: [`RelatedPerson/${FIXED.rpK}`, P('k')],
  }),
  get('smartP1', 'Patient _revinclude Observation: the launch patient only', 'Patient?_revinclude=Observation:subject', 200, {
    ids: [P('p1'), O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE],
  }),
  get('clinicianC', 'ServiceRequest _include subject and requester: the referred patient', 'ServiceRequest?_include=ServiceRequest:subject&_include=ServiceRequest:requester', 200, {
    ids: [`ServiceRequest/${FIXED.srP5}`, P('p5'), `Practitioner/${FIXED.prB}`],
  }),
  get('publicHealth', 'Condition _include subject: the case and its patient', 'Condition?_include=Condition:subject', 200, { ids: [`Condition/${FIXED.condT1Tb}`, P('t1')] }),
  get('publicHealth', 'Patient _revinclude Condition: not the non-notifiable one', 'Patient?_revinclude=Condition:subject', 200, { ids: [P('t1'), `Condition/${FIXED.condT1Tb}`] }),
  get('observationsOnly', 'Observation _include subject: no Patient without a Patient scope', 'Observation?_id=obs-p1&_include=Observation:subject', 200, { ids: [O('p1')] }),
  get('clinicianA', 'List A _include item: not P3\'s Observation', `List?_id={listA}&_include=List:item`, 200, { ids: [LIST_A, O('p1')] }),
  get('analyst', 'count with _include', 'Observation?_summary=count&_include=Observation:subject', 403),
];

const compartments: Case[] = [
  get('clinicianA', `Patient/p1/Observation [${STORY.p1}]`, 'Patient/p1/Observation', 200, { ids: [O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE] }),
  get('clinicianA', `Patient/p3/Observation [${STORY.p3}]`, 'Patient/p3/Observation', 200, { ids: [] }),
  get('clinicianA', `Patient/p6/Observation [${STORY.p6}]`, 'Patient/p6/Observation', 200, { ids: [] }),
  get('citizenP1', `Patient/k/Observation [${STORY.k}]`, 'Patient/k/Observation', 200, { ids: [O('k')] }),
  get('citizenP1', `Patient/a18/Observation [${STORY.a18}]`, 'Patient/a18/Observation', 200, { ids: [] }),
];

const everything = (actor: Actor, key: string, ids: readonly string[] | 'none', extra = ''): Case =>
  ids === 'none'
    ? get(actor, `Patient/${key}/$everything${extra} (not reachable: nothing, as for an unknown id)`, `Patient/${key}/$everything`, [200, 404], { ids: [] })
    : get(actor, `Patient/${key}/$everything${extra} = [${ids.join(', ')}]`, `Patient/${key}/$everything`, 200, { ids });

/** $everything adds what the record refers to outside any compartment: here the organizations of attachments, encounters and consents. */
const ORG_A = 'Organization/org-a';
const ORG_B = 'Organization/org-b';
const everythings: Case[] = [
  everything('clinicianA', 'p1', [P('p1'), O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE, `Condition/${FIXED.condP1}`, ORG_A], ' [attached]'),
  everything('clinicianA', 'p2', [P('p2'), O('p2'), `Encounter/${FIXED.encP2}`, ORG_A, ORG_B], ' [active encounter]'),
  everything('clinicianA', 'p4', [P('p4'), O('p4'), `EpisodeOfCare/${FIXED.eocP4}`, ORG_A], ' [active episode]'),
  everything('clinicianA', 'p7', [P('p7'), O('p7'), OBS_P7_HIV_A, `Encounter/${FIXED.encP7}`, ENC_P7_BY_B, ORG_A, ORG_B], ' [B\'s hidden HIV result and the Consent hiding it left out]'),
  everything('clinicianA', 'p3', 'none', ' [finished encounter]'),
  everything('clinicianA', 'p5', 'none', ' [referral to C]'),
  everything('clinicianA', 'p6', 'none', ' [Consent denies A]'),
  everything('clinicianA', 'nobody', 'none', ' [unknown id]'),
  everything('systemA', 'p2', [P('p2'), O('p2'), `Encounter/${FIXED.encP2}`, ORG_A, ORG_B], ' [active encounter]'),
  everything('clinicianB', 'p6', [P('p6'), O('p6'), `Consent/${FIXED.consentP6}`, ORG_A, ORG_B], ' [Consent denies A, not B]'),
  everything('clinicianB', 'p7', 'none', ' [only a finished encounter of B]'),
  everything('clinicianC', 'p5', [P('p5'), O('p5'), `ServiceRequest/${FIXED.srP5}`, `Practitioner/${FIXED.prB}`, 'Organization/org-c'], ' [referral]'),
  everything('citizenP1', 'p1', [P('p1'), O('p1'), OBS_P1_BY_A, OBS_P1_BY_A_DELETE, `Condition/${FIXED.condP1}`, ORG_A], ' [own]'),
  everything('citizenP1', 'k', [P('k'), O('k'), `RelatedPerson/${FIXED.rpK}`, ORG_B], ' [dependant child]'),
  everything('citizenP1', 'a18', 'none', ' [adult child]'),
  everything('smartP1', 'k', 'none', ' [SMART app bound to P1]'),
  everything('citizenP3', 'p3', [P('p3'), O('p3'), `Condition/${FIXED.condP3}`, `Encounter/${FIXED.encP3}`, `Device/${FIXED.devP3}`, ORG_A, ORG_B], ' [own]'),
  everything('publicHealth', 't1', [P('t1'), `Condition/${FIXED.condT1Tb}`, ORG_B], ' [notifiable case in region]'),
  everything('publicHealth', 't2', 'none', ' [notifiable case in another region]'),
  everything('adminNoClinical', 'p1', 'none', ' [no clinical access]'),
  everything('adminClinical', 'p3', [P('p3'), O('p3'), `Condition/${FIXED.condP3}`, `Encounter/${FIXED.encP3}`, `Device/${FIXED.devP3}`, ORG_A, ORG_B]),
  get('analyst', 'Patient/p1/$everything', 'Patient/p1/$everything', 403),
];

const accessLogs: Case[] = [
  get('citizenP1', '$access-log of P1 (own)', 'Patient/p1/$access-log', 200),
  get('smartP1', '$access-log of P1 (own, SMART app)', 'Patient/p1/$access-log', 200),
  get('citizenP1', '$access-log of K (dependant child)', 'Patient/k/$access-log', 200),
  get('citizenP1', '$access-log of A18 (adult child)', 'Patient/a18/$access-log', 404),
  get('citizenP1', '$access-log of P3 (someone else)', 'Patient/p3/$access-log', 404),
  get('citizenP3', '$access-log of P3 (own)', 'Patient/p3/$access-log', 200),
  get('clinicianA', '$access-log of P1 (attached, but the log is the patient\'s)', 'Patient/p1/$access-log', 403),
  get('clinicianA', '$access-log of P3 (not reachable)', 'Patient/p3/$access-log', 404),
  get('publicHealth', '$access-log of T1 (a case, but the log is the patient\'s)', 'Patient/t1/$access-log', 403),
  get('analyst', '$access-log of P1 (sees no record: refused or absent)', 'Patient/p1/$access-log', [403, 404]),
  get('adminNoClinical', '$access-log of P1 (no clinical access)', 'Patient/p1/$access-log', 404),
  get('adminClinical', '$access-log of P3', 'Patient/p3/$access-log', 200),
];

const ASYNC = { prefer: 'respond-async' };
const exports: Case[] = [
  get('clinicianA', 'system $export of Observations: the visible ones only', '$export?_type=Observation', 202, {
    headers: ASYNC,
    exported: A_SEES.filter((ref) => typeOf(ref) === 'Observation'),
  }),
  get('systemA', 'Patient/$export of Patients and Encounters: the visible ones only', 'Patient/$export?_type=Patient,Encounter', 202, {
    headers: ASYNC,
    exported: A_SEES.filter((ref) => ['Patient', 'Encounter'].includes(typeOf(ref))),
  }),
  get('clinicianB', 'system $export of Consents: P6\'s only', '$export?_type=Consent', 202, { headers: ASYNC, exported: [`Consent/${FIXED.consentP6}`] }),
  get('citizenP1', 'Patient/$export of Observations: own and dependant child', 'Patient/$export?_type=Observation', 202, {
    headers: ASYNC,
    exported: SEES.citizenP1.filter((ref) => typeOf(ref) === 'Observation'),
  }),
  get('publicHealth', 'system $export of Conditions: notifiable in region', '$export?_type=Condition', 202, { headers: ASYNC, exported: [`Condition/${FIXED.condT1Tb}`] }),
  get('adminNoClinical', 'system $export of Observations: none without clinical access', '$export?_type=Observation', 202, { headers: ASYNC, exported: [] }),
  get('analyst', '$export kick-off (aggregates only)', '$export?_type=Observation', 403, { headers: ASYNC }),
  get('observationsOnly', '$export of Patients kick-off (no Patient scope)', '$export?_type=Patient', 403, { headers: ASYNC }),
];

const accessErrors: Case[] = (['expired', 'revoked', 'anonymous'] as const).flatMap((actor) => [
  get(actor, 'read Patient/p1', 'Patient/p1', 401),
  get(actor, 'search Observation', 'Observation', 401),
  get(actor, 'Patient/p1/$everything', 'Patient/p1/$everything', 401),
  get(actor, 'history of Patient/p1', 'Patient/p1/_history', 401),
  get(actor, '$export kick-off', '$export?_type=Observation', 401, { headers: ASYNC }),
  send(actor, 'create Observation of P1', 'POST', 'Observation', observationOf('p1'), 401),
  send(actor, 'update Observation/obs-p1', 'PUT', 'Observation/obs-p1', { ...observationOf('p1'), id: 'obs-p1' }, 401),
  send(actor, 'delete Observation/obs-p1', 'DELETE', 'Observation/obs-p1', undefined, 401),
]);

const breakGlassRefusals: Case[] = [
  send('clinicianA', 'break-glass on P3 without a reason', 'POST', 'Patient/p3/$break-glass', { resourceType: 'Parameters', parameter: [] }, 400),
  ...(['citizenP1', 'publicHealth', 'analyst', 'adminNoClinical'] as const).map((actor) =>
    send(actor, 'break-glass on P3 with a reason (role may not)', 'POST', 'Patient/p3/$break-glass', { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'curious' }] }, 403),
  ),
];

// ---------------------------------------------------------------------------------------------
// Writes (last: they add resources)
// ---------------------------------------------------------------------------------------------

function observationOf(key: PatientKey | 'nobody', extra: object = {}) {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOCAL_CODES, code: 'matrix-write' }] },
    subject: { reference: `Patient/${key}` },
    ...extra,
  };
}

const create = (actor: Actor, key: PatientKey | 'nobody', why: string, status: Status, extra: object = {}): Case =>
  send(actor, `create Observation of ${key} [${why}]`, 'POST', 'Observation', observationOf(key, extra), status, {
    check: (reply) => {
      if (reply.status === 201) assert.equal(reply.body.subject.reference, `Patient/${key}`);
    },
  });

const creates: Case[] = [
  create('clinicianA', 'p1', STORY.p1, 201),
  create('clinicianA', 'p2', STORY.p2, 201),
  create('clinicianA', 'p4', STORY.p4, 201),
  create('clinicianA', 'p5', STORY.p5, 404),
  create('clinicianA', 'p3', STORY.p3, 404),
  create('clinicianA', 'p6', STORY.p6, 404),
  create('clinicianA', 'p7', `${STORY.p7}; writing an HIV-labelled item`, 201, { meta: { security: [HIV_LABEL] } }),
  create('clinicianA', 'k', STORY.k, 404),
  create('clinicianA', 'nobody', 'unknown patient: the same answer as an unreachable one', 404),
  create('clinicianB', 'p6', STORY.p6, 201),
  create('clinicianB', 'p7', `${STORY.p7}; B's encounter is finished`, 404),
  create('clinicianC', 'p5', STORY.p5, 201),
  create('systemA', 'p1', STORY.p1, 201),
  create('citizenP1', 'p1', 'own record: a self-measurement', 201),
  create('citizenP1', 'k', STORY.k, 201),
  create('citizenP1', 'a18', STORY.a18, 404),
  create('citizenP1', 'p3', 'someone else', 404),
  create('citizenP3', 'p3', 'own record', 201),
  create('smartP1', 'p1', 'patient/*.rs grants no create', 403),
  create('publicHealth', 't1', 'public health reads only', 403),
  create('analyst', 'p1', 'aggregates only', 403),
  create('adminNoClinical', 'p1', 'no clinical access', 403),
  create('adminClinical', 'p3', 'clinical access', 201),
  create('observationsOnly', 'p1', 'user/Observation.rs grants no create', 403),
  send('citizenP1', 'create Condition of P1 (citizens record self-measurements, not diagnoses)', 'POST', 'Condition', { resourceType: 'Condition', subject: { reference: 'Patient/p1' }, code: { text: 'self-diagnosis' } }, 403),
  send('citizenP1', 'create Organization (outside own record)', 'POST', 'Organization', { resourceType: 'Organization', name: 'My clinic' }, 403),
  send('adminNoClinical', 'create Organization (configuration)', 'POST', 'Organization', { resourceType: 'Organization', name: 'New polyclinic' }, 201),
  send('clinicianA', 'create a finished Encounter of P3 at A (a finished encounter starts no care)', 'POST', 'Encounter', {
    resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/p3' }, serviceProvider: { reference: `Organization/${ORG.A}` },
  }, 404),
  send('clinicianA', 'create an active Encounter of P3 at B (care by another organization gives A nothing)', 'POST', 'Encounter', {
    resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/p3' }, serviceProvider: { reference: `Organization/${ORG.B}` },
  }, 404),
  send('clinicianA', 'register a new Patient attached to A', 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Новый' }], generalPractitioner: [{ reference: `Organization/${ORG.A}` }] }, 201),
  send('clinicianA', 'register a Patient with P3\'s IIN (409 that names no one)', 'POST', 'Patient', { resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: IIN.p3 }] }, 409, {
    check: (reply) => assert.doesNotMatch(reply.text, /\bp3\b/),
  }),
  send('adminClinical', 'create AuditEvent (written by the server only)', 'POST', 'AuditEvent', forgedAuditEvent(), 403),
];

const ifNoneExist = (value: string) => ({ 'if-none-exist': `identifier=${OBSERVATION_IDS}|${value}` });
const conditionalCreates: Case[] = [
  send('clinicianA', 'conditional create matching visible obs-p1 returns it', 'POST', 'Observation', observationOf('p1'), 200, {
    headers: ifNoneExist('obs-p1'),
    check: (reply) => assert.equal(reply.body.id, 'obs-p1'),
  }),
  send('clinicianA', 'conditional create matching only invisible obs-p3 creates anew (never returns or names obs-p3)', 'POST', 'Observation', observationOf('p1'), 201, {
    headers: ifNoneExist('obs-p3'),
    check: (reply) => assert.notEqual(reply.body.id, 'obs-p3'),
  }),
  send('clinicianB', 'conditional create matching obs-p3 (B reaches P3) returns it', 'POST', 'Observation', observationOf('p3'), 200, {
    headers: ifNoneExist('obs-p3'),
    check: (reply) => assert.equal(reply.body.id, 'obs-p3'),
  }),
  send('citizenP1', 'conditional create matching the child\'s obs-k returns it', 'POST', 'Observation', observationOf('k'), 200, {
    headers: ifNoneExist('obs-k'),
    check: (reply) => assert.equal(reply.body.id, 'obs-k'),
  }),
];

const amended = (id: string, key: PatientKey) => ({ ...observationOf(key), id, status: 'amended' });
const updates: Case[] = [
  send('clinicianA', `update ${OBS_P1_BY_A} [written by A, ${STORY.p1}]`, 'PUT', OBS_P1_BY_A, amended('{obsP1ByA}', 'p1'), 200),
  send('systemA', `update ${OBS_P1_BY_A} [written by A: the same organization]`, 'PUT', OBS_P1_BY_A, amended('{obsP1ByA}', 'p1'), 200),
  send('clinicianA', `update ${O('p1')} [written by the administrator: only its author may change it]`, 'PUT', O('p1'), amended('obs-p1', 'p1'), 403),
  send('clinicianA', `update ${O('p3')} [${STORY.p3}]`, 'PUT', O('p3'), amended('obs-p3', 'p3'), 404),
  send('clinicianA', `update ${O('p6')} [${STORY.p6}]`, 'PUT', O('p6'), amended('obs-p6', 'p6'), 404),
  send('clinicianA', 'update-as-create of a never-used id (restricted callers choose no ids)', 'PUT', 'Observation/never-used', amended('never-used', 'p1'), 404),
  send('clinicianB', `update ${OBS_P1_BY_A} [${STORY.p1}: B does not reach P1]`, 'PUT', OBS_P1_BY_A, amended('{obsP1ByA}', 'p1'), 404),
  send('clinicianA', `update ${P('p2')} [active encounter: demographics]`, 'PUT', P('p2'), {
    resourceType: 'Patient', id: 'p2', identifier: [{ system: IIN_SYSTEM, value: IIN.p2 }], name: [{ family: 'Бекова', given: ['Тест'] }],
    gender: 'female', birthDate: '1985-06-07', generalPractitioner: [{ reference: `Organization/${ORG.B}` }], telecom: [{ system: 'phone', value: '+77010000000' }],
  }, 200),
  send('clinicianA', 'update Organization/org-a (directory entries belong to their author)', 'PUT', 'Organization/org-a', { resourceType: 'Organization', id: 'org-a', name: 'Renamed' }, 403),
  send('citizenP1', 'update own Patient/p1 (not something citizens write)', 'PUT', P('p1'), { resourceType: 'Patient', id: 'p1' }, 403),
  send('citizenP1', `update ${O('p1')} [own record, but written by the administrator]`, 'PUT', O('p1'), amended('obs-p1', 'p1'), 403),
  send('publicHealth', `update Condition/${FIXED.condT1Tb}`, 'PUT', `Condition/${FIXED.condT1Tb}`, { resourceType: 'Condition', id: FIXED.condT1Tb, subject: { reference: 'Patient/t1' } }, 403),
  send('noOrganization', 'update Organization/org-x (written by the administrator; no organization is not the same author)', 'PUT', 'Organization/org-x', { resourceType: 'Organization', id: 'org-x', name: 'Hijacked' }, 403),
  send('noOrganization', 'delete Organization/org-c (written by the administrator)', 'DELETE', 'Organization/org-c', undefined, 403),
  create('noOrganization', 'p1', 'no organization: writes nothing', 403),
  send('adminNoClinical', 'update Organization/org-x (configuration)', 'PUT', 'Organization/org-x', { resourceType: 'Organization', id: 'org-x', name: 'Organization X (renamed)' }, 200),
  send('adminNoClinical', `update ${O('p1')} [no clinical access: not even known]`, 'PUT', O('p1'), amended('obs-p1', 'p1'), 404),
  send('adminClinical', 'update-as-create of a new id', 'PUT', 'Observation/matrix-new', amended('matrix-new', 'p3'), 201),
  send('clinicianA', 'conditional update matching only invisible obs-p3 creates anew, leaving obs-p3 alone', 'PUT', `Observation?identifier=${OBSERVATION_IDS}|obs-p3`, observationOf('p1'), 201, {
    check: (reply) => assert.notEqual(reply.body.id, 'obs-p3'),
  }),
];

const deletes: Case[] = [
  send('clinicianA', `delete ${O('p3')} [${STORY.p3}: absent to A, nothing happens]`, 'DELETE', O('p3'), undefined, 204),
  send('clinicianA', `conditional delete matching only invisible obs-p3 [nothing happens]`, 'DELETE', `Observation?identifier=${OBSERVATION_IDS}|obs-p3`, undefined, 204),
  send('clinicianA', `delete ${O('p1')} [written by the administrator]`, 'DELETE', O('p1'), undefined, 403),
  send('clinicianB', `delete ${OBS_P1_BY_A_DELETE} [B does not reach P1: nothing happens]`, 'DELETE', OBS_P1_BY_A_DELETE, undefined, 204),
  send('citizenP1', `delete ${O('p1')} [own record, written by the administrator]`, 'DELETE', O('p1'), undefined, 403),
  send('publicHealth', `delete Condition/${FIXED.condT1Tb}`, 'DELETE', `Condition/${FIXED.condT1Tb}`, undefined, 403),
  send('analyst', `delete ${O('p1')}`, 'DELETE', O('p1'), undefined, 403),
  send('observationsOnly', `delete ${O('p1')} [read-only scope]`, 'DELETE', O('p1'), undefined, 403),
  send('adminNoClinical', `delete ${O('p1')} [no clinical access: absent to them]`, 'DELETE', O('p1'), undefined, 204),
  send('adminClinical', 'delete AuditEvent (not editable through the API)', 'DELETE', 'AuditEvent/any', undefined, 403),
  send('clinicianA', `delete ${OBS_P1_BY_A_DELETE} [written by A]`, 'DELETE', OBS_P1_BY_A_DELETE, undefined, 204),
];

/** After the writes: nothing a refused or invisible write touched has changed. */
const aftermath: Case[] = [
  get('adminClinical', 'obs-p3 is still version 1 after the invisible delete, conditional delete and conditional update', O('p3'), 200, {
    check: (reply) => assert.equal(reply.body.meta.versionId, '1'),
  }),
  get('adminClinical', 'obs-p1 is still version 1 after refused updates and deletes', O('p1'), 200, { check: (reply) => assert.equal(reply.body.meta.versionId, '1') }),
  get('adminClinical', 'obs-p6 is still version 1 after the refused update', O('p6'), 200, { check: (reply) => assert.equal(reply.body.meta.versionId, '1') }),
  get('adminClinical', `${OBS_P1_BY_A} has the two updates by A`, OBS_P1_BY_A, 200, { check: (reply) => assert.equal(reply.body.meta.versionId, '3') }),
  get('adminClinical', `${OBS_P1_BY_A_DELETE} was deleted by A (not by B)`, OBS_P1_BY_A_DELETE, 410),
  get('adminClinical', 'Observation/never-used was not created', 'Observation/never-used', 404),
  get('adminClinical', 'Organization/org-c was not deleted by a clinician', 'Organization/org-c', 200),
  get('clinicianA', `read ${P('w1')} [${STORY.w1}] before A starts care`, P('w1'), 404),
  send('clinicianA', 'create an in-progress Encounter of W1 at A (starts care)', 'POST', 'Encounter', {
    resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' },
    subject: { reference: 'Patient/w1' }, serviceProvider: { reference: `Organization/${ORG.A}` },
  }, 201),
  get('clinicianA', `read ${P('w1')} once A's encounter is active`, P('w1'), 200),
  get('clinicianB', `read ${P('w1')} (A's encounter gives B nothing)`, P('w1'), 404),
  get('anonymous', 'read metadata (public)', 'metadata', 200),
];

const inProgress = (patient: PatientKey, organization: string) => ({
  resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' },
  subject: { reference: `Patient/${patient}` }, serviceProvider: { reference: `Organization/${organization}` },
});
const basisOf = (reply: FhirReply, subject: string) =>
  (reply.body.entry as { resource: { meta?: { security?: { code: string }[] }; agent: { requestor: boolean; who?: { identifier?: { value?: string } } }[] } }[])
    .map((e) => e.resource)
    .filter((event) => event.agent.some((a) => a.requestor && a.who?.identifier?.value === subject))
    .map((event) => event.meta?.security?.[0]?.code ?? 'verified');

/** Care relationships from evidence (issue 10): each kind and verification state, as the door decides from who writes. */
const relationships: Case[] = [
  get('clinicianC', `read ${P('p3')} [${STORY.p3}] before C states anything`, P('p3'), 404),
  send('clinicianC', 'create an in-progress Encounter of P3 at C (self-declared: allowed, flagged, time-limited)', 'POST', 'Encounter', inProgress('p3', ORG.C), 201),
  get('clinicianC', `read ${P('p3')} under C's self-declared care`, P('p3'), 200),
  get('citizenP3', "P3's access log shows C's read as self-declared", 'Patient/p3/$access-log', 200, {
    check: (reply) => assert.equal(basisOf(reply, 'clinician-c')[0], 'self-declared'),
  }),
  send('citizenP3', "P3 confirms C's care", 'POST', 'Patient/p3/$confirm-care', { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${ORG.C}` } }] }, 200),
  get('clinicianC', `read ${P('p3')} once P3 confirmed C's care (verified)`, P('p3'), 200),
  get('citizenP3', "P3's access log shows C's read after the confirmation as verified", 'Patient/p3/$access-log', 200, {
    check: (reply) => assert.equal(basisOf(reply, 'clinician-c')[0], 'verified'),
  }),
  send('clinicianA', 'create an in-progress Encounter of P1 at C (an organization cannot give another one access)', 'POST', 'Encounter', inProgress('p1', ORG.C), 201),
  get('clinicianC', `read ${P('p1')} after A named C`, P('p1'), 404),
  send('clinicianA', `update ${P('p2')} changing its primary-care attachment to A (the registry's element)`, 'PUT', P('p2'), {
    resourceType: 'Patient', id: 'p2', identifier: [{ system: IIN_SYSTEM, value: IIN.p2 }], name: [{ family: 'Бекова', given: ['Тест'] }],
    gender: 'female', birthDate: '1985-06-07', generalPractitioner: [{ reference: `Organization/${ORG.A}` }], telecom: [{ system: 'phone', value: '+77010000000' }],
  }, 403, { check: (reply) => assert.deepEqual(reply.body.issue[0].expression, ['Patient.generalPractitioner']) }),
  get('clinicianB', `read ${P('p2')} [B is still P2's polyclinic]`, P('p2'), 200),
  send('systemA', 'create a RelatedPerson naming P3 as mother of K (legal representation is the registry\'s)', 'POST', 'RelatedPerson', {
    resourceType: 'RelatedPerson', patient: { reference: 'Patient/k' }, identifier: [{ system: IIN_SYSTEM, value: IIN.p3 }],
    relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }],
  }, [403, 404]),
  get('citizenP3', `read ${P('k')} [no forged representation]`, P('k'), 404),
];

/** Cases without lasting effects (reads, searches, refused requests): they may run side by side. */
const READ_ONLY: Case[] = [
  ...readGrid,
  ...searchGrid,
  ...vreads,
  ...histories,
  ...includes,
  ...compartments,
  ...everythings,
  ...accessLogs,
  ...exports,
  ...accessErrors,
  ...breakGlassRefusals,
];
/** Writes, one after the other, in this order (the aftermath checks what they left). */
const WRITES: Case[] = [...creates, ...conditionalCreates, ...updates, ...deletes, ...aftermath, ...relationships];
const CASES = [...READ_ONLY, ...WRITES];

// ---------------------------------------------------------------------------------------------

for (const driver of testDrivers()) describe(`authorization matrix (${driver.name}, ${CASES.length} cases)`, { skip: driver.skip }, () => {
  let server: TestServer;
  let tok: Tokens;
  let world: World;
  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (whole, key: string) => (key in world ? String(world[key as keyof World]) : whole));

  before(async () => {
    server = await startTestServer(driver);
    tok = await tokens(server);
    world = await buildWorld(server, tok);
  });
  after(() => server?.close());

  async function run(c: Case): Promise<void> {
    const body = c.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(c.body)));
    const headers = { ...bearer(tok[c.actor]), ...c.headers };
    const reply = await server.fhir(c.method, fill(c.path), body, headers);
    const expected = [c.status].flat();
    assert.ok(expected.includes(reply.status), `expected ${expected.join(' or ')}, got ${reply.status}: ${reply.text.slice(0, 400)}`);
    if (reply.status >= 400) assert.equal(reply.body?.resourceType, 'OperationOutcome', reply.text);
    if (reply.status === 401) assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer /);
    if (c.ids) assert.deepEqual(entryRefs(reply.body), c.ids.map(fill).sort(), 'the exact set of entries');
    if (c.exported) assert.deepEqual((await finishExport(server, reply, headers)).refs, c.exported.map(fill).sort(), 'the exact set of exported resources');
    c.check?.(reply, world);
  }

  test('the matrix has at least 150 cases, each named uniquely', () => {
    assert.ok(CASES.length >= 150, `${CASES.length} cases`);
    const names = CASES.map((c) => c.name);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
  });

  describe('reads, searches and refusals', { concurrency: 6 }, () => {
    for (const c of READ_ONLY) test(c.name, () => run(c));
  });

  describe('writes, in order', () => {
    for (const c of WRITES) test(c.name, () => run(c));
  });
});
