import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowedByRegistration,
  formatScope,
  parseScope,
  parseScopes,
  permitsUnconstrained,
  scopeCovers,
  scopesAllowing,
  type ResourceScope,
} from '../../src/access/scopes.js';

/** [scope as sent, expected v2 form or undefined when it must be refused] */
const TABLE: Array<[string, string | undefined]> = [
  // v2
  ['patient/Observation.rs', 'patient/Observation.rs'],
  ['patient/Observation.r', 'patient/Observation.r'],
  ['patient/Observation.s', 'patient/Observation.s'],
  ['user/*.cruds', 'user/*.cruds'],
  ['user/Patient.cud', 'user/Patient.cud'],
  ['system/*.rs', 'system/*.rs'],
  ['system/Encounter.c', 'system/Encounter.c'],
  ['patient/Observation.rs?category=laboratory', 'patient/Observation.rs?category=laboratory'],
  [
    'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
    'patient/Observation.rs?category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Claboratory',
  ],
  ['user/Condition.rs?category=problem-list-item&clinical-status=active', 'user/Condition.rs?category=problem-list-item&clinical-status=active'],
  // v1 mapped to v2
  ['patient/Observation.read', 'patient/Observation.rs'],
  ['patient/*.read', 'patient/*.rs'],
  ['user/Patient.write', 'user/Patient.cud'],
  ['user/*.*', 'user/*.cruds'],
  ['system/*.read', 'system/*.rs'],
  ['system/Observation.*', 'system/Observation.cruds'],
  // malformed: refused
  ['patient/Observation.sr', undefined],
  ['patient/Observation.rr', undefined],
  ['patient/Observation.', undefined],
  ['patient/Observation.x', undefined],
  ['patient/Observation.readwrite', undefined],
  ['patient/observation.rs', undefined],
  ['patient/Observation.read?category=laboratory', undefined],
  ['patient/Observation.rs?', undefined],
  ['patient/.rs', undefined],
  ['patient/Observation', undefined],
];

describe('SMART scope parsing', () => {
  it('a v1 permission word that is an inherited property name is refused, not a scope of functions', () => {
    for (const sent of ['patient/Observation.toString', 'user/*.constructor', 'system/Patient.__proto__', 'patient/Observation.hasOwnProperty']) {
      assert.equal(parseScope(sent), undefined, sent);
    }
  });

  for (const [sent, expected] of TABLE) {
    it(`${sent} -> ${expected ?? 'refused'}`, () => {
      const parsed = parseScope(sent);
      if (expected === undefined) {
        assert.equal(parsed, undefined);
      } else {
        assert.ok(parsed && parsed.kind === 'resource');
        assert.equal(formatScope(parsed), expected);
        assert.equal(parsed.raw, sent);
      }
    });
  }

  it('marks v1 forms as version 1 and carries query constraints', () => {
    const [v1, v2] = parseScopes('patient/Observation.read patient/Observation.rs?category=laboratory&code=1234-5') as ResourceScope[];
    assert.equal(v1!.version, 1);
    assert.deepEqual(v1!.permissions, ['r', 's']);
    assert.equal(v2!.version, 2);
    assert.deepEqual(v2!.query, [
      ['category', 'laboratory'],
      ['code', '1234-5'],
    ]);
  });

  it('recognizes launch, identity and other scopes, and drops malformed and duplicate ones', () => {
    const scopes = parseScopes('openid fhirUser launch launch/patient launch/encounter offline_access online_access profile  custom:thing patient/X.zz openid');
    assert.deepEqual(
      scopes.map((s) => `${s.kind}:${s.raw}`),
      [
        'identity:openid',
        'identity:fhirUser',
        'launch:launch',
        'launch:launch/patient',
        'launch:launch/encounter',
        'identity:offline_access',
        'identity:online_access',
        'identity:profile',
        'other:custom:thing',
      ],
    );
    assert.deepEqual(parseScopes('practitioner/Observation.rs'), [{ kind: 'other', raw: 'practitioner/Observation.rs' }]);
    assert.deepEqual(parseScopes(''), []);
    assert.deepEqual(parseScopes(undefined), []);
  });

  it('answers which scopes allow an interaction', () => {
    const scopes = parseScopes('patient/Observation.rs?category=laboratory user/Patient.r system/*.rs');
    assert.equal(scopesAllowing(scopes, { resourceType: 'Observation', permission: 'r' }).length, 2);
    assert.equal(scopesAllowing(scopes, { context: 'patient', resourceType: 'Observation', permission: 'r' }).length, 1);
    assert.equal(permitsUnconstrained(scopes, { context: 'patient', resourceType: 'Observation', permission: 'r' }), false);
    assert.equal(permitsUnconstrained(scopes, { context: 'user', resourceType: 'Patient', permission: 'r' }), true);
    assert.equal(permitsUnconstrained(scopes, { context: 'user', resourceType: 'Patient', permission: 's' }), false);
    assert.equal(permitsUnconstrained(scopes, { context: ['user', 'system'], resourceType: 'Encounter', permission: 's' }), true);
    assert.equal(scopesAllowing(scopes, { resourceType: 'Encounter', permission: 'c' }).length, 0);
  });

  it('checks coverage with wildcards, permissions and constraints', () => {
    const one = (s: string) => parseScope(s) as ResourceScope;
    assert.equal(scopeCovers(one('patient/*.rs'), one('patient/Observation.read')), true);
    assert.equal(scopeCovers(one('patient/*.rs'), one('patient/Observation.cruds')), false);
    assert.equal(scopeCovers(one('patient/*.cruds'), one('user/Observation.r')), false);
    assert.equal(scopeCovers(one('patient/Observation.rs'), one('patient/Condition.rs')), false);
    assert.equal(scopeCovers(one('patient/Observation.rs'), one('patient/Observation.rs?category=laboratory')), true);
    assert.equal(scopeCovers(one('patient/Observation.rs?category=laboratory'), one('patient/Observation.rs')), false);
    assert.equal(scopeCovers(one('patient/Observation.rs?category=laboratory'), one('patient/Observation.r?category=laboratory')), true);
  });

  it('filters requested scopes by a client registration', () => {
    const registered = parseScopes('openid fhirUser launch/patient patient/*.rs offline_access');
    const requested = parseScopes('openid fhirUser launch/patient patient/Observation.read user/*.cruds offline_access online_access patient/Patient.cud');
    assert.deepEqual(
      allowedByRegistration(requested, registered).map((s) => s.raw),
      ['openid', 'fhirUser', 'launch/patient', 'patient/Observation.read', 'offline_access'],
    );
  });
});
