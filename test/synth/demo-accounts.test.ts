/**
 * The demo population gives every screen of the citizen's app data (issue 15, server item 3),
 * and the calls the app makes as that citizen answer as the app needs (item 4): the record of
 * self and dependants, polyclinics to choose from, attachment, consents, a lab trend, the
 * timeline's filters, share links and the printed passport.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle, Consent, Encounter, ImagingStudy, Observation, Organization, Parameters, Patient, Resource } from '@medplum/fhirtypes';
import { seedingAccess } from '../../src/access/door.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { FsObjectStore } from '../../src/imaging/object-store.js';
import { Repository } from '../../src/store/repository.js';
import { createDemoAccounts } from '../../src/synth/demo-accounts.js';
import { seedDemoPopulation } from '../../src/synth/seed.js';
import type { DemoAccount } from '../../src/access/index.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { bearer } from '../access/world.js';

const GLUCOSE = 'http://loinc.org|14749-6';
const FACILITY_TYPE = 'http://densaulyq.kz/fhir/CodeSystem/facility-type';

for (const driver of testDrivers()) describe(`the demo citizen's app, on the demo population (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let accounts: DemoAccount[];
  let citizen: string;
  let me: Patient;
  let polyclinic: string;
  let tok: Record<'citizen' | 'clinician' | 'visiting', string>;
  let visitingOrganization: string;

  let imagesDir: string;
  before(async () => {
    imagesDir = await mkdtemp(join(tmpdir(), 'densaulyq-demo-images-'));
    const store = new FsObjectStore(imagesDir);
    server = await startTestServer(driver, { imaging: { store } });
    const repo = new Repository(server.db, seedingAccess());
    await seedDemoPopulation(repo, { patients: 120, seed: 2026 });
    accounts = await createDemoAccounts(server.db, repo, { store, base: server.base.replace(/\/fhir$/, '/dicom-web') });
    const account = (role: string) => accounts.find((a) => a.role === role)!;
    citizen = account('citizen').fhirUser!.slice('Patient/'.length);
    const clinician = account('clinician');
    tok = {
      citizen: await server.token({ sub: 'demo-citizen', client_id: 'densaulyq-web', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${citizen}` }),
      clinician: await server.token({ sub: 'demo-clinician', client_id: 'mis', scope: 'user/*.cruds', role: 'clinician', organization: clinician.organization!, fhirUser: clinician.fhirUser! }),
      visiting: '',
    };
    me = (await ok(as('citizen', 'GET', `Patient/${citizen}`))) as Patient;
    polyclinic = me.generalPractitioner!.find((r) => r.reference!.startsWith('Organization/'))!.reference!.slice('Organization/'.length);
    const declared = entries<Parameters>(await ok(as('citizen', 'GET', `Patient/${citizen}/$care-declarations?status=open`)));
    visitingOrganization = declared[0]!.parameter!.find((p) => p.name === 'organization')!.valueReference!.reference!.slice('Organization/'.length);
    tok.visiting = await server.token({ sub: 'visiting-clinician', client_id: 'mis-2', scope: 'user/*.cruds', role: 'clinician', organization: visitingOrganization });
  });
  after(async () => {
    await server?.close();
    await rm(imagesDir, { recursive: true, force: true });
  });

  const as = (who: keyof typeof tok, method: string, path: string, body?: unknown) => server.fhir(method, path, body, bearer(tok[who]));
  const ok = async (reply: Promise<FhirReply>, expected = [200, 201]) => {
    const r = await reply;
    assert.ok(expected.includes(r.status), `${r.status}: ${r.text}`);
    return r.body;
  };
  const entries = <T extends Resource>(bundle: unknown) => ((bundle as Bundle<T>).entry ?? []).map((e) => e.resource!).filter((r) => r.resourceType !== 'OperationOutcome');
  const ageOf = (birthDate: string) => (Date.now() - Date.parse(birthDate)) / (365.25 * 86_400_000);

  test('the demo citizen is an adult attached to their polyclinic, where the demo clinician works', () => {
    assert.ok(ageOf(me.birthDate!) >= 18, me.birthDate);
    assert.equal(accounts.find((a) => a.role === 'clinician')!.organization, polyclinic);
    assert.notEqual(visitingOrganization, polyclinic, 'the self-declared visit is from another organization');
  });

  test('family: GET Patient answers self and the child the registry records them as parent of', async () => {
    const patients = entries<Patient>(await ok(as('citizen', 'GET', 'Patient')));
    assert.equal(patients.length, 2, patients.map((p) => p.id).join());
    const child = patients.find((p) => p.id !== citizen)!;
    assert.ok(ageOf(child.birthDate!) < 18);
    const iin = me.identifier!.find((i) => i.system === IIN_SYSTEM)!.value;
    const parents = entries(await ok(as('citizen', 'GET', `RelatedPerson?patient=Patient/${child.id}&identifier=${IIN_SYSTEM}|${iin}`)));
    assert.equal(parents.length, 1, 'the RelatedPerson naming the citizen');
    assert.ok(entries(await ok(as('citizen', 'GET', `Patient/${child.id}/$everything`))).length > 1, "the child's record opens");
  });

  test('results: a glucose series with reference ranges and flags, oldest first', async () => {
    const series = entries<Observation>(await ok(as('citizen', 'GET', `Observation?patient=${citizen}&code=${GLUCOSE}&_sort=date`)));
    assert.ok(series.length >= 3, `${series.length} results`);
    const dates = series.map((o) => o.effectiveDateTime!);
    assert.deepEqual([...dates].sort(), dates);
    for (const o of series) {
      assert.ok(o.referenceRange?.[0]?.low || o.referenceRange?.[0]?.high, 'reference range');
      assert.ok(o.interpretation?.[0]?.coding?.[0]?.code, 'flag');
    }
  });

  test('immunizations and an open self-declared visit from another organization', async () => {
    assert.ok(entries(await ok(as('citizen', 'GET', `Immunization?patient=${citizen}`))).length > 0);
    const [declaration] = entries<Parameters>(await ok(as('citizen', 'GET', `Patient/${citizen}/$care-declarations?status=open`)));
    const organization = declaration!.parameter!.find((p) => p.name === 'organization')!.valueReference!;
    assert.ok(organization.display, 'with the organization’s name');
    const evidence = declaration!.parameter!.find((p) => p.name === 'evidence')!.valueReference!.reference!;
    assert.match(evidence, /^Encounter\//);
    assert.equal(((await ok(as('citizen', 'GET', evidence))) as Encounter).status, 'in-progress');
  });

  test('timeline: Encounters by service-provider, DocumentReferences by author', async () => {
    const atPolyclinic = entries<Encounter>(await ok(as('citizen', 'GET', `Encounter?patient=${citizen}&service-provider=Organization/${polyclinic}&_sort=-date`)));
    assert.ok(atPolyclinic.length > 0);
    assert.ok(atPolyclinic.every((e) => e.serviceProvider?.reference === `Organization/${polyclinic}`));
    const note = {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
      subject: { reference: `Patient/${citizen}` },
      author: [{ reference: `Organization/${polyclinic}` }],
      date: new Date().toISOString(),
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Seen today').toString('base64') } }],
    };
    const written = (await ok(as('clinician', 'POST', 'DocumentReference', note), [201])) as { id: string };
    const byAuthor = entries(await ok(as('citizen', 'GET', `DocumentReference?patient=${citizen}&author=Organization/${polyclinic}`)));
    assert.deepEqual(byAuthor.map((d) => d.id), [written.id]);
    assert.deepEqual(entries(await ok(as('citizen', 'GET', `DocumentReference?patient=${citizen}&author=Organization/${visitingOrganization}`))), []);
  });

  test('my polyclinic: Organizations by name and type, and $attach', async () => {
    const polyclinics = entries<Organization>(await ok(as('citizen', 'GET', `Organization?type=${FACILITY_TYPE}|polyclinic&_count=100`)));
    assert.ok(polyclinics.some((o) => o.id === polyclinic));
    const other = polyclinics.find((o) => o.id !== polyclinic)!;
    const byName = entries<Organization>(await ok(as('citizen', 'GET', `Organization?name=${encodeURIComponent(other.name!.split(' ')[0]!)}&type=${FACILITY_TYPE}|polyclinic`)));
    assert.ok(byName.some((o) => o.id === other.id), 'found by the start of its name');
    const attach = (organization: string) =>
      as('citizen', 'POST', `Patient/${citizen}/$attach`, { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${organization}` } }] });
    const moved = (await ok(attach(other.id!))) as Patient;
    assert.ok(moved.generalPractitioner!.some((r) => r.reference === `Organization/${other.id}`));
    await ok(attach(polyclinic));
    assert.equal((await as('clinician', 'GET', `Patient/${citizen}`)).status, 200, 'back at the polyclinic');
  });

  test('privacy: a Consent denying an organization and one hiding a category are created, listed and ended', async () => {
    const consent = (provision: Consent['provision']): Consent => ({
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${citizen}` },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
      provision,
    });
    assert.equal((await as('visiting', 'GET', `Patient/${citizen}`)).status, 200, 'the visiting organization reaches the record');
    const deny = (await ok(
      as('citizen', 'POST', 'Consent', consent({ type: 'permit', provision: [{ type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Organization/${visitingOrganization}` } }] }] })),
      [201],
    )) as Consent;
    const hide = (await ok(as('citizen', 'POST', 'Consent', consent({ type: 'permit', provision: [{ type: 'deny', securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] }] })), [201])) as Consent;
    const listed = entries<Consent>(await ok(as('citizen', 'GET', `Consent?patient=${citizen}&status=active`))).map((c) => c.id).sort();
    assert.deepEqual(listed, [deny.id, hide.id].sort());

    assert.equal((await as('visiting', 'GET', `Patient/${citizen}`)).status, 404, 'blocked');
    const log = entries<AuditEvent>(await ok(as('citizen', 'GET', `Patient/${citizen}/$access-log?_count=20`)));
    assert.ok(log.some((e) => e.outcome === '4' && e.agent.some((a) => a.who?.reference === `Organization/${visitingOrganization}`)), 'the refused attempt shows');

    await ok(as('citizen', 'PUT', `Consent/${deny.id}`, { ...deny, status: 'inactive' }));
    await ok(as('citizen', 'PUT', `Consent/${hide.id}`, { ...hide, status: 'inactive' }));
    assert.equal((await as('visiting', 'GET', `Patient/${citizen}`)).status, 200, 'unblocked');
    assert.deepEqual(entries(await ok(as('citizen', 'GET', `Consent?patient=${citizen}&status=active`))), []);
  });

  test('sharing: $share-link, $share-links, $revoke-share-link, and the PDF passport', async () => {
    const created = (await ok(as('citizen', 'POST', `Patient/${citizen}/$share-link`, { resourceType: 'Parameters', parameter: [{ name: 'label', valueString: 'Dentist' }, { name: 'minutes', valueInteger: 60 }] }))) as Parameters;
    const id = created.parameter!.find((p) => p.name === 'id')!.valueString!;
    assert.match(created.parameter!.find((p) => p.name === 'link')!.valueUri!, /^shlink:\//);
    const listed = JSON.stringify(await ok(as('citizen', 'GET', `Patient/${citizen}/$share-links`)));
    assert.ok(listed.includes(id));
    await ok(as('citizen', 'POST', `Patient/${citizen}/$revoke-share-link`, { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: id }] }));
    const pdf = await fetch(`${server.base}/Patient/${citizen}/$summary?_format=pdf`, { headers: bearer(tok.citizen) });
    assert.equal(pdf.status, 200);
    assert.equal(pdf.headers.get('content-type')?.split(';')[0], 'application/pdf');
    assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString('latin1'), '%PDF-');
  });

  test('images: a head CT in my record, its series found and a slice shown through DICOMweb as me', async () => {
    const studies = entries<ImagingStudy>(await ok(as('citizen', 'GET', `ImagingStudy?patient=${citizen}`)));
    assert.equal(studies.length, 1);
    const study = studies[0]!;
    assert.equal(study.numberOfInstances, 24);
    const uid = study.identifier!.find((i) => i.system === 'urn:dicom:uid')!.value!.replace(/^urn:oid:/, '');
    const dicomweb = (path: string, accept: string) => fetch(`${server.base.replace(/\/fhir$/, '/dicom-web')}${path}`, { headers: { accept, ...bearer(tok.citizen) } });
    const series = await dicomweb(`/studies/${uid}/series`, 'application/dicom+json');
    assert.equal(series.status, 200);
    const [found] = (await series.json()) as Record<string, { Value?: unknown[] }>[];
    assert.equal(found!['00080060']!.Value![0], 'CT');
    assert.equal(found!['00201209']!.Value![0], 24);
    const slice = await dicomweb(`/studies/${uid}/rendered`, 'image/png');
    assert.equal(slice.status, 200);
    const png = Buffer.from(await slice.arrayBuffer());
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const values = new Set<number>();
    for (let i = 0; i < data.length; i += info.channels) values.add(data[i]!);
    assert.ok(values.has(0) && values.has(255) && [...values].some((v) => v > 100 && v < 155), 'air, bone, and brain tissue in the middle of the brain window');
  });
});
