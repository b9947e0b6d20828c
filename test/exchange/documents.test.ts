import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import smart from 'fhirclient';
import PDFDocument from 'pdfkit';
import { DEFAULT_DELIVERY } from '../../src/config.js';
import { SubscriptionDelivery } from '../../src/exchange/delivery.js';
import { testDrivers } from '../support/database.js';
import { storedAuditEvents } from '../support/audit-events.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { IIN, LOINC, ORG, PATIENT, type Tokens, bearer, buildWorld, denyOrganizationConsent, tokens } from '../access/world.js';
import { until } from '../support/until.js';

const DOCUMENT_IDS = 'http://densaulyq.test/document-id';
const DISCHARGE_SUMMARY = { system: LOINC, code: '18842-5', display: 'Discharge summary' };
const CONSULT_NOTE = { system: LOINC, code: '11488-4', display: 'Consult note' };
const SUMMARY_NOTE = { system: LOINC, code: '34133-9', display: 'Summary of episode note' };
const TOPIC = 'http://densaulyq.kz/fhir/SubscriptionTopic';
const IG = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

/** A real one-page PDF, as a hospital system would attach. */
function dischargePdf(text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4' });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.fontSize(14).text(text);
    doc.end();
  });
}

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('base64');

interface DocumentOptions {
  identifier: string;
  type?: typeof DISCHARGE_SUMMARY;
  date?: string;
  attachment?: Record<string, unknown>;
  replaces?: string;
  patient?: string;
}

