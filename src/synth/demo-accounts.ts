import type { Patient, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { type DemoAccount, ensureDemoAccounts } from '../access/index.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Database } from '../store/driver.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';

/**
 * One demo account per role, tied to the demo population: the citizen is the first patient, the
 * clinician a practitioner of that patient's polyclinic (which the patient is attached to, so the
 * one door lets the clinician in), so a demo sign-in sees a real record. The organization
 * administrator is that polyclinic's, who approves the systems acting for it.
 */
export async function createDemoAccounts(db: Database, repo: Repository): Promise<DemoAccount[]> {
  const first = async <T extends Resource>(type: string, query: [string, string][]) =>
    (await repo.search(parseSearchRequest(type, [...query, ['_count', '1'], ['_sort', '_id']]))).entries.map((e) => parseStored<T>(e))[0];
  const patient = await first<Patient>('Patient', []);
  const polyclinic = patient?.generalPractitioner?.find((r) => r.reference?.startsWith('Organization/'))?.reference?.slice('Organization/'.length);
  const role = await first<PractitionerRole>('PractitionerRole', polyclinic ? [['organization', `Organization/${polyclinic}`]] : []);
  return ensureDemoAccounts(db, {
    patientId: patient?.id,
    // The public-health officer covers the demo citizen's region, so notifiable cases there show.
    region: patient?.address?.[0]?.state,
    practitionerId: role?.practitioner?.reference?.split('/')[1],
    organizationId: role?.organization?.reference?.split('/')[1],
  });
}
