/**
 * Canonical URLs of the Subscriptions R5 Backport IG, STU 1.1
 * (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/artifacts.html), and Densaulyq's own
 * additions to a Subscription.
 */
const IG = 'http://hl7.org/fhir/uv/subscriptions-backport';

export const BACKPORT = {
  subscriptionProfile: `${IG}/StructureDefinition/backport-subscription`,
  statusProfile: `${IG}/StructureDefinition/backport-subscription-status-r4`,
  notificationProfile: `${IG}/StructureDefinition/backport-subscription-notification-r4`,
  filterCriteria: `${IG}/StructureDefinition/backport-filter-criteria`,
  payloadContent: `${IG}/StructureDefinition/backport-payload-content`,
  heartbeatPeriod: `${IG}/StructureDefinition/backport-heartbeat-period`,
  maxCount: `${IG}/StructureDefinition/backport-max-count`,
  topicCanonical: `${IG}/StructureDefinition/capabilitystatement-subscriptiontopic-canonical`,
  statusOperation: `${IG}/OperationDefinition/backport-subscription-status`,
  eventsOperation: `${IG}/OperationDefinition/backport-subscription-events`,
  bindingTokenOperation: `${IG}/OperationDefinition/backport-subscription-get-ws-binding-token`,
} as const;

/** R5's SubscriptionTopic in R4, as the IG represents it: a Basic with cross-version extensions (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/topics.html). */
export const TOPIC_EXTENSION = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';

/** The key of the HMAC-SHA256 signature of each rest-hook notification (Subscription.channel.extension), kept by the server, never served back. */
export const SIGNING_SECRET_EXTENSION = 'http://densaulyq.kz/fhir/StructureDefinition/subscription-signing-secret';

/** The header carrying the signature: `sha256=` and the hex HMAC of the body, as WebSub's `X-Hub-Signature-256`. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';
