import type {
  Annotation,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Coding,
  DiagnosticReport,
  Identifier,
  Observation,
  ObservationReferenceRange,
  Patient,
  Quantity,
  Reference,
  Resource,
  Specimen,
} from '@medplum/fhirtypes';
import { HL7V2_FACILITY_SYSTEM, placerOrderSystem } from '../fhir/identifier-systems.js';
import { escapeToken } from '../fhir/search-request.js';
import { UCUM_SYSTEM, canonicalQuantity } from '../fhir/ucum.js';
import { fhirDateTime, fhirInstant } from '../hl7v2/dates.js';
import { ERROR_CODES, Hl7Error } from '../hl7v2/hl7-error.js';
import { type Message, type Repetition, type Segment, component, field, part, repetition } from '../hl7v2/message.js';

/**
 * ORU^R01 (v2.5.1 chapter 7, https://www.hl7.eu/HL7v2x/v251/std251/ch07.html) as a FHIR R4
 * transaction Bundle: per OBR a DiagnosticReport, per OBX an Observation, per SPM (or OBR-15) a
 * Specimen, following the HL7 v2-to-FHIR mappings (https://build.fhir.org/ig/HL7/v2-to-fhir/)
 * where they say how. Every entry is a conditional update on the lab's own identifiers, so a
 * corrected result (status C) lands on the same resources as a new version, the earlier one kept
 * in their history. Pure: who the patient is and which organization the lab is are given.
 */

export interface OruContext {
  /** The patient the results belong to (found by the caller, from PID-3). */
  patient: Reference<Patient>;
  /** The sending lab's Organization id: its identifiers' namespace and the results' performer. */
  organization: string;
}

/** The namespace of a lab's filler order numbers (OBR-3) when the lab names no OID: one per lab Organization. */
export const labOrderSystem = (organization: string) => `http://densaulyq.kz/fhir/sid/lab-order/${organization}`;
/** A lab's own (local) codes, `L` or `99zzz` in CWE-3: one code system per lab Organization. */
export const labCodeSystem = (organization: string) => `http://densaulyq.kz/fhir/CodeSystem/lab/${organization}`;

const LOINC = 'http://loinc.org';
const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/** CWE-3 coding system names (HL7 table 0396) as FHIR system URIs. */
const CODE_SYSTEMS: Record<string, string> = {
  LN: LOINC,
  SCT: 'http://snomed.info/sct',
  UCUM: UCUM_SYSTEM,
  I10: 'http://hl7.org/fhir/sid/icd-10',
};

/**
 * HL7 table 0078 (abnormal flags) codes that v3 ObservationInterpretation holds with the same
 * meaning, which is all of them the v2-to-FHIR ConceptMap maps (it maps each to itself).
 */
const INTERPRETATIONS = new Set(['<', '>', 'A', 'AA', 'AC', 'B', 'D', 'DET', 'E', 'EX', 'H', 'HH', 'HX', 'I', 'IND', 'L', 'LL', 'LX', 'MS', 'N', 'ND', 'NEG', 'NR', 'POS', 'QCF', 'R', 'RR', 'S', 'SDD', 'SYN-R', 'SYN-S', 'TOX', 'U', 'VS', 'W', 'WR']);

/** OBX-11 (HL7 table 0085) to Observation.status. */
const OBSERVATION_STATUS: Record<string, Observation['status']> = {
  C: 'corrected',
  D: 'entered-in-error',
  F: 'final',
  I: 'registered',
  N: 'cancelled',
  O: 'registered',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  U: 'final',
  W: 'entered-in-error',
  X: 'cancelled',
};

/** OBR-25 (HL7 table 0123) to DiagnosticReport.status. */
const REPORT_STATUS: Record<string, DiagnosticReport['status']> = {
  O: 'registered',
  I: 'registered',
  S: 'registered',
  P: 'preliminary',
  R: 'preliminary',
  A: 'partial',
  F: 'final',
  C: 'corrected',
  X: 'cancelled',
};

