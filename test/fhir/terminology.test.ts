import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CodeableConcept, Coding, Resource } from '@medplum/fhirtypes';
import { validateResource } from '../../src/fhir/validate.js';
import { bundledConcept, CODE_SYSTEMS, codeSystemResource } from '../../src/fhir/terminology/code-systems.js';
import { codeDisplay } from '../../src/fhir/terminology/display.js';
import { expansion, VALUE_SETS, valueSetConcepts } from '../../src/fhir/terminology/value-sets.js';
import * as synthCodes from '../../src/synth/codes.js';
import { populationResources } from '../../src/synth/population.js';

const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const LOINC = 'http://loinc.org';
const IPS_ABSENT = 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips';
const CYRILLIC = /[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]/;

/** Every Coding in a value: objects with a system and a code (a Quantity's unit has a value beside them and is no Coding). */
function codings(value: unknown, found: Coding[] = []): Coding[] {
  if (Array.isArray(value)) for (const item of value) codings(item, found);
  else if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.system === 'string' && typeof object.code === 'string' && !('value' in object)) found.push(object as Coding);
    for (const child of Object.values(object)) codings(child, found);
  }
  return found;
}

describe('Bundled terminology: displays in Kazakh, Russian and English', () => {
  test('a diagnosis reads in the reader’s language, as clinics in Kazakhstan write it', () => {
    assert.equal(codeDisplay(ICD10, 'E11.9', 'kk'), 'Асқынусыз 2 типті қант диабеті');
    assert.equal(codeDisplay(ICD10, 'E11.9', 'ru'), 'Сахарный диабет 2 типа без осложнений');
    assert.equal(codeDisplay(ICD10, 'E11.9', 'en'), 'Type 2 diabetes mellitus without complications');
    assert.match(codeDisplay(ICD10, 'I10', 'kk')!, /артериялық гипертензия/);
    assert.equal(codeDisplay('http://snomed.info/sct', '38341003', 'kk'), 'Артериялық гипертензия');
    assert.equal(codeDisplay(LOINC, '8867-4', 'ru'), 'Частота сердечных сокращений');
    assert.equal(codeDisplay('http://www.whocc.no/atc', 'B01AC06', 'kk'), 'Ацетилсалицил қышқылы');
    assert.equal(codeDisplay('http://hl7.org/fhir/sid/cvx', '19', 'ru'), 'Вакцина БЦЖ');
  });

  test('a code outside the bundle, or of another system, has no display', () => {
    assert.equal(codeDisplay(ICD10, 'Z99.9', 'kk'), undefined);
    assert.equal(codeDisplay('http://example.org/codes', 'I10', 'ru'), undefined);
  });

  test('every code the synthetic population generator writes has all three displays, the written one among them', () => {
    const written = codings(Object.values(synthCodes));
    const types = new Set<string>();
    for (const resource of populationResources({ patients: 400, seed: 14 })) {
      types.add(resource.resourceType);
      codings(resource, written);
    }
    assert.ok(['Immunization', 'MedicationRequest', 'Condition', 'ImagingStudy', 'PractitionerRole', 'Organization'].every((type) => types.has(type)), [...types].join());
    const distinct = new Map(written.map((coding) => [`${coding.system}|${coding.code}`, coding]));
    assert.ok(distinct.size > 150, `only ${distinct.size} codes`);
    const missing: string[] = [];
    for (const [key, coding] of distinct) {
      const concept = bundledConcept(coding.system!, coding.code!);
      if (!concept) {
        missing.push(key);
        continue;
      }
      assert.match(concept.kk, CYRILLIC, `${key} in Kazakh`);
      assert.match(concept.ru, CYRILLIC, `${key} in Russian`);
      // International code systems keep their English display; Densaulyq's own are written in Russian.
      const national = coding.system!.startsWith('http://densaulyq.kz/');
      assert.equal(national ? concept.ru : concept.en, coding.display, `${key}: the display the generator writes`);
    }
    assert.deepEqual(missing, []);
  });

  test('the codes of the Synthea R4 data are covered by occurrence, most frequent first', () => {
    const directory = join(import.meta.dirname, '../../../shared/data/synthea-r4');
    const counts = new Map<string, number>();
    const count = (concept: CodeableConcept | undefined) => {
      for (const coding of concept?.coding ?? []) counts.set(`${coding.system}|${coding.code}`, (counts.get(`${coding.system}|${coding.code}`) ?? 0) + 1);
    };
    for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
      for (const { resource } of JSON.parse(readFileSync(join(directory, file), 'utf8')).entry as { resource: Resource }[]) {
        if (resource.resourceType === 'Condition' || resource.resourceType === 'Observation' || resource.resourceType === 'Procedure' || resource.resourceType === 'AllergyIntolerance') count(resource.code);
        else if (resource.resourceType === 'Immunization') count(resource.vaccineCode);
        else if (resource.resourceType === 'MedicationRequest') count(resource.medicationCodeableConcept);
        else if (resource.resourceType === 'Encounter') resource.type?.forEach(count);
        else if (resource.resourceType === 'CarePlan') {
          resource.category?.forEach(count);
          for (const activity of resource.activity ?? []) count(activity.detail?.code);
        }
      }
    }
    const ranked = [...counts].sort((a, b) => b[1] - a[1]);
    const total = ranked.reduce((sum, [, n]) => sum + n, 0);
    const covered = ranked.filter(([key]) => bundledConcept(key.slice(0, key.lastIndexOf('|')), key.slice(key.lastIndexOf('|') + 1)));
    const share = covered.reduce((sum, [, n]) => sum + n, 0) / total;
    assert.ok(covered.length >= 150, `${covered.length} distinct codes covered`);
    assert.ok(share >= 0.95, `${(share * 100).toFixed(1)}% of ${total} occurrences covered`);
    const top = ranked.slice(0, 100).filter(([key]) => !covered.some(([k]) => k === key));
    assert.deepEqual(top, [], 'each of the 100 most frequent codes is covered');
  });

  test('the IPS section codes and the IPS "absent or unknown" codes are translated', () => {
    for (const code of ['11450-4', '48765-2', '10160-0', '11369-6', '30954-2', '47519-4', '46264-8', '8716-3', '11348-0', '10162-6', '18776-5', '47420-5', '42348-3', '60591-5']) {
      assert.ok(bundledConcept(LOINC, code), `IPS section ${code}`);
    }
    assert.equal(codeDisplay(LOINC, '11450-4', 'en'), 'Problem list - Reported');
    for (const code of ['no-known-problems', 'no-known-allergies', 'no-known-medications', 'no-known-procedures', 'no-known-devices', 'no-known-immunizations', 'no-problem-info', 'no-allergy-info', 'no-medication-info']) {
      assert.ok(bundledConcept(IPS_ABSENT, code), code);
    }
    assert.equal(codeDisplay(IPS_ABSENT, 'no-known-allergies', 'kk'), 'Белгілі аллергиялар жоқ');
    assert.equal(codeDisplay('http://snomed.info/sct', '716186003', 'ru'), 'Аллергия не известна', 'and their SNOMED CT equivalents');
  });

  test('no code system lists a code twice', () => {
    for (const system of CODE_SYSTEMS) {
      const codes = system.concepts.map((concept) => concept.code);
      assert.equal(new Set(codes).size, codes.length, system.url);
    }
  });
});

