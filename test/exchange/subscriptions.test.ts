import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { createAccessTokenVerifier, mintAccessToken } from '../../src/access/tokens.js';
import { addUser } from '../../src/access/users.js';
import { DEFAULT_DELIVERY, type DeliverySettings } from '../../src/config.js';
import { SubscriptionDelivery } from '../../src/exchange/delivery.js';
import { buildApp } from '../../src/http/app.js';
import type { Database } from '../../src/store/driver.js';
import { openDatabase } from '../../src/store/open.js';
import { denyOrganizationConsent } from '../access/world.js';
import { freePort } from '../access/harness.js';
import { type TestDriver, testDrivers } from '../support/database.js';
import { storedAuditEvents } from '../support/audit-events.js';
import { type FhirReply, NO_RATE_LIMITS, TEST_AUDIENCE, TEST_ISSUER, type TokenClaims } from '../support/server.js';
import { until } from '../support/until.js';

const IG = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPIC = 'http://densaulyq.kz/fhir/SubscriptionTopic';
const SECRET_EXTENSION = 'http://densaulyq.kz/fhir/StructureDefinition/subscription-signing-secret';
const SECRET = 'a-synthetic-signing-secret-0123';
const ORG_A = 'sub-org-a';
const ORG_B = 'sub-org-b';
const P1 = 'sub-p1';
const P2 = 'sub-p2';

/** Delivery that retries quickly and gives up late: the subscriber may be down a while. */
const PATIENT: DeliverySettings = { ...DEFAULT_DELIVERY, pollMs: 30, retryBaseMs: 50, retryMaxMs: 300, maxAttempts: 1000, timeoutMs: 2000 };

/** The FHIR API with its delivery worker on a database that outlives it (a restart opens the same one). */
interface Running {
  base: string;
  fhir(method: string, path: string, body?: unknown, token?: string): Promise<FhirReply>;
  close(): Promise<void>;
}

async function startOn(open: () => Promise<Database>, settings: DeliverySettings, port = 0): Promise<Running & { db: Database; port: number }> {
  const db = await open();
  const delivery = new SubscriptionDelivery(db, 'http://densaulyq.test/fhir', settings);
  const app = await buildApp({
    db,
    config: { bodyLimit: 1 << 20, maxBundleEntries: 100 },
    verifyToken: createAccessTokenVerifier({ db, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
    hardening: { rateLimits: NO_RATE_LIMITS, corsOrigins: [] },
    subscriptionDelivery: delivery,
  });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  const listening = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${listening}/fhir`;
  delivery.start();
  return {
    db,
    port: listening,
    base,
    async fhir(method, path, body, token) {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (body !== undefined) headers['content-type'] = 'application/fhir+json';
      const response = await fetch(`${base}/${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
    },
    async close() {
      await app.close();
      await delivery.stop();
      await db.close();
    },
  };
}

/** A database that survives its handle's close: PGlite in a folder, or a PostgreSQL database of its own. */
async function durableDatabase(driver: TestDriver): Promise<{ open: () => Promise<Database>; drop: () => Promise<void> }> {
  if (driver.name === 'postgres') {
    const made = await driver.createForProcess();
    return { open: () => openDatabase({ databaseUrl: made.env.DATABASE_URL! }), drop: made.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), 'densaulyq-subs-'));
  return { open: () => openDatabase({ dataDir: dir }), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  bundle: { type: string; entry: { fullUrl?: string; resource: any }[] };
}

/** A rest-hook subscriber on a loopback port that can go down and come back on the same port. */
class Subscriber {
  received: Received[] = [];
  private server: Server | undefined;
  constructor(readonly port: number) {}
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
  async up(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ headers: request.headers, body, bundle: JSON.parse(body) });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  /** Notifications of `subscription` of one type. */
  of(subscription: string, type: string): Received[] {
    return this.received.filter((r) => statusOf(r.bundle).subscription.endsWith(`/Subscription/${subscription}`) && statusOf(r.bundle).type === type);
  }
}

