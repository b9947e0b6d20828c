/**
 * Analysts count, and no count narrows to a person (issue 10, item 4), and every search naming a
 * patient is in that patient's access log (item 7). The world: a target patient X whose Consent
 * hides HIV and who had two HIV tests; cohorts that differ from one another by 1–3 of X's
 * records (adjacent months, overlapping codes), each big enough (15+) to be answered. The
 * attacks are played as an analyst would: narrowing to X is refused with the parameter named;
 * complements and day-precise dates are refused; and over many answered pairs the difference of
 * two answers equals the true difference no more often than the perturbation's chance gives,
 * where unprotected counts would give it every time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { seedingAccess } from '../../src/access/door.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { PERTURBATION } from '../../src/store/aggregate-count.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';
import { ICD10, LOCAL_CODES, LOINC, V3_ACT_CODE, hideLabelConsent, iin } from './world.js';

const X = 'target-x';
const Y = 'target-y';
/** Patients the cohorts' other records belong to. */
const OTHERS = Array.from({ length: 8 }, (_, i) => `other-${i}`);
const HIV_TEST = '75622-1';
/** The code of the month cohorts: 15 records in January 2000, 15 in January 2020, and X's 1–3 in each month of 2010–2014. */
const MONTHLY = 'monthly-check';
const MONTHS = Array.from({ length: 60 }, (_, i) => `${2010 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`);
const inMonth = (i: number) => 1 + (i % 3);
/** Overlapping cohorts: codes A-j and B-j, 15 records each, and X's 1–3 records carrying both. */
const PAIRS = 60;
const inBoth = (j: number) => 1 + (j % 3);
const BASE = 15;

function observation(id: string, patient: string, codes: string[], date: string, extra: object = {}): Resource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: codes.map((code) => ({ system: code === HIV_TEST ? LOINC : LOCAL_CODES, code })) },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: date,
    ...extra,
  } as Resource;
}

function world(): Resource[] {
  const patient = (id: string, serial: number): Resource =>
    ({
      resourceType: 'Patient',
      id,
      identifier: [{ system: IIN_SYSTEM, value: iin('1984-05-06', 'female', serial) }],
      gender: 'female',
      birthDate: '1984-05-06',
      generalPractitioner: [{ reference: 'Organization/org-a' }],
    }) as Resource;
  const resources: Resource[] = [
    { resourceType: 'Organization', id: 'org-a', name: 'A', active: true } as Resource,
    { resourceType: 'Organization', id: 'org-b', name: 'B', active: true } as Resource,
    patient(X, 100),
    patient(Y, 200),
    ...OTHERS.map((id, i) => patient(id, 300 + i * 50)),
    hideLabelConsent('consent-x', X) as Resource,
    {
      resourceType: 'Condition',
      id: 'cond-x',
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      code: { coding: [{ system: ICD10, code: 'I25.1' }] },
      subject: { reference: `Patient/${X}` },
    } as Resource,
  ];
  const hiv = { meta: { security: [{ system: V3_ACT_CODE, code: 'HIV' }] } };
  resources.push(observation('hiv-x-1', X, [HIV_TEST], '2019-02-11', hiv), observation('hiv-x-2', X, [HIV_TEST], '2019-08-20', hiv));
  for (let i = 0; i < BASE; i++) {
    resources.push(observation(`monthly-2000-${i}`, OTHERS[i % OTHERS.length]!, [MONTHLY], '2000-01-15'));
    resources.push(observation(`monthly-2020-${i}`, OTHERS[i % OTHERS.length]!, [MONTHLY], '2020-01-15'));
  }
  MONTHS.forEach((month, i) => {
    for (let k = 0; k < inMonth(i); k++) resources.push(observation(`monthly-x-${i}-${k}`, X, [MONTHLY], `${month}-15`));
  });
  for (let j = 0; j < PAIRS; j++) {
    for (let i = 0; i < BASE; i++) {
      resources.push(observation(`a-${j}-${i}`, OTHERS[i % OTHERS.length]!, [`A-${j}`], '2015-06-01'));
      resources.push(observation(`b-${j}-${i}`, OTHERS[(i + 3) % OTHERS.length]!, [`B-${j}`], '2015-06-01'));
    }
    for (let k = 0; k < inBoth(j); k++) resources.push(observation(`ab-x-${j}-${k}`, X, [`A-${j}`, `B-${j}`], '2015-06-01'));
  }
  return resources;
}

