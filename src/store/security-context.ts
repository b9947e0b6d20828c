import type { Binary, DocumentReference, Resource } from '@medplum/fhirtypes';
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
 *
 * A FHIR document (a Bundle) has no securityContext: one that names no patient by a literal
 * reference (its Composition's subject an entry of its own, as in an IPS) takes the key of the
 * DocumentReference written with it that attaches it (IHE MHD ITI-65).
 */
export async function securityContextCompartments(client: SqlClient, items: readonly { prepared: PreparedResource; resource?: Resource }[]): Promise<void> {
  const keyless = items.filter(({ prepared }) => prepared.compartment === null && (prepared.resourceType === 'Binary' || prepared.resourceType === 'Bundle'));
  if (keyless.length === 0) return;
  const written = new Map(items.map(({ prepared }) => [`${prepared.resourceType}/${prepared.id}`, prepared]));
  const attached = new Map<string, string | null>();
  for (const item of items) {
    if (item.prepared.resourceType !== 'DocumentReference') continue;
    for (const { attachment } of resourceOf<DocumentReference>(item).content ?? []) if (attachment.url) attached.set(attachment.url, item.prepared.compartment);
  }
  for (const item of keyless) {
    const { prepared } = item;
    if (prepared.resourceType === 'Bundle') {
      prepared.compartment = attached.get(`Bundle/${prepared.id}`) ?? null;
      continue;
    }
    const match = REFERENCE.exec(resourceOf<Binary>(item).securityContext?.reference ?? '');
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

/** The resource of an item; prepared in a worker, it is not at hand, and its JSON without meta is head and tail. */
function resourceOf<T extends Resource>({ prepared, resource }: { prepared: PreparedResource; resource?: Resource }): T {
  return (resource as T | undefined) ?? parseStored<T>({ json: `${prepared.json.head}${prepared.json.tail}` });
}