describe('Bundled terminology as FHIR resources', () => {
  test('each code system is a valid CodeSystem, a fragment unless held whole, whose concepts carry kk, ru and en designations', () => {
    for (const system of CODE_SYSTEMS) {
      const resource = codeSystemResource(system);
      assert.deepEqual(validateResource(resource).filter((issue) => issue.severity === 'error'), [], system.url);
      assert.equal(resource.content, system.complete ? 'complete' : 'fragment');
      assert.equal(resource.count, resource.concept?.length);
      for (const concept of resource.concept ?? []) {
        assert.deepEqual(concept.designation?.map((d) => d.language), ['kk', 'ru', 'en'], `${system.url}|${concept.code}`);
        assert.equal(concept.display, concept.designation?.[2].value);
      }
    }
  });

  test('each value set is valid and every code it includes is bundled', () => {
    assert.ok(VALUE_SETS.has('ips-problems') && VALUE_SETS.has('icd-10'));
    assert.equal(codeSystemResource(CODE_SYSTEMS.find((system) => system.id === 'loinc')!).content, 'fragment');
    assert.equal(codeSystemResource(CODE_SYSTEMS.find((system) => system.id === 'absent-unknown-uv-ips')!).content, 'complete');
    for (const valueSet of VALUE_SETS.values()) {
      assert.deepEqual(validateResource(valueSet).filter((issue) => issue.severity === 'error'), [], valueSet.url);
      assert.match(valueSet.url!, /^http:\/\/densaulyq\.kz\/fhir\/ValueSet\//);
      for (const include of valueSet.compose?.include ?? []) {
        assert.ok(include.concept?.length, `${valueSet.url} includes codes of ${include.system}`);
        for (const concept of include.concept ?? []) assert.ok(bundledConcept(include.system!, concept.code), `${valueSet.url}: ${concept.code}`);
      }
    }
  });

  test('the IPS problems value set holds diagnoses and the "no known problems" codes, not procedures', () => {
    const { concepts } = valueSetConcepts('http://densaulyq.kz/fhir/ValueSet/ips-problems')!;
    const codes = new Set(concepts.map((c) => c.code));
    assert.ok(codes.has('E11.9') && codes.has('38341003') && codes.has('no-known-problems'));
    assert.ok(!codes.has('80146002'), 'appendectomy is a procedure');
    assert.ok(codes.has('160245001') && !codes.has('716186003'), '"no known allergy" belongs to the allergies');
  });

  test('an expansion filters on the display in the chosen language, and pages', () => {
    const found = valueSetConcepts('http://densaulyq.kz/fhir/ValueSet/icd-10')!;
    const options = { offset: 0, count: 100, includeDesignations: false, parameter: [], identifier: 'urn:uuid:1', timestamp: '2026-12-06T00:00:00Z' };
    const kk = expansion(found.valueSet, found.concepts, { ...options, language: 'kk', filter: 'ТУБЕРКУЛЕЗ' }).expansion!;
    assert.deepEqual(kk.contains?.map((c) => c.code), ['A15.0', 'A16.2', 'A18.0', 'A19.9']);
    assert.equal(kk.total, 4);
    const ru = expansion(found.valueSet, found.concepts, { ...options, language: 'ru', filter: 'туберкулёз' }).expansion!;
    assert.equal(ru.total, 4);
    assert.equal(expansion(found.valueSet, found.concepts, { ...options, language: 'en', filter: 'туберкулёз' }).expansion!.total, 0, 'the English display does not hold the Russian word');
    const page = expansion(found.valueSet, found.concepts, { ...options, language: 'en', offset: 2, count: 3 }).expansion!;
    assert.equal(page.total, found.concepts.length);
    assert.deepEqual(page.contains?.map((c) => c.code), found.concepts.slice(2, 5).map((c) => c.code));
    assert.equal(found.valueSet.compose !== undefined, true);
    assert.equal(expansion(found.valueSet, found.concepts, { ...options, language: 'en' }).compose, undefined, 'an expansion replaces the definition');
  });

  test('an R4 value set expands with its English displays and the bundled translations', () => {
    const found = valueSetConcepts('http://hl7.org/fhir/ValueSet/administrative-gender')!;
    assert.deepEqual(found.concepts.map((c) => [c.code, c.displays.en]), [['male', 'Male'], ['female', 'Female'], ['other', 'Other'], ['unknown', 'Unknown']]);
    const category = valueSetConcepts('http://hl7.org/fhir/ValueSet/observation-category')!;
    assert.equal(category.concepts.find((c) => c.code === 'vital-signs')?.displays.kk, 'Өмірлік маңызды көрсеткіштер');
    assert.equal(category.concepts.find((c) => c.code === 'imaging')?.displays.en, 'Imaging');
    assert.equal(valueSetConcepts('http://hl7.org/fhir/ValueSet/ucum-units'), undefined, 'UCUM cannot be enumerated');
  });
});
