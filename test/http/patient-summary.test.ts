import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Composition, CompositionSection, Resource } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { validateResource } from '../../src/fhir/validate.js';
import { populationResources } from '../../src/synth/population.js';
import { bearer, buildWorld, FIXED, HIV_LABEL, IIN, LOINC, ORG, PATIENT, tokens, type Tokens } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const SYNTHEA = join(import.meta.dirname, '../../../shared/data/synthea-r4/Franklyn_Klein_65e9d5ba-f10e-428c-b8de-854da8a1ae29.json');
const SNOMED = 'http://snomed.info/sct';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

const SECTION = {
  problems: '11450-4',
  allergies: '48765-2',
  medications: '10160-0',
  immunizations: '11369-6',
  results: '30954-2',
  procedures: '47519-4',
  devices: '46264-8',
  vitalSigns: '8716-3',
  pastIllness: '11348-0',
  planOfCare: '18776-5',
} as const;

/** The contract the PDF renderer reads: one table of plain cells, or one paragraph. */
const TABLE_DIV = /^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml"><table><thead><tr>(<th>[^<>]*<\/th>)+<\/tr><\/thead><tbody>(<tr>(<td>[^<>]*<\/td>)+<\/tr>)+<\/tbody><\/table><\/div>$/;
const PARAGRAPH_DIV = /^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml"><p>[^<>]+<\/p><\/div>$/;
const KAZAKH_LETTERS = /[әғқңөұүһі]/i;

const composition = (bundle: Bundle) => bundle.entry![0]!.resource as Composition;
const section = (bundle: Bundle, code: string) => composition(bundle).section?.find((s) => s.code?.coding?.[0]?.code === code);
const byFullUrl = (bundle: Bundle) => new Map(bundle.entry!.map((e) => [e.fullUrl!, e.resource!]));
/** The resources a section lists, resolved in the document. */
function listed(bundle: Bundle, code: string): Resource[] {
  const entries = byFullUrl(bundle);
  return (section(bundle, code)?.entry ?? []).map((r) => {
    const found = entries.get(r.reference!);
    assert.ok(found, `${r.reference} resolves in the document`);
    return found;
  });
}
const codeOf = (resource: any): string => resource.code?.coding?.[0]?.code ?? resource.vaccineCode?.coding?.[0]?.code ?? resource.medicationCodeableConcept?.coding?.[0]?.code;

/** Every literal reference in `value` (R4 bundle resolution: relative to the entry's fullUrl base). */
function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value && typeof value === 'object') {
    const reference = (value as { reference?: unknown }).reference;
    if (typeof reference === 'string') found.push(reference);
    for (const child of Object.values(value)) references(child, found);
  }
  return found;
}

/** Checks the document rules every summary must meet, and returns the references it resolved. */
function assertDocument(bundle: Bundle, base: string, patientId: string): void {
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'document');
  assert.equal(bundle.identifier?.system, 'urn:ietf:rfc:3986');
  assert.match(bundle.identifier?.value ?? '', /^urn:uuid:[0-9a-f-]{36}$/);
  assert.ok(bundle.timestamp);
  assert.deepEqual(bundle.meta?.profile, ['http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips']);
  const doc = composition(bundle);
  assert.equal(doc.resourceType, 'Composition');
  assert.equal(doc.status, 'final');
  assert.deepEqual(doc.type.coding?.[0], { system: LOINC, code: '60591-5', display: 'Patient summary Document' });
  assert.deepEqual(doc.meta?.profile, ['http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips']);
  assert.equal(doc.subject?.reference, `${base}/Patient/${patientId}`);
  assert.ok(doc.author.length > 0 && doc.date && doc.title && doc.confidentiality);
  for (const code of [SECTION.problems, SECTION.allergies, SECTION.medications]) assert.ok(section(bundle, code), `required section ${code}`);
  for (const s of doc.section ?? []) {
    assert.equal(s.text?.status, 'generated');
    assert.match(s.text!.div, s.entry?.length ? TABLE_DIV : PARAGRAPH_DIV, `${s.title}: ${s.text?.div}`);
    assert.ok(s.entry?.length || s.emptyReason, `${s.title} lists entries or says why not`);
  }

  const fullUrls = bundle.entry!.map((e) => e.fullUrl!);
  assert.equal(new Set(fullUrls).size, fullUrls.length, 'fullUrls are unique');
  const referenced = new Set<string>();
  for (const entry of bundle.entry!) {
    const own = entry.fullUrl!;
    const restBase = own.startsWith(`${base}/`) ? base : undefined;
    for (const reference of references(entry.resource)) {
      if (reference.startsWith('#')) continue;
      const absolute = reference.includes('://') || reference.startsWith('urn:') ? reference : restBase ? `${restBase}/${reference}` : reference;
      assert.ok(fullUrls.includes(absolute), `${entry.resource!.resourceType}/${entry.resource!.id} refers to ${reference}, which the document holds`);
      referenced.add(absolute);
    }
  }
  for (const url of fullUrls.slice(1)) assert.ok(referenced.has(url), `${url} is referenced from somewhere in the document`);
  // Nothing of another patient: the only Patient is the subject, and everything points at it.
  const patients = bundle.entry!.filter((e) => e.resource?.resourceType === 'Patient');
  assert.deepEqual(patients.map((e) => e.resource!.id), [patientId]);
  const errors = validateResource(bundle).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  assert.deepEqual(errors, [], 'the document is valid R4');
}

