import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DocumentReference, Encounter } from '@medplum/fhirtypes';
import { entryOrganizations, timelineSearch, visibleEntries } from '../../web/src/screens/timeline/logic.js';

const visit = (id: string, start: string): Encounter => ({ resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, period: { start }, serviceProvider: { reference: 'Organization/o1' } });
const doc = (id: string, date: string): DocumentReference => ({ resourceType: 'DocumentReference', id, status: 'current', content: [], date, author: [{ reference: 'Practitioner/p' }, { reference: 'Organization/o2' }] });

describe('the timeline', () => {
  it('filters by organization on the server with each type’s own search parameter, newest first', () => {
    assert.deepEqual(timelineSearch('encounter', 'p1', 'o1', 10), { patient: 'p1', _sort: '-date', _count: 10, 'service-provider': 'Organization/o1' });
    assert.deepEqual(timelineSearch('document', 'p1', 'o1', 10), { patient: 'p1', _sort: '-date', _count: 10, author: 'Organization/o1' });
    assert.deepEqual(timelineSearch('report', 'p1', undefined, 10), { patient: 'p1', _sort: '-date', _count: 10 });
  });

  it('merges kinds newest first and holds back what a later page of another kind could precede', () => {
    const visits = { entries: [visit('v1', '2026-05-01'), visit('v2', '2026-01-01')], next: 'http://x/next' };
    const docs = { entries: [doc('d1', '2026-03-01'), doc('d2', '2025-01-01')] };
    const shown = visibleEntries([visits, docs]);
    // d2 is older than where the visits' loaded page ends: a visit of the next page may come before it.
    assert.deepEqual(shown.entries.map((e) => e.id), ['v1', 'd1', 'v2']);
    assert.equal(shown.more, true);
    const done = visibleEntries([{ entries: visits.entries }, docs]);
    assert.deepEqual(done.entries.map((e) => e.id), ['v1', 'd1', 'v2', 'd2']);
    assert.equal(done.more, false);
  });

  it('names only organizations as where an entry happened', () => {
    assert.deepEqual(entryOrganizations(doc('d', '2025')).map((r) => r.reference), ['Organization/o2']);
  });
});