/** P(a sum of independent perturbations with these signs is 0): how often noise alone gives back the true difference. */
function chanceOfExactDifference(signs: number[]): number {
  let sums = new Map<number, number>([[0, 1]]);
  for (const sign of signs) {
    const next = new Map<number, number>();
    for (const [sum, p] of sums) for (const { change, probability } of PERTURBATION) next.set(sum + sign * change, (next.get(sum + sign * change) ?? 0) + p * probability);
    sums = next;
  }
  return sums.get(0) ?? 0;
}

/** The most exact hits in `trials` that chance allows (five standard deviations above its mean); well under `trials` itself. */
function mostByChance(trials: number, chance: number): number {
  const bound = trials * chance + 5 * Math.sqrt(trials * chance * (1 - chance)) + 1;
  assert.ok(bound < trials / 2, 'the test could not tell perturbed counts from exact ones');
  return bound;
}

for (const driver of testDrivers()) describe(`analysts cannot narrow or difference counts; narrowed searches are audited (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  const token: Record<'analyst' | 'clinicianA' | 'clinicianB' | 'citizenX', string> = { analyst: '', clinicianA: '', clinicianB: '', citizenX: '' };

  before(async () => {
    server = await startTestServer(driver);
    const resources = world();
    await new Repository(server.db, seedingAccess()).writeMany(
      resources.map((resource) => ({ resource, id: resource.id! })),
      'create',
    );
    token.analyst = await server.token({ sub: 'analyst-1', client_id: 'stats-app', scope: 'user/*.rs', role: 'analyst' });
    token.clinicianA = await server.token({ sub: 'clinician-a', client_id: 'mis-a', scope: 'user/*.cruds', role: 'clinician', organization: 'org-a' });
    token.clinicianB = await server.token({ sub: 'clinician-b', client_id: 'mis-b', scope: 'user/*.cruds', role: 'clinician', organization: 'org-b' });
    token.citizenX = await server.token({ sub: 'citizen-x', client_id: 'egov-app', scope: 'user/*.rs', role: 'citizen', fhirUser: `Patient/${X}` });
  });
  after(() => server?.close());

  const as = (who: keyof typeof token, path: string) => server.fhir('GET', path, undefined, { authorization: `Bearer ${token[who]}` });

  /** The analyst's published count, or undefined when withheld (then the Bundle says so, and holds no resource). */
  async function count(query: string): Promise<number | undefined> {
    const reply = await as('analyst', `${query}${query.includes('?') ? '&' : '?'}_summary=count`);
    assert.equal(reply.status, 200, `${query}: ${reply.text}`);
    const entries: { resource?: Resource; search?: { mode?: string } }[] = reply.body.entry ?? [];
    assert.deepEqual(entries.filter((e) => e.search?.mode !== 'outcome'), [], `${query} returned resources`);
    if (reply.body.total === undefined) assert.ok(entries.some((e) => e.search?.mode === 'outcome'), `${query}: withheld without saying so`);
    else assert.ok(reply.body.total >= 10, `${query}: ${reply.body.total} published`);
    return reply.body.total;
  }

  /** The analyst's request is a 403 whose issue names `parameter`, in English, Kazakh and Russian. */
  async function refused(path: string, parameter: string): Promise<void> {
    const reply = await as('analyst', path);
    assert.equal(reply.status, 403, `${path}: ${reply.status} ${reply.text}`);
    const issue = reply.body.issue[0];
    assert.deepEqual(issue.expression, [parameter], path);
    const languages = issue.details._text.extension.map((e: { extension: { url: string; valueCode?: string }[] }) => e.extension.find((p) => p.url === 'lang')?.valueCode);
    assert.deepEqual(languages, ['kk', 'ru'], path);
  }

  test('narrowing to one patient or one record is refused, naming the parameter (X\'s hidden HIV tests stay hidden)', async () => {
    await refused(`Patient/${X}/Observation?_summary=count`, 'Patient/[id]');
    await refused(`Patient/${X}/Observation?code:not=${HIV_TEST}&_summary=count`, 'Patient/[id]');
    await refused(`Patient/${X}/$everything?_summary=count`, 'Patient/[id]');
    await refused(`Patient/${X}/*?_summary=count`, 'Patient/[id]');
    await refused(`Observation?subject=Patient/${X}&_summary=count`, 'subject');
    await refused(`Observation?patient=${X}&code=${HIV_TEST}&_summary=count`, 'patient');
    await refused(`Observation?subject:Patient=${X}&_summary=count`, 'subject:Patient');
    await refused(`Observation?performer=Patient/${X}&_summary=count`, 'performer');
    await refused(`Patient?_id=${X}&_summary=count`, '_id');
    await refused(`Observation?_id=hiv-x-1&_summary=count`, '_id');
    await refused(`Patient?identifier=${encodeURIComponent(IIN_SYSTEM)}|0&_summary=count`, 'identifier');
    await refused(`Observation?subject.birthdate=1984-05&_summary=count`, 'subject.birthdate');
    await refused(`Observation?subject:Patient._id=${X}&_summary=count`, 'subject._id');
    await refused(`Patient?_has:Observation:subject:code=${HIV_TEST}&_summary=count`, '_has:Observation:subject');
    await refused(`Observation?code=${HIV_TEST}&_summary=count&_include=Observation:subject`, '_include');
    await refused(`Observation?code=${HIV_TEST}`, '_summary');
    // The one question left about X's tests is too small to answer.
    assert.equal(await count(`Observation?code=${HIV_TEST}`), undefined);
  });

  test('complements, absence and dates finer than a month are refused', async () => {
    await refused(`Observation?code:not=${HIV_TEST}&_summary=count`, 'code:not');
    await refused(`Observation?code:not-in=http://example.org/ValueSet/x&_summary=count`, 'code:not-in');
    await refused(`Observation?code:missing=true&_summary=count`, 'code:missing');
    await refused(`Observation?date:missing=false&_summary=count`, 'date:missing');
    await refused(`Observation?date=ne2012-03&_summary=count`, 'date');
    await refused(`Observation?date=ap2012-03&_summary=count`, 'date');
    await refused(`Observation?code=${MONTHLY}&date=ge2012-03-15&_summary=count`, 'date');
    await refused(`Observation?code=${MONTHLY}&date=gt2012-03-14T23:59:59Z&_summary=count`, 'date');
    await refused(`Patient?birthdate=1984-05-06&_summary=count`, 'birthdate');
    await refused(`Observation?_lastUpdated=gt2020-01-01&_summary=count`, '_lastUpdated');
    await refused(`Patient?family=x&_summary=count`, 'family');
    await refused(`Observation?_content=x&_summary=count`, '_content');
  });

  test('adjacent month ranges (le vs lt, ge vs gt) differing by 1–3 records: the difference is no better than chance', async () => {
    const truth = (through: number) => BASE + MONTHS.slice(0, through + 1).reduce((n, _, i) => n + inMonth(i), 0);
    const total = truth(MONTHS.length - 1) + BASE;
    let pairs = 0;
    let exact = 0;
    const published: number[] = [];
    const trueCounts: number[] = [];
    for (const [i, month] of MONTHS.entries()) {
      const through = { with: await count(`Observation?code=${MONTHLY}&date=le${month}`), without: await count(`Observation?code=${MONTHLY}&date=lt${month}`) };
      const from = { with: await count(`Observation?code=${MONTHLY}&date=ge${month}`), without: await count(`Observation?code=${MONTHLY}&date=gt${month}`) };
      const truths = { throughWith: truth(i), throughWithout: truth(i) - inMonth(i), fromWith: total - truth(i) + inMonth(i), fromWithout: total - truth(i) };
      for (const [answer, value] of [
        [through.with, truths.throughWith],
        [through.without, truths.throughWithout],
        [from.with, truths.fromWith],
        [from.without, truths.fromWithout],
      ] as const) {
        assert.notEqual(answer, undefined, `${month}: a count of ${value} was withheld`);
        published.push(answer!);
        trueCounts.push(value);
      }
      for (const pair of [through, from]) {
        pairs++;
        if (pair.with! - pair.without! === inMonth(i)) exact++;
      }
      // The month alone holds only X's records: withheld, whichever way it is asked.
      assert.equal(await count(`Observation?code=${MONTHLY}&date=ge${month}&date=le${month}`), undefined);
      assert.equal(await count(`Observation?code=${MONTHLY}&date=${month}`), undefined);
    }
    assert.ok(exact <= mostByChance(pairs, chanceOfExactDifference([1, -1])), `${exact} of ${pairs} differences were exact`);
    // Counts of 10 or more come back, each within the perturbation of its true value, and perturbed.
    const errors = published.map((p, i) => p - trueCounts[i]!);
    assert.ok(errors.every((e) => Math.abs(e) <= 3), `errors ${errors.join(' ')}`);
    assert.ok(errors.some((e) => e !== 0), 'no count was perturbed');
  });

  test('overlapping cohorts A, B and A∪B: A + B − A∪B (X\'s records in both) is no better than chance, and A∩B is withheld', async () => {
    let exact = 0;
    for (let j = 0; j < PAIRS; j++) {
      const a = await count(`Observation?code=A-${j}`);
      const b = await count(`Observation?code=B-${j}`);
      const union = await count(`Observation?code=A-${j},B-${j}`);
      assert.ok(a !== undefined && b !== undefined && union !== undefined, `pair ${j} withheld`);
      // Close to the truth; X's records, matching both codes, count once in the union.
      const truth = [BASE + inBoth(j), BASE + inBoth(j), 2 * BASE + inBoth(j)];
      assert.ok([a, b, union].every((answer, k) => Math.abs(answer - truth[k]!) <= 3), `pair ${j}: ${[a, b, union]} for ${truth}`);
      if (a + b - union === inBoth(j)) exact++;
      assert.equal(await count(`Observation?code=A-${j}&code=B-${j}`), undefined, `A-${j} ∩ B-${j}`);
    }
    assert.ok(exact <= mostByChance(PAIRS, chanceOfExactDifference([1, 1, -1])), `${exact} of ${PAIRS} intersections were exact`);
  });

  test('asking again, or for the same records in other words, gives the same answer: repeats average nothing away', async () => {
    const first = await count(`Observation?code=${MONTHLY}&date=le2012-02`);
    for (let i = 0; i < 5; i++) assert.equal(await count(`Observation?code=${MONTHLY}&date=le2012-02`), first);
    assert.equal(await count(`Observation?code=${MONTHLY}&date=lt2012-03`), first);
    assert.equal(await count(`Observation?code=${MONTHLY}&date=le2012-02&date=ge1999`), first);
    const [a, b] = [await count(`Observation?code=A-0,B-0`), await count(`Observation?code=B-0,A-0`)];
    assert.equal(a, b);
  });

  test('searches naming a patient are in that patient\'s access log, whatever they return', async () => {
    const log = async () => {
      const reply = await as('citizenX', `Patient/${X}/$access-log?_count=1000`);
      assert.equal(reply.status, 200, reply.text);
      return (reply.body.entry ?? []).map((e: { resource: { entity?: { query?: string }[] } }) =>
        (e.resource.entity ?? []).filter((entity) => entity.query).map((entity) => Buffer.from(entity.query!, 'base64').toString('utf8')).join(''),
      ) as string[];
    };
    const recordsFor = async (patient: string) => Number((await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE patient = $1`, [patient]))[0]!.n);
    const searches: [keyof typeof token, string, string][] = [
      ['clinicianA', `Condition?subject=Patient/${X}&code=I25.1&_summary=count`, `subject=Patient%2F${X}&code=I25.1&_summary=count`],
      ['clinicianA', `Observation?subject=Patient/${X}&code=nothing`, `subject=Patient%2F${X}&code=nothing`],
      ['clinicianB', `Condition?patient=${X}&code=I25.1&_total=accurate&_count=0`, `patient=${X}&code=I25.1&_total=accurate&_count=0`],
      ['clinicianB', `Patient/${X}/Condition?_summary=count`, `_summary=count`],
      ['clinicianA', `Patient?_id=${X}&_summary=count`, `_id=${X}&_summary=count`],
      ['clinicianA', `Observation?subject:Patient._id=${X}&code=nothing&_include=Observation:subject`, `subject%3APatient._id=${X}&code=nothing&_include=Observation%3Asubject`],
    ];
    for (const [who, path, query] of searches) {
      const before = await recordsFor(X);
      const reply = await as(who, path);
      assert.equal(reply.status, 200, `${path}: ${reply.text}`);
      assert.equal(await recordsFor(X), before + 1, `${path}: one record for X`);
      assert.ok((await log()).includes(query), `${path} is not in X's access log`);
    }
    // One record for each patient named; none for an id that is no patient.
    const [x, y] = [await recordsFor(X), await recordsFor(Y)];
    assert.equal((await as('clinicianA', `Observation?subject=Patient/${X},Patient/${Y},Patient/nobody&code=nothing`)).status, 200);
    assert.deepEqual([await recordsFor(X), await recordsFor(Y), await recordsFor('nobody')], [x + 1, y + 1, 0]);
    // A page that shows X's rows records X once, not once for the rows and once for the name.
    const before = await recordsFor(X);
    assert.equal((await as('clinicianA', `Observation?subject=Patient/${X}&code=${MONTHLY}&_count=5`)).status, 200);
    assert.equal(await recordsFor(X), before + 1);
  });
});
