import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import type { PayloadContent, SubscriptionEvent, SubscriptionState } from '../store/subscriptions.js';
import { BACKPORT } from './backport.js';

/** SubscriptionStatus.type (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html#notification-types). */
export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** An event with what the subscriber may be shown of its focus: the version, when the door let them read it. */
export interface NotifiedEvent {
  event: SubscriptionEvent;
  focus?: Resource;
}

/** The SubscriptionStatus of R4: a Parameters with the backport profile (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-status-r4.html). */
export function subscriptionStatus(baseUrl: string, state: SubscriptionState, type: NotificationType, events: readonly NotifiedEvent[], errors: readonly string[] = []): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${state.id}` } },
    { name: 'topic', valueCanonical: state.topic },
    { name: 'status', valueCode: state.status },
    { name: 'type', valueCode: type },
    // A string in R4: the count is an int64.
    { name: 'events-since-subscription-start', valueString: String(state.eventsSinceStart) },
    ...events.map(({ event }) => ({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(event.number) },
        { name: 'timestamp', valueInstant: event.occurred },
        ...(state.payload === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${baseUrl}/${event.focusType}/${event.focusId}` } }]),
      ],
    })),
    ...errors.map((text) => ({ name: 'error', valueCodeableConcept: { text } })),
  ];
  return { resourceType: 'Parameters', meta: { profile: [BACKPORT.statusProfile] }, parameter };
}

/**
 * A notification Bundle (type `history`): the SubscriptionStatus first, then, for a
 * full-resource payload, each focus the subscriber may read (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/payloads.html).
 * A focus the door withheld is notified by its reference only.
 */
export function notificationBundle(baseUrl: string, state: SubscriptionState, type: NotificationType, events: readonly NotifiedEvent[], errors: readonly string[] = []): Bundle {
  const status = subscriptionStatus(baseUrl, state, type, events, errors);
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: status,
      request: { method: 'GET', url: `${baseUrl}/Subscription/${state.id}/$status` },
      response: { status: '200' },
    },
  ];
  if (state.payload === 'full-resource') {
    for (const { event, focus } of events) {
      if (!focus) continue;
      entry.push({
        fullUrl: `${baseUrl}/${event.focusType}/${event.focusId}`,
        resource: focus,
        request: { method: event.focusVersion === '1' ? 'POST' : 'PUT', url: event.focusVersion === '1' ? event.focusType : `${event.focusType}/${event.focusId}` },
        response: { status: event.focusVersion === '1' ? '201' : '200' },
      });
    }
  }
  return { resourceType: 'Bundle', id: randomUUID(), meta: { profile: [BACKPORT.notificationProfile] }, type: 'history', timestamp: new Date().toISOString(), entry };
}

/**
 * The focus of each event as `reader` may see it: for a full-resource payload, the event's version
 * read through the door (audited as the reader's read); what the door withholds, and every focus
 * of other payloads, goes by reference only.
 */
export function withFocus(reader: Repository, payload: PayloadContent, events: readonly SubscriptionEvent[]): Promise<NotifiedEvent[]> {
  return Promise.all(
    events.map(async (event) => {
      if (payload !== 'full-resource') return { event };
      const focus = await reader.vread(event.focusType, event.focusId, event.focusVersion).then(
        (stored) => parseStored<Resource>(stored),
        () => undefined,
      );
      return focus ? { event, focus } : { event };
    }),
  );
}
