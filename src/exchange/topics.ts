import type { Basic, Extension } from '@medplum/fhirtypes';
import { SUBSCRIPTION_TOPICS, type SubscriptionTopic } from '../fhir/subscription-topics.js';
import { TOPIC_EXTENSION } from './backport.js';

/**
 * The built-in topics as R4 resources: a Basic per topic with R5 SubscriptionTopic's elements as
 * cross-version extensions (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/topics.html#topics-in-fhir-r4).
 * Served read-only (src/rest/conformance-resources.ts); clients do not write topics.
 */
function element(name: string, value: Omit<Extension, 'url'>): Extension {
  return { url: `${TOPIC_EXTENSION}.${name}`, ...value };
}

const part = (url: string, value: Omit<Extension, 'url'>): Extension => ({ url, ...value });

function topicBasic(topic: SubscriptionTopic): Basic {
  const translations = (['kk', 'ru'] as const).map((lang) => ({
    url: 'http://hl7.org/fhir/StructureDefinition/translation',
    extension: [part('lang', { valueCode: lang }), part('content', { valueString: topic.title[lang] })],
  }));
  return {
    resourceType: 'Basic',
    id: `topic-${topic.id}`,
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
    extension: [
      element('url', { valueUri: topic.url }),
      element('version', { valueString: '1' }),
      element('title', { valueString: topic.title.en, _valueString: { extension: translations } } as Omit<Extension, 'url'>),
      element('status', { valueCode: 'active' }),
      element('description', { valueMarkdown: topic.description }),
      ...topic.triggers.map((trigger) =>
        element('resourceTrigger', {
          extension: [
            part('resource', { valueUri: `http://hl7.org/fhir/StructureDefinition/${trigger.resourceType}` }),
            part('supportedInteraction', { valueCode: 'create' }),
            part('supportedInteraction', { valueCode: 'update' }),
            ...(trigger.conditions.length
              ? [part('queryCriteria', { extension: [part('current', { valueString: trigger.conditions.map((c) => `${c.code}=${c.values.join(',')}`).join('&') })] })]
              : []),
          ],
        }),
      ),
      ...topic.filters.map((filter) =>
        element('canFilterBy', {
          extension: [
            part('description', { valueMarkdown: filter.description + (filter.scope ? ' Required.' : '') }),
            part('resource', { valueUri: filter.resourceType }),
            part('filterParameter', { valueString: filter.parameter }),
          ],
        }),
      ),
      ...[...new Set(topic.triggers.map((t) => t.resourceType))].map((type) => element('notificationShape', { extension: [part('resource', { valueUri: type })] })),
    ],
  };
}

/** The topics' Basic resources, by id. */
export const TOPIC_RESOURCES: ReadonlyMap<string, Basic> = new Map(SUBSCRIPTION_TOPICS.map((topic) => [`topic-${topic.id}`, topicBasic(topic)]));

/** The canonical URLs the CapabilityStatement lists on Subscription. */
export const TOPIC_URLS: readonly string[] = SUBSCRIPTION_TOPICS.map((topic) => topic.url);
