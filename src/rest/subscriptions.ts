import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Bundle, OperationDefinition, Parameters, Subscription } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { BACKPORT } from '../exchange/backport.js';
import { notificationBundle, subscriptionStatus, withFocus } from '../exchange/notification.js';
import { acceptSubscription } from '../exchange/subscription-request.js';
import type { PayloadContent, SubscriptionState } from '../store/subscriptions.js';
import { resourceBody } from './body.js';
import type { FhirRequest, FhirResponse, InstanceParams, InteractionContext } from './interaction.js';
import type { Route } from './routes.js';

/** Parameters every GET operation takes besides its own: the format asked for. */
const FORMAT = ['_format', '_pretty'];
/** A websocket binding token is good for this long (and once). */
const BINDING_MINUTES = 5;
/** `$events` returns at most this many events per call. */
const MAX_EVENTS = 100;

/**
 * Subscription create and update (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/subscriptions.html):
 * the resource is checked against its topic (src/exchange/subscription-request.ts) and stored with
 * its registration in one transaction, so a Subscription exists exactly when its events are recorded.
 */
async function writeSubscription(request: FhirRequest, id: string, context: InteractionContext, existing: boolean): Promise<FhirResponse> {
  const body = resourceBody(request, 'Subscription') as Subscription;
  if (existing && body.id !== id) throw badRequest(`The body's id "${body.id}" differs from the URL's "${id}"`, 'Subscription.id');
  const accepted = await acceptSubscription(body, id, context.access, (patient) => context.repo.visible('Patient', patient));
  return context.repo.transaction(async (repo) => {
    const written = existing ? await repo.update(accepted.resource) : { stored: await repo.create(accepted.resource, id), created: true };
    await repo.subscriptions.register(accepted.registration);
    return { status: written.created ? 201 : 200, stored: written.stored };
  });
}

/** Ahead of the generic create, update and patch of Subscription (findRoute takes the first match); the CapabilityStatement lists those. */
export const SUBSCRIPTION_ROUTES: readonly Route[] = [
  { method: 'POST', pattern: 'Subscription', name: 'create', level: 'type', handler: (request, _params, context) => writeSubscription(request, request.assignedId ?? randomUUID(), context, false) },
  { method: 'PUT', pattern: 'Subscription/:id', name: 'update', level: 'instance', handler: (request, params, context) => writeSubscription(request, params.id!, context, true) },
  {
    method: 'PATCH',
    pattern: 'Subscription/:id',
    name: 'patch',
    level: 'instance',
    handler: () => Promise.reject(badRequest(`A Subscription is changed by PUT, so it is checked against its topic again`, 'Subscription', 'not-supported')),
  },
];

function queryOf(request: FhirRequest, operation: string, known: readonly string[]): Map<string, string> {
  const query = new Map<string, string>();
  for (const [key, value] of request.query) {
    if (!known.includes(key) && !FORMAT.includes(key)) throw badRequest(`Unknown ${operation} parameter "${key}"`, key);
    query.set(key, value);
  }
  return query;
}

/** Events committed but not yet numbered by a delivery round are numbered now, so the answer counts them. */
function numberFresh(context: InteractionContext): Promise<void> {
  return context.repo.transaction((repo) => repo.subscriptions.numberFresh());
}

/** Dead-lettered events and the last delivery error, as the status's `error` entries. */
async function statusErrors(state: SubscriptionState, context: InteractionContext): Promise<string[]> {
  const dead = state.deadLetters > 0 ? await context.repo.subscriptions.events(state.id, { state: 'dead', limit: MAX_EVENTS }) : [];
  return [
    ...(state.lastError ? [`Last delivery failed: ${state.lastError}`] : []),
    ...dead.map((event) => `Event ${event.number} (${event.focusType}/${event.focusId}) dead-lettered after ${event.attempts} attempts: ${event.lastError ?? ''}`),
  ];
}

/**
 * `GET Subscription/[id]/$status` (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-status.html):
 * a searchset Bundle of the SubscriptionStatus (`query-status`), the dead-letter list as its errors.
 * A Subscription of another organization is a 404.
 */
export async function statusOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  queryOf(request, '$status', []);
  await numberFresh(context);
  const state = await context.repo.subscriptions.state(params.id);
  const status = subscriptionStatus(context.baseUrl, state, 'query-status', [], await statusErrors(state, context));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: 1, entry: [{ resource: status, search: { mode: 'match' } }] };
  return { status: 200, resource: bundle };
}

/**
 * `GET Subscription/[id]/$events?eventsSinceNumber=&eventsUntilNumber=&content=`
 * (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-events.html):
 * the events kept in the outbox, whatever their delivery, as a `query-event` notification; a
 * subscriber fills a gap in the numbers with it. Content is read as the caller, through the door.
 */
