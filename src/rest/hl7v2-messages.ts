import type { Bundle } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

const MESSAGE_STATUSES = ['received', 'processed', 'review', 'rejected'] as const;
type MessageStatus = (typeof MESSAGE_STATUSES)[number];
const isMessageStatus = (value: string): value is MessageStatus => (MESSAGE_STATUSES as readonly string[]).includes(value);

/**
 * `$hl7v2-messages` (Densaulyq): the HL7 v2 messages systems sent over MLLP that an administrator
 * with clinical access reviews, newest first: by default those parked for review (accepted, no
 * patient found) and those rejected, each with why, the message as received (base64, in the
 * sender's character set) and the ACK it got; `type` narrows to message types (MSH-9.1: ORU, ADT).
 */
export async function hl7v2MessagesOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  let statuses: MessageStatus[] = ['review', 'rejected'];
  let count = 100;
  let types: string[] | undefined;
  for (const [name, value] of request.query) {
    if (name === '_format' || name === '_pretty') continue;
    if (name === 'status') {
      const asked = value.split(',');
      const unknown = asked.find((s) => !isMessageStatus(s));
      if (unknown !== undefined) throw badRequest(`status is one or more of ${MESSAGE_STATUSES.join(', ')}, not "${unknown}"`, 'status');
      statuses = asked.filter(isMessageStatus);
    } else if (name === '_count') {
      if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000) throw badRequest(`_count is 1 to 1000`, '_count');
      count = Number(value);
    } else if (name === 'type') {
      types = value.split(',');
      const bad = types.find((t) => !/^[A-Z0-9]{3}$/.test(t));
      if (bad !== undefined) throw badRequest(`type is one or more message types (MSH-9.1) such as ORU or ADT, not "${bad}"`, 'type');
    } else throw badRequest(`$hl7v2-messages takes status, type and _count, not ${name}`, name);
  }
  const messages = await context.repo.hl7v2Messages.list(statuses, count, types);
  const text = (name: string, value: string | null) => (value === null ? [] : [{ name, valueString: value }]);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: messages.map((m) => ({
      resource: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'id', valueString: m.id },
          { name: 'received', valueInstant: m.received },
          { name: 'status', valueCode: m.status },
          ...text('sender', m.sender),
          ...text('controlId', m.controlId),
          ...text('messageType', m.messageType),
          ...(m.organization ? [{ name: 'organization', valueReference: { reference: `Organization/${m.organization}` } }] : []),
          ...text('reason', m.reason),
          { name: 'message', valueBase64Binary: m.content.toString('base64') },
          { name: 'ack', valueBase64Binary: m.ack.toString('base64') },
        ],
      },
    })),
  };
  return { status: 200, resource: bundle };
}
