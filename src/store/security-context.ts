import type { Binary, Resource } from '@medplum/fhirtypes';
import type { SqlClient } from './driver.js';
import type { PreparedResource } from './prepared-resource.js';
import { parseStored } from './stored-json.js';

const REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * A Binary is as confidential as the resource its securityContext names
 * (https://hl7.org/fhir/R4/binary.html#security): a document's bytes, whose securityContext is
 * their DocumentReference, take that resource's patient-compartment key, so the door serves them
 * by the rules of the patient's record (care relationships, consent, audit). The resource named
 * is looked for among those written together first (a transaction publishing both), then among
 * the stored ones. A Binary without a securityContext keeps no key and stays its author's.
 */
export async function securityContextCompartments(client: SqlClient, items: readonly { prepared: PreparedResource; resource?: Resource }[]): Promise<void> {
  const written = new Map(items.map(({ prepared }) => [`${prepared.resourceType}/${prepared.id}`, prepared]));
  for (const { prepared, resource } of items) {
    if (prepared.resourceType !== 'Binary' || prepared.compartment !== null) continue;
    // Prepared in a worker, the resource is not at hand: its JSON without meta is head and tail.
    const binary: Binary = (resource as Binary | undefined) ?? parseStored<Binary>({ json: `${prepared.json.head}${prepared.json.tail}` });
    const match = REFERENCE.exec(binary.securityContext?.reference ?? '');
    if (!match) continue;
    const [reference, type, id] = match;
    const together = written.get(reference);
    if (together) {
      prepared.compartment = together.compartment;
      continue;
    }
    const [stored] = await client.query<{ compartment: string | null }>(
      `SELECT compartment FROM resource WHERE resource_type = $1 AND id = $2 AND NOT deleted`,
      [type, id],
    );
    prepared.compartment = stored?.compartment ?? null;
  }
}
