import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { validateResource } from '../../src/fhir/validate.js';
import { coreTree } from '../../src/fhir/validator/structure.js';
import { populationResources } from '../../src/synth/population.js';

/**
 * Our validator against @medplum/core's, which it replaced on the write path: on every Synthea
 * resource (and each whole Synthea Bundle), on a generated population, and on those resources
 * spoiled in one way each. Where the two disagree on whether a resource is valid, ours must be
 * the one that is right: each such case is listed in MUTATIONS with `oursRight` saying why,
 * and every one listed must still occur.
 *
 * Run time: Medplum takes ~0.2 ms a resource, a whole Synthea Bundle ~50 ms. All 5,039 Synthea
 * resources and their 26 Bundles, and a generated population of 15 patients (~1,500 resources),
 * are compared unspoiled; each mutation is applied to a sample, every 25th of them (up to ~260
 * each, fewer where the mutation does not fit the resource).
 */

const synthea = new URL('../../../shared/data/synthea-r4/', import.meta.url);
const SAMPLE_EVERY = 25;

type Json = Record<string, unknown>;

/** Medplum's error issues; it throws when there is any. */
function theirErrors(resource: unknown): string[] {
  try {
    return medplumValidate(resource as Resource)
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.expression?.[0]} ${i.details?.text}`);
  } catch (e) {
    if (!(e instanceof OperationOutcomeError)) return [`exception ${String(e)}`];
    return (e.outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => `${i.expression?.[0]} ${i.details?.text}`);
  }
}

function ourErrors(resource: unknown): string[] {
  return validateResource(resource)
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${i.expression?.[0]} ${i.details?.text}`);
}

/** Every string in a resource with where it is, outside contained resources and narrative. */
function strings(value: unknown, visit: (holder: Json | unknown[], key: string | number, text: string) => void): void {
  if (Array.isArray(value)) value.forEach((item, i) => (typeof item === 'string' ? visit(value, i, item) : strings(item, visit)));
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'contained' || key === 'div') continue;
      if (typeof item === 'string') visit(value as Json, key, item);
      else strings(item, visit);
    }
  }
}

/** Changes the first string that matches, in a copy; undefined when none does. */
function spoilFirst(resource: Json, match: RegExp, spoil: (text: string) => string, where?: (key: string | number) => boolean): Json | undefined {
  const copy = structuredClone(resource);
  let done = false;
  strings(copy, (holder, key, text) => {
    if (done || !match.test(text) || (where && !where(key))) return;
    (holder as Record<string | number, unknown>)[key] = spoil(text);
    done = true;
  });
  return done ? copy : undefined;
}

function requiredElement(resource: Json): string | undefined {
  return coreTree(String(resource.resourceType))?.children.find((c) => c.min > 0 && !c.choice && resource[c.name] !== undefined)?.name;
}

function firstReference(resource: Json): Json | undefined {
  const subject = resource.subject ?? resource.patient ?? resource.beneficiary;
  return subject && typeof subject === 'object' && !Array.isArray(subject) ? (subject as Json) : undefined;
}

interface Mutation {
  readonly name: string;
  readonly mutate: (resource: Json) => Json | undefined;
  /** Why our validator refuses what Medplum's lets through, when it does. */
  readonly oursRight?: string;
}