/** The SubscriptionStatus (first entry) of a notification, its parameters by name. */
function statusOf(bundle: Received['bundle']): { subscription: string; type: string; status: string; eventsSince: string; events: { number: number; focus?: string }[] } {
  const parameters: any[] = bundle.entry[0]!.resource.parameter;
  const value = (name: string) => parameters.find((p) => p.name === name);
  return {
    subscription: value('subscription').valueReference.reference,
    type: value('type').valueCode,
    status: value('status').valueCode,
    eventsSince: value('events-since-subscription-start').valueString,
    events: parameters
      .filter((p) => p.name === 'notification-event')
      .map((p) => ({
        number: Number(p.part.find((x: any) => x.name === 'event-number').valueString),
        focus: p.part.find((x: any) => x.name === 'focus')?.valueReference.reference,
      })),
  };
}

function subscription(topic: string, filters: string[], channel: object): object {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'Synthetic test subscription',
    criteria: `${TOPIC}/${topic}`,
    ...(filters.length ? { _criteria: { extension: filters.map((valueString) => ({ url: `${IG}/backport-filter-criteria`, valueString })) } } : {}),
    channel,
  };
}

function restHook(endpoint: string, content: string, extra: object = {}): object {
  return {
    type: 'rest-hook',
    endpoint,
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: `${IG}/backport-payload-content`, valueCode: content }] },
    ...extra,
  };
}

const documentReference = (patient: string, title: string) => ({
  resourceType: 'DocumentReference',
  status: 'current',
  subject: { reference: `Patient/${patient}` },
  content: [{ attachment: { contentType: 'text/plain', title } }],
});

