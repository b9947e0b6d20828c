import { readFileSync } from 'node:fs';
import type { Endpoint } from '@medplum/fhirtypes';
import { HL7V2_FACILITY_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { MLLP_CONNECTION_TYPE } from '../../src/hl7v2/intake.js';

/** The bytes of a fixture in test/lab/fixtures/. */
export const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url));

/** A fixture's text with MSH fields replaced: `{ 10: 'X1' }` sets MSH-10. */
export function withHeader(name: string, fields: Record<number, string>): Buffer {
  const text = fixture(name).toString('utf8');
  const [msh, ...rest] = text.split('\r');
  const parts = msh!.split('|');
  for (const [n, value] of Object.entries(fields)) parts[Number(n) - 1] = value;
  return Buffer.from([parts.join('|'), ...rest].join('\r'));
}

/** An HL7 v2 sender's Endpoint: MSH-4 `facility`, sending for Organization `organization`. */
export function endpoint(id: string, facility: string, organization: string, status: Endpoint['status'] = 'active'): Endpoint {
  return {
    resourceType: 'Endpoint',
    id,
    status,
    identifier: [{ system: HL7V2_FACILITY_SYSTEM, value: facility }],
    connectionType: MLLP_CONNECTION_TYPE,
    managingOrganization: { reference: `Organization/${organization}` },
    payloadType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any' }] }],
    address: `mllp:${facility}`,
  };
}
