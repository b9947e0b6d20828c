import type { Extension, OperationOutcomeIssue, Subscription } from '@medplum/fhirtypes';
import type { AccessContext } from '../access/context.js';
import { codedIssue, forbidden, unprocessable } from '../fhir/outcome.js';
import { type CriteriaAlternative, type SubscriptionTopic, topicByUrl } from '../fhir/subscription-topics.js';
import type { PayloadContent, SubscriptionRegistration } from '../store/subscriptions.js';
import { BACKPORT, SIGNING_SECRET_EXTENSION } from './backport.js';

/** A notification carries at most this many events (backport-max-count is capped to it). */
const MAX_EVENTS_PER_NOTIFICATION = 100;
const PAYLOAD_CONTENT: readonly PayloadContent[] = ['empty', 'id-only', 'full-resource'];
const MIME_TYPES = ['application/fhir+json', 'application/json'];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What a valid Subscription becomes: its registration for the store, and the resource as stored (without its secrets). */
export interface AcceptedSubscription {
  registration: SubscriptionRegistration;
  resource: Subscription & { id: string };
}

/**
 * Checks a Subscription against the backport profile (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription.html)
 * and the topic it names, for `caller`: an organization's clinician or system subscribes to what
 * is its organization's to know (its own referrals; the documents and results of patients it may
 * see, `seesPatient`). Every problem is reported at its element's path, nothing is stored.
 * The channel's headers and the signing secret are kept by the server only: the stored resource
 * is served without them.
 */
export async function acceptSubscription(
  subscription: Subscription,
  id: string,
  caller: AccessContext,
  seesPatient: (patient: string) => Promise<boolean>,
): Promise<AcceptedSubscription> {
  if ((caller.role !== 'clinician' && caller.role !== 'system') || !caller.organization) {
    throw forbidden(`Subscriptions are made by a clinician or a system acting for an organization`);
  }
  const issues: OperationOutcomeIssue[] = [];
  const problem = (expression: string, text: string) => issues.push(codedIssue('invalid-resource', text, { expression }));
  const topic = topicByUrl(subscription.criteria ?? '');
  if (!topic) problem('Subscription.criteria', `"${subscription.criteria}" is not a topic this server offers (see the CapabilityStatement)`);
  const criteria = topic ? await filterCriteria(subscription, topic, caller, seesPatient, problem) : [];

  const channel = subscription.channel;
  const type = channel?.type;
  if (type !== 'rest-hook' && type !== 'websocket') problem('Subscription.channel.type', `The channel type must be rest-hook or websocket, not "${type}"`);
  let endpoint: string | null = null;
  if (type === 'rest-hook') endpoint = restHookEndpoint(channel?.endpoint, problem);
  const payloadExtension = extensionsOf(primitive(channel, 'payload'), BACKPORT.payloadContent)[0];
  // R4: without channel.payload a notification carries no payload, only that something happened.
  const payload = (payloadExtension?.valueCode ?? (channel?.payload ? 'id-only' : 'empty')) as PayloadContent;
  if (!PAYLOAD_CONTENT.includes(payload)) problem(`Subscription.channel.payload.extension('${BACKPORT.payloadContent}')`, `The payload content must be empty, id-only or full-resource`);
  if (channel?.payload && !MIME_TYPES.includes(channel.payload)) problem('Subscription.channel.payload', `Notifications are sent as application/fhir+json, not "${channel.payload}"`);
  const heartbeat = extensionsOf(channel, BACKPORT.heartbeatPeriod)[0]?.valueUnsignedInt;
  if (heartbeat !== undefined && (!Number.isInteger(heartbeat) || heartbeat < 1)) problem(`Subscription.channel.extension('${BACKPORT.heartbeatPeriod}')`, `The heartbeat period is a whole number of seconds from 1`);
  const maxCount = extensionsOf(channel, BACKPORT.maxCount)[0]?.valuePositiveInt ?? 20;
  if (!Number.isInteger(maxCount) || maxCount < 1) problem(`Subscription.channel.extension('${BACKPORT.maxCount}')`, `The max count is a positive whole number`);
  const secret = extensionsOf(channel, SIGNING_SECRET_EXTENSION)[0]?.valueString ?? null;
  if (secret !== null && secret.length < 16) problem(`Subscription.channel.extension('${SIGNING_SECRET_EXTENSION}')`, `A signing secret has at least 16 characters`);
  const headers = channel?.header ?? [];
  headers.forEach((header, i) => {
    if (!/^[A-Za-z0-9-]+:\s*\S/.test(header)) problem(`Subscription.channel.header[${i}]`, `A header is "Name: value"`);
  });
  if (issues.length > 0 || !topic) throw unprocessable(issues);

  // A subscriber turns its Subscription off by saying so; otherwise a rest-hook one starts with its handshake.
  const status = subscription.status === 'off' ? 'off' : type === 'websocket' ? 'active' : 'requested';
  const { header: _header, ...keptChannel } = channel!;
  const resource: Subscription & { id: string } = {
    ...subscription,
    id,
    meta: { ...subscription.meta, profile: [...new Set([...(subscription.meta?.profile ?? []), BACKPORT.subscriptionProfile])] },
    status,
    channel: { ...keptChannel, extension: (channel!.extension ?? []).filter((e) => e.url !== SIGNING_SECRET_EXTENSION) },
  };
  if (resource.channel.extension?.length === 0) delete resource.channel.extension;
  return {
    resource,
    registration: {
      id,
      topic: topic.url,
      criteria,
      channel: type as 'rest-hook' | 'websocket',
      endpoint,
      headers,
      signingSecret: secret,
      payload,
      heartbeatSeconds: heartbeat ?? null,
      maxCount: Math.min(maxCount, MAX_EVENTS_PER_NOTIFICATION),
      owner: JSON.stringify(ownerContext(caller)),
      status,
    },
  };
}