for (const driver of testDrivers()) describe(`Topic-based Subscriptions (${driver.name})`, { skip: driver.skip }, () => {
  let database: Awaited<ReturnType<typeof durableDatabase>>;
  let server: Running & { db: Database; port: number };
  let admin: string;
  let systemA: string;
  let clinicianB: string;
  let citizen: string;
  let hook: Subscriber;

  before(async () => {
    database = await durableDatabase(driver);
    server = await startOn(database.open, PATIENT);
    const token = async ({ client_id, ...claims }: TokenClaims) =>
      (await mintAccessToken(server.db, { client_id: client_id ?? 'test-app', ...claims }, { issuer: TEST_ISSUER, fhirBaseUrl: TEST_AUDIENCE, ttlSeconds: 3600 })).access_token;
    const administrator = await addUser(server.db, { username: `subs-admin-${driver.name}`, role: 'administrator', clinicalAccess: true });
    admin = await token({ sub: administrator.id, scope: 'user/*.cruds', role: 'administrator' });
    systemA = await token({ sub: 'system-a', client_id: 'system-a', scope: 'system/*.cruds', role: 'system', organization: ORG_A });
    clinicianB = await token({ sub: 'clinician-b', client_id: 'mis-b', scope: 'user/*.cruds', role: 'clinician', organization: ORG_B });
    citizen = await token({ sub: 'citizen-p1', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${P1}` });
    for (const org of [ORG_A, ORG_B]) assert.equal((await server.fhir('PUT', `Organization/${org}`, { resourceType: 'Organization', id: org, name: org, active: true }, admin)).status, 201);
    for (const [patient, org] of [[P1, ORG_A], [P2, ORG_B]] as const) {
      const put = await server.fhir('PUT', `Patient/${patient}`, { resourceType: 'Patient', id: patient, name: [{ family: 'Синтетов' }], generalPractitioner: [{ reference: `Organization/${org}` }] }, admin);
      assert.equal(put.status, 201, put.text);
    }
    hook = new Subscriber(await freePort());
    await hook.up();
  });
  after(async () => {
    await hook.down();
    await server.close();
    await database.drop();
  });

  test('the three topics are served as Basic resources and listed on Subscription in the CapabilityStatement', async () => {
    const metadata = await server.fhir('GET', 'metadata');
    const resource = metadata.body.rest[0].resource.find((r: { type: string }) => r.type === 'Subscription');
    const listed = resource.extension.filter((e: { url: string }) => e.url === `${IG}/capabilitystatement-subscriptiontopic-canonical`).map((e: { valueCanonical: string }) => e.valueCanonical);
    assert.deepEqual(listed, [`${TOPIC}/document`, `${TOPIC}/referral`, `${TOPIC}/lab-result`]);
    for (const id of ['document', 'referral', 'lab-result']) {
      const topic = await server.fhir('GET', `Basic/topic-${id}`, undefined, systemA);
      assert.equal(topic.status, 200, topic.text);
      const url = topic.body.extension.find((e: { url: string }) => e.url.endsWith('SubscriptionTopic.url'));
      assert.equal(url.valueUri, `${TOPIC}/${id}`);
    }
    const operations = resource.operation.filter((o: { definition: string }) => o.definition.startsWith('http://hl7.org/fhir/uv/subscriptions-backport/'));
    assert.deepEqual(operations.map((o: { name: string }) => o.name).sort(), ['events', 'get-ws-binding-token', 'status']);
  });

  test('bad Subscriptions are refused with the path of what is wrong, and nothing is stored', async () => {
    const cases: [string, object, string, number?][] = [
      ['unknown topic', subscription('nothing', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'id-only')), 'Subscription.criteria'],
      ['plain http to another host', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook('http://subscriber.example/hook', 'id-only')), 'Subscription.channel.endpoint'],
      ['no filter', subscription('document', [], restHook(hook.url, 'id-only')), `Subscription.criteria.extension('${IG}/backport-filter-criteria')`],
      ['a patient the organization does not see', subscription('document', [`DocumentReference?patient=Patient/${P2}`], restHook(hook.url, 'id-only')), `Subscription.criteria.extension('${IG}/backport-filter-criteria')`],
      ["another organization's referrals", subscription('referral', [`Task?owner=Organization/${ORG_B}`], restHook(hook.url, 'id-only')), `Subscription.criteria.extension('${IG}/backport-filter-criteria')`],
      ['a filter the topic does not offer', subscription('document', [`DocumentReference?patient=Patient/${P1}&author=Organization/${ORG_A}`], restHook(hook.url, 'id-only')), `Subscription.criteria.extension('${IG}/backport-filter-criteria')`],
      ['an unknown channel', subscription('document', [`DocumentReference?patient=Patient/${P1}`], { type: 'email', endpoint: 'mailto:a@example.org' }), 'Subscription.channel.type'],
      ['an unknown payload content', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'everything')), `Subscription.channel.payload.extension('${IG}/backport-payload-content')`],
    ];
    for (const [what, body, path] of cases) {
      const reply = await server.fhir('POST', 'Subscription', body, systemA);
      assert.equal(reply.status, 422, `${what}: ${reply.text}`);
      assert.ok(reply.body.issue.some((i: { expression?: string[] }) => i.expression?.includes(path)), `${what}: ${reply.text}`);
    }
    const byCitizen = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'id-only')), citizen);
    assert.equal(byCitizen.status, 403, byCitizen.text);
    const stored = await server.fhir('GET', 'Subscription', undefined, admin);
    assert.equal(stored.body.total ?? stored.body.entry?.length ?? 0, 0);
  });

  let documents: string;
  test('a rest-hook subscriber gets the handshake, then each document event with its number, signed, its content read as the subscriber', async () => {
    const created = await server.fhir(
      'POST',
      'Subscription',
      subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'full-resource', { extension: [{ url: SECRET_EXTENSION, valueString: SECRET }], header: ['X-Subscriber-Key: synthetic'] })),
      systemA,
    );
    assert.equal(created.status, 201, created.text);
    documents = created.body.id;
    assert.equal(created.body.status, 'requested');
    assert.equal(created.body.channel.header, undefined, 'headers are kept by the server, not served back');
    assert.ok(!created.text.includes(SECRET), 'the secret is never served back');
    const handshake = await until('handshake', () => hook.of(documents, 'handshake')[0]);
    assert.equal(handshake.headers['x-subscriber-key'], 'synthetic');
    assert.equal(statusOf(handshake.bundle).status, 'requested');
    await until('the Subscription active', async () => ((await server.fhir('GET', `Subscription/${documents}`, undefined, systemA)).body.status === 'active' ? true : undefined));

    const doc = await server.fhir('POST', 'DocumentReference', documentReference(P1, 'Discharge summary'), admin);
    assert.equal(doc.status, 201, doc.text);
    await server.fhir('POST', 'DocumentReference', documentReference(P2, 'Not for A'), admin);
    const notification = await until('the event', () => hook.of(documents, 'event-notification')[0]);
    const status = statusOf(notification.bundle);
    assert.deepEqual(status.events.map((e) => e.number), [1]);
    assert.equal(status.eventsSince, '1');
    assert.ok(status.events[0]!.focus!.endsWith(`/DocumentReference/${doc.body.id}`));
    assert.equal(notification.bundle.type, 'history');
    assert.equal(notification.bundle.entry[1]?.resource.id, doc.body.id, 'system A sees P1, attached to A: the content comes along');
    const audited = (await storedAuditEvents(server.db, 'e.patient = $1', [P1])).filter(
      (e) => e.subtype?.some((s) => s.code === 'vread') && e.agent.find((a) => a.requestor)?.who?.identifier?.value === 'system-a',
    );
    assert.ok(audited.length >= 1, 'the content notified is audited as read by the subscriber');
    const expected = `sha256=${createHmac('sha256', SECRET).update(notification.body).digest('hex')}`;
    assert.equal(notification.headers['x-hub-signature-256'], expected);

    const state = await server.fhir('GET', `Subscription/${documents}/$status`, undefined, systemA);
    assert.equal(state.status, 200, state.text);
    const parameters = state.body.entry[0].resource.parameter;
    assert.equal(parameters.find((p: { name: string }) => p.name === 'status').valueCode, 'active');
    assert.equal(parameters.find((p: { name: string }) => p.name === 'events-since-subscription-start').valueString, '1', 'P2\'s document is no event of this subscription');
    const other = await server.fhir('GET', `Subscription/${documents}/$status`, undefined, clinicianB);
    assert.equal(other.status, 404, 'another organization does not see it');
    assert.equal((await server.fhir('GET', `Subscription/${documents}`, undefined, clinicianB)).status, 404, 'nor read it: its filter names a patient');
    assert.equal((await server.fhir('GET', `Subscription/${documents}/$events`, undefined, clinicianB)).status, 404);
  });

  test('once the patient denies the organization, a full-resource notification carries the id only', async () => {
    const consent = await server.fhir('PUT', 'Consent/sub-deny-a', denyOrganizationConsent('sub-deny-a', P1, ORG_A), admin);
    assert.ok(consent.status === 201 || consent.status === 200, consent.text);
    const doc = await server.fhir('POST', 'DocumentReference', documentReference(P1, 'Consultation note'), admin);
    const notification = await until('the event', () => hook.of(documents, 'event-notification').find((r) => statusOf(r.bundle).events.some((e) => e.focus?.endsWith(doc.body.id))));
    assert.equal(notification.bundle.entry.length, 1, 'no resource entry: the door withholds the content');
    await server.fhir('DELETE', 'Consent/sub-deny-a', undefined, admin);
  });

  test('the subscriber down, the server restarted, the subscriber back: every event arrives, numbers contiguous', async () => {
    await hook.down();
    const written: string[] = [];
    for (let i = 0; i < 3; i++) written.push((await server.fhir('POST', 'DocumentReference', documentReference(P1, `Letter ${i}`), admin)).body.id);
    await until('a failed delivery', async () => {
      const state = await server.fhir('GET', `Subscription/${documents}/$status`, undefined, systemA);
      return state.body.entry[0].resource.parameter.some((p: { name: string }) => p.name === 'error') ? true : undefined;
    });
    await server.close();
    server = await startOn(database.open, PATIENT);
    written.push((await server.fhir('POST', 'DocumentReference', documentReference(P1, 'After restart'), admin)).body.id);
    await hook.up();
    const numbers = await until('every event', () => {
      const seen = new Set(hook.of(documents, 'event-notification').flatMap((r) => statusOf(r.bundle).events.map((e) => e.number)));
      return seen.size >= 6 ? [...seen].sort((a, b) => a - b) : undefined;
    });
    assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6]);
    const focuses = hook.of(documents, 'event-notification').flatMap((r) => statusOf(r.bundle).events.map((e) => e.focus?.split('/').pop()));
    for (const id of written) assert.ok(focuses.includes(id), `${id} was notified`);

    const events = await server.fhir('GET', `Subscription/${documents}/$events?eventsSinceNumber=3&eventsUntilNumber=4`, undefined, systemA);
    assert.equal(events.status, 200, events.text);
    assert.deepEqual(statusOf(events.body).events.map((e) => e.number), [3, 4]);
    assert.equal(statusOf(events.body).type, 'query-event');
  });

  test('an endpoint that never answers: its events are dead-lettered after the attempts, listed by $status, the subscription in error', async () => {
    await server.close();
    server = await startOn(database.open, { ...PATIENT, maxAttempts: 2 });
    const nobody = await freePort();
    const created = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(`http://127.0.0.1:${nobody}/hook`, 'id-only')), systemA);
    assert.equal(created.status, 201, created.text);
    const doc = await server.fhir('POST', 'DocumentReference', documentReference(P1, 'Lost letter'), admin);
    const state = await until('the dead letter', async () => {
      const reply = await server.fhir('GET', `Subscription/${created.body.id}/$status`, undefined, systemA);
      const parameters = reply.body.entry[0].resource.parameter;
      return parameters.some((p: any) => p.name === 'error' && p.valueCodeableConcept.text.startsWith('Event 1')) ? parameters : undefined;
    });
    assert.equal(state.find((p: { name: string }) => p.name === 'status').valueCode, 'error');
    assert.equal((await server.fhir('GET', `Subscription/${created.body.id}`, undefined, systemA)).body.status, 'error');
    assert.ok(state.some((p: any) => p.valueCodeableConcept?.text.includes(`DocumentReference/${doc.body.id}`)));
  });

  test('websocket: a bound client gets the handshake and each referral addressed to its organization', async () => {
    const created = await server.fhir(
      'POST',
      'Subscription',
      subscription('referral', [`Task?owner=Organization/${ORG_A}`], {
        type: 'websocket',
        payload: 'application/fhir+json',
        _payload: { extension: [{ url: `${IG}/backport-payload-content`, valueCode: 'id-only' }] },
        extension: [{ url: `${IG}/backport-heartbeat-period`, valueUnsignedInt: 1 }],
      }),
      systemA,
    );
    assert.equal(created.status, 201, created.text);
    const binding = await server.fhir('GET', `Subscription/${created.body.id}/$get-ws-binding-token`, undefined, systemA);
    assert.equal(binding.status, 200, binding.text);
    const value = (name: string) => binding.body.parameter.find((p: { name: string }) => p.name === name);
    const url = value('websocket-url').valueUrl.replace(/^ws:\/\/[^/]+/, `ws://127.0.0.1:${server.port}`);
    const socket = new WebSocket(url);
    const messages: any[] = [];
    socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8'))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(`bind-with-token ${value('token').valueString}`);
    await until('the websocket handshake', () => messages.find((m) => m.resourceType === 'Bundle' && statusOf(m).type === 'handshake'));
    const task = (owner: string) => ({ resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${P1}` }, owner: { reference: `Organization/${owner}` } });
    const mine = await server.fhir('POST', 'Task', task(ORG_A), admin);
    await server.fhir('POST', 'Task', task(ORG_B), admin);
    const event = await until('the referral', () => messages.find((m) => m.resourceType === 'Bundle' && statusOf(m).type === 'event-notification'));
    assert.deepEqual(statusOf(event).events.map((e) => e.number), [1]);
    assert.ok(statusOf(event).events[0]!.focus!.endsWith(`/Task/${mine.body.id}`));
    await until('a websocket heartbeat', () => messages.find((m) => m.resourceType === 'Bundle' && statusOf(m).type === 'heartbeat'), 5000);
    socket.close();

    const reused = new WebSocket(url);
    const answer = new Promise<string>((resolve) => reused.once('message', (data: Buffer) => resolve(data.toString('utf8'))));
    await new Promise((resolve) => reused.once('open', resolve));
    reused.send(`bind-with-token ${value('token').valueString}`);
    assert.equal(JSON.parse(await answer).resourceType, 'OperationOutcome', 'a token binds once');
    reused.close();
  });

  test('lab results: a final laboratory Observation of the patient is an event, a preliminary one or another category is not', async () => {
    const created = await server.fhir('POST', 'Subscription', subscription('lab-result', [`Observation?patient=Patient/${P1}`], restHook(hook.url, 'id-only')), systemA);
    assert.equal(created.status, 201, created.text);
    await until('handshake', () => hook.of(created.body.id, 'handshake')[0]);
    const observation = (status: string, category: string) => ({
      resourceType: 'Observation',
      status,
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      subject: { reference: `Patient/${P1}` },
      valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    });
    await server.fhir('POST', 'Observation', observation('preliminary', 'laboratory'), admin);
    await server.fhir('POST', 'Observation', observation('final', 'vital-signs'), admin);
    const result = await server.fhir('POST', 'Observation', observation('final', 'laboratory'), admin);
    const notification = await until('the lab result', () => hook.of(created.body.id, 'event-notification')[0]);
    assert.deepEqual(statusOf(notification.bundle).events.map((e) => e.focus?.split('/').slice(-2).join('/')), [`Observation/${result.body.id}`]);
    assert.equal(notification.bundle.entry.length, 1, 'id-only: no resource entries');
    const state = await server.fhir('GET', `Subscription/${created.body.id}/$status`, undefined, systemA);
    assert.equal(state.body.entry[0].resource.parameter.find((p: { name: string }) => p.name === 'events-since-subscription-start').valueString, '1');
  });

  test("documents of every patient attached to the organization: one Subscription, another organization's patients left out", async () => {
    const created = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient.general-practitioner=Organization/${ORG_A}`], restHook(hook.url, 'id-only')), systemA);
    assert.equal(created.status, 201, created.text);
    const other = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient.general-practitioner=Organization/${ORG_B}`], restHook(hook.url, 'id-only')), systemA);
    assert.equal(other.status, 422, "another organization's attached patients");
    await server.fhir('POST', 'DocumentReference', documentReference(P2, 'For B'), admin);
    const mine = await server.fhir('POST', 'DocumentReference', documentReference(P1, 'For A'), admin);
    const events = await server.fhir('GET', `Subscription/${created.body.id}/$events`, undefined, systemA);
    assert.deepEqual(statusOf(events.body).events.map((e) => e.focus!.split('/').slice(-2).join('/')), [`DocumentReference/${mine.body.id}`]);
  });

  test('concurrent writes: each event gets its own number, none skipped or repeated', async () => {
    const created = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'id-only')), systemA);
    assert.equal(created.status, 201, created.text);
    const writes = await Promise.all(Array.from({ length: 20 }, (_, i) => server.fhir('POST', 'DocumentReference', documentReference(P1, `Parallel ${i}`), admin)));
    assert.ok(writes.every((w) => w.status === 201));
    const events = await server.fhir('GET', `Subscription/${created.body.id}/$events?eventsSinceNumber=1`, undefined, systemA);
    const numbered = statusOf(events.body).events;
    assert.deepEqual(numbered.map((e) => e.number), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(new Set(numbered.map((e) => e.focus!.split('/').pop())), new Set(writes.map((w) => w.body.id)));
    const delivered = await until('every event delivered', () => {
      const seen = new Set(hook.of(created.body.id, 'event-notification').flatMap((r) => statusOf(r.bundle).events.map((e) => e.number)));
      return seen.size === 20 ? seen : undefined;
    });
    assert.equal(delivered.size, 20);
  });

  test('heartbeats come at the period asked, and a deleted Subscription gets no more events', async () => {
    const heartbeat = { extension: [{ url: `${IG}/backport-heartbeat-period`, valueUnsignedInt: 1 }] };
    const created = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'empty', heartbeat)), systemA);
    assert.equal(created.status, 201, created.text);
    await until('a heartbeat', () => hook.of(created.body.id, 'heartbeat')[0]);
    assert.equal((await server.fhir('DELETE', `Subscription/${created.body.id}`, undefined, systemA)).status, 204);
    await server.fhir('POST', 'DocumentReference', documentReference(P1, 'After the deletion'), admin);
    const gone = await server.fhir('GET', `Subscription/${created.body.id}/$status`, undefined, systemA);
    assert.equal(gone.status, 404);
  });

  test('an update is checked again: a PUT naming another organization is refused and the Subscription stays as it was', async () => {
    const created = await server.fhir('POST', 'Subscription', subscription('referral', [`Task?owner=Organization/${ORG_A}`], restHook(hook.url, 'id-only')), systemA);
    assert.equal(created.status, 201, created.text);
    const changed = { ...subscription('referral', [`Task?owner=Organization/${ORG_B}`], restHook(hook.url, 'id-only')), id: created.body.id };
    const refused = await server.fhir('PUT', `Subscription/${created.body.id}`, changed, systemA);
    assert.equal(refused.status, 422, refused.text);
    const patched = await server.fhir('PATCH', `Subscription/${created.body.id}`, [{ op: 'replace', path: '/criteria', value: `${TOPIC}/document` }], systemA);
    assert.equal(patched.status, 400, patched.text);
    const read = await server.fhir('GET', `Subscription/${created.body.id}`, undefined, systemA);
    assert.equal(read.body.criteria, `${TOPIC}/referral`);

    const off = await server.fhir('PUT', `Subscription/${created.body.id}`, { ...read.body, status: 'off' }, systemA);
    assert.equal(off.status, 200, off.text);
    await server.fhir('POST', 'Task', { resourceType: 'Task', status: 'requested', intent: 'order', owner: { reference: `Organization/${ORG_A}` } }, admin);
    const state = await server.fhir('GET', `Subscription/${created.body.id}/$status`, undefined, systemA);
    const parameters = state.body.entry[0].resource.parameter;
    assert.equal(parameters.find((p: { name: string }) => p.name === 'status').valueCode, 'off');
    assert.equal(parameters.find((p: { name: string }) => p.name === 'events-since-subscription-start').valueString, '0', 'a Subscription turned off records no events');
  });

  test('a Subscription in a transaction Bundle is checked and registered like one POSTed alone', async () => {
    const entry = (body: object) => ({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: body, request: { method: 'POST', url: 'Subscription' } });
    const good = subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'id-only'));
    const bad = subscription('document', [`DocumentReference?patient=Patient/${P2}`], restHook(hook.url, 'id-only'));
    const refused = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [entry(good), entry(bad)] }, systemA);
    assert.equal(refused.status, 422, refused.text);
    const accepted = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [entry(good)] }, systemA);
    assert.equal(accepted.status, 200, accepted.text);
    const id = accepted.body.entry[0].response.location.split('/')[1];
    await until('handshake', () => hook.of(id, 'handshake')[0]);
  });

  test('delivery is woken by the commit, not by its poll: an event reaches the subscriber within a second though the poll is a minute', async () => {
    await server.close();
    server = await startOn(database.open, { ...PATIENT, pollMs: 60_000 });
    const created = await server.fhir('POST', 'Subscription', subscription('document', [`DocumentReference?patient=Patient/${P1}`], restHook(hook.url, 'id-only')), systemA);
    await until('handshake', () => hook.of(created.body.id, 'handshake')[0], 1000);
    const started = Date.now();
    await server.fhir('POST', 'DocumentReference', documentReference(P1, 'Urgent letter'), admin);
    await until('the event', () => hook.of(created.body.id, 'event-notification')[0], 1000);
    assert.ok(Date.now() - started < 1000);
  });

  for (const [operation, id] of [['$status', 'backport-subscription-status'], ['$events', 'backport-subscription-events'], ['$get-ws-binding-token', 'backport-subscription-get-ws-binding-token']]) {
    test(`${operation} is described by the IG's OperationDefinition, served by id and url, and refuses parameters it does not declare`, async () => {
      const read = await server.fhir('GET', `OperationDefinition/${id}`, undefined, systemA);
      assert.equal(read.status, 200, read.text);
      assert.equal(`$${read.body.code}`, operation);
      assert.deepEqual([read.body.instance, read.body.resource], [true, ['Subscription']]);
      const found = await server.fhir('GET', `OperationDefinition?url=${encodeURIComponent(read.body.url)}`, undefined, systemA);
      assert.deepEqual(found.body.entry.map((e: { resource: unknown }) => e.resource), [read.body]);
      const refused = await server.fhir('GET', `Subscription/${documents}/${operation}?undeclared=1`, undefined, systemA);
      assert.equal(refused.status, 400, refused.text);
      assert.deepEqual(refused.body.issue[0].expression, ['undeclared']);
      for (const input of (read.body.parameter as { name: string; use: string }[]).filter((p) => p.use === 'in')) {
        const value = input.name === 'content' ? 'id-only' : '1';
        const reply = await server.fhir('GET', `Subscription/${documents}/${operation}?${input.name}=${value}`, undefined, systemA);
        assert.equal(reply.status, 200, `${input.name}: ${reply.text}`);
      }
    });
  }
});