const MUTATIONS: readonly Mutation[] = [
  { name: 'an unknown element', mutate: (r) => ({ ...r, foo: 1 }) },
  {
    name: 'a required element removed',
    mutate: (r) => {
      const name = requiredElement(r);
      if (!name) return undefined;
      const copy = { ...r };
      delete copy[name];
      return copy;
    },
  },
  { name: 'a single value as an array', mutate: (r) => (typeof r.status === 'string' ? { ...r, status: [r.status] } : undefined) },
  { name: 'an array as a single value', mutate: (r) => (Array.isArray(r.identifier) ? { ...r, identifier: r.identifier[0] } : undefined) },
  { name: 'a string as a number', mutate: (r) => (typeof r.status === 'string' ? { ...r, status: 7 } : undefined) },
  { name: 'null', mutate: (r) => (r.meta !== undefined ? { ...r, meta: null } : undefined) },
  {
    name: 'an empty array',
    mutate: (r) => (Array.isArray(r.identifier) ? { ...r, identifier: [] } : undefined),
    oursRight: 'FHIR JSON has no empty arrays (https://hl7.org/fhir/R4/json.html: "an array SHALL have at least one item"); Medplum lets them through',
  },
  {
    name: 'an empty string',
    mutate: (r) => spoilFirst(r, /^[A-Za-z]/, () => '', (key) => key === 'display'),
    oursRight: 'a string is never empty (https://hl7.org/fhir/R4/datatypes.html#string, https://hl7.org/fhir/R4/json.html); Medplum treats "" as absent',
  },
  { name: 'a control character in a string', mutate: (r) => spoilFirst(r, /^[A-Za-z]/, (s) => s + '\u0007', (key) => key === 'display') },
  { name: 'a code with a double space', mutate: (r) => (typeof r.status === 'string' ? { ...r, status: `${r.status}  x` } : undefined) },
  { name: 'hour 24', mutate: (r) => spoilFirst(r, /^\d{4}-\d\d-\d\dT\d\d:/, (s) => s.slice(0, 11) + '24' + s.slice(13)) },
  { name: 'a time zone of +15:00', mutate: (r) => spoilFirst(r, /^\d{4}-\d\d-\d\dT.*([+-]\d\d:\d\d|Z)$/, (s) => s.replace(/(Z|[+-]\d\d:\d\d)$/, '+15:00')) },
  { name: 'month 13', mutate: (r) => spoilFirst(r, /^\d{4}-\d\d-\d\d/, (s) => s.slice(0, 5) + '13' + s.slice(7)) },
  {
    name: '30 February',
    mutate: (r) => spoilFirst(r, /^\d{4}-\d\d-\d\d/, (s) => s.slice(0, 5) + '02-30' + s.slice(10)),
    oursRight: 'Medplum checks dates by regular expression only, which lets 30 February through (https://hl7.org/fhir/R4/datatypes.html#date: "SHALL be valid dates")',
  },
  {
    name: '31 April',
    mutate: (r) => spoilFirst(r, /^\d{4}-\d\d-\d\dT/, (s) => s.slice(0, 5) + '04-31' + s.slice(10)),
    oursRight: 'the same: April has 30 days',
  },
  {
    name: '29 February of a common year',
    mutate: (r) => spoilFirst(r, /^\d{4}-\d\d-\d\d/, (s) => '2023-02-29' + s.slice(10)),
    oursRight: 'the same: 2023 is no leap year',
  },
  {
    name: 'an integer beyond 32 bits',
    mutate: (r) => (r.resourceType === 'Observation' ? { ...r, valueQuantity: undefined, valueCodeableConcept: undefined, valueString: undefined, valueInteger: 2 ** 31 } : undefined),
    oursRight: 'FHIR integers are 32-bit (https://hl7.org/fhir/R4/datatypes.html#integer); Medplum checks only that it is whole',
  },
  {
    name: 'a resource id with a space',
    mutate: (r) => (typeof r.id === 'string' ? { ...r, id: `${r.id} x` } : undefined),
    oursRight: 'Resource.id is an id (https://hl7.org/fhir/R4/resource.html#id); Medplum reads R4\'s definition, which types it as string',
  },
  {
    name: 'a code outside a required value set',
    mutate: (r) => (typeof r.status === 'string' ? { ...r, status: 'bogus' } : undefined),
    oursRight: 'Medplum does not check codes of required bindings (https://hl7.org/fhir/R4/terminologies.html#required)',
  },
  {
    name: 'a reference to a type the element does not allow',
    mutate: (r) => {
      const reference = firstReference(r);
      return reference ? { ...r, [Object.keys(r).find((k) => r[k] === reference)!]: { ...reference, reference: 'Medication/1' } } : undefined;
    },
    oursRight: 'Medplum only warns when the target type is not among the element\'s targetProfile (https://hl7.org/fhir/R4/references.html#Reference)',
  },
  {
    name: 'a reference that is no reference',
    mutate: (r) => {
      const reference = firstReference(r);
      return reference ? { ...r, [Object.keys(r).find((k) => r[k] === reference)!]: { reference: 'not a reference' } } : undefined;
    },
    oursRight: 'Medplum does not check the form of Reference.reference',
  },
  {
    name: 'a period that ends before it starts',
    mutate: (r) => {
      const period = (r.period ?? r.effectivePeriod ?? r.billablePeriod) as Json | undefined;
      if (!period || typeof period.start !== 'string') return undefined;
      const key = Object.keys(r).find((k) => r[k] === period)!;
      return { ...r, [key]: { start: period.start, end: '1900-01-01' } };
    },
    oursRight: 'Medplum evaluates the invariants of elements, not those of their data types (per-1 of Period)',
  },
  {
    name: 'two types of one choice',
    mutate: (r) => (r.resourceType === 'Observation' && r.valueQuantity ? { ...r, valueString: 'x' } : undefined),
    oursRight: 'Medplum only warns about a choice element given twice (https://hl7.org/fhir/R4/formats.html#choice: "only one")',
  },
  {
    name: 'a unit code without its system',
    mutate: (r) => (r.resourceType === 'Observation' && r.valueQuantity ? { ...r, valueQuantity: { value: 1, code: 'mg' } } : undefined),
    oursRight: 'qty-3 is an invariant of the Quantity type, which Medplum does not evaluate on elements of that type',
  },
  {
    name: 'an empty object',
    mutate: (r) => (r.meta !== undefined ? { ...r, meta: {} } : undefined),
    oursRight: 'ele-1, "all FHIR elements must have a @value or children", which Medplum skips',
  },
  { name: 'an extension without a value', mutate: (r) => ({ ...r, extension: [{ url: 'http://densaulyq.kz/fhir/StructureDefinition/x' }] }) },
];