function documentReference(binaryUrl: string, options: DocumentOptions) {
  return {
    resourceType: 'DocumentReference',
    masterIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
    identifier: [{ system: DOCUMENT_IDS, value: options.identifier }],
    status: 'current',
    type: { coding: [options.type ?? DISCHARGE_SUMMARY] },
    category: [{ coding: [{ system: 'http://densaulyq.test/document-class', code: 'clinical-note' }] }],
    subject: { reference: `Patient/${options.patient ?? PATIENT.p2}` },
    date: options.date ?? '2026-11-20T10:00:00Z',
    author: [{ reference: `Organization/${ORG.A}` }],
    custodian: { reference: `Organization/${ORG.A}` },
    description: 'Discharge summary after a hospital stay',
    ...(options.replaces ? { relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${options.replaces}` } }] } : {}),
    content: [{ attachment: { contentType: 'application/pdf', url: binaryUrl, title: 'discharge.pdf', ...options.attachment } }],
    context: { period: { start: '2026-11-10', end: '2026-11-20' } },
  };
}

/** An ITI-65-style transaction: SubmissionSet List, DocumentReference and its Binary, linked by urn:uuid. */
function provideBundle(pdf: Buffer, options: DocumentOptions) {
  const [list, doc, binary] = [randomUUID(), randomUUID(), randomUUID()].map((u) => `urn:uuid:${u}`);
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: list,
        resource: {
          resourceType: 'List',
          status: 'current',
          mode: 'working',
          code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] },
          subject: { reference: `Patient/${options.patient ?? PATIENT.p2}` },
          date: '2026-11-20T10:05:00Z',
          entry: [{ item: { reference: doc } }],
        },
        request: { method: 'POST', url: 'List' },
      },
      { fullUrl: doc, resource: documentReference(binary, options), request: { method: 'POST', url: 'DocumentReference' } },
      { fullUrl: binary, resource: { resourceType: 'Binary', contentType: 'application/pdf', data: pdf.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
    ],
  };
}

/** `Type/id` of each entry a transaction-response created, in entry order. */
const created = (reply: FhirReply): string[] => reply.body.entry.map((e: { response: { location: string } }) => e.response.location.split('/_history')[0]);

/** A rest-hook subscriber on a loopback port. */
class Hook {
  received: any[] = [];
  private server: Server | undefined;
  url = '';
  async up(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString('utf8')));
      request.on('end', () => {
        this.received.push(JSON.parse(body));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  }
  async down(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
  /** The focus references of every event notification received. */
  focuses(): string[] {
    return this.received.flatMap((bundle) =>
      (bundle.entry[0].resource.parameter as any[])
        .filter((p) => p.name === 'notification-event')
        .flatMap((p) => p.part.filter((x: any) => x.name === 'focus').map((x: any) => x.valueReference.reference as string)),
    );
  }
}

/** fhirclient's client for a token already held (a backend system), as a vendor's integration would use the library. */
function fhirClient(serverUrl: string, token: string) {
  const request = { headers: { host: new URL(serverUrl).host }, url: '/', socket: {} } as unknown as IncomingMessage;
  const response = { writeHead() {}, end() {} } as unknown as ServerResponse;
  return smart(request, response).client({ serverUrl, tokenResponse: { access_token: token } });
}

for (const driver of testDrivers()) describe(`Documents between organizations, IHE MHD-style (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  let systemB: Record<string, string>;
  let systemC: Record<string, string>;
  let citizenP2: Record<string, string>;
  let systemA: Record<string, string>;
  let delivery: SubscriptionDelivery;
  let hook: Hook;
  let subscriptionB: string;
  let pdf: Buffer;
  /** The published discharge summary: its DocumentReference, Binary and SubmissionSet. */
  let doc: string;
  let binary: string;

  const search = async (query: string, headers: Record<string, string>) => {
    const reply = await server.fhir('GET', `DocumentReference?${query}`, undefined, headers);
    assert.equal(reply.status, 200, reply.text);
    return (reply.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id).sort() as string[];
  };
  /** The Binary as raw bytes, over a real socket. */
  const retrieve = async (id: string, headers: Record<string, string>, accept = 'application/pdf') => {
    const response = await fetch(`${server.base}/Binary/${id}`, { headers: { ...headers, accept } });
    return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
  };
  const count = async (type: string) => (await server.fhir('GET', `${type}?_summary=count`)).body.total as number;

  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
    const system = async (org: string) => bearer(await server.token({ sub: `system-${org}`, client_id: `system-${org}`, scope: 'system/*.cruds', role: 'system', organization: org }));
    systemA = bearer(t.systemA);
    systemB = await system(ORG.B);
    systemC = await system(ORG.C);
    citizenP2 = bearer(await server.token({ sub: 'citizen-p2', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${PATIENT.p2}` }));
    pdf = await dischargePdf('Discharge summary: synthetic patient, synthetic stay.');

    // B, the patient's primary-care organization, follows new documents for every patient attached to it.
    delivery = new SubscriptionDelivery(server.db, server.base, { ...DEFAULT_DELIVERY, pollMs: 30, retryBaseMs: 50, retryMaxMs: 300, timeoutMs: 2000 });
    delivery.start();
    hook = new Hook();
    await hook.up();
    const subscription = await server.fhir(
      'POST',
      'Subscription',
      {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'New documents for our attached patients',
        criteria: `${TOPIC}/document`,
        _criteria: { extension: [{ url: `${IG}/backport-filter-criteria`, valueString: `DocumentReference?patient.general-practitioner=Organization/${ORG.B}` }] },
        channel: { type: 'rest-hook', endpoint: hook.url, payload: 'application/fhir+json', _payload: { extension: [{ url: `${IG}/backport-payload-content`, valueCode: 'id-only' }] } },
      },
      systemB,
    );
    assert.equal(subscription.status, 201, subscription.text);
    subscriptionB = subscription.body.id;
    await until('the Subscription active', async () => (await server.fhir('GET', `Subscription/${subscriptionB}`, undefined, systemB)).body.status === 'active');
  });
  after(async () => {
    await delivery.stop();
    await hook.down();
    await server.close();
  });

  test('A publishes a discharge-summary PDF in one transaction: the url points at the Binary, size and hash are filled in, the Binary names its document', async () => {
    const reply = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-1' }), systemA);
    assert.equal(reply.status, 200, reply.text);
    const [list, docRef, bin] = created(reply);
    doc = docRef!.split('/')[1]!;
    binary = bin!.split('/')[1]!;
    assert.match(list!, /^List\//);
    const stored = (await server.fhir('GET', `DocumentReference/${doc}`, undefined, systemA)).body;
    assert.equal(stored.content[0].attachment.url, `Binary/${binary}`, 'the urn:uuid is rewritten to the Binary');
    assert.equal(stored.content[0].attachment.size, pdf.length);
    assert.equal(stored.content[0].attachment.hash, sha1(pdf));
    const listed = (await server.fhir('GET', list!, undefined, systemA)).body;
    assert.equal(listed.entry[0].item.reference, `DocumentReference/${doc}`);
    const resource = await server.fhir('GET', `Binary/${binary}`, undefined, { ...systemA, accept: 'application/fhir+json' });
    assert.equal(resource.status, 200, resource.text);
    assert.equal(resource.body.resourceType, 'Binary');
    assert.equal(resource.body.securityContext.reference, `DocumentReference/${doc}`);
  });

  test('the patient\'s primary-care organization B is notified by its document Subscription', async () => {
    await until('the notification', () => hook.focuses().some((f) => f.endsWith(`DocumentReference/${doc}`)));
  });

  test('B finds it by patient and type, by date range, by author, custodian, status, identifier, category, period and the patient\'s IIN', async () => {
    const p = `patient=Patient/${PATIENT.p2}`;
    assert.deepEqual(await search(`${p}&type=${LOINC}|18842-5`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&type=${LOINC}|11488-4`, systemB), []);
    assert.deepEqual(await search(`${p}&date=ge2026-11-01&date=le2026-11-30`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&date=lt2026-11-01`, systemB), []);
    assert.deepEqual(await search(`${p}&author=Organization/${ORG.A}`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&author=Organization/${ORG.C}`, systemB), []);
    assert.deepEqual(await search(`${p}&custodian=Organization/${ORG.A}`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&status=current`, systemB), [doc]);
    assert.deepEqual(await search(`identifier=${DOCUMENT_IDS}|DS-1`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&category=http://densaulyq.test/document-class|clinical-note`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&period=ge2026-11-15`, systemB), [doc]);
    assert.deepEqual(await search(`${p}&period=lt2026-11-01`, systemB), []);
    assert.deepEqual(await search(`patient.identifier=${encodeURIComponent(`http://densaulyq.kz/fhir/sid/iin|${IIN.p2}`)}`, systemB), [doc]);
  });

  test('B retrieves the exact bytes as application/pdf (also for */* and no Accept), audited for the patient', async () => {
    const audited = async () => (await storedAuditEvents(server.db, 'e.patient = $1', [PATIENT.p2])).filter((e) => JSON.stringify(e).includes(`Binary/${binary}`)).length;
    const before = await audited();
    for (const accept of ['application/pdf', '*/*', '']) {
      const got = await retrieve(binary, systemB, accept);
      assert.equal(got.status, 200, `Accept ${accept}`);
      assert.equal(got.type, 'application/pdf');
      assert.equal(sha1(got.bytes), sha1(pdf));
    }
    assert.equal(await audited(), before + 3, 'each retrieval is recorded in the patient\'s audit trail');
    assert.equal((await retrieve(binary, systemB, 'text/plain')).status, 406, 'a type it is not is not acceptable');
    const json = await retrieve(binary, systemB, 'application/fhir+json');
    assert.equal(JSON.parse(json.bytes.toString('utf8')).resourceType, 'Binary');
  });

  test('with the fhirclient library, B finds the document and retrieves its PDF', async () => {
    const client = fhirClient(server.base, systemB.authorization!.slice('Bearer '.length));
    const found = (await client.request(`DocumentReference?patient=Patient/${PATIENT.p2}&type=${LOINC}|18842-5&status=current`)) as { entry?: { resource: any }[] };
    assert.equal(found.entry?.length, 1);
    const url = found.entry![0]!.resource.content[0].attachment.url as string;
    const response = (await client.request({ url, headers: { accept: 'application/pdf' } })) as Response;
    assert.equal(response.headers.get('content-type'), 'application/pdf');
    assert.equal(sha1(Buffer.from(await response.arrayBuffer())), found.entry![0]!.resource.content[0].attachment.hash);
  });

  test('an organization with no care relationship finds nothing and gets a 404 for the Binary', async () => {
    assert.deepEqual(await search(`patient=Patient/${PATIENT.p2}`, systemC), []);
    assert.deepEqual(await search(`identifier=${DOCUMENT_IDS}|DS-1`, systemC), []);
    assert.equal((await server.fhir('GET', `DocumentReference/${doc}`, undefined, systemC)).status, 404);
    assert.equal((await retrieve(binary, systemC)).status, 404);
    assert.equal((await server.fhir('GET', `Binary/${binary}`, undefined, { ...systemC, accept: 'application/fhir+json' })).status, 404);
  });

  test('the citizen reads their own document and its bytes', async () => {
    assert.deepEqual(await search(`patient=Patient/${PATIENT.p2}`, citizenP2), [doc]);
    const got = await retrieve(binary, citizenP2);
    assert.equal(got.status, 200);
    assert.equal(sha1(got.bytes), sha1(pdf));
  });

  test('a hash or size that does not match the bytes is refused, and nothing of the transaction is written', async () => {
    const before = { docs: await count('DocumentReference'), binaries: await count('Binary'), lists: await count('List') };
    const badHash = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-BAD', attachment: { hash: sha1(Buffer.from('other bytes')) } }), systemA);
    assert.equal(badHash.status, 422, badHash.text);
    assert.match(badHash.body.issue[0].expression[0], /content\[0\]\.attachment\.hash$/);
    const badSize = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-BAD', attachment: { size: 3 } }), systemA);
    assert.equal(badSize.status, 422, badSize.text);
    assert.match(badSize.body.issue[0].expression[0], /content\[0\]\.attachment\.size$/);
    assert.deepEqual({ docs: await count('DocumentReference'), binaries: await count('Binary'), lists: await count('List') }, before);
    assert.deepEqual(await search(`identifier=${DOCUMENT_IDS}|DS-BAD`, systemA), []);
  });

  test('an attachment url that names nothing the caller may use is refused with its path', async () => {
    const unknown = await server.fhir('POST', 'DocumentReference', documentReference('Binary/no-such-binary', { identifier: 'DS-X' }), systemA);
    assert.equal(unknown.status, 422, unknown.text);
    assert.equal(unknown.body.issue[0].expression[0], 'DocumentReference.content[0].attachment.url');
    const elsewhere = await server.fhir('POST', 'DocumentReference', documentReference('http://elsewhere.example/doc.pdf', { identifier: 'DS-X' }), systemA);
    assert.equal(elsewhere.status, 422, elsewhere.text);
    const malformed = await server.fhir(
      'POST',
      '',
      { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...documentReference('Binary/x', { identifier: 'DS-X' }), content: 'not a list' }, request: { method: 'POST', url: 'DocumentReference' } }] },
      systemA,
    );
    assert.equal(malformed.status, 422, `a malformed document is the validator's 422, not a crash: ${malformed.text}`);
    assert.equal((await server.fhir('GET', 'Binary/not!an!id', undefined, systemA)).status, 400);
    // Another patient's document content is not attached to P2's document, even by who sees both.
    const p1 = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-P1', patient: PATIENT.p1 }), systemA);
    assert.equal(p1.status, 200, p1.text);
    const other = await server.fhir('POST', 'DocumentReference', documentReference(created(p1)[2]!, { identifier: 'DS-X' }), systemA);
    assert.equal(other.status, 422, other.text);
    assert.equal(other.body.issue[0].expression[0], 'DocumentReference.content[0].attachment.url');
    const same = await server.fhir('POST', 'DocumentReference', documentReference(`Binary/${binary}`, { identifier: 'DS-COPY', type: SUMMARY_NOTE }), systemA);
    assert.equal(same.status, 201, `the same patient's stored Binary may be attached again: ${same.text}`);
    assert.equal(same.body.content[0].attachment.hash, sha1(pdf), 'its hash filled in from the stored bytes');
  });

  let replacement: string;
  test('a replacement supersedes the old document in the same transaction; the old keeps its history', async () => {
    const corrected = await dischargePdf('Discharge summary, corrected.');
    const reply = await server.fhir('POST', '', provideBundle(corrected, { identifier: 'DS-2', replaces: doc }), systemA);
    assert.equal(reply.status, 200, reply.text);
    replacement = created(reply)[1]!.split('/')[1]!;
    const old = (await server.fhir('GET', `DocumentReference/${doc}`, undefined, systemB)).body;
    assert.equal(old.status, 'superseded');
    assert.equal((await server.fhir('GET', `DocumentReference/${replacement}`, undefined, systemB)).body.status, 'current');
    const history = await server.fhir('GET', `DocumentReference/${doc}/_history`, undefined, systemB);
    assert.deepEqual(history.body.entry.map((e: any) => e.resource.status), ['superseded', 'current']);
    assert.deepEqual(await search(`patient=Patient/${PATIENT.p2}&type=${LOINC}|18842-5&status=current`, systemB), [replacement]);
    assert.deepEqual(await search(`patient=Patient/${PATIENT.p2}&type=${LOINC}|18842-5`, systemB), [doc, replacement].sort(), 'without status, every status');
    assert.deepEqual(await search(`relatesto=DocumentReference/${doc}`, systemB), [replacement]);
    assert.equal((await retrieve(binary, systemB)).status, 200, 'the superseded document\'s bytes stay readable');
  });

  test('a superseded document is not replaced again, and only its own organization replaces a document', async () => {
    const again = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-3', replaces: doc }), systemA);
    assert.equal(again.status, 409, again.text);
    assert.match(again.body.issue[0].details.text, /superseded/);
    const before = await count('DocumentReference');
    const byB = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-4', replaces: replacement }), systemB);
    assert.equal(byB.status, 403, byB.text);
    assert.equal(await count('DocumentReference'), before, 'nothing of a refused replacement stays');
    assert.equal((await server.fhir('GET', `DocumentReference/${replacement}`, undefined, systemA)).body.status, 'current');
  });

  test('a published document is not edited or deleted, nor are its bytes; entered-in-error retracts it', async () => {
    const current = (await server.fhir('GET', `DocumentReference/${replacement}`, undefined, systemA)).body;
    const edited = await server.fhir('PUT', `DocumentReference/${replacement}`, { ...current, description: 'Silently changed' }, systemA);
    assert.equal(edited.status, 422, edited.text);
    assert.match(edited.body.issue[0].details.text, /relatesTo replaces/);
    assert.equal(edited.body.issue[0].expression[0], 'DocumentReference.description');
    const patched = await server.fhir('PATCH', `DocumentReference/${replacement}`, [{ op: 'replace', path: '/type/coding/0', value: CONSULT_NOTE }], { ...systemA, 'content-type': 'application/json-patch+json' });
    assert.equal(patched.status, 422, patched.text);
    const inTransaction = await server.fhir(
      'POST',
      '',
      { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...current, date: '2026-11-25T00:00:00Z' }, request: { method: 'PUT', url: `DocumentReference/${replacement}` } }] },
      systemA,
    );
    assert.equal(inTransaction.status, 422, inTransaction.text);
    assert.equal(inTransaction.body.issue[0].expression[0], 'Bundle.entry[0].resource.date');
    const superseded = await server.fhir('PUT', `DocumentReference/${replacement}`, { ...current, status: 'superseded' }, systemA);
    assert.equal(superseded.status, 422, 'superseded comes only from publishing a replacement');
    assert.equal((await server.fhir('DELETE', `DocumentReference/${replacement}`, undefined, systemA)).status, 409);
    const binaryJson = (await server.fhir('GET', `Binary/${binary}`, undefined, { ...systemA, accept: 'application/fhir+json' })).body;
    assert.equal((await server.fhir('PUT', `Binary/${binary}`, { ...binaryJson, data: Buffer.from('forged').toString('base64') }, systemA)).status, 409);
    assert.equal((await server.fhir('DELETE', `Binary/${binary}`, undefined, systemA)).status, 409);
    assert.equal(sha1((await retrieve(binary, systemB)).bytes), sha1(pdf));

    const retracted = await server.fhir('PUT', `DocumentReference/${replacement}`, { ...current, status: 'entered-in-error' }, systemA);
    assert.equal(retracted.status, 200, retracted.text);
    const revived = await server.fhir('PUT', `DocumentReference/${replacement}`, { ...current, status: 'current' }, systemA);
    assert.equal(revived.status, 422);
    const replaceRetracted = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-5', replaces: replacement }), systemA);
    assert.equal(replaceRetracted.status, 409);
  });

  test('an MHD Document Source that also sends the old document as superseded in the same transaction is answered as one replacement', async () => {
    const first = await server.fhir('POST', '', provideBundle(pdf, { identifier: 'DS-6' }), systemA);
    assert.equal(first.status, 200, first.text);
    const old = created(first)[1]!;
    const stored = (await server.fhir('GET', old, undefined, systemA)).body;
    const bundle = provideBundle(pdf, { identifier: 'DS-7', replaces: old.split('/')[1] });
    bundle.entry.push({ resource: { ...stored, status: 'superseded' }, request: { method: 'PUT', url: old } } as never);
    const reply = await server.fhir('POST', '', bundle, systemA);
    assert.equal(reply.status, 200, reply.text);
    assert.equal((await server.fhir('GET', old, undefined, systemB)).body.status, 'superseded');
    const alone = await server.fhir('PUT', created(first)[1]!, { ...stored, status: 'superseded', meta: undefined }, systemA);
    assert.equal(alone.status, 200, 'superseded again, content unchanged: nothing is edited');
  });

  test('a FHIR document (Bundle, Composition first) is published and retrieved the same way', async () => {
    const [docUrl, bundleUrl] = [`urn:uuid:${randomUUID()}`, `urn:uuid:${randomUUID()}`];
    const fhirDocument = {
      resourceType: 'Bundle',
      identifier: { system: DOCUMENT_IDS, value: `bundle-${randomUUID()}` },
      type: 'document',
      timestamp: '2026-11-21T09:00:00Z',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'Composition',
            status: 'final',
            type: { coding: [CONSULT_NOTE] },
            subject: { reference: `Patient/${PATIENT.p2}` },
            date: '2026-11-21T09:00:00Z',
            author: [{ reference: `Organization/${ORG.A}` }],
            title: 'Cardiology consultation',
          },
        },
      ],
    };
    const reference = { ...documentReference(bundleUrl, { identifier: 'CN-1', type: CONSULT_NOTE }), content: [{ attachment: { url: bundleUrl, title: 'Consultation' } }] };
    const reply = await server.fhir(
      'POST',
      '',
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: docUrl, resource: reference, request: { method: 'POST', url: 'DocumentReference' } },
          { fullUrl: bundleUrl, resource: fhirDocument, request: { method: 'POST', url: 'Bundle' } },
        ],
      },
      systemA,
    );
    assert.equal(reply.status, 200, reply.text);
    const [docRef, stored] = created(reply);
    const found = await server.fhir('GET', `DocumentReference?patient=Patient/${PATIENT.p2}&type=${LOINC}|11488-4`, undefined, systemB);
    assert.deepEqual(found.body.entry.map((e: any) => `DocumentReference/${e.resource.id}`), [docRef]);
    const attachment = found.body.entry[0].resource.content[0].attachment;
    assert.equal(attachment.url, stored);
    assert.equal(attachment.contentType, 'application/fhir+json');
    const retrieved = await server.fhir('GET', stored!, undefined, systemB);
    assert.equal(retrieved.status, 200, retrieved.text);
    assert.equal(retrieved.body.entry[0].resource.title, 'Cardiology consultation');
    assert.equal((await server.fhir('GET', stored!, undefined, systemC)).status, 404, 'no relationship, no document');

    // A document naming its patient by an entry of its own (as an IPS does) is the record of the DocumentReference's patient.
    const inner = `urn:uuid:${randomUUID()}`;
    const ips = {
      ...fhirDocument,
      identifier: { system: DOCUMENT_IDS, value: `bundle-${randomUUID()}` },
      entry: [
        { fullUrl: `urn:uuid:${randomUUID()}`, resource: { ...fhirDocument.entry[0]!.resource, subject: { reference: inner }, title: 'Patient summary' } },
        { fullUrl: inner, resource: { resourceType: 'Patient', name: [{ family: 'Бекова' }] } },
      ],
    };
    const [ipsDoc, ipsBundle] = [`urn:uuid:${randomUUID()}`, `urn:uuid:${randomUUID()}`];
    const published = await server.fhir(
      'POST',
      '',
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: ipsDoc, resource: { ...reference, identifier: [{ system: DOCUMENT_IDS, value: 'IPS-1' }], content: [{ attachment: { url: ipsBundle } }] }, request: { method: 'POST', url: 'DocumentReference' } },
          { fullUrl: ipsBundle, resource: ips, request: { method: 'POST', url: 'Bundle' } },
        ],
      },
      systemA,
    );
    assert.equal(published.status, 200, published.text);
    const ipsStored = created(published)[1]!;
    assert.equal((await server.fhir('GET', ipsStored, undefined, systemB)).body.entry[0].resource.title, 'Patient summary');
    assert.equal((await server.fhir('GET', ipsStored, undefined, systemC)).status, 404);

    const notADocument = await server.fhir(
      'POST',
      '',
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: docUrl, resource: reference, request: { method: 'POST', url: 'DocumentReference' } },
          { fullUrl: bundleUrl, resource: { resourceType: 'Bundle', type: 'collection' }, request: { method: 'POST', url: 'Bundle' } },
        ],
      },
      systemA,
    );
    assert.equal(notADocument.status, 422, notADocument.text);
  });

  test('a Consent of the patient denying B hides the document and its bytes from B', async () => {
    const consent = await server.fhir('PUT', 'Consent/consent-p2-deny-b', denyOrganizationConsent('consent-p2-deny-b', PATIENT.p2, ORG.B));
    assert.ok(consent.status === 200 || consent.status === 201, consent.text);
    assert.deepEqual(await search(`patient=Patient/${PATIENT.p2}`, systemB), []);
    assert.equal((await server.fhir('GET', `DocumentReference/${doc}`, undefined, systemB)).status, 404);
    assert.equal((await retrieve(binary, systemB)).status, 404);
    assert.equal((await retrieve(binary, systemA)).status, 200, 'A, not denied, still reads it');
  });
});
