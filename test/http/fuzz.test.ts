import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';

/**
 * Property tests of the API against random and mutated input: it never answers 5xx, always answers
 * a FHIR JSON body, and the database holds exactly the versions it acknowledged.
 *
 * Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> node --import tsx --test test/http/fuzz.test.ts
 * Explore further with FUZZ_RUNS=<n> (runs per property; the default keeps the file under a minute on PGlite).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_126);
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);

const SYNTHEA_DIR = join(import.meta.dirname, '../../../shared/data/synthea-r4');
const JSON_PATCH = 'application/json-patch+json';

/** A small self-contained transaction from the first Synthea bundle: entries whose urn:uuid references all resolve inside it. */
function syntheaSamples(): { patient: any; observation: any; condition: any; bundle: any } {
  const file = readdirSync(SYNTHEA_DIR).filter((f) => f.endsWith('.json')).sort()[0]!;
  const source = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8'));
  let entries: any[] = source.entry.slice(0, 16);
  for (;;) {
    const urls = new Set(entries.map((e) => e.fullUrl));
    const kept = entries.filter((e) => [...JSON.stringify(e.resource).matchAll(/"reference":"(urn:uuid:[^"]+)"/g)].every((m) => urls.has(m[1])));
    if (kept.length === entries.length) break;
    entries = kept;
  }
  const first = (type: string) => structuredClone(source.entry.find((e: any) => e.resource.resourceType === type).resource);
  const patient = first('Patient');
  const observation = first('Observation');
  const condition = first('Condition');
  // Outside a transaction the urn:uuid references point nowhere; give them plain ones.
  for (const resource of [observation, condition]) {
    resource.subject = { reference: 'Patient/fuzz-patient' };
    delete resource.encounter;
  }
  entries.push({ fullUrl: 'urn:uuid:7d0c2a5e-3f7b-4c1e-9a55-0b6a2f9d1c01', request: { method: 'PUT', url: 'Patient/fuzz-patient' }, resource: { ...patient, id: 'fuzz-patient' } });
  return { patient, observation, condition, bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries } };
}

const samples = syntheaSamples();

/** Every JSON path into a value, the root included, as arrays of keys and indexes. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function get(root: any, path: (string | number)[]): any {
  return path.reduce((node, key) => (node === null || typeof node !== 'object' ? undefined : node[key]), root);
}

/** Marks a duplicate: JSON.stringify writes `"\u0000dup:gender"`, which toText turns into a second `"gender"`. */
const DUPLICATE = '\u0000dup';

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'retype'; at: number }
  | { kind: 'add'; at: number; key: string; value: unknown }
  | { kind: 'nest'; at: number; depth: number }
  | { kind: 'duplicate'; at: number };

type TextMutation = { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; text: string } | { kind: 'none' };

const ELEMENT_NAMES = ['resourceType', 'id', 'meta', 'text', 'name', 'gender', 'birthDate', 'status', 'code', 'subject', 'value', 'valueQuantity', 'reference', 'entry', 'request', 'method', 'url', 'type', 'extension', 'contained'];

const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 1, stringUnit: 'binary' }));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: jsonValue }),
  fc.record({ kind: fc.constant('retype' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...ELEMENT_NAMES), fc.string({ maxLength: 8 })), value: jsonValue }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 20, max: 400 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
);

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(',', '}', ']', '"', '{', '\\', 'null', '\u0000'), fc.string({ maxLength: 4 })) }),
);