/** The Synthea bundle's resources of one type, as sent. */
function sent(bundle: any, type: string): any[] {
  return bundle.entry.map((e: any) => e.resource).filter((r: any) => r.resourceType === type);
}

/**
 * A generated patient with vital signs (heart rate among them) and the facility network's
 * resources their care refers to, as one transaction of PUTs.
 */
function generatedPatient(): { id: string; transaction: Bundle } {
  const all = [...populationResources({ patients: 12, seed: 14 })];
  const byKey = new Map(all.map((r) => [`${r.resourceType}/${r.id}`, r]));
  const patients = all.filter((r) => r.resourceType === 'Patient');
  const careOf = (id: string) => all.filter((r) => r.resourceType !== 'Patient' && references(r).includes(`Patient/${id}`));
  const chosen = patients
    .map((p) => ({ patient: p, care: careOf(p.id!) }))
    .filter(({ care }) => care.some((r: any) => r.code?.coding?.[0]?.code === '8867-4'))
    .sort((a, b) => new Set(b.care.map((r) => r.resourceType)).size - new Set(a.care.map((r) => r.resourceType)).size)[0]!;
  const resources = [chosen.patient, ...chosen.care];
  const network = new Map<string, Resource>();
  for (const reference of resources.flatMap((r) => references(r))) {
    const target = byKey.get(reference);
    if (target && target.resourceType !== 'Patient' && !resources.includes(target)) network.set(reference, target);
  }
  const entry = [...network.values(), ...resources].map((resource) => ({
    resource,
    request: { method: 'PUT' as const, url: `${resource.resourceType}/${resource.id}` },
  }));
  return { id: chosen.patient.id!, transaction: { resourceType: 'Bundle', type: 'transaction', entry } };
}

