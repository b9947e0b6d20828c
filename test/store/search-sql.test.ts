import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { SqlParams, filterConditions } from '../../src/store/search-sql.js';

const condition = (type: string, name: string, value: string) => filterConditions(parseSearchRequest(type, [[name, value]]), new SqlParams())[0]!;

describe('search SQL shapes', () => {
  test('an identifier with a value is looked up by its index rows first, whatever the statistics say of the type', () => {
    assert.match(condition('Observation', 'identifier', 'http://lab.example/ids|BL-7/2345-7'), /^r\.id = ANY\(ARRAY\(SELECT s\.id FROM search_token s/);
    assert.match(condition('Observation', 'identifier', 'BL-7,BL-8'), /^r\.id = ANY\(ARRAY\(/);
  });

  test('what may match many stays a semi-join the planner orders: a system alone, a modifier, other tokens', () => {
    assert.match(condition('Observation', 'identifier', 'http://lab.example/ids|'), /^r\.id IN \(SELECT/);
    assert.match(condition('Observation', 'identifier:not', 'x|y'), /^r\.id NOT IN/);
    assert.match(condition('Observation', 'category', 'laboratory'), /^r\.id IN \(SELECT/);
  });
});