export async function eventsOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const query = queryOf(request, '$events', ['eventsSinceNumber', 'eventsUntilNumber', 'content']);
  const number = (name: string) => {
    const text = query.get(name);
    if (text === undefined) return undefined;
    if (!/^\d{1,15}$/.test(text)) throw badRequest(`${name} is an event number`, name);
    return Number(text);
  };
  const content = query.get('content') as PayloadContent | undefined;
  if (content !== undefined && !['empty', 'id-only', 'full-resource'].includes(content)) throw badRequest(`content is empty, id-only or full-resource`, 'content');
  await numberFresh(context);
  const state = await context.repo.subscriptions.state(params.id);
  const events = await context.repo.subscriptions.events(params.id, { since: number('eventsSinceNumber'), until: number('eventsUntilNumber'), limit: MAX_EVENTS });
  const shown = { ...state, payload: content ?? state.payload };
  const notified = await withFocus(context.repo, shown.payload, events);
  return { status: 200, resource: notificationBundle(context.baseUrl, shown, 'query-event', notified) };
}

/**
 * `GET Subscription/[id]/$get-ws-binding-token`
 * (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-get-ws-binding-token.html):
 * a one-time token a websocket client sends as `bind-with-token <token>` to the websocket URL.
 * Only its digest is kept.
 */
export async function bindingTokenOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  queryOf(request, '$get-ws-binding-token', []);
  const state = await context.repo.subscriptions.state(params.id);
  if (state.channel !== 'websocket') throw badRequest(`Subscription/${params.id} is not a websocket subscription`, 'Subscription.channel.type');
  const token = randomBytes(32).toString('base64url');
  const expiration = new Date(Date.now() + BINDING_MINUTES * 60_000).toISOString();
  await context.repo.subscriptions.bindingToken(params.id, bindingTokenHash(token), expiration);
  const parameters: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'token', valueString: token },
      { name: 'expiration', valueDateTime: expiration },
      { name: 'subscription', valueString: `${context.baseUrl}/Subscription/${params.id}` },
      { name: 'websocket-url', valueUrl: websocketUrl(context.baseUrl) },
    ],
  };
  return { status: 200, resource: parameters };
}

export function bindingTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Where websocket subscribers connect (src/http/subscription-websocket.ts): beside the FHIR base. */
export const WEBSOCKET_PATH = '/subscriptions/websocket';

function websocketUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = WEBSOCKET_PATH;
  return url.toString();
}

const statusOut = { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'The SubscriptionStatus (backport-subscription-status-r4) in a searchset Bundle' } as const;

/**
 * The Subscriptions Backport IG's operations (STU 1.1) as this server serves them: the instance
 * level, with the inputs its handlers read. Served under the IG's canonical URLs like the other
 * standard definitions (src/rest/operation-definitions.ts).
 */
export const SUBSCRIPTION_OPERATION_DEFINITIONS: readonly OperationDefinition[] = [
  {
    resourceType: 'OperationDefinition',
    id: 'backport-subscription-status',
    url: BACKPORT.statusOperation,
    version: '1.1.0',
    name: 'BackportSubscriptionStatus',
    title: 'Subscription status',
    status: 'active',
    kind: 'operation',
    description: "The current status of a Subscription: its state, its event count and, as errors, its last delivery failure and its dead-lettered events.",
    affectsState: false,
    code: 'status',
    resource: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    parameter: [statusOut],
  },
  {
    resourceType: 'OperationDefinition',
    id: 'backport-subscription-events',
    url: BACKPORT.eventsOperation,
    version: '1.1.0',
    name: 'BackportSubscriptionEvents',
    title: 'Subscription events',
    status: 'active',
    kind: 'operation',
    description: 'The events of a Subscription by number, as a notification Bundle of type query-event, to recover what was missed.',
    affectsState: false,
    code: 'events',
    resource: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    parameter: [
      { name: 'eventsSinceNumber', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The first event number to return (inclusive)' },
      { name: 'eventsUntilNumber', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The last event number to return (inclusive)' },
      { name: 'content', use: 'in', min: 0, max: '1', type: 'code', documentation: 'empty, id-only or full-resource; the Subscription\'s own by default' },
      { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'The notification Bundle' },
    ],
  },
  {
    resourceType: 'OperationDefinition',
    id: 'backport-subscription-get-ws-binding-token',
    url: BACKPORT.bindingTokenOperation,
    version: '1.1.0',
    name: 'BackportSubscriptionGetWsBindingToken',
    title: 'Websocket binding token',
    status: 'active',
    kind: 'operation',
    description: 'A one-time token, valid for five minutes, that binds a websocket connection to a websocket Subscription.',
    affectsState: false,
    code: 'get-ws-binding-token',
    resource: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    parameter: [
      { name: 'token', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The token to send as "bind-with-token <token>"' },
      { name: 'expiration', use: 'out', min: 1, max: '1', type: 'dateTime', documentation: 'When the token expires' },
      { name: 'subscription', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The Subscription the token binds' },
      { name: 'websocket-url', use: 'out', min: 1, max: '1', type: 'url', documentation: 'Where to connect' },
    ],
  },
];
