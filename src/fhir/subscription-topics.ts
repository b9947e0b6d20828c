import { storedRows } from './derived-index.js';
import type { IndexRows } from './search-parameters.js';

/**
 * The subscription topics Densaulyq serves (Subscriptions R5 Backport IG, STU 1.1:
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/topics.html), as pure data: which writes
 * trigger each topic and by which search parameters a Subscription may filter it. The store
 * matches writes against them (src/store/subscriptions.ts); src/exchange serves them as resources.
 */

export const TOPIC_BASE = 'http://densaulyq.kz/fhir/SubscriptionTopic';

/** A condition on one search parameter's index values: any of `values` (a token's code or `system|code`, a reference `Type/id`). */
export interface CriteriaCondition {
  code: string;
  values: string[];
}

/** One resource type a Subscription receives, and the conditions (all of them) a written version must meet. */
export interface CriteriaAlternative {
  resourceType: string;
  conditions: CriteriaCondition[];
}

/**
 * The one chained filter: the patient's primary-care organization (Patient.generalPractitioner),
 * for "a patient attached to my organization". Resolved by the store from the Patient's index.
 */
export const ATTACHED_TO = 'patient.general-practitioner';

/** A filter the topic allows (SubscriptionTopic.canFilterBy); `scope` filters name whom the events are about and one is required. */
export interface TopicFilter {
  resourceType: string;
  parameter: string;
  kind: 'reference' | 'token';
  scope?: 'patient' | 'organization';
  description: string;
}

export interface SubscriptionTopic {
  id: string;
  url: string;
  title: { kk: string; ru: string; en: string };
  description: string;
  /** SubscriptionTopic.resourceTrigger: the types, created or updated, with the conditions the topic itself sets. */
  triggers: CriteriaAlternative[];
  filters: TopicFilter[];
}

const FINAL_RESULT = { code: 'status', values: ['final', 'amended', 'corrected'] };

export const SUBSCRIPTION_TOPICS: readonly SubscriptionTopic[] = [
  {
    id: 'document',
    url: `${TOPIC_BASE}/document`,
    title: { kk: 'Пациенттің жаңа құжаты', ru: 'Новый документ пациента', en: 'New document for a patient' },
    description: 'A DocumentReference created or updated for a patient.',
    triggers: [{ resourceType: 'DocumentReference', conditions: [] }],
    filters: [
      { resourceType: 'DocumentReference', parameter: 'patient', kind: 'reference', scope: 'patient', description: 'The patient the document is about (Patient/id).' },
      { resourceType: 'DocumentReference', parameter: ATTACHED_TO, kind: 'reference', scope: 'organization', description: 'The organization the patient is attached to for primary care (Organization/id).' },
      { resourceType: 'DocumentReference', parameter: 'type', kind: 'token', description: 'The kind of document.' },
    ],
  },
  {
    id: 'referral',
    url: `${TOPIC_BASE}/referral`,
    title: { kk: 'Ұйымға жолдама', ru: 'Направление в организацию', en: 'Referral addressed to an organization' },
    description: 'A Task (Task.owner) or ServiceRequest (ServiceRequest.performer) addressed to an organization, created or updated.',
    triggers: [
      { resourceType: 'Task', conditions: [] },
      { resourceType: 'ServiceRequest', conditions: [] },
    ],
    filters: [
      { resourceType: 'Task', parameter: 'owner', kind: 'reference', scope: 'organization', description: 'The organization the task is addressed to (Organization/id).' },
      { resourceType: 'Task', parameter: 'status', kind: 'token', description: 'The task status.' },
      { resourceType: 'ServiceRequest', parameter: 'performer', kind: 'reference', scope: 'organization', description: 'The organization asked to perform (Organization/id).' },
      { resourceType: 'ServiceRequest', parameter: 'status', kind: 'token', description: 'The request status.' },
    ],
  },
  {
    id: 'lab-result',
    url: `${TOPIC_BASE}/lab-result`,
    title: { kk: 'Пациенттің зертханалық нәтижесі', ru: 'Лабораторный результат пациента', en: 'Lab result for a patient' },
    description: 'A laboratory DiagnosticReport or Observation made final, amended or corrected.',
    triggers: [
      { resourceType: 'DiagnosticReport', conditions: [{ code: 'category', values: ['LAB', 'laboratory'] }, FINAL_RESULT] },
      { resourceType: 'Observation', conditions: [{ code: 'category', values: ['laboratory'] }, FINAL_RESULT] },
    ],
    filters: [
      { resourceType: 'DiagnosticReport', parameter: 'patient', kind: 'reference', scope: 'patient', description: 'The patient (Patient/id).' },
      { resourceType: 'DiagnosticReport', parameter: ATTACHED_TO, kind: 'reference', scope: 'organization', description: 'The organization the patient is attached to (Organization/id).' },
      { resourceType: 'DiagnosticReport', parameter: 'code', kind: 'token', description: 'The report code.' },
      { resourceType: 'Observation', parameter: 'patient', kind: 'reference', scope: 'patient', description: 'The patient (Patient/id).' },
      { resourceType: 'Observation', parameter: ATTACHED_TO, kind: 'reference', scope: 'organization', description: 'The organization the patient is attached to (Organization/id).' },
      { resourceType: 'Observation', parameter: 'code', kind: 'token', description: 'The test code.' },
    ],
  },
];

/** The types whose writes may trigger a topic: writes of others never look for subscriptions. */
export const TOPIC_RESOURCE_TYPES: ReadonlySet<string> = new Set(SUBSCRIPTION_TOPICS.flatMap((t) => t.triggers.map((r) => r.resourceType)));

export function topicByUrl(url: string): SubscriptionTopic | undefined {
  return SUBSCRIPTION_TOPICS.find((topic) => topic.url === url.split('|')[0]);
}

/**
 * Whether a version with these index rows meets one of `alternatives` (its type's, all
 * conditions); `attachedTo`: its patient's primary-care organizations, for ATTACHED_TO.
 */
export function matchesCriteria(alternatives: readonly CriteriaAlternative[], resourceType: string, index: IndexRows, attachedTo: readonly string[] = []): boolean {
  return alternatives.some(
    (alternative) => alternative.resourceType === resourceType && alternative.conditions.every((condition) => meets(condition, resourceType, index, attachedTo)),
  );
}

/** Whether any of `alternatives` filters by ATTACHED_TO: the store then looks up the patient's attachment. */
export function needsAttachment(alternatives: readonly CriteriaAlternative[]): boolean {
  return alternatives.some((alternative) => alternative.conditions.some((condition) => condition.code === ATTACHED_TO));
}

function meets(condition: CriteriaCondition, resourceType: string, index: IndexRows, attachedTo: readonly string[]): boolean {
  if (condition.code === ATTACHED_TO) return condition.values.some((value) => attachedTo.includes(value));
  // `patient` has no reference rows of its own: they are `subject`'s to a Patient (storedRows); its identifier rows are its own.
  const { codes, targetType } = storedRows(resourceType, condition.code);
  const references = index.reference
    .filter(([code, type]) => codes.includes(code) && (!targetType || type === targetType))
    .map(([, type, id, reference]) => (type && id ? `${type}/${id}` : reference));
  const tokenCodes = targetType ? [condition.code] : codes;
  const tokens = index.token.filter(([code]) => tokenCodes.includes(code)).flatMap(([, system, value]) => (value === null ? [] : [value, `${system ?? ''}|${value}`]));
  return condition.values.some((value) => references.includes(value) || tokens.includes(value));
}
