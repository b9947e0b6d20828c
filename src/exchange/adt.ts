import type { Encounter, Identifier, Patient } from '@medplum/fhirtypes';
import { parseScopes, resourceScopes } from '../access/scopes.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import type { Translated } from '../fhir/locale.js';
import { isFhirError, preconditionFailed } from '../fhir/outcome.js';
import { escapeToken, parseSearchRequest } from '../fhir/search-request.js';
import { assertValid } from '../fhir/validate.js';
import { ERROR_CODES, type ErrorLocation, Hl7Error } from '../hl7v2/hl7-error.js';
import type { MessageRoute, Parked, Sender } from '../hl7v2/intake.js';
import { type Message, field, header, segment } from '../hl7v2/message.js';
import { describedPatient, patientByDemographics, patientIin, patientWithIin } from '../hl7v2/pid.js';
import { COMPARISON_FIELDS, type ComparisonField, FIELD_NAMES, compare, preparePerson } from '../identity/comparison.js';
import { DEFAULT_WEIGHTS, explainScore } from '../identity/matcher.js';
import { personRecordFromPatient } from '../identity/person-record.js';
import { SENDER_MERGE } from '../store/duplicate-candidates.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { VISIT_TRIGGERS, encounterOf, looksLikeIin, mergeVisit, senderIdentifiers } from './adt-to-fhir.js';

/**
 * ADT from a hospital's system (HL7 v2.5.1 chapter 3; IHE PAM's patient identity and encounter
 * feeds), written as the hospital's own system caller through the door:
 * - A01, A04, A08 (with a visit number) and A03: the visit as an Encounter identified by PV1-19 in
 *   the hospital's namespace, so later messages update the same one and its history keeps each;
 *   an admission or registration of someone the hospital had no relationship with is its own word
 *   about itself, which the door records as self-declared care (flagged, told, time-limited, reviewed);
 * - A28, A31 and the rest: the registry owns identity (docs/architecture.md, "one door"): the
 *   hospital adds its own patient number; what it says that differs from the registry (name, birth
 *   date, sex) is not written, the message is kept for review with the difference named;
 * - A40: the registry merges, never a hospital: two numbers of one Patient move the number; two
 *   Patients go on the identity service's duplicates work list.
 * A person the hospital may not write for is parked for review, never dropped, never created twice.
 */
export const ADT_ROUTE: MessageRoute = {
  triggers: ['A01', 'A03', 'A04', 'A08', 'A28', 'A31', 'A40'],
  versions: ['2.3.1', '2.4', '2.5', '2.5.1'],
  // What a hospital's system may do here: find and read its patients, add its numbers to them (or
  // register a person without an IIN), and record its visits.
  scopes: resourceScopes(parseScopes('system/Patient.crus system/Encounter.crus')),
  async prepare(message: Message, sender: Sender) {
    const trigger = header(message).triggerEvent;
    if (!segment(message, 'PID')) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, `ADT^${trigger} needs a PID (the patient)`, { segment: 'PID', sequence: 1 });
    const numbers = senderIdentifiers(field(segment(message, 'PID'), 3), sender.organization, sender.facility);
    if (trigger === 'A40') return prepareMerge(message, sender, numbers);
    const iin = patientIin(message);
    // Mapped before anyone is looked for, so content the hospital must mend is refused now rather than at review.
    const visit = isVisit(trigger) ? encounterOf(message, { trigger, organization: sender.organization }) : undefined;
    const patient = (await findPatient(sender.caller, message, numbers)) ?? (trigger === 'A01' || trigger === 'A04' ? await admitted(sender, iin, numbers) : undefined);
    return async () => {
      if (!patient) {
        if (trigger === 'A28' && !iin) return registerPerson(sender.caller, message, numbers);
        return iin ? park(NO_PATIENT, PARKED.noPatient) : park(NO_IIN, PARKED.notIdentified);
      }
      return write(sender.caller, async (tx) => {
        if (visit) await recordVisit(tx, { ...visit, subject: { reference: `Patient/${patient}` } }, trigger);
        return addNumbers(tx, patient, message, numbers);
      });
    };
  },
};

