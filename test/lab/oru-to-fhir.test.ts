import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Bundle, DiagnosticReport, Observation, Resource, Specimen } from '@medplum/fhirtypes';
import { validateResource } from '../../src/fhir/validate.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import { fhirDateTime } from '../../src/hl7v2/dates.js';
import { labCodeSystem, labOrderSystem, oruToBundle } from '../../src/lab/oru-to-fhir.js';
import { hl7Error } from '../hl7v2/hl7-error.js';

const CONTEXT = { patient: { reference: 'Patient/p1' }, organization: 'kdl' };
const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url));
const map = (name: string | Buffer) => oruToBundle(parseMessage(typeof name === 'string' ? fixture(name) : name), CONTEXT);
const resources = <T extends Resource>(bundle: Bundle, type: T['resourceType']) => bundle.entry!.filter((e) => e.resource?.resourceType === type).map((e) => e.resource as T);
const byLoinc = (bundle: Bundle, code: string) => resources<Observation>(bundle, 'Observation').find((o) => o.code.coding?.some((c) => c.system === 'http://loinc.org' && c.code === code))!;
/** A fixture with segment `name`'s field `n` set to `value` (in every such segment). */
function edited(file: string, name: string, n: number, value: string): Buffer {
  const lines = fixture(file).toString('utf8').split('\r');
  return Buffer.from(lines.map((line) => (line.startsWith(`${name}|`) ? Object.assign(line.split('|'), { [n]: value }).join('|') : line)).join('\r'));
}

