/**
 * A profile the server holds is enforced after a restart too: a new process registers the
 * StructureDefinitions it finds in the store (src/store/custom-search-parameters.ts) before it
 * validates anything. The second process is a real one, so nothing registered in memory by the
 * write carries over.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { seedingAccess } from '../../src/access/door.js';
import { openDatabase } from '../../src/store/open.js';
import { Repository } from '../../src/store/repository.js';
import { patientProfile } from '../support/profiles.js';

const PROFILE = 'http://densaulyq.kz/fhir/StructureDefinition/patient-with-birthdate-held';
const root = new URL('../../', import.meta.url).pathname;

test('a held profile is enforced by a process that starts after it was written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'densaulyq-profiles-'));
  try {
    const db = await openDatabase({ dataDir: join(dir, 'db') });
    await new Repository(db, seedingAccess()).create(patientProfile(PROFILE, 'PatientWithBirthDateHeld', { differential: [{ id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 }] }));
    await db.close();
    const script = join(dir, 'restart.mts');
    await writeFile(
      script,
      `import { maintenanceAccess } from '${root}src/access/door.ts';
       import { validateResource } from '${root}src/fhir/validate.ts';
       import { loadHeldProfiles } from '${root}src/store/custom-search-parameters.ts';
       import { openDatabase } from '${root}src/store/open.ts';
       import { Repository } from '${root}src/store/repository.ts';
       const db = await openDatabase({ dataDir: ${JSON.stringify(join(dir, 'db'))} });
       const held = await loadHeldProfiles(new Repository(db, maintenanceAccess()));
       const issues = validateResource({ resourceType: 'Patient', meta: { profile: [${JSON.stringify(PROFILE)}] }, gender: 'male' });
       await db.close();
       process.stdout.write(JSON.stringify({ held, errors: issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]) }));`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: root });
    const result = JSON.parse(stdout) as { held: number; errors: string[] };
    assert.equal(result.held, 1);
    assert.ok(result.errors.some((e) => e?.startsWith('Patient')), `the missing birthDate is refused after the restart: ${stdout}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
