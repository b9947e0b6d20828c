import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { curlExample, jwtPayload, sessionFromToken } from '../../web/src/auth/session.js';
import { FhirRequestError, bundleResources, queryString } from '../../web/src/fhir/client.js';
import { passportSummary } from '../../web/src/fhir/summary.js';
import { conceptText, nameText, referenceId } from '../../web/src/fhir/text.js';
import { LOCALES, formatDate, formatNumber, namespaceOf } from '../../web/src/i18n/locale.js';
import * as common from '../../web/src/i18n/common.i18n.js';
import { errorDetails, errorKey } from '../../web/src/ui/errors.js';

const jwt = (payload: object) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.signature`;

describe('the app session', () => {
  it('takes role, organization and the citizen’s own patient from our access token', () => {
    const session = sessionFromToken({ access_token: jwt({ role: 'citizen', fhirUser: 'Patient/p-1', exp: 2_000_000_000, region: 'Алматы' }), scope: 'openid user/*.cruds' });
    assert.equal(session.patient, 'p-1');
    assert.equal(session.role, 'citizen');
    assert.equal(session.region, 'Алматы');
    assert.equal(session.expiresAt, 2_000_000_000_000);
    const clinician = sessionFromToken({ access_token: jwt({ role: 'clinician', fhirUser: 'Practitioner/pr-9', organization: 'org-1' }), expires_in: 60 }, 1000);
    assert.equal(clinician.patient, undefined, 'a clinician has no own record to show');
    assert.equal(clinician.organization, 'org-1');
    assert.equal(clinician.expiresAt, 61_000);
  });

  it('reads no claims from what is not a JWT', () => {
    assert.equal(jwtPayload('opaque-token'), undefined);
    assert.equal(jwtPayload('a.%%%.c'), undefined);
  });

  it('gives a curl example that carries the token to the FHIR API', () => {
    assert.equal(curlExample('http://localhost:8080/fhir', 'T0K'), `curl -H 'Authorization: Bearer T0K' -H 'Accept: application/fhir+json' 'http://localhost:8080/fhir/Patient?_count=5'`);
  });
});

describe('the FHIR client’s pure parts', () => {
  it('repeats a parameter for AND, skips undefined and encodes values', () => {
    assert.equal(queryString({ date: ['ge2024', 'lt2025'], code: 'http://loinc.org|718-7', _count: 10, status: undefined }), '?date=ge2024&date=lt2025&code=http%3A%2F%2Floinc.org%7C718-7&_count=10');
    assert.equal(queryString({}), '');
  });

  it('separates matches from included resources', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: { resourceType: 'Observation', id: 'o1', status: 'final', code: {} }, search: { mode: 'match' } },
        { resource: { resourceType: 'Patient', id: 'p1' }, search: { mode: 'include' } },
      ],
    };
    const { matches, included } = bundleResources(bundle);
    assert.deepEqual(matches.map((r) => r.id), ['o1']);
    assert.deepEqual(included.map((r) => r.id), ['p1']);
  });
});

describe('passport summary', () => {
  it('resolves each IPS section’s entries by fullUrl and leaves missing sections empty', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'document',
      entry: [
        {
          fullUrl: 'urn:uuid:c',
          resource: {
            resourceType: 'Composition',
            status: 'final',
            type: {},
            date: '2026-01-01',
            author: [],
            title: 'IPS',
            section: [
              { code: { coding: [{ system: 'http://loinc.org', code: '11450-4' }] }, entry: [{ reference: 'http://x/fhir/Condition/c1' }] },
              { code: { coding: [{ system: 'http://loinc.org', code: '11369-6' }] }, entry: [{ reference: 'http://x/fhir/Immunization/i1' }, { reference: 'http://x/fhir/Immunization/gone' }] },
            ],
          },
        },
        { fullUrl: 'http://x/fhir/Condition/c1', resource: { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p' } } },
        { fullUrl: 'http://x/fhir/Immunization/i1', resource: { resourceType: 'Immunization', id: 'i1', status: 'completed', vaccineCode: { text: 'БЦЖ' }, patient: {}, occurrenceDateTime: '2020-01-01' } },
      ],
    };
    const summary = passportSummary(bundle);
    assert.deepEqual(summary.problems.map((r) => r.id), ['c1']);
    assert.deepEqual(summary.immunizations.map((r) => r.id), ['i1']);
    assert.deepEqual([summary.allergies, summary.medications, summary.results], [[], [], []]);
  });
});

describe('texts from FHIR', () => {
  it('prefers the concept’s text, then a display, then the code', () => {
    assert.equal(conceptText({ text: 'Гемоглобин', coding: [{ display: 'Hemoglobin' }] }), 'Гемоглобин');
    assert.equal(conceptText({ coding: [{ code: '718-7' }, { code: 'x', display: 'Hemoglobin' }] }), 'Hemoglobin');
    assert.equal(conceptText({ coding: [{ code: '718-7' }] }), '718-7');
  });

  it('writes an official name given names first', () => {
    const patient: Patient = { resourceType: 'Patient', name: [{ use: 'nickname', text: 'Айка' }, { use: 'official', family: 'Есенова', given: ['Ләззат', 'Ілиясовна'] }] };
    assert.equal(nameText(patient.name), 'Ләззат Ілиясовна Есенова');
  });

  it('takes the id of a reference only for the type asked', () => {
    assert.equal(referenceId({ reference: 'Organization/org-1' }, 'Organization'), 'org-1');
    assert.equal(referenceId({ reference: 'http://h/fhir/Practitioner/9/_history/2' }, 'Practitioner'), '9');
    assert.equal(referenceId({ reference: 'Practitioner/9' }, 'Organization'), undefined);
    assert.equal(referenceId({ display: 'no reference' }, 'Organization'), undefined);
  });
});

describe('dates and numbers in the chosen language', () => {
  it('writes a date each language’s way, partial dates staying partial', () => {
    assert.equal(formatDate('2024-01-17', 'kk'), '17.01.2024');
    assert.equal(formatDate('2024-01-17', 'en'), '17 Jan 2024');
    assert.match(formatDate('2024-01-17', 'ru')!, /^17 янв\.? 2024/);
    assert.equal(formatDate('2024', 'en'), '2024');
    assert.equal(formatDate('2024-03', 'en'), 'March 2024');
    assert.equal(formatDate('not a date', 'en'), undefined);
    assert.equal(formatDate(undefined, 'en'), undefined);
  });

  it('keeps a date without time on its day whatever the time zone', () => {
    assert.equal(formatDate('2024-12-31', 'en'), '31 Dec 2024');
  });

  it('groups and separates decimals by locale', () => {
    assert.equal(formatNumber(1234.5, 'en'), '1,234.5');
    assert.equal(formatNumber(1234.5, 'ru')?.replace(/\s/g, ' '), '1 234,5');
    assert.equal(formatNumber(undefined, 'kk'), undefined);
  });
});

describe('errors in plain words', () => {
  const outcome = (diagnostics: string): OperationOutcome => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics }] });

  it('names what happened by status, and the network when nothing answered', () => {
    assert.equal(errorKey(new FhirRequestError(400)), 'errors.invalid');
    assert.equal(errorKey(new FhirRequestError(401)), 'errors.unauthorized');
    assert.equal(errorKey(new FhirRequestError(403)), 'errors.forbidden');
    assert.equal(errorKey(new FhirRequestError(404)), 'errors.notFound');
    assert.equal(errorKey(new FhirRequestError(429)), 'errors.tooMany');
    assert.equal(errorKey(new FhirRequestError(503)), 'errors.server');
    assert.equal(errorKey(new TypeError('Failed to fetch')), 'errors.network');
  });

  it('shows the server’s diagnostics for a refused request, never for a server failure', () => {
    assert.equal(errorDetails(new FhirRequestError(400, outcome('date: not a valid date'))), 'date: not a valid date');
    assert.equal(errorDetails(new FhirRequestError(500, outcome('stack trace'))), undefined);
    assert.equal(errorDetails(new FhirRequestError(403)), undefined);
  });
});

describe('catalogues', () => {
  const keys = (value: unknown, prefix = ''): string[] =>
    typeof value === 'object' && value !== null ? Object.entries(value).flatMap(([k, v]) => keys(v, `${prefix}${k}.`)) : [prefix.slice(0, -1)];

  it('has every text of every catalogue in kk, ru and en', async () => {
    const folder = resolve(import.meta.dirname, '../../web/src/screens');
    const files = (await readdir(folder)).filter((f) => f.endsWith('.i18n.ts'));
    assert.ok(files.length >= 9, 'one catalogue per screen');
    const catalogues: [string, Record<string, unknown>][] = [['common', common]];
    for (const file of files) catalogues.push([namespaceOf(file), (await import(resolve(folder, file))) as Record<string, unknown>]);
    for (const [namespace, catalogue] of catalogues) {
      const [first, ...others] = LOCALES.map((locale) => keys(catalogue[locale]).sort());
      assert.ok(first!.length > 0, `${namespace} has texts`);
      for (const other of others) assert.deepEqual(other, first, `${namespace}: the same texts in every language`);
      for (const locale of LOCALES) assert.ok(keys(catalogue[locale]).every((k) => k.length > 0), `${namespace}.${locale}`);
    }
    assert.equal(namespaceOf('../screens/access-log.i18n.ts'), 'access-log');
  });
});