/** One ORDER_OBSERVATION group: OBR, its notes, its OBX each with its notes, its SPMs. */
interface OrderGroup {
  obr: Segment;
  obrSequence: number;
  notes: Segment[];
  observations: { obx: Segment; sequence: number; notes: Segment[] }[];
  specimens: Segment[];
}

/** The transaction Bundle of an ORU^R01's results. Throws Hl7Error (AE) naming the segment and field that cannot be read. */
export function oruToBundle(message: Message, context: OruContext): Bundle {
  const entries: BundleEntry[] = [];
  let uuid = 0;
  const fullUrl = () => `urn:uuid:00000000-0000-4000-8000-${String(++uuid).padStart(12, '0')}`;
  const put = (resource: Resource, identifier: Identifier): string => {
    const url = fullUrl();
    entries.push({
      fullUrl: url,
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}?identifier=${encodeURIComponent(`${identifier.system}|${escapeToken(identifier.value!)}`)}` },
    });
    return url;
  };
  for (const group of orderGroups(message)) {
    const filler = fillerIdentifier(group, context.organization);
    const specimens = specimensOf(group, filler, context).map((s): Reference<Specimen> => ({ reference: put(s, s.identifier![0]!) }));
    const seen = new Map<string, number>();
    const results = group.observations.map(({ obx, sequence, notes }): Reference<Observation> => {
      const observation = observationOf(obx, sequence, notes, group, filler, context, seen);
      if (specimens.length > 0) observation.specimen = specimens[0];
      return { reference: put(observation, observation.identifier![0]!) };
    });
    put(reportOf(group, filler, context, results, specimens), filler);
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/** The groups of the message's one PATIENT_RESULT: segments before the first OBR other than notes are the patient's and the visit's. */
function orderGroups(message: Message): OrderGroup[] {
  const groups: OrderGroup[] = [];
  const counts = new Map<string, number>();
  let inSpecimen = false;
  for (const segment of message.segments) {
    const sequence = (counts.get(segment.name) ?? 0) + 1;
    counts.set(segment.name, sequence);
    const group = groups.at(-1);
    switch (segment.name) {
      case 'PID':
        if (sequence > 1) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'One patient per message: send each patient\'s results in a message of their own', { segment: 'PID', sequence });
        break;
      case 'OBR':
        groups.push({ obr: segment, obrSequence: sequence, notes: [], observations: [], specimens: [] });
        inSpecimen = false;
        break;
      case 'OBX':
        if (!group) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'OBX before any OBR', { segment: 'OBX', sequence });
        // OBX after SPM describe the specimen (its volume, say), not results.
        if (!inSpecimen) group.observations.push({ obx: segment, sequence, notes: [] });
        break;
      case 'NTE':
        if (group && !inSpecimen) (group.observations.at(-1)?.notes ?? group.notes).push(segment);
        break;
      case 'SPM':
        if (!group) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'SPM before any OBR', { segment: 'SPM', sequence });
        group.specimens.push(segment);
        inSpecimen = true;
        break;
    }
  }
  if (groups.length === 0) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'An ORU^R01 needs at least one OBR', { segment: 'OBR', sequence: 1 });
  return groups;
}

/** OBR-3, the filler order number: the lab's own id of the report, by which a correction finds it. */
function fillerIdentifier(group: OrderGroup, organization: string): Identifier {
  const filler = orderNumber(repetition(group.obr, 3), organization);
  if (filler) return filler;
  throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'OBR-3 (filler order number) is empty: a result needs the lab\'s own id', { segment: 'OBR', sequence: group.obrSequence, field: 3 });
}

/** A filler order number (EI, OBR-3 or ORC-3) as the lab's FILL identifier: in its OID when it names one, else the lab's own namespace. */
export function orderNumber(ei: Repetition, organization: string): Identifier | undefined {
  const value = part(ei, 1);
  if (!value) return undefined;
  const oid = part(ei, 4) === 'ISO' && /^[0-2](\.\d+)+$/.test(part(ei, 3)) ? part(ei, 3) : undefined;
  return {
    use: 'official',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'FILL' }] },
    system: oid ? `urn:oid:${oid}` : labOrderSystem(organization),
    value,
  };
}

/**
 * A placer order number (EI: number^namespace) as the PLAC identifier of an order and of its
 * results alike: the namespace is the ordering facility, its assigner, who is told of a critical
 * result, and the system the number is unique in; `facility` stands for a namespace not given.
 */
export function placerIdentifier(ei: Repetition, facility?: string): Identifier | undefined {
  const [value, namespace] = [part(ei, 1), part(ei, 2) || facility];
  if (!value) return undefined;
  return {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] },
    ...(namespace ? { system: placerOrderSystem(namespace) } : {}),
    value,
    ...(namespace ? { assigner: { identifier: { system: HL7V2_FACILITY_SYSTEM, value: namespace } } } : {}),
  };
}

function reportOf(group: OrderGroup, filler: Identifier, context: OruContext, result: Reference<Observation>[], specimen: Reference<Specimen>[]): DiagnosticReport {
  const { obr } = group;
  const at = (n: number) => ({ segment: 'OBR', sequence: group.obrSequence, field: n });
  const code = codeableConcept(repetition(obr, 4), context.organization);
  if (!code) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'OBR-4 (universal service identifier) is empty', at(4));
  const section = component(obr, 24);
  const effective = fhirDateTime(component(obr, 7));
  const issued = fhirInstant(component(obr, 22));
  const notes = noteText(group.notes);
  const placer = placerIdentifier(repetition(obr, 2));
  return {
    resourceType: 'DiagnosticReport',
    identifier: [filler, ...(placer ? [placer] : [])],
    status: REPORT_STATUS[component(obr, 25)] ?? 'unknown',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: section || 'LAB' }] }],
    code,
    subject: context.patient,
    ...(effective ? { effectiveDateTime: effective } : {}),
    ...(issued ? { issued } : {}),
    performer: [{ reference: `Organization/${context.organization}` }],
    ...(specimen.length > 0 ? { specimen } : {}),
    ...(result.length > 0 ? { result } : {}),
    // R4's DiagnosticReport has no note: the lab's comments on the whole report are what it concludes in words.
    ...(notes ? { conclusion: notes.map((n) => n.text).join('\n') } : {}),
  };
}

function observationOf(
  obx: Segment,
  sequence: number,
  notes: Segment[],
  group: OrderGroup,
  filler: Identifier,
  context: OruContext,
  seen: Map<string, number>,
): Observation {
  const at = (n: number) => ({ segment: 'OBX', sequence, field: n });
  const code = codeableConcept(repetition(obx, 3), context.organization);
  if (!code) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'OBX-3 (observation identifier) is empty', at(3));
  // The same test under the same sub-id (OBX-4) is the same result in a correction; OBX-1 may be renumbered.
  const key = `${filler.value}/${component(obx, 3)}/${component(obx, 4)}`;
  const occurrence = (seen.get(key) ?? 0) + 1;
  seen.set(key, occurrence);
  const units = unitOf(repetition(obx, 6));
  const effective = fhirDateTime(component(obx, 14)) ?? fhirDateTime(component(group.obr, 7));
  const issued = fhirInstant(component(group.obr, 22));
  const interpretation = field(obx, 8)
    .map((r) => part(r, 1))
    .filter((flag) => INTERPRETATIONS.has(flag))
    .map((flag): CodeableConcept => ({ coding: [{ system: INTERPRETATION_SYSTEM, code: flag }] }));
  const range = referenceRange(component(obx, 7), units);
  const annotations = noteText(notes);
  return {
    resourceType: 'Observation',
    identifier: [{ system: filler.system!, value: occurrence === 1 ? key : `${key}/${occurrence}` }],
    status: OBSERVATION_STATUS[component(obx, 11)] ?? 'unknown',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code,
    subject: context.patient,
    ...(effective ? { effectiveDateTime: effective } : {}),
    ...(issued ? { issued } : {}),
    performer: [{ reference: `Organization/${context.organization}` }],
    ...observationValue(obx, at(5), units, context.organization),
    ...(interpretation.length > 0 ? { interpretation } : {}),
    ...(annotations ? { note: annotations } : {}),
    ...(range ? { referenceRange: [range] } : {}),
  };
}

/** OBX-5 by its type (OBX-2) as Observation.value[x]. */
function observationValue(obx: Segment, at: { segment: string; sequence: number; field: number }, units: Omit<Quantity, 'value'>, organization: string): Partial<Observation> {
  const type = component(obx, 2);
  const values = field(obx, 5);
  if (values.length === 0) return {};
  const first = values[0]!;
  const wrong = (what: string) => new Hl7Error('AE', ERROR_CODES.dataType, `OBX-5 is not ${what}, as OBX-2 "${type}" says`, at);
  switch (type) {
    case 'NM': {
      const value = decimal(part(first, 1));
      if (value === undefined) throw wrong('a number');
      return { valueQuantity: { value, ...units } };
    }
    case 'SN':
      return structuredNumeric(first, units) ?? (() => {
        throw wrong('a structured numeric (comparator^number^separator^number)');
      })();
    case 'ST':
    case 'TX':
    case 'FT':
      return { valueString: values.map((r) => part(r, 1)).join('\n') };
    case 'CE':
    case 'CWE':
    case 'CNE': {
      const concept = codeableConcept(first, organization);
      if (!concept) throw wrong('a coded value');
      return { valueCodeableConcept: concept };
    }
    case 'DT':
    case 'TS':
    case 'DTM': {
      const value = fhirDateTime(part(first, 1));
      if (!value) throw wrong('a date and time');
      return { valueDateTime: value };
    }
    default:
      throw new Hl7Error('AE', ERROR_CODES.dataType, `OBX-2 value type "${type}" is not taken here (NM, SN, ST, TX, FT, CE, CWE, CNE, DT, TS, DTM are)`, { ...at, field: 2 });
  }
}

/** SN (v2.5.1 section 2.A.72): `<^0.5` a bound, `2^-^5` a range, `1^:^128` a ratio, `=^4` or `^4` a number. */
function structuredNumeric(sn: Repetition, units: Omit<Quantity, 'value'>): Partial<Observation> | undefined {
  const [comparator, first, separator, second] = [part(sn, 1), decimal(part(sn, 2)), part(sn, 3), decimal(part(sn, 4))];
  if (first === undefined) return undefined;
  if (separator === '' && part(sn, 4) === '') {
    if (comparator === '' || comparator === '=') return { valueQuantity: { value: first, ...units } };
    if (comparator === '<' || comparator === '>' || comparator === '<=' || comparator === '>=') return { valueQuantity: { value: first, comparator, ...units } };
    return undefined;
  }
  if (second === undefined || (comparator !== '' && comparator !== '=')) return undefined;
  if (separator === '-') return { valueRange: { low: { value: first, ...units }, high: { value: second, ...units } } };
  if (separator === ':' || separator === '/') return { valueRatio: { numerator: { value: first }, denominator: { value: second } } };
  return undefined;
}

/** OBX-7 as written by labs: `3.9-6.1`, `<5.2`, `>=1`; anything else kept as text. */
function referenceRange(text: string, units: Omit<Quantity, 'value'>): ObservationReferenceRange | undefined {
  const value = text.trim();
  if (!value) return undefined;
  const between = /^(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)$/.exec(value);
  if (between) return { low: { value: Number(between[1]), ...units }, high: { value: Number(between[2]), ...units } };
  const bound = /^(<=?|>=?)\s*(-?\d+(?:\.\d+)?)$/.exec(value);
  if (bound) return bound[1]!.startsWith('<') ? { high: { value: Number(bound[2]), ...units } } : { low: { value: Number(bound[2]), ...units } };
  return { text: value };
}

/** OBX-6 as a Quantity's unit: UCUM code and system when it is valid UCUM (whatever CWE-3 says), else the unit as written. */
function unitOf(unit: Repetition): Omit<Quantity, 'value'> {
  const code = part(unit, 1);
  if (!code) return {};
  // UCUM has no spaces; asking ucum-lhc about such text only makes it print the text to the console.
  const ucum = !/\s/.test(code) && canonicalQuantity(1, code) !== undefined;
  return ucum ? { unit: code, system: UCUM_SYSTEM, code } : { unit: part(unit, 2) || code };
}

/** A CWE/CE (identifier^text^system^alternate identifier^alternate text^alternate system) as a CodeableConcept. */
export function codeableConcept(cwe: Repetition, organization: string): CodeableConcept | undefined {
  const coding = (code: string, display: string, system: string): Coding[] => (code ? [{ system: codeSystem(system, organization), code, ...(display ? { display } : {}) }] : []);
  const codings = [...coding(part(cwe, 1), part(cwe, 2), part(cwe, 3)), ...coding(part(cwe, 4), part(cwe, 5), part(cwe, 6))];
  const text = part(cwe, 9) || part(cwe, 2) || part(cwe, 5);
  if (codings.length === 0 && !text) return undefined;
  return { ...(codings.length > 0 ? { coding: codings } : {}), ...(text ? { text } : {}) };
}

function codeSystem(name: string, organization: string): string {
  const table = /^HL7(\d{4})$/.exec(name);
  if (table) return `http://terminology.hl7.org/CodeSystem/v2-${table[1]}`;
  return CODE_SYSTEMS[name] ?? labCodeSystem(organization);
}

/** The Specimens of a group: its SPMs, or else what OBR-15 (specimen source, kept for older senders) says. */
function specimensOf(group: OrderGroup, filler: Identifier, context: OruContext): Specimen[] {
  const base = (n: number, type: CodeableConcept | undefined, specimenId: string | undefined): Specimen => ({
    resourceType: 'Specimen',
    identifier: [{ system: filler.system!, value: `${filler.value}/specimen/${specimenId ?? n}` }],
    ...(type ? { type } : {}),
    subject: context.patient,
  });
  if (group.specimens.length > 0) {
    return group.specimens.map((spm, index) => {
      const specimenId = component(spm, 2, 2) || component(spm, 2, 1);
      const collected = fhirDateTime(component(spm, 17));
      const received = fhirInstant(component(spm, 18));
      return {
        ...base(index + 1, codeableConcept(repetition(spm, 4), context.organization), specimenId || undefined),
        ...(collected ? { collection: { collectedDateTime: collected } } : {}),
        ...(received ? { receivedTime: received } : {}),
      };
    });
  }
  // OBR-15.1 is a CWE written in subcomponents (SPS data type).
  const source = (repetition(group.obr, 15)[0] ?? []).map((subcomponent) => [subcomponent]);
  const type = codeableConcept(source, context.organization);
  if (!type) return [];
  const collected = fhirDateTime(component(group.obr, 7));
  return [{ ...base(1, type, undefined), ...(collected ? { collection: { collectedDateTime: collected } } : {}) }];
}

/** NTE-3 (repeating) of each note as an Annotation. */
export function noteText(notes: Segment[]): Annotation[] | undefined {
  const annotations = notes.map((nte) => field(nte, 3).map((r) => part(r, 1)).join('\n')).filter((text) => text !== '').map((text) => ({ text }));
  return annotations.length > 0 ? annotations : undefined;
}

function decimal(text: string): number | undefined {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : undefined;
}