let resources: Json[];
before(() => {
  loadDefinitions();
  resources = [];
  for (const file of readdirSync(synthea).filter((f) => f.endsWith('.json'))) {
    const bundle = JSON.parse(readFileSync(new URL(file, synthea), 'utf8')) as Bundle;
    resources.push(bundle as unknown as Json);
    for (const entry of bundle.entry ?? []) resources.push(entry.resource as unknown as Json);
  }
  for (const resource of populationResources({ patients: 15, seed: 3 })) resources.push(resource as unknown as Json);
});

describe('our validator against @medplum/core', () => {
  test('agree on every Synthea resource and Bundle and on a generated population: all valid', () => {
    let compared = 0;
    for (const resource of resources) {
      assert.deepEqual(ourErrors(resource), [], `${resource.resourceType}/${resource.id}`);
      assert.deepEqual(theirErrors(resource), [], `${resource.resourceType}/${resource.id}`);
      compared++;
    }
    assert.ok(compared > 6000, `compared ${compared}`);
  });

  for (const mutation of MUTATIONS) {
    test(mutation.oursRight ? `${mutation.name}: ours refuses, Medplum does not` : `${mutation.name}: both refuse`, () => {
      let tried = 0;
      let differences = 0;
      for (let i = 0; i < resources.length; i += SAMPLE_EVERY) {
        const spoiled = mutation.mutate(resources[i]!);
        if (!spoiled) continue;
        tried++;
        const ours = ourErrors(spoiled);
        const theirs = theirErrors(spoiled);
        const where = `${spoiled.resourceType}/${String(resources[i]!.id)}: ours ${JSON.stringify(ours)}, theirs ${JSON.stringify(theirs)}`;
        assert.ok(ours.length > 0 || theirs.length === 0, `Medplum refuses what we accept: ${where}`);
        if (ours.length > 0 && theirs.length === 0) {
          assert.ok(mutation.oursRight, `we refuse what Medplum accepts, and no reason is listed: ${where}`);
          differences++;
        }
      }
      assert.ok(tried > 20, `tried ${tried}`);
      if (mutation.oursRight) assert.ok(differences > 0, 'the listed difference no longer occurs');
    });
  }
});