/** What ERR-8 tells the hospital's people when a message is accepted but kept for review. */
export const PARKED = {
  noPatient: {
    kk: 'Хабарлама қабылданды, бірақ аурухана жаза алатын, осы ЖСН бар пациент табылмады (екінші жазба жасалмайды): ол тексеруге қалдырылды.',
    ru: 'Сообщение принято, но пациент с этим ИИН, которого больница может вести, не найден (вторая запись не создаётся): оно оставлено на проверку.',
    en: 'The message was accepted, but no patient the hospital may record for has this IIN (no second record is made): it is kept for review.',
  },
  notIdentified: {
    kk: 'Хабарлама қабылданды, бірақ ЖСН жоқ, ал аурухана нөмірі де, аты-жөні мен туған күні де пациентті нақты анықтамайды: ол тексеруге қалдырылды.',
    ru: 'Сообщение принято, но ИИН нет, а ни номер больницы, ни имя и дата рождения не определяют пациента однозначно: оно оставлено на проверку.',
    en: 'The message was accepted, but there is no IIN, and neither the hospital’s number nor the name and birth date identify a patient with certainty: it is kept for review.',
  },
  differs: {
    kk: 'Хабарлама қабылданды, бірақ ондағы аты-жөні, туған күні немесе жынысы ұлттық тіркелімдегіден өзгеше; тіркелім өз деректерін сақтайды, айырмашылық тексеруге қалдырылды.',
    ru: 'Сообщение принято, но имя, дата рождения или пол в нём расходятся с национальным регистром; регистр сохраняет свои данные, расхождение оставлено на проверку.',
    en: 'The message was accepted, but the name, birth date or sex it gives differ from the national registry, which keeps its own: the difference is kept for review.',
  },
  notWritten: {
    kk: 'Хабарлама қабылданды, бірақ пациент жазбасына әлі енгізілмеді: ол тексеруге қалдырылды.',
    ru: 'Сообщение принято, но ещё не внесено в карту пациента: оно оставлено на проверку.',
    en: 'The message was accepted but not yet written to the patient’s record: it is kept for review.',
  },
  mergeUnknown: {
    kk: 'Біріктіру қабылданды, бірақ MRG-1-де көрсетілген пациент табылмады: хабарлама тексеруге қалдырылды.',
    ru: 'Объединение принято, но пациент, указанный в MRG-1, не найден: сообщение оставлено на проверку.',
    en: 'The merge was accepted, but the patient MRG-1 names was not found: it is kept for review.',
  },
  mergeProposed: {
    kk: 'Біріктіру қабылданды: ұлттық тіркелімде бұл екі бөлек адам; олардың бір адам екенін тіркелім тексереді, оған дейін ештеңе біріктірілмейді.',
    ru: 'Объединение принято: в национальном регистре это два разных человека; регистр проверит, один ли это человек, до тех пор ничего не объединяется.',
    en: 'The merge was accepted: the national registry holds two persons here; the registry will review whether they are one, and nothing is merged until then.',
  },
} satisfies Record<string, Translated>;

const NO_PATIENT = 'No patient the hospital may record for has the IIN in PID-3';
const NO_IIN = 'PID-3 holds no valid IIN, and neither the hospital\'s number nor the name, birth date and sex in PID identify a patient with certainty';
const PID_3: ErrorLocation = { segment: 'PID', sequence: 1, field: 3 };
const MRG_1: ErrorLocation = { segment: 'MRG', sequence: 1, field: 1 };

const isVisit = (trigger: string) => (VISIT_TRIGGERS as readonly string[]).includes(trigger);
const park = (reason: string, text: Translated, location: ErrorLocation = PID_3): Parked => ({ condition: ERROR_CODES.unknownKey, reason, text, location });

/** The patient PID names as the hospital's caller may find them: by IIN, else by the hospital's own number, else a certain demographic match. */
async function findPatient(caller: Repository, message: Message, numbers: readonly Identifier[]): Promise<string | undefined> {
  const iin = patientIin(message);
  if (iin) return patientWithIin(caller, iin);
  for (const number of numbers) {
    const found = await holderOf(caller, number);
    if (found) return found;
  }
  return patientByDemographics(caller, message);
}

/**
 * Whom a hospital admits or registers that its caller cannot see yet: its word that the person is
 * in its care, which the door judges (self-declared care). The registry names them by the IIN they
 * show, else by the number the hospital itself gave them (a visitor it registered, whom nothing
 * relates to it until a visit).
 */