for (const driver of testDrivers()) describe(`Patient/$summary: the International Patient Summary (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  let synthea: any;
  let syntheaPatient: string;
  let generated: string;
  const hivLab = 'obs-p7-hiv-lab';
  const plainLab = 'obs-p7-lab';

  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
    synthea = JSON.parse(readFileSync(SYNTHEA, 'utf8'));
    const loaded = await server.fhir('POST', '', synthea);
    assert.equal(loaded.status, 200, loaded.text.slice(0, 300));
    syntheaPatient = loaded.body.entry.find((e: any) => e.resource.resourceType === 'Patient').resource.id;
    const { id, transaction } = generatedPatient();
    const written = await server.fhir('POST', '', transaction);
    assert.equal(written.status, 200, written.text.slice(0, 300));
    generated = id;

    const put = async (resource: any) => {
      const reply = await server.fhir('PUT', `${resource.resourceType}/${resource.id}`, resource);
      assert.ok(reply.status === 200 || reply.status === 201, reply.text);
    };
    const lab = (id: string, code: string, extra: object = {}) => ({
      resourceType: 'Observation',
      id,
      status: 'final',
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'laboratory' }] }],
      code: { coding: [{ system: LOINC, code }] },
      subject: { reference: `Patient/${PATIENT.p7}` },
      effectiveDateTime: '2025-05-05',
      valueQuantity: { value: 5.10, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      ...extra,
    });
    await put(lab(plainLab, '14749-6'));
    await put(lab(hivLab, '25836-8', { meta: { security: [HIV_LABEL] }, valueQuantity: { value: 20, unit: 'copies/mL' } }));
    // P1's record says "no known allergy" and lists a medicine by reference to a Medication.
    await put({
      resourceType: 'AllergyIntolerance',
      id: 'nka-p1',
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
      code: { coding: [{ system: SNOMED, code: '716186003', display: 'No known allergy' }] },
      patient: { reference: `Patient/${PATIENT.p1}` },
    });
    await put({
      resourceType: 'MedicationStatement',
      id: 'ms-p1',
      status: 'active',
      medicationReference: { reference: `Medication/${FIXED.med}` },
      subject: { reference: `Patient/${PATIENT.p1}` },
      effectiveDateTime: '2025-01-10',
      dosage: [{ text: 'По 1 таблетке при боли' }],
    });
  });
  after(() => server.close());

  const summary = async (path: string, headers: Record<string, string> = {}) => {
    const reply = await server.fhir('GET', path, undefined, headers);
    assert.equal(reply.status, 200, reply.text.slice(0, 500));
    return reply.body as Bundle;
  };

  test('a Synthea patient: each section holds what IPS asks of it, and the document resolves and validates', async () => {
    const bundle = await summary(`Patient/${syntheaPatient}/$summary?language=en`);
    assertDocument(bundle, server.base, syntheaPatient);

    const conditions = sent(synthea, 'Condition');
    const active = conditions.filter((c) => c.clinicalStatus.coding[0].code === 'active').map(codeOf).sort();
    const resolved = conditions.filter((c) => c.clinicalStatus.coding[0].code !== 'active').map(codeOf).sort();
    assert.ok(active.length > 0 && resolved.length > 0, 'the patient has current and past conditions');
    assert.deepEqual(listed(bundle, SECTION.problems).map(codeOf).sort(), active);
    assert.deepEqual(listed(bundle, SECTION.pastIllness).map(codeOf).sort(), resolved);

    assert.deepEqual(listed(bundle, SECTION.allergies).map(codeOf).sort(), sent(synthea, 'AllergyIntolerance').map(codeOf).sort());
    const activeMedicines = sent(synthea, 'MedicationRequest').filter((m) => m.status === 'active');
    assert.ok(activeMedicines.length > 0 && activeMedicines.length < sent(synthea, 'MedicationRequest').length, 'some medicines are active, some not');
    assert.deepEqual(listed(bundle, SECTION.medications).map(codeOf).sort(), activeMedicines.map(codeOf).sort());
    assert.equal(listed(bundle, SECTION.immunizations).length, sent(synthea, 'Immunization').length);
    assert.equal(listed(bundle, SECTION.procedures).length, sent(synthea, 'Procedure').length);
    assert.deepEqual(
      listed(bundle, SECTION.planOfCare).map((c: any) => c.status),
      sent(synthea, 'CarePlan').filter((c) => c.status === 'active').map(() => 'active'),
    );

    // The latest vital sign and lab result of each code, once.
    const observations = sent(synthea, 'Observation');
    for (const [code, category] of [[SECTION.vitalSigns, 'vital-signs'], [SECTION.results, 'laboratory']] as const) {
      const shown = listed(bundle, code).filter((r) => r.resourceType === 'Observation') as any[];
      const ofCategory = observations.filter((o) => o.category?.[0]?.coding?.[0]?.code === category);
      assert.equal(shown.length, new Set(ofCategory.map(codeOf)).size, `one ${category} observation per code`);
      for (const observation of shown) {
        const newest = ofCategory.filter((o) => codeOf(o) === codeOf(observation)).map((o) => o.effectiveDateTime).sort().at(-1);
        assert.equal(observation.effectiveDateTime, newest, `${codeOf(observation)} is the latest`);
      }
    }
    const reports = listed(bundle, SECTION.results).filter((r) => r.resourceType === 'DiagnosticReport');
    assert.ok(reports.length > 0, 'lab reports are results');
    // Encounters, claims and the like are not part of a summary.
    const types = new Set(bundle.entry!.map((e) => e.resource!.resourceType));
    for (const type of ['Encounter', 'Claim', 'ExplanationOfBenefit', 'ImagingStudy']) assert.ok(!types.has(type as never), `${type} is left out`);

    const reply = await server.fhir('POST', 'Bundle/$validate', bundle);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.issue.filter((i: any) => i.severity === 'error'), [], 'the server validates its own document');
  });

  test('three languages: titles, statuses, dates and code displays follow the reader; language wins over Accept-Language, Kazakh by default', async () => {
    const kk = await summary(`Patient/${generated}/$summary?language=kk`);
    const ru = await summary(`Patient/${generated}/$summary`, { 'accept-language': 'ru-RU,ru;q=0.9' });
    const en = await summary(`Patient/${generated}/$summary?language=en`, { 'accept-language': 'ru' });
    const byDefault = await summary(`Patient/${generated}/$summary`);
    assertDocument(kk, server.base, generated);
    assert.equal(composition(kk).title, 'Пациенттің халықаралық түйіндемесі');
    assert.equal(composition(ru).title, 'Международная сводка о пациенте');
    assert.equal(composition(en).title, 'International Patient Summary');
    assert.equal(composition(byDefault).title, composition(kk).title);
    assert.deepEqual([kk, ru, en].map((b) => composition(b).language), ['kk', 'ru', 'en']);

    const vitals = (b: Bundle) => section(b, SECTION.vitalSigns)!;
    assert.deepEqual([kk, ru, en].map((b) => vitals(b).title), ['Өмірлік маңызды көрсеткіштер', 'Показатели жизнедеятельности', 'Vital Signs']);
    assert.ok(vitals(kk).text!.div.includes('Жүрек соғу жиілігі'), vitals(kk).text!.div);
    assert.ok(vitals(ru).text!.div.includes('Частота сердечных сокращений'));
    assert.ok(vitals(en).text!.div.includes('Heart rate'));
    for (const s of composition(kk).section!) assert.match(`${s.title} ${s.text!.div}`, KAZAKH_LETTERS, `${s.title} is in Kazakh`);
    // Dates as each reader writes them, of the same heart rate.
    const heartRateRow = (b: Bundle, name: string) => /<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g;
    const rowOf = (b: Bundle, name: string) => [...vitals(b).text!.div.matchAll(heartRateRow(b, name))].find((m) => m[1] === name)!;
    const [kkRow, enRow] = [rowOf(kk, 'Жүрек соғу жиілігі'), rowOf(en, 'Heart rate')];
    assert.match(kkRow[2]!, /^\d+ \/min$/);
    assert.equal(kkRow[2], enRow[2], 'a value is printed as recorded, in every language');
    assert.match(kkRow[3]!, /^\d{2}\.\d{2}\.\d{4}$/);
    assert.match(enRow[3]!, /^\d{2}\/\d{2}\/\d{4}$/);

    const bad = await server.fhir('GET', `Patient/${generated}/$summary?language=de`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issue[0].expression, ['language']);
    const otherProfile = await server.fhir('GET', `Patient/${generated}/$summary?profile=${encodeURIComponent('http://example.org/StructureDefinition/other')}`);
    assert.equal(otherProfile.status, 400);
    assert.deepEqual(otherProfile.body.issue[0].expression, ['profile']);
    const ipsProfile = await server.fhir('GET', `Patient/${generated}/$summary?profile=${encodeURIComponent('http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips|2.0.0')}`);
    assert.equal(ipsProfile.status, 200);
    const posted = await server.fhir('POST', `Patient/${generated}/$summary`, { resourceType: 'Parameters', parameter: [{ name: 'language', valueCode: 'ru' }] });
    assert.equal(posted.status, 200, posted.text.slice(0, 300));
    assert.equal(composition(posted.body).title, 'Международная сводка о пациенте');
  });

  test('required sections without data say so; the record\'s "no known allergy" is shown; shared resources come along', async () => {
    const empty = await summary(`Patient/${PATIENT.p4}/$summary?language=en`);
    assertDocument(empty, server.base, PATIENT.p4);
    assert.deepEqual(composition(empty).section!.map((s) => s.code!.coding![0]!.code), [SECTION.problems, SECTION.allergies, SECTION.medications]);
    for (const s of composition(empty).section! as CompositionSection[]) {
      assert.equal(s.entry, undefined);
      assert.equal(s.emptyReason?.coding?.[0]?.code, 'unavailable');
      assert.equal(s.text!.div, '<div xmlns="http://www.w3.org/1999/xhtml"><p>No information available</p></div>');
    }

    const p1 = await summary(`Patient/${PATIENT.p1}/$summary?language=ru`);
    assertDocument(p1, server.base, PATIENT.p1);
    assert.deepEqual(listed(p1, SECTION.allergies).map((a) => a.id), ['nka-p1']);
    assert.equal(section(p1, SECTION.allergies)!.emptyReason, undefined);
    assert.deepEqual(listed(p1, SECTION.problems).map(codeOf), ['I10']);
    assert.deepEqual(listed(p1, SECTION.medications).map((m) => m.id), ['ms-p1']);
    assert.ok(byFullUrl(p1).has(`${server.base}/Medication/${FIXED.med}`), 'the Medication a statement names is in the document');
    assert.ok(section(p1, SECTION.medications)!.text!.div.includes('<td>Paracetamol 500 mg</td><td>По 1 таблетке при боли</td><td>активно</td><td>10.01.2025</td>'));
    // P1 is attached to organization A: it authors and keeps the summary.
    const doc = composition(p1);
    assert.equal(doc.author[0]!.reference, `${server.base}/Organization/${ORG.A}`);
    assert.equal(doc.custodian?.reference, `${server.base}/Organization/${ORG.A}`);

    const p3 = await summary(`Patient/${PATIENT.p3}/$summary?language=en`);
    assertDocument(p3, server.base, PATIENT.p3);
    const devices = listed(p3, SECTION.devices);
    assert.equal(devices.length, 1);
    assert.equal((devices[0] as any).device.reference, `${server.base}/Device/${FIXED.devP3}`);
    assert.ok(section(p3, SECTION.devices)!.text!.div.includes('Implanted cardiac pacemaker'));
  });

  test('the door: no care relationship, no summary; a citizen gets their own only; a consent hides its category', async () => {
    for (const [actor, patient, expected] of [
      ['clinicianC', PATIENT.p1, 'refused'],
      ['clinicianA', PATIENT.p3, 'refused'],
      ['clinicianA', PATIENT.p1, 'served'],
      ['citizenP1', PATIENT.p1, 'served'],
      ['citizenP1', PATIENT.p3, 'refused'],
      ['citizenP3', PATIENT.p3, 'served'],
      ['smartP1', PATIENT.p1, 'served'],
      ['observationsOnly', PATIENT.p1, 'refused'],
    ] as const) {
      const headers = bearer(t[actor]);
      const read = await server.fhir('GET', `Patient/${patient}`, undefined, headers);
      const reply = await server.fhir('GET', `Patient/${patient}/$summary`, undefined, headers);
      assert.equal(reply.status, read.status, `${actor} on ${patient}: $summary answers as the read does`);
      if (expected === 'refused') {
        assert.ok(reply.status === 404 || reply.status === 403, `${actor} on ${patient}: ${reply.status}`);
        assert.equal(reply.body.resourceType, 'OperationOutcome');
      } else {
        assert.equal(reply.status, 200, reply.text.slice(0, 300));
        assertDocument(reply.body, server.base, patient);
      }
    }
    const unknown = await server.fhir('GET', 'Patient/no-such-patient/$summary');
    assert.equal(unknown.status, 404);

    // By identifier: the citizen's own IIN finds their summary; another's finds nothing.
    const own = await server.fhir('GET', `Patient/$summary?identifier=${encodeURIComponent(`${IIN_SYSTEM}|${IIN.p1}`)}`, undefined, bearer(t.citizenP1));
    assert.equal(own.status, 200, own.text.slice(0, 300));
    assert.equal(composition(own.body).subject?.reference, `${server.base}/Patient/${PATIENT.p1}`);
    const posted = await server.fhir(
      'POST',
      'Patient/$summary',
      { resourceType: 'Parameters', parameter: [{ name: 'identifier', valueIdentifier: { system: IIN_SYSTEM, value: IIN.p1 } }, { name: 'language', valueCode: 'en' }] },
      bearer(t.citizenP1),
    );
    assert.equal(posted.status, 200, posted.text.slice(0, 300));
    assert.equal(composition(posted.body).title, 'International Patient Summary');
    const other = await server.fhir('GET', `Patient/$summary?identifier=${encodeURIComponent(`${IIN_SYSTEM}|${IIN.p3}`)}`, undefined, bearer(t.citizenP1));
    assert.equal(other.status, 404);
    const none = await server.fhir('GET', 'Patient/$summary', undefined, bearer(t.citizenP1));
    assert.equal(none.status, 400);
    assert.deepEqual(none.body.issue[0].expression, ['identifier']);

    // P7's Consent hides HIV-labelled items: clinician A (P7's polyclinic) gets the summary without them.
    const results = (b: Bundle) => listed(b, SECTION.results).map((r) => r.id);
    const seenByAll = await summary(`Patient/${PATIENT.p7}/$summary`);
    assert.ok(results(seenByAll).includes(hivLab), 'the labelled result is a result for one who may see it');
    assert.equal(composition(seenByAll).confidentiality, 'R', 'a document holding a sensitive item is restricted');
    const clinician = await summary(`Patient/${PATIENT.p7}/$summary`, bearer(t.clinicianA));
    assertDocument(clinician, server.base, PATIENT.p7);
    assert.deepEqual(results(clinician), [plainLab]);
    const labelled = clinician.entry!.filter((e) => e.resource?.meta?.security?.some((s) => s.code === HIV_LABEL.code));
    assert.deepEqual(labelled, [], 'nothing labelled HIV anywhere in the document');
    assert.ok(!section(clinician, SECTION.results)!.text!.div.includes('copies/mL'), 'nor in its narrative');
    assert.equal(composition(clinician).confidentiality, 'N');
  });
});
