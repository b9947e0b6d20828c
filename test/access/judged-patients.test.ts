/**
 * Searches whose rows all belong to the patients they name (`?patient=`, `?subject=`, a
 * compartment, `Patient?_id=`) take the door's judgement of those patients, made once, instead of
 * its per-row condition (src/access/door.ts, `judgePatients`; issue 11). These tests hold the two
 * to the same answer: for every caller, patient and type of the access tests' world, with a
 * break-glass grant, a Consent denial, a hidden label, a referral and a self-declared relationship
 * among them, the judged search returns exactly what the per-row door returns for the same
 * resources asked by `_id`, and the audit records of both carry the same flags.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { storedAuditEvents } from '../support/audit-events.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { type Actor, IIN, ORG, PATIENT, type PatientKey, type Tokens, bearer, buildWorld, entryRefs, tokens } from './world.js';

const CALLERS: readonly Actor[] = ['clinicianA', 'clinicianB', 'clinicianC', 'systemA', 'observationsOnly', 'noOrganization'];
const TYPES = ['Observation', 'Encounter', 'Condition', 'ServiceRequest', 'EpisodeOfCare', 'Consent', 'RelatedPerson'] as const;

for (const driver of testDrivers()) {
  describe(`searches judged per patient answer as the per-row door (${driver.name})`, { skip: driver.skip }, () => {
    let server: TestServer;
    let tok: Tokens;
    const as = (who: Actor, path: string): Promise<FhirReply> => server.fhir('GET', path, undefined, bearer(tok[who]));
    const refs = async (who: Actor, path: string): Promise<{ status: number; refs: string[] }> => {
      const reply = await as(who, path);
      return { status: reply.status, refs: reply.status === 200 ? entryRefs(reply.body) : [] };
    };
    /** The flags (meta.security codes) of the audit records a request adds, per patient. */
    const flagsOf = async (who: Actor, path: string): Promise<Record<string, string[]>> => {
      const hashes = async () => new Set((await server.db.query<{ h: string }>(`SELECT encode(hash, 'hex') AS h FROM audit_event`)).map((r) => r.h));
      const before = await hashes();
      await as(who, path);
      const added = [...(await hashes())].filter((h) => !before.has(h));
      const events = await storedAuditEvents(server.db, `encode(e.hash, 'hex') = ANY($1::text[])`, [added]);
      const flags: Record<string, string[]> = {};
      for (const event of events) {
        const patient = event.entity?.find((e) => e.what?.reference?.startsWith('Patient/'))?.what?.reference ?? '?';
        flags[patient] = [...(flags[patient] ?? []), ...(event.meta?.security ?? []).map((s) => s.code ?? '')].sort();
      }
      return flags;
    };

    before(async () => {
      server = await startTestServer(driver);
      tok = await tokens(server);
      await buildWorld(server, tok);
      // Break-glass for A over P3 (no relationship) and P6 (who denies A); a self-declared relationship of C with P3.
      for (const patient of [PATIENT.p3, PATIENT.p6]) {
        const reply = await server.fhir('POST', `Patient/${patient}/$break-glass`, { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'Без сознания, доставлен скорой' }] }, bearer(tok.clinicianA));
        assert.equal(reply.status, 200, reply.text);
      }
      const encounter = {
        resourceType: 'Encounter',
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${PATIENT.p3}` },
        serviceProvider: { reference: `Organization/${ORG.C}` },
      };
      assert.equal((await server.fhir('POST', 'Encounter', encounter, bearer(tok.clinicianC))).status, 201);
    });
    after(() => server?.close());

    test('every caller × patient × type: the same resources as the per-row door gives when asked by _id', async () => {
      let compared = 0;
      for (const key of Object.keys(PATIENT) as PatientKey[]) {
        const patient = PATIENT[key];
        for (const type of TYPES) {
          const all = (await refs('adminClinical', `${type}?patient=${patient}&_count=100`)).refs;
          if (all.length === 0) continue;
          const byId = `${type}?_id=${all.map((ref) => ref.split('/')[1]).join(',')}&_count=100`;
          for (const who of CALLERS) {
            const judged = await refs(who, `${type}?patient=${patient}&_count=100`);
            const perRow = await refs(who, byId);
            assert.deepEqual(judged, perRow, `${who} · ${type} of ${key}`);
            compared += judged.refs.length;
          }
        }
        const byIdentifier = `Patient?identifier=${encodeURIComponent(`${IIN_SYSTEM}|${IIN[key]}`)}`;
        for (const who of CALLERS) assert.deepEqual(await refs(who, `Patient?_id=${patient}`), await refs(who, byIdentifier), `${who} · Patient ${key}`);
      }
      assert.ok(compared > 40, `only ${compared} resources compared: the world did not come out as expected`);
    });

    test('the audit records of a judged search carry the flags the per-row door gives: break-glass, self-declared, none', async () => {
      const cases: [Actor, PatientKey][] = [
        ['clinicianA', 'p3'],
        ['clinicianA', 'p6'],
        ['clinicianA', 'p1'],
        ['clinicianC', 'p3'],
        ['clinicianC', 'p5'],
      ];
      const seen = new Set<string>();
      for (const [who, key] of cases) {
        const patient = PATIENT[key];
        const ids = (await refs('adminClinical', `Observation?patient=${patient}`)).refs.map((ref) => ref.split('/')[1]).join(',');
        const judged = await flagsOf(who, `Observation?patient=${patient}`);
        const perRow = await flagsOf(who, `Observation?_id=${ids}`);
        assert.deepEqual(judged, perRow, `${who} · Observations of ${key}`);
        for (const codes of Object.values(judged)) for (const code of codes) seen.add(code);
      }
      assert.ok(seen.has('BTG') && seen.has('self-declared'), `flags seen: ${[...seen].join(', ')}`);
    });
  });
}
