import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addUser, verifyPassword } from '../../src/access/users.js';
import type { Database } from '../../src/store/driver.js';
import { testDrivers } from '../support/database.js';

for (const driver of testDrivers()) describe(`password lockout under parallel guesses (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  before(async () => {
    db = await driver.open();
    await addUser(db, { username: 'parallel-target', password: 'the-right-one', role: 'citizen', fhirUser: 'Patient/pt-1' });
  });
  after(() => db.close());

  it('lets no more than maxAttempts guesses be checked, however many arrive at once', async () => {
    const policy = { maxAttempts: 3, lockSeconds: 600 };
    // All sent before any has been answered; on PostgreSQL they also run in any order.
    const guesses = Array.from({ length: 20 }, (_, i) => `wrong-${i}`);
    const results = await Promise.all(guesses.map((password) => verifyPassword(db, 'parallel-target', password, policy)));
    assert.equal(results.filter((r) => !r.ok && r.reason === 'invalid').length, policy.maxAttempts - 1, 'the guess that reaches the limit locks');
    assert.equal(results.filter((r) => !r.ok && r.reason === 'locked').length, guesses.length - (policy.maxAttempts - 1));
    const right = await verifyPassword(db, 'parallel-target', 'the-right-one', policy);
    assert.equal(right.ok, false, 'the right password, past the allowed attempts, does not sign in');
  });
});
