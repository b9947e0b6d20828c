/**
 * Refused attempts (issue 15, server item 1): when an organization the patient's Consent denies
 * asks for that patient's data, its answer stays a 404 or an empty Bundle, and the patient's
 * access log shows who tried, when, and that it was refused (outcome 4, access basis
 * `consent-refused`, displayed in kk/ru/en). Nobody else's access is changed by it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { ACCESS_BASIS_SYSTEM } from '../../src/access/audit-vocabulary.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';
import { ORG, PATIENT, type Tokens, type World, bearer, buildWorld, entryRefs, tokens } from './world.js';

const isRefused = (e: AuditEvent) => e.outcome === '4' && (e.meta?.security ?? []).some((s) => s.system === ACCESS_BASIS_SYSTEM && s.code === 'consent-refused');
const organizationOf = (e: AuditEvent) => e.agent.find((a) => a.who?.reference?.startsWith('Organization/'))?.who?.reference;
const userOf = (e: AuditEvent) => e.agent.find((a) => a.requestor)?.who;

for (const driver of testDrivers()) describe(`refused attempts in the access log (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let tok: Tokens & { citizenP6: string };
  let world: World;

  before(async () => {
    server = await startTestServer(driver);
    const base = await tokens(server);
    world = await buildWorld(server, base);
    tok = { ...base, citizenP6: await server.token({ sub: 'citizen-p6', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${PATIENT.p6}` }) };
  });
  after(() => server?.close());

  const as = (who: keyof typeof tok, method: string, path: string, body?: unknown) => server.fhir(method, path, body, bearer(tok[who]));
  const log = async (): Promise<AuditEvent[]> => {
    const reply = await as('citizenP6', 'GET', `Patient/${PATIENT.p6}/$access-log?_count=200`);
    assert.equal(reply.status, 200, reply.text);
    return ((reply.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  };

  test('a denied clinician gets 404 and an empty search, and the patient sees both refused attempts with the organization', async () => {
    const started = new Date().toISOString();
    assert.equal((await as('clinicianA', 'GET', `Patient/${PATIENT.p6}`)).status, 404);
    const search = await as('clinicianA', 'GET', `Observation?patient=${PATIENT.p6}`);
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(entryRefs(search.body), [], 'the caller learns nothing');
    assert.equal((await as('clinicianA', 'GET', `Observation/${world.obs.p6}`)).status, 404);

    const refused = (await log()).filter((e) => isRefused(e) && e.recorded >= started);
    const interactions = refused.map((e) => e.subtype?.[0]?.code).sort();
    assert.deepEqual(interactions, ['read', 'read', 'search-type'], JSON.stringify(refused));
    for (const event of refused) {
      assert.equal(organizationOf(event), `Organization/${ORG.A}`);
      assert.equal(userOf(event)?.identifier?.value, 'clinician-a');
      assert.match(event.outcomeDesc ?? '', /consent/);
    }
    assert.ok(refused.some((e) => e.entity?.some((x) => x.what?.reference === `Observation/${world.obs.p6}`)), 'the resource asked for is named');
  });

  test('$everything and $summary of a denied organization are refused and recorded too', async () => {
    const started = new Date().toISOString();
    const everything = await as('clinicianA', 'GET', `Patient/${PATIENT.p6}/$everything`);
    assert.equal(everything.status, 200, everything.text);
    assert.deepEqual(entryRefs(everything.body), []);
    assert.equal((await as('clinicianA', 'GET', `Patient/${PATIENT.p6}/$summary`)).status, 404);
    const refused = (await log()).filter((e) => isRefused(e) && e.recorded >= started);
    assert.ok(refused.length >= 2, `both attempts recorded: ${JSON.stringify(refused.map((e) => e.subtype))}`);
  });

  test('a clinician of an undenied organization is unaffected, and its accesses are not marked refused', async () => {
    const started = new Date().toISOString();
    assert.equal((await as('clinicianB', 'GET', `Patient/${PATIENT.p6}`)).status, 200);
    const search = await as('clinicianB', 'GET', `Observation?patient=${PATIENT.p6}`);
    assert.deepEqual(entryRefs(search.body), [`Observation/${world.obs.p6}`]);
    const byB = (await log()).filter((e) => e.recorded >= started && organizationOf(e) === `Organization/${ORG.B}`);
    assert.equal(byB.length, 2);
    assert.ok(byB.every((e) => e.outcome === '0' && !isRefused(e)));
  });

  test('an organization without a relationship but not denied, or a miss on what does not exist, records no refusal', async () => {
    const started = new Date().toISOString();
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.p6}`)).status, 404);
    assert.equal((await as('clinicianA', 'GET', `Observation/no-such-observation`)).status, 404);
    assert.deepEqual((await log()).filter((e) => e.recorded >= started && isRefused(e)), []);
  });
});