describe('ORU^R01 to FHIR R4', () => {
  it('makes a transaction of conditional updates on the lab\'s identifiers, every resource valid', () => {
    for (const name of ['oru-chemistry.hl7', 'oru-cbc.hl7', 'oru-notes.hl7', 'oru-microbiology.hl7', 'oru-corrected.hl7', 'oru-8859-5.hl7', 'oru-windows-1251.hl7']) {
      const bundle = map(name);
      assert.equal(bundle.type, 'transaction');
      for (const entry of bundle.entry!) {
        assert.equal(entry.request?.method, 'PUT');
        assert.match(entry.request!.url, /^(DiagnosticReport|Observation|Specimen)\?identifier=/);
        const errors = validateResource(entry.resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
        assert.deepEqual(errors, [], `${name}: ${entry.resource?.resourceType}`);
      }
    }
  });

  it('maps a chemistry panel: report from OBR, numeric results with UCUM units, ranges and flags', () => {
    const bundle = map('oru-chemistry.hl7');
    const [report] = resources<DiagnosticReport>(bundle, 'DiagnosticReport');
    assert.deepEqual(report!.identifier![0]!.system, labOrderSystem('kdl'));
    assert.equal(report!.identifier![0]!.value, 'KDL-55501');
    assert.equal(report!.status, 'final');
    assert.equal(report!.category![0]!.coding![0]!.code, 'CH');
    assert.equal(report!.code.coding![0]!.code, '24323-8');
    assert.equal(report!.effectiveDateTime, '2026-12-06T08:00:00+06:00');
    assert.equal(report!.issued, '2026-12-06T10:25:00+06:00');
    assert.deepEqual(report!.subject, { reference: 'Patient/p1' });
    assert.equal(report!.result!.length, 5);
    const glucose = byLoinc(bundle, '2345-7');
    assert.deepEqual(glucose.valueQuantity, { value: 6.8, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' });
    assert.deepEqual(glucose.referenceRange![0]!.low?.value, 3.9);
    assert.deepEqual(glucose.referenceRange![0]!.high?.value, 6.1);
    assert.deepEqual(glucose.interpretation!.map((i) => i.coding![0]!.code), ['H']);
    assert.deepEqual(glucose.code.coding![1], { system: labCodeSystem('kdl'), code: 'GLU', display: 'Глюкоза' }, 'the lab\'s local code kept beside LOINC');
    assert.equal(glucose.status, 'final');
    assert.deepEqual(byLoinc(bundle, '2823-3').interpretation!.map((i) => i.coding![0]!.code), ['L', 'LL'], 'repeated flags');
    assert.deepEqual(byLoinc(bundle, '1920-8').referenceRange![0]!.high?.value, 40, '"<40" is an upper bound');
    assert.equal(byLoinc(bundle, '1920-8').referenceRange![0]!.low, undefined);
    const [specimen] = resources<Specimen>(bundle, 'Specimen');
    assert.equal(specimen!.type!.coding![0]!.code, 'SER');
    assert.equal(specimen!.collection!.collectedDateTime, '2026-12-06T08:15:00+06:00');
    assert.match(specimen!.identifier![0]!.value!, /KDL-55501-1/, 'the filler\'s specimen id from SPM-2');
    assert.equal(report!.specimen![0]!.reference, bundle.entry!.find((e) => e.resource === specimen)!.fullUrl);
    assert.equal(glucose.specimen!.reference, report!.specimen![0]!.reference);
  });

  it('maps a CBC: SN bounds, plain text results, a missing flag', () => {
    const bundle = map('oru-cbc.hl7');
    assert.deepEqual(byLoinc(bundle, '4537-7').valueQuantity, { value: 2, comparator: '<', unit: 'mm/h', system: 'http://unitsofmeasure.org', code: 'mm/h' });
    assert.equal(byLoinc(bundle, '18314-6').valueString, 'Анизоцитоз: умеренный');
    assert.equal(byLoinc(bundle, '4544-3').interpretation, undefined);
    assert.deepEqual(byLoinc(bundle, '6690-2').valueQuantity?.code, '10*9/L');
  });

  it('keeps notes: after OBX on the Observation, after OBR as the report\'s conclusion, formatted text unescaped', () => {
    const bundle = map('oru-notes.hl7');
    const [report] = resources<DiagnosticReport>(bundle, 'DiagnosticReport');
    assert.equal(report!.conclusion, 'Sample slightly haemolysed\nRepeat advised if K ^ 5.5');
    const [observation] = resources<Observation>(bundle, 'Observation');
    assert.equal(observation!.valueString, 'Line one\nLine two: A|B&C~D\\end OK bold');
    assert.deepEqual(observation!.note, [{ text: 'Checked by a second analyst' }, { text: 'Unclosed \\escape kept' }]);
  });

  it('maps microbiology: the organism coded in SNOMED CT, colony count as a bound, sensitivities with S/R/I', () => {
    const bundle = map('oru-microbiology.hl7');
    const reports = resources<DiagnosticReport>(bundle, 'DiagnosticReport');
    assert.deepEqual(reports.map((r) => r.identifier![0]!.value), ['KDL-MB-881', 'KDL-MB-881-S']);
    assert.deepEqual(byLoinc(bundle, '630-4').valueCodeableConcept!.coding![0], { system: 'http://snomed.info/sct', code: '112283007', display: 'Escherichia coli' });
    assert.deepEqual(byLoinc(bundle, '564-2').valueQuantity, { value: 100000, comparator: '>', unit: '{CFU}/mL', system: 'http://unitsofmeasure.org', code: '{CFU}/mL' });
    const cipro = byLoinc(bundle, '18906-8');
    assert.equal(cipro.valueQuantity?.comparator, '<=');
    assert.equal(cipro.interpretation![0]!.coding![0]!.code, 'S');
    assert.equal(byLoinc(bundle, '18864-9').interpretation![0]!.coding![0]!.code, 'R');
    assert.deepEqual(byLoinc(bundle, '18993-6').valueQuantity?.value, 4, '"=^4" is the number itself');
    assert.equal(resources<Specimen>(bundle, 'Specimen')[0]!.type!.coding![0]!.code, 'UR', 'OBR-15 when there is no SPM');
  });

  it('gives a corrected result the identifiers of the first, so the conditional update supersedes it', () => {
    const first = map('oru-chemistry.hl7');
    const corrected = map('oru-corrected.hl7');
    const [report] = resources<DiagnosticReport>(corrected, 'DiagnosticReport');
    assert.equal(report!.status, 'corrected');
    const glucose = byLoinc(corrected, '2345-7');
    assert.equal(glucose.status, 'corrected');
    assert.equal(glucose.valueQuantity?.value, 5.4);
    assert.deepEqual(glucose.note, [{ text: 'Corrected: the first value was entered for another sample' }]);
    const url = (bundle: Bundle, resource: Resource) => bundle.entry!.find((e) => e.resource === resource)!.request!.url;
    assert.equal(url(corrected, glucose), url(first, byLoinc(first, '2345-7')));
    assert.equal(url(corrected, report!), url(first, resources<DiagnosticReport>(first, 'DiagnosticReport')[0]!));
  });

  it('escapes search separators of the lab\'s ids in the conditional criteria', () => {
    const bundle = map(edited('oru-notes.hl7', 'OBR', 3, 'A\\F\\B,C$D'));
    const [report] = resources<DiagnosticReport>(bundle, 'DiagnosticReport');
    assert.equal(report!.identifier![0]!.value, 'A|B,C$D');
    assert.equal(decodeURIComponent(bundle.entry!.at(-1)!.request!.url.split('=')[1]!), `${labOrderSystem('kdl')}|A\\|B\\,C\\$D`);
  });

  it('maps SN ranges and ratios, OBX-11 statuses, and results without a time zone to their date', () => {
    const range = map(Buffer.from(fixture('oru-notes.hl7').toString().replace('|FT|', '|SN|').replace(/Line one[^|]*/, '^2^-^5')));
    assert.deepEqual(resources<Observation>(range, 'Observation')[0]!.valueRange, { low: { value: 2 }, high: { value: 5 } });
    const ratio = map(Buffer.from(fixture('oru-notes.hl7').toString().replace('|FT|', '|SN|').replace(/Line one[^|]*/, '^1^:^128')));
    assert.deepEqual(resources<Observation>(ratio, 'Observation')[0]!.valueRatio, { numerator: { value: 1 }, denominator: { value: 128 } });
    const statuses = map(edited('oru-cbc.hl7', 'OBX', 11, 'P'));
    assert.ok(resources<Observation>(statuses, 'Observation').every((o) => o.status === 'preliminary'));
    assert.equal(fhirDateTime('20261206'), '2026-12-06');
    assert.equal(fhirDateTime('202612061015'), '2026-12-06', 'no offset: the date only');
    assert.equal(fhirDateTime('20261206101500.25-0300'), '2026-12-06T10:15:00.25-03:00');
    assert.equal(fhirDateTime('2026'), '2026');
  });

  it('refuses (AE) content it cannot map, naming segment and field', () => {
    const cases: [Buffer, string, string][] = [
      [edited('oru-chemistry.hl7', 'OBX', 5, 'six'), '102', 'OBX^1^5'],
      [edited('oru-chemistry.hl7', 'OBR', 3, ''), '101', 'OBR^1^3'],
      [edited('oru-chemistry.hl7', 'OBX', 3, ''), '101', 'OBX^1^3'],
      [edited('oru-chemistry.hl7', 'OBX', 2, 'ED'), '102', 'OBX^1^2'],
      [Buffer.from(fixture('oru-cbc.hl7').toString().replace('OBR|', 'XXX|')), '100', 'OBX^1'],
      [Buffer.from(`${fixture('oru-cbc.hl7').toString()}PID|1||721130409083^^^KZ^NI\r`), '100', 'PID^2'],
    ];
    for (const [bytes, code, location] of cases) {
      const error = hl7Error(() => map(bytes));
      assert.equal(error.acknowledgment, 'AE');
      assert.equal(error.detail.condition.code, code, location);
      const at = error.detail.location!;
      assert.equal([at.segment, at.sequence, at.field].filter((x) => x !== undefined).join('^'), location);
    }
  });
});