async function admitted({ registry }: Sender, iin: string | undefined, numbers: readonly Identifier[]): Promise<string | undefined> {
  if (iin) return registry.holder({ system: IIN_SYSTEM, value: iin });
  for (const { system, value } of numbers) {
    const found = await registry.holder({ system: system!, value: value! });
    if (found) return found;
  }
  return undefined;
}

/** The one Patient the caller may see holding `identifier`. */
async function holderOf(caller: Repository, identifier: Identifier): Promise<string | undefined> {
  const ids = await caller.matchIds('Patient', new URLSearchParams([['identifier', `${identifier.system}|${escapeToken(identifier.value ?? '')}`]]));
  return ids.length === 1 ? ids[0] : undefined;
}

/** Runs `step` in one transaction as the hospital; what the validator, the door or the store refuses (all of it rolled back) parks the message. */
async function write(caller: Repository, step: (tx: Repository) => Promise<Parked | undefined>): Promise<Parked | undefined> {
  try {
    return await caller.transaction(step);
  } catch (error) {
    if (!isFhirError(error)) throw error;
    return { condition: ERROR_CODES.internal, reason: `Not written: ${error.message}`, text: PARKED.notWritten };
  }
}

/**
 * A conditional update of the visit on its number (https://hl7.org/fhir/R4/http.html#cond-update),
 * under the criteria's lock so two messages of one visit at once make one Encounter.
 */
async function recordVisit(tx: Repository, reported: Encounter, trigger: string): Promise<void> {
  const number = reported.identifier![0]!;
  const criteria = new URLSearchParams([['identifier', `${number.system}|${escapeToken(number.value!)}`]]);
  await tx.lockCriteria('Encounter', criteria);
  const found = await tx.search(parseSearchRequest('Encounter', [...criteria, ['_count', '2']]));
  if (found.entries.length > 1) throw preconditionFailed(`Encounter?identifier=${criteria.get('identifier')} matches more than one resource`);
  const stored = found.entries[0] ? { ...parseStored<Encounter>(found.entries[0]), id: found.entries[0].id } : undefined;
  const visit = mergeVisit(stored, reported, trigger);
  assertValid(visit);
  if (stored) await tx.update({ ...visit, id: stored.id });
  else await tx.create(visit);
}

/**
 * Adds the hospital's numbers the Patient lacks; the registry's facts stay as they are, and what
 * PID says that differs from them parks the message for review with the difference named.
 */
async function addNumbers(tx: Repository, id: string, message: Message, numbers: readonly Identifier[]): Promise<Parked | undefined> {
  const patient = { ...parseStored<Patient>(await tx.read('Patient', id)), id };
  const held = new Set((patient.identifier ?? []).map((i) => `${i.system}|${i.value}`));
  const added = numbers.filter((n) => !held.has(`${n.system}|${n.value}`));
  if (added.length) await tx.update({ ...patient, identifier: [...(patient.identifier ?? []), ...added] });
  const differing = disagreements(patient, describedPatient(message));
  if (differing.length === 0) return undefined;
  return {
    condition: ERROR_CODES.accepted,
    reason: `PID differs from the national registry in ${differing.join(', ')}; the registry's values are kept`,
    text: PARKED.differs,
    location: { segment: 'PID', sequence: 1, field: PID_FIELD[differing[0]!] },
  };
}

/** Where PID says what a comparison field compares. */
const PID_FIELD: Readonly<Record<ComparisonField, number>> = { iin: 3, family: 5, given: 5, patronymic: 5, birthDate: 7, sex: 8, contact: 11 };

/** The comparison levels that are a disagreement, not a spelling: a name only when plainly another, a birth date whenever not the same. */
const DIFFERENT: Partial<Record<ComparisonField, readonly string[]>> = {
  family: ['different'],
  given: ['different'],
  birthDate: ['dayMonthSwapped', 'oneComponentOff', 'different'],
  sex: ['different'],
};

/** The identity fields on which what a sender says plainly disagrees with the registry's Patient (the matcher's comparison, across scripts). */
function disagreements(registered: Patient, said: Patient): ComparisonField[] {
  const levels = compare(preparePerson(personRecordFromPatient(registered)), preparePerson(personRecordFromPatient(said)));
  return FIELD_NAMES.filter((name, f) => {
    const level: string | undefined = COMPARISON_FIELDS[name][levels[f]!];
    return level !== undefined && (DIFFERENT[name] ?? []).includes(level);
  });
}