/** Applies the mutations to a copy of the sample; paths are picked by index so shrinking stays meaningful. */
function mutate(sample: unknown, mutations: Mutation[]): unknown {
  let root: any = structuredClone(sample);
  for (const m of mutations) {
    const all = paths(root);
    const path = all[m.at % all.length]!;
    const parent = path.length ? get(root, path.slice(0, -1)) : undefined;
    const key = path[path.length - 1];
    const current = get(root, path);
    const set = (value: unknown) => {
      if (path.length === 0) root = value;
      else parent[key!] = value;
    };
    switch (m.kind) {
      case 'delete':
        if (path.length === 0) root = undefined;
        else if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key!];
        break;
      case 'replace':
        set(m.value);
        break;
      case 'retype':
        set(
          typeof current === 'string' ? (Number.isNaN(Number(current)) ? current.length : Number(current))
          : typeof current === 'number' ? String(current)
          : Array.isArray(current) ? current[0]
          : current && typeof current === 'object' ? [current]
          : typeof current === 'boolean' ? String(current)
          : {},
        );
        break;
      case 'add':
        if (current && typeof current === 'object' && !Array.isArray(current)) current[m.key] = m.value;
        else if (Array.isArray(current)) current.push(m.value);
        break;
      case 'nest': {
        let nested: unknown = current ?? 1;
        for (let i = 0; i < m.depth; i++) nested = i % 2 ? [nested] : { extension: nested };
        set(nested);
        break;
      }
      case 'duplicate':
        if (current && typeof current === 'object' && !Array.isArray(current)) {
          const keys = Object.keys(current);
          const name = keys[m.at % keys.length];
          if (name !== undefined && !name.startsWith(DUPLICATE)) current[`${DUPLICATE}:${name}`] = current[name];
        }
        break;
    }
  }
  return root;
}

/** Serializes the mutated value, turning duplicate markers into real duplicate keys, then breaks the text if asked. */
function toText(value: unknown, textual: TextMutation): string {
  let text = (JSON.stringify(value) ?? '').replace(/"\\u0000dup:((?:[^"\\]|\\.)*)":/g, '"$1":');
  if (textual.kind === 'truncate') text = text.slice(0, textual.at % (text.length + 1));
  if (textual.kind === 'insert') {
    const at = textual.at % (text.length + 1);
    text = text.slice(0, at) + textual.text + text.slice(at);
  }
  return text;
}

