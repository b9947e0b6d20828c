import { accessPolicy } from '../../src/access/door.js';
import { parseScopes, resourceScopes } from '../../src/access/scopes.js';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Group, Patient, Resource } from '@medplum/fhirtypes';
import { abortLocalJob, exportLimits, exportToDirectory, isRunningHere, planExport, startExportJob } from '../../src/bulk/export.js';
import { patientCompartmentKey } from '../../src/fhir/compartment.js';
import { Repository } from '../../src/store/repository.js';
import { populationResources } from '../../src/synth/population.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';

const ASYNC = { prefer: 'respond-async' };

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

const key = (r: { resourceType: string; id?: string }) => `${r.resourceType}/${r.id}`;

for (const driver of testDrivers()) describe(`Bulk Data $export (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let population: Resource[];
  const saved = { ...exportLimits };

  before(async () => {
    // Small pages and files, so that 3,668 resources exercise keyset paging and file splitting.
    exportLimits.pageSize = 100;
    exportLimits.fileSize = 300;
    server = await startTestServer(driver);
    population = [...populationResources({ patients: 20, seed: 1 })];
    for (let i = 0; i < population.length; i += 500) {
      const entry = population.slice(i, i + 500).map((resource) => ({ resource, request: { method: 'PUT', url: key(resource) } }));
      const reply = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
      assert.equal(reply.status, 200, reply.text.slice(0, 500));
    }
  });
  after(async () => {
    Object.assign(exportLimits, saved);
    await server.close();
  });

  /** Path below the base of an absolute URL the server gave out. */
  const local = (url: string) => {
    assert.ok(url.startsWith(server.base + '/'), url);
    return url.slice(server.base.length + 1);
  };

  async function kickOff(path: string, headers: Record<string, string> = ASYNC, body?: unknown): Promise<string> {
    const reply = await server.fhir(body === undefined ? 'GET' : 'POST', path, body, headers);
    assert.equal(reply.status, 202, reply.text);
    const location = reply.headers.get('content-location');
    assert.match(location ?? '', /\/\$export-status\/[0-9a-f-]{36}$/);
    return local(location!);
  }

  async function manifestOf(statusPath: string): Promise<Manifest> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const reply = await server.fhir('GET', statusPath);
      if (reply.status === 200) {
        assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
        return reply.body as Manifest;
      }
      assert.equal(reply.status, 202, reply.text);
      assert.ok(reply.headers.get('x-progress'), 'a running job reports X-Progress');
      assert.ok(Number(reply.headers.get('retry-after')) > 0, 'and Retry-After');
      assert.ok(Date.now() < deadline, 'the export finishes within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Downloads every file of a manifest; checks each file's type, count and content type; returns the resources. */
  async function download(manifest: Manifest): Promise<Resource[]> {
    assert.equal(manifest.requiresAccessToken, true, 'the files hold clinical data: the one door guards them too');
    assert.deepEqual(manifest.error, []);
    const resources: Resource[] = [];
    for (const output of manifest.output) {
      assert.equal((await server.fhir('GET', local(output.url), undefined, { authorization: '' })).status, 401, 'no file without a token');
      const reply = await server.fhir('GET', local(output.url), undefined, { accept: 'application/fhir+ndjson' });
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^application\/fhir\+ndjson/);
      assert.ok(reply.text.endsWith('\n'), 'every NDJSON line ends with a newline');
      const lines = reply.text.slice(0, -1).split('\n');
      assert.equal(lines.length, output.count, `count of ${output.url}`);
      for (const line of lines) {
        const resource = JSON.parse(line) as Resource;
        assert.equal(resource.resourceType, output.type);
        assert.ok(resource.meta?.versionId, 'resources are exported as stored, with meta');
        resources.push(resource);
      }
    }
    return resources;
  }

  async function exported(path: string, headers?: Record<string, string>): Promise<{ manifest: Manifest; keys: string[] }> {
    const manifest = await manifestOf(await kickOff(path, headers));
    const keys = (await download(manifest)).map(key);
    assert.equal(new Set(keys).size, keys.length, 'no resource is exported twice');
    return { manifest, keys: keys.sort() };
  }

  const keysOf = (resources: Resource[]) => resources.map(key).sort();

  test('kick-off without "Prefer: respond-async" is a 400 OperationOutcome', async () => {
    for (const path of ['$export', 'Patient/$export']) {
      const reply = await server.fhir('GET', path);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
      assert.match(reply.text, /respond-async/);
    }
  });

  test('parameters the server cannot honour are a 400, and $export on other types a 4xx', async () => {
    const refused: [string, RegExp][] = [
      ['$export?_type=Patient,Unicorn', /Unicorn/],
      ['$export?_outputFormat=text/csv', /_outputFormat/],
      ['$export?_since=yesterday', /_since/],
      ['$export?_since=2026-01-01', /_since/],
      ['$export?_typeFilter=Observation%3Fnonsense%3D1', /nonsense/],
      ['$export?_typeFilter=status%3Dfinal', /_typeFilter/],
      ['$export?_type=Patient&_typeFilter=Observation%3Fstatus%3Dfinal', /_type/],
      ['$export?_typeFilter=Observation%3F_sort%3D_id', /_sort/],
      ['$export?_elements=id', /_elements/],
      ['Observation/$export', /not defined on Observation/],
      ['Group/$export', /not defined on Group/],
      ['Patient/abc/$export', /not defined on Patient/],
    ];
    for (const [path, message] of refused) {
      const reply = await server.fhir('GET', path, undefined, ASYNC);
      assert.equal(reply.status, 400, `${path}: ${reply.text}`);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
      assert.match(reply.text, message, path);
    }
    assert.equal((await server.fhir('GET', 'Group/no-such-group/$export', undefined, ASYNC)).status, 404);
    assert.equal((await server.fhir('GET', 'Unicorn/$export', undefined, ASYNC)).status, 404);
    // Under handling=lenient an unsupported parameter is ignored instead.
    await kickOff('$export?_elements=id&_type=Patient', { prefer: 'respond-async, handling=lenient' });
  });

  test('a system export returns exactly the stored resources, by type and id, in files of bounded size', async () => {
    const { manifest, keys } = await exported('$export');
    assert.deepEqual(keys, keysOf(population));
    assert.ok(Date.parse(manifest.transactionTime) <= Date.now());
    assert.equal(manifest.request, `${server.base}/$export`);
    const observations = manifest.output.filter((o) => o.type === 'Observation');
    assert.deepEqual(
      observations.map((o) => o.count),
      [300, 300, 109],
      'a type is split into files of fileSize',
    );
    const perType = new Map<string, number>();
    for (const o of manifest.output) perType.set(o.type, (perType.get(o.type) ?? 0) + o.count);
    const expected = new Map<string, number>();
    for (const r of population) expected.set(r.resourceType, (expected.get(r.resourceType) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries([...perType].sort()), Object.fromEntries([...expected].sort()));
  });

  test('_type restricts the export to the types asked', async () => {
    const { manifest, keys } = await exported('$export?_type=Patient,Encounter');
    assert.deepEqual(keys, keysOf(population.filter((r) => r.resourceType === 'Patient' || r.resourceType === 'Encounter')));
    assert.equal(manifest.request, `${server.base}/$export?_type=Patient%2CEncounter`);
  });

  test('_typeFilter applies searches; several filters on one type are ORed; other types stay whole', async () => {
    const filters = encodeURIComponent('Patient?gender=female,Patient?birthdate=lt1980');
    const { keys } = await exported(`$export?_type=Patient,Immunization&_typeFilter=${filters}`);
    const patients = population.filter((r): r is Patient => r.resourceType === 'Patient');
    const chosen = patients.filter((p) => p.gender === 'female' || p.birthDate! < '1980');
    assert.ok(chosen.length > 0 && chosen.length < patients.length, 'the filters select some patients, not all');
    assert.ok(chosen.some((p) => p.gender === 'female' && p.birthDate! < '1980'), 'some patients match both filters, and are exported once');
    assert.deepEqual(keys, keysOf([...chosen, ...population.filter((r) => r.resourceType === 'Immunization')]));
  });

  test('a Patient export returns the Patients and every resource in a patient compartment', async () => {
    const { keys } = await exported('Patient/$export');
    const expected = population.filter((r) => patientCompartmentKey(r) !== undefined);
    assert.ok(expected.some((r) => r.resourceType === 'Observation'));
    assert.ok(!expected.some((r) => r.resourceType === 'Organization'));
    assert.deepEqual(keys, keysOf(expected));
  });

  let group: Group;
  test("a Group export returns its active members' compartments and nothing of non-members", async () => {
    const patients = population.filter((r) => r.resourceType === 'Patient');
    const [a, b, c, inactive] = patients;
    group = {
      resourceType: 'Group',
      id: 'cohort-1',
      type: 'person',
      actual: true,
      member: [
        { entity: { reference: `Patient/${a!.id}` } },
        { entity: { reference: `${server.base}/Patient/${b!.id}` } },
        { entity: { reference: `Patient/${c!.id}` } },
        { entity: { reference: `Patient/${inactive!.id}` }, inactive: true },
      ],
    };
    assert.equal((await server.fhir('PUT', 'Group/cohort-1', group)).status, 201);
    const members = new Set([a!.id, b!.id, c!.id]);
    const { keys } = await exported('Group/cohort-1/$export?_type=Patient,Encounter,Observation,Group');
    const expected = [...population, group].filter(
      (r) => ['Patient', 'Encounter', 'Observation', 'Group'].includes(r.resourceType) && members.has(patientCompartmentKey(r)!),
    );
    assert.ok(expected.filter((r) => r.resourceType === 'Encounter').length > 0);
    assert.deepEqual(keys, keysOf(expected));
    assert.ok(!keys.includes(key(inactive!)), 'an inactive member is left out');
    assert.ok(!keys.some((k) => k.startsWith('Patient/') && !members.has(k.slice(8))), 'no other patient');
  });

  test("_since returns what changed after an earlier export's transactionTime", async () => {
    const first = await manifestOf(await kickOff('$export?_type=Organization'));
    const patient = population.find((r): r is Patient => r.resourceType === 'Patient')!;
    const changed = { ...patient, active: false, meta: undefined };
    assert.equal((await server.fhir('PUT', key(patient), changed)).status, 200);
    const observation = { resourceType: 'Observation', id: 'since-new', status: 'final', code: { text: 'new' }, subject: { reference: key(patient) } };
    assert.equal((await server.fhir('PUT', 'Observation/since-new', observation)).status, 201);
    const { keys } = await exported(`$export?_since=${encodeURIComponent(first.transactionTime)}`);
    assert.deepEqual(keys, [key(observation), key(patient)].sort());
    // A Patient export with _since too: both are in the patient's compartment.
    assert.deepEqual((await exported(`Patient/$export?_since=${encodeURIComponent(first.transactionTime)}`)).keys, [key(observation), key(patient)].sort());
  });

  test('a POST kick-off takes its parameters as a Parameters resource', async () => {
    const body = {
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Procedure' },
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      ],
    };
    const manifest = await manifestOf(await kickOff('$export', ASYNC, body));
    assert.deepEqual(keysOf(await download(manifest)), keysOf(population.filter((r) => r.resourceType === 'Procedure')));
  });

  test('DELETE cancels a job and deletes its files; its status is then a 404', async () => {
    const statusPath = await kickOff('$export');
    const cancel = await server.fhir('DELETE', statusPath);
    assert.equal(cancel.status, 202);
    assert.equal((await server.fhir('GET', statusPath)).status, 404);
    assert.equal((await server.fhir('DELETE', statusPath)).status, 404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const jobId = statusPath.split('/').pop()!;
    const rows = await server.db.query(`SELECT 1 FROM bulk_job WHERE id = $1 UNION ALL SELECT 1 FROM bulk_output WHERE job_id = $1`, [jobId]);
    assert.equal(rows.length, 0, 'the job stopped and left nothing behind');
  });

  test('a completed job can be deleted too, and its files are gone', async () => {
    const statusPath = await kickOff('$export?_type=AllergyIntolerance');
    const manifest = await manifestOf(statusPath);
    assert.equal(manifest.output.length, 1);
    assert.equal((await server.fhir('DELETE', statusPath)).status, 202);
    assert.equal((await server.fhir('GET', local(manifest.output[0]!.url))).status, 404);
  });

  test('unknown jobs and files are a 404', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const replies: FhirReply[] = [
      await server.fhir('GET', `$export-status/${unknown}`),
      await server.fhir('GET', `$export-status/not-a-job`),
      await server.fhir('DELETE', `$export-status/${unknown}`),
      await server.fhir('GET', `$export-output/${unknown}/0`),
      await server.fhir('GET', `$export-output/${unknown}/x`),
    ];
    for (const reply of replies) {
      assert.equal(reply.status, 404);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
    }
  });

  /** The repository of the caller `server.fhir` signs in as: the jobs these tests start are theirs to poll. */
  const defaultCallersRepository = () => {
    const [clientId, subject] = server.defaultOwner.split('|') as [string, string];
    const scopes = resourceScopes(parseScopes('user/*.cruds'));
    return new Repository(server.db, accessPolicy({ role: 'administrator', clinicalAccess: true, subject, clientId, scopes, purposeOfUse: 'HOPERAT' }));
  };

  test('a job whose runner stopped mid-way is resumed from its last file by the next status request', async () => {
    const repo = defaultCallersRepository();
    const parameters = planExport({ level: 'system', types: ['Observation', 'Encounter', 'Patient'] });
    const saved = { ...exportLimits };
    exportLimits.pageSize = 50;
    exportLimits.fileSize = 100;
    try {
      const id = await startExportJob(repo, { request: `${server.base}/$export`, parameters });
      // Let it write a few files, then stop it as if its process had died.
      for (let i = 0; ; i++) {
        const rows = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM bulk_output WHERE job_id = $1`, [id]);
        if (Number(rows[0]!.n) >= 2) break;
        assert.ok(i < 2000, 'the job writes files');
        await new Promise((resolve) => setImmediate(resolve));
      }
      abortLocalJob(id);
      while (isRunningHere(id)) await new Promise((resolve) => setTimeout(resolve, 5));
      const [job] = await server.db.query<{ status: string }>(`SELECT status FROM bulk_job WHERE id = $1`, [id]);
      assert.equal(job!.status, 'in-progress', 'stopped before it finished');
      const waiting = await server.fhir('GET', `$export-status/${id}`);
      assert.equal(waiting.status, 202, 'a recently active job is not taken over');
      await server.db.query(`UPDATE bulk_job SET updated_at = now() - interval '1 hour' WHERE id = $1`, [id]);
      const manifest = await manifestOf(`$export-status/${id}`);
      const resources = await download(manifest);
      assert.equal(new Set(resources.map(key)).size, resources.length, 'no file is repeated');
      const expected = population.filter((r) => parameters.types.includes(r.resourceType)).map(key);
      expected.push('Observation/since-new');
      assert.deepEqual(keysOf(resources), expected.sort());
    } finally {
      Object.assign(exportLimits, saved);
    }
  });

  test('a failed job answers its status with a 500 OperationOutcome, as the IG defines', async () => {
    const repo = defaultCallersRepository();
    // A filter that cannot run (bypassing the kick-off's checks) fails the job on its first page.
    const id = await startExportJob(repo, {
      request: `${server.base}/$export`,
      parameters: { level: 'system', types: ['Patient'], typeFilters: { Patient: ['nonsense=1'] } },
    });
    let reply: FhirReply;
    do reply = await server.fhir('GET', `$export-status/${id}`);
    while (reply.status === 202);
    assert.equal(reply.status, 500);
    assert.equal(reply.body.resourceType, 'OperationOutcome');
    assert.match(reply.text, /nonsense/);
  });

  test('the CapabilityStatement lists the export operations where they are defined', async () => {
    const rest = (await server.fhir('GET', 'metadata')).body.rest[0];
    const operationsOf = (type: string) => rest.resource.find((r: any) => r.type === type)?.operation ?? [];
    const exportOf = (operations: any[]) => operations.find((o) => o.name === 'export');
    assert.ok(exportOf(operationsOf('Patient')), 'Patient/$export is listed');
    for (const operations of [rest.operation ?? [], ...rest.resource.map((r: any) => r.operation ?? [])]) {
      assert.ok(!operations.some((o: any) => String(o.name).startsWith('export-')), 'status and download endpoints are not operations');
    }
    assert.equal(exportOf(rest.operation ?? [])?.definition, 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export');
    assert.equal(exportOf(operationsOf('Patient'))?.definition, 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export');
    assert.equal(exportOf(operationsOf('Group'))?.definition, 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export');
    assert.equal(exportOf(operationsOf('Observation')), undefined, 'not on types that do not define it');
  });

  test('exportToDirectory writes one <Type>.ndjson per type for the CLI', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'densaulyq-export-'));
    try {
      let progressCalls = 0;
      const result = await exportToDirectory({
        db: server.db,
        outDir,
        types: ['Patient', 'Condition', 'Flag'],
        onProgress: () => progressCalls++,
      });
      assert.deepEqual(readdirSync(outDir).sort(), ['Condition.ndjson', 'Patient.ndjson']);
      const written = ['Condition', 'Patient'].flatMap((type) =>
        readFileSync(join(outDir, `${type}.ndjson`), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Resource),
      );
      assert.deepEqual(keysOf(written), keysOf(population.filter((r) => r.resourceType === 'Patient' || r.resourceType === 'Condition')));
      assert.deepEqual(result.counts, { Patient: 20, Condition: written.length - 20 });
      assert.equal(result.resources, written.length);
      assert.ok(progressCalls > 0);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