/**
 * A28 of a person without an IIN, whom the hospital finds nowhere: a foreign visitor the registry
 * issued nothing to, met first at this hospital. It registers them, as any organization may over
 * the REST API, with its number; the duplicates scan finds them if another organization did too.
 * Twelve digits that fail the IIN check are a mistyped IIN, and park instead.
 */
async function registerPerson(caller: Repository, message: Message, numbers: readonly Identifier[]): Promise<Parked | undefined> {
  if (field(segment(message, 'PID'), 3).some((cx) => looksLikeIin(cx[0]?.[0] ?? ''))) return park(NO_IIN, PARKED.notIdentified);
  const described = describedPatient(message);
  if (!described.name || !described.birthDate) return park(NO_IIN, PARKED.notIdentified);
  return write(caller, async (tx) => {
    const person: Patient = { ...described, identifier: [...numbers] };
    assertValid(person);
    await tx.create(person);
    return undefined;
  });
}

/**
 * A40 (v2.5.1 section 3.3.40): PID names the surviving record, MRG-1 the one merged into it. When
 * both are one Patient here, the hospital's old number is kept as `old` and the surviving one
 * added; when they are two, the registry decides, so the pair goes on its duplicates work list.
 */
async function prepareMerge(message: Message, sender: Sender, numbers: readonly Identifier[]): Promise<() => Promise<Parked | undefined>> {
  const mrg = segment(message, 'MRG');
  if (!mrg) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'ADT^A40 needs an MRG (the record merged)', MRG_1);
  const priorNumbers = senderIdentifiers(field(mrg, 1), sender.organization, sender.facility);
  const priorIin = field(mrg, 1).map((cx) => cx[0]?.[0] ?? '').find((v) => looksLikeIin(v));
  if (priorNumbers.length === 0 && !priorIin) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'MRG-1 (prior patient identifier list) is empty', MRG_1);
  const { caller } = sender;
  let prior: string | undefined = priorIin ? await patientWithIin(caller, priorIin) : undefined;
  for (const number of priorNumbers) prior ??= await holderOf(caller, number);
  const surviving = (await findPatient(caller, message, numbers)) ?? prior;
  return async () => {
    if (!prior || !surviving) return park('No patient the hospital may record for has the identifier in MRG-1', PARKED.mergeUnknown, MRG_1);
    if (prior === surviving) return write(caller, (tx) => moveNumber(tx, prior, priorNumbers, numbers));
    const [a, b] = await Promise.all([prior, surviving].map(async (id) => ({ ...parseStored<Patient>(await caller.read('Patient', id)), id })));
    const levels = compare(preparePerson(personRecordFromPatient(a!)), preparePerson(personRecordFromPatient(b!)));
    const evidence = explainScore(levels, DEFAULT_WEIGHTS).map(({ field: name, level, weight }) => ({ field: name, level, weight: Math.round(weight * 100) / 100 }));
    const score = Math.round(evidence.reduce((sum, e) => sum + e.weight, 0) * 100) / 100;
    await sender.registry.proposeDuplicate({ a: prior, b: surviving, score, evidence: [{ field: SENDER_MERGE, level: 'asserted', weight: 0 }, ...evidence] });
    return {
      condition: ERROR_CODES.accepted,
      reason: `MRG-1 and PID-3 name two Patients (${prior}, ${surviving}): put on the duplicates work list for the registry to decide`,
      text: PARKED.mergeProposed,
    };
  };
}

/** The hospital's numbers of one Patient after its merge: the merged ones retired as `old`, the surviving ones present. */
async function moveNumber(tx: Repository, id: string, retired: readonly Identifier[], surviving: readonly Identifier[]): Promise<Parked | undefined> {
  const patient = { ...parseStored<Patient>(await tx.read('Patient', id)), id };
  const key = (i: Identifier) => `${i.system}|${i.value}`;
  const old = new Set(retired.map(key));
  const kept = (patient.identifier ?? []).map((i) => (old.has(key(i)) && !surviving.some((s) => key(s) === key(i)) ? { ...i, use: 'old' as const } : i));
  const held = new Set(kept.map(key));
  await tx.update({ ...patient, identifier: [...kept, ...surviving.filter((s) => !held.has(key(s)))] });
  return undefined;
}