for (const driver of testDrivers()) describe(`fuzzing the API: never 5xx, and stored is exactly what was acknowledged (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  /** `Type/id/version` of every version a 2xx answer acknowledged. */
  const acknowledged = new Set<string>();
  let existingPatient = '';

  before(async () => {
    server = await startTestServer(driver);
    const reply = await server.fhir('POST', 'Patient', samples.patient);
    assert.equal(reply.status, 201, reply.text);
    existingPatient = reply.body.id;
    record(reply, 'POST', undefined);
  });
  after(() => server.close());

  /** Notes the versions a 2xx answer says were written: the resource itself, or a Bundle's write entries. */
  function record(reply: FhirReply, method: string, sent: string | undefined): void {
    if (reply.status >= 300 || !['POST', 'PUT', 'PATCH'].includes(method)) return;
    const body = reply.body;
    if (body?.resourceType === 'Bundle' && /^(batch|transaction)-response$/.test(body.type)) {
      const request = JSON.parse(sent!);
      body.entry.forEach((entry: any, i: number) => {
        const entryMethod = request.entry[i]?.request?.method;
        if (!['POST', 'PUT', 'PATCH'].includes(entryMethod) || !/^2/.test(entry.response.status) || !entry.fullUrl) return;
        const [type, id] = entry.fullUrl.slice(server.base.length + 1).split('/');
        acknowledged.add(`${type}/${id}/${/W\/"(\d+)"/.exec(entry.response.etag)![1]}`);
      });
    } else if (body?.id && body.meta?.versionId) {
      acknowledged.add(`${body.resourceType}/${body.id}/${body.meta.versionId}`);
    } else {
      assert.fail(`a ${reply.status} to ${method} acknowledged nothing recognizable: ${reply.text.slice(0, 300)}`);
    }
  }

  /** Sends one request and checks the invariants that hold for any input. */
  async function send(method: string, path: string, text: string, contentType = 'application/fhir+json'): Promise<FhirReply> {
    const reply = await server.fhir(method, path, text, { 'content-type': contentType });
    assert.ok(reply.status < 500, `${method} /${path} answered ${reply.status}: ${reply.text.slice(0, 500)}\nbody sent: ${text.slice(0, 2000)}`);
    assert.ok(typeof reply.body?.resourceType === 'string', `${method} /${path} answered ${reply.status} without a FHIR JSON body: ${reply.text.slice(0, 300)}`);
    if (reply.status >= 400) assert.equal(reply.body.resourceType, 'OperationOutcome', reply.text.slice(0, 300));
    record(reply, method, text);
    return reply;
  }

  const endpoint = fc.constantFrom(
    { method: 'POST', path: 'Patient' },
    { method: 'PUT', path: 'Patient/fuzz-put' },
    { method: 'POST', path: 'Observation' },
    { method: 'POST', path: '' },
  );

  test('random JSON and random text as bodies are never a 5xx', { timeout: 120_000 }, async () => {
    const resourceLike = fc
      .tuple(fc.constantFrom('Patient', 'Observation', 'Bundle', 'Foo', ''), fc.dictionary(fc.oneof(fc.constantFrom(...ELEMENT_NAMES), fc.string({ maxLength: 6 })), jsonValue, { maxKeys: 4 }))
      .map(([resourceType, rest]) => JSON.stringify({ ...rest, resourceType }));
    const body = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.jsonValue({ stringUnit: 'binary' }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      resourceLike,
    );
    await fc.assert(
      fc.asyncProperty(endpoint, body, async ({ method, path }, text) => {
        await send(method, path, text);
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
  });

  test('random JSON Patch documents are never a 5xx', { timeout: 120_000 }, async () => {
    const operation = fc.record(
      {
        op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test'), fc.string({ maxLength: 5 })),
        path: fc.oneof(
          fc.constantFrom('', '/', '/gender', '/birthDate', '/name/0/family', '/name/-', '/id', '/resourceType', '/meta/versionId', '/active', '/__proto__/x', '/constructor/prototype/x', '/name/99'),
          fc.string({ maxLength: 8 }),
        ),
        from: fc.constantFrom('/name/0', '/gender', '/nope', ''),
        value: jsonValue,
      },
      { requiredKeys: ['op'] },
    );
    const document = fc.oneof(
      { weight: 5, arbitrary: fc.array(fc.oneof({ weight: 5, arbitrary: operation }, jsonValue), { maxLength: 4 }).map((ops) => JSON.stringify(ops)) },
      jsonValue.map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(document, fc.boolean(), async (text, existing) => {
        await send('PATCH', `Patient/${existing ? existingPatient : 'fuzz-absent'}`, text, JSON_PATCH);
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
  });

  test('mutated Synthea resources and transaction Bundles are never a 5xx', { timeout: 120_000 }, async () => {
    const target = fc.constantFrom(
      { method: 'POST', path: 'Patient', sample: samples.patient },
      { method: 'PUT', path: 'Patient/fuzz-patient', sample: { ...samples.patient, id: 'fuzz-patient' } },
      { method: 'POST', path: 'Observation', sample: samples.observation },
      { method: 'PUT', path: 'Condition/fuzz-condition', sample: { ...samples.condition, id: 'fuzz-condition' } },
      { method: 'POST', path: '', sample: samples.bundle },
      { method: 'POST', path: '', sample: { ...samples.bundle, type: 'batch' } },
    );
    await fc.assert(
      fc.asyncProperty(target, fc.array(mutation, { minLength: 0, maxLength: 3 }), textMutation, async ({ method, path, sample }, mutations, textual) => {
        await send(method, path, toText(mutate(sample, mutations), textual));
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
  });

  test('the database holds exactly the versions that were acknowledged', async () => {
    assert.ok(acknowledged.size > 10, `the fuzzing acknowledged only ${acknowledged.size} writes: the samples are too broken to test storage`);
    const versions = await server.db.query<{ key: string }>(`SELECT resource_type || '/' || id || '/' || version_id AS key FROM resource_version`);
    assert.equal(versions.length, acknowledged.size, 'one resource_version row per acknowledged write');
    assert.deepEqual(new Set(versions.map((v) => v.key)), acknowledged);
    const latest = new Map<string, number>();
    for (const key of acknowledged) {
      const [type, id, version] = key.split('/');
      latest.set(`${type}/${id}`, Math.max(latest.get(`${type}/${id}`) ?? 0, Number(version)));
    }
    const current = await server.db.query<{ key: string; version: number }>(
      `SELECT resource_type || '/' || id AS key, version_id::int AS version FROM resource WHERE NOT deleted`,
    );
    assert.deepEqual(new Map(current.map((r) => [r.key, r.version])), latest);
    const [deleted] = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE deleted`);
    assert.equal(deleted!.n, 0, 'nothing was deleted');
  });
});