/** The subscriber's context as kept: enough for the door to judge each notification's content as them later. */
function ownerContext(caller: AccessContext): AccessContext {
  const { role, subject, clientId, fhirUser, organization, scopes, purposeOfUse } = caller;
  return { role, subject, clientId, ...(fhirUser ? { fhirUser } : {}), ...(organization ? { organization } : {}), scopes, purposeOfUse };
}

/** A rest-hook endpoint: https, or http to this machine only (a subscriber under test, a local relay). */
function restHookEndpoint(endpoint: string | undefined, problem: (expression: string, text: string) => void): string | null {
  let url: URL | undefined;
  try {
    url = endpoint ? new URL(endpoint) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) problem('Subscription.channel.endpoint', `A rest-hook channel needs an absolute endpoint URL`);
  else if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    problem('Subscription.channel.endpoint', `The endpoint must be https:// (http:// only to a loopback address)`);
  } else return url.toString();
  return null;
}

/**
 * The criteria of the Subscription: per resource type its filter (backport-filter-criteria, a
 * query `Type?param=value&…`) with the topic's own trigger conditions. A type of the topic is
 * covered only with a filter naming whom its events are about (the patient, the organization).
 */
async function filterCriteria(
  subscription: Subscription,
  topic: SubscriptionTopic,
  caller: AccessContext,
  seesPatient: (patient: string) => Promise<boolean>,
  problem: (expression: string, text: string) => void,
): Promise<CriteriaAlternative[]> {
  const filters = extensionsOf(primitive(subscription, 'criteria'), BACKPORT.filterCriteria);
  const path = `Subscription.criteria.extension('${BACKPORT.filterCriteria}')`;
  if (filters.length === 0) problem(path, `A filter is required: ${requiredFilters(topic)}`);
  const alternatives: CriteriaAlternative[] = [];
  for (const extension of filters) {
    const text = extension.valueString ?? '';
    const [type = '', query = ''] = text.split('?', 2);
    const trigger = topic.triggers.find((t) => t.resourceType === type);
    if (!trigger) {
      problem(path, `"${type}" is not a resource type of the topic ${topic.url}`);
      continue;
    }
    const conditions = [...trigger.conditions];
    let scoped = false;
    for (const [parameter, value] of new URLSearchParams(query)) {
      const allowed = topic.filters.find((f) => f.resourceType === type && f.parameter === parameter);
      if (!allowed) {
        problem(path, `The topic does not filter ${type} by "${parameter}"`);
        continue;
      }
      const values = value.split(',').filter(Boolean);
      if (allowed.kind === 'reference' && !values.every((v) => /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(v))) {
        problem(path, `${parameter} takes references such as Patient/123, not "${value}"`);
        continue;
      }
      if (allowed.scope === 'organization') {
        if (values.some((v) => v !== `Organization/${caller.organization}`)) {
          problem(path, `An organization subscribes to what is addressed to itself (Organization/${caller.organization}) only`);
          continue;
        }
        scoped = true;
      } else if (allowed.scope === 'patient') {
        const seen = await Promise.all(values.map((v) => (v.startsWith('Patient/') ? seesPatient(v.slice('Patient/'.length)) : Promise.resolve(false))));
        if (!seen.every(Boolean)) {
          problem(path, `${value} is not a patient whose record this organization may see`);
          continue;
        }
        scoped = true;
      }
      conditions.push({ code: parameter, values });
    }
    if (!scoped) problem(path, `"${text}" must name whom its events are about: ${requiredFilters(topic)}`);
    else alternatives.push({ resourceType: type, conditions });
  }
  return alternatives;
}

function requiredFilters(topic: SubscriptionTopic): string {
  return topic.filters
    .filter((f) => f.scope)
    .map((f) => `${f.resourceType}?${f.parameter}=${f.scope === 'patient' ? 'Patient/[id]' : 'Organization/[id]'}`)
    .join(' or ');
}

/** The extensions of a primitive element, which FHIR JSON holds under `_name` (https://hl7.org/fhir/R4/json.html#primitive). */
function primitive(owner: object | undefined, name: string): { extension?: Extension[] } | undefined {
  const element = (owner as Record<string, unknown> | undefined)?.[`_${name}`];
  return typeof element === 'object' && element !== null ? (element as { extension?: Extension[] }) : undefined;
}

function extensionsOf(element: { extension?: Extension[] } | undefined, url: string): Extension[] {
  return (element?.extension ?? []).filter((e) => e.url === url);
}
