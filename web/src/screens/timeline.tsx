import type { Bundle, Organization } from '@medplum/fhirtypes';
import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bundleResources } from '../fhir/client.js';
import { conceptText, referenceId } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, ErrorMessage } from '../ui/states.js';
import { KINDS, type Kind, RESOURCE_TYPE, type Stream, type TimelineResource, entryDate, entryOrganizations, kindOf, nextLink, timelineSearch, visibleEntries } from './timeline/logic.js';
import './timeline/timeline.css';

/** Entries per page of each kind. */
const PAGE = 10;

async function loadFirst({ search, patientId }: Fhir, kinds: readonly Kind[], organization: string | undefined): Promise<Stream[]> {
  if (!patientId) return [];
  return Promise.all(
    kinds.map(async (kind) => {
      const { resources, bundle } = await search<TimelineResource>(RESOURCE_TYPE[kind], timelineSearch(kind, patientId, organization, PAGE));
      const next = nextLink(bundle);
      return { entries: resources, ...(next ? { next } : {}) };
    }),
  );
}

/** Encounters, documents and test reports newest first, filtered on the server by kind and organization, paged. */
export default function Timeline() {
  const { t } = useTranslation('timeline');
  const [kind, setKind] = useState<Kind | ''>('');
  const [organization, setOrganization] = useState('');
  const organizations = useOrganizationNames();
  const kinds = kind ? [kind] : KINDS;
  const data = useFhirData((fhir) => loadFirst(fhir, kinds, organization || undefined), [kind, organization]);
  const kindId = useId();
  const orgId = useId();
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <fieldset className="card timeline-filters">
        <legend>{t('filters')}</legend>
        <label htmlFor={kindId}>{t('kind')}</label>
        <select id={kindId} value={kind} onChange={(e) => setKind(e.target.value as Kind | '')}>
          <option value="">{t('allKinds')}</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`kindsPlural.${k}`)}
            </option>
          ))}
        </select>
        <label htmlFor={orgId}>{t('organization')}</label>
        <select id={orgId} value={organization} onChange={(e) => setOrganization(e.target.value)}>
          <option value="">{t('allOrganizations')}</option>
          {[...organizations.names].map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
      </fieldset>
      <Async data={data} isEmpty={(streams) => streams.every((s) => s.entries.length === 0)} empty={t('empty')}>
        {(streams) => <Feed key={`${kind}|${organization}`} first={streams} organizations={organizations} />}
      </Async>
    </section>
  );
}

interface OrganizationNames {
  names: ReadonlyMap<string, string>;
  learn(entries: readonly TimelineResource[]): void;
}

/**
 * The organizations the timeline has met, by id, named by the reference's display or else read
 * once; kept across filters so choosing one does not empty the list of the others.
 */
function useOrganizationNames(): OrganizationNames {
  const { read } = useFhir();
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  const [unknown, setUnknown] = useState<string[]>([]);
  useEffect(() => {
    if (unknown.length === 0) return;
    let current = true;
    Promise.all(unknown.map((id) => read<Organization>('Organization', id).then((o) => [id, o.name ?? id] as const, () => [id, id] as const))).then((found) => {
      if (current) setNames((known) => new Map([...known, ...found]));
    });
    return () => {
      current = false;
    };
  }, [unknown, read]);
  const learn = (entries: readonly TimelineResource[]) => {
    const refs = entries.flatMap(entryOrganizations);
    const named = refs.flatMap((r) => {
      const id = referenceId(r, 'Organization');
      return id && r.display && !names.has(id) ? [[id, r.display] as const] : [];
    });
    if (named.length > 0) setNames((known) => new Map([...known, ...named]));
    const missing = [...new Set(refs.filter((r) => !r.display).map((r) => referenceId(r, 'Organization')).filter((id): id is string => id !== undefined && !names.has(id)))];
    if (missing.some((id) => !unknown.includes(id))) setUnknown(missing);
  };
  return { names, learn };
}

function Feed({ first, organizations }: { first: Stream[]; organizations: OrganizationNames }) {
  const { t } = useTranslation('timeline');
  const { client } = useFhir();
  const [streams, setStreams] = useState(first);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const { entries, more } = visibleEntries(streams);
  const { learn } = organizations;
  useEffect(() => learn(streams.flatMap((s) => s.entries)), [streams]);

  // Only the kinds whose shown entries reach their loaded end need their next page.
  const showMore = async () => {
    setLoading(true);
    setError(undefined);
    try {
      const oldestShown = entryDate(entries[entries.length - 1]!) ?? '';
      const next = await Promise.all(
        streams.map(async (stream) => {
          const last = stream.entries[stream.entries.length - 1];
          if (!stream.next || (last && (entryDate(last) ?? '') < oldestShown)) return stream;
          const bundle = await client.request<Bundle>(stream.next);
          const following = nextLink(bundle);
          return { entries: [...stream.entries, ...bundleResources<TimelineResource>(bundle).matches], ...(following ? { next: following } : {}) };
        }),
      );
      setStreams(next);
    } catch (caught) {
      setError(caught);
    } finally {
      setLoading(false);
    }
  };

  return (
    <>
      <ol className="timeline" aria-label={t('title')}>
        {entries.map((entry) => (
          <Entry key={`${entry.resourceType}/${entry.id}`} entry={entry} organizations={organizations.names} />
        ))}
      </ol>
      <p className="item-meta" aria-live="polite">
        {t('shown', { n: entries.length })}
      </p>
      {error !== undefined && <ErrorMessage error={error} onRetry={showMore} />}
      {more && (
        <button type="button" onClick={showMore} disabled={loading} aria-busy={loading}>
          {loading ? t('loadingMore') : t('more')}
        </button>
      )}
    </>
  );
}

function Entry({ entry, organizations }: { entry: TimelineResource; organizations: ReadonlyMap<string, string> }) {
  const { t } = useTranslation('timeline');
  const { locale } = useFhir();
  const kind = kindOf(entry);
  const date = entryDate(entry);
  const orgs = entryOrganizations(entry).map((r) => organizations.get(referenceId(r, 'Organization') ?? '') ?? r.display).filter((n): n is string => Boolean(n));
  const { title, details, who } = describe(entry);
  return (
    <li className={`card timeline-entry timeline-${kind}`}>
      <p className="timeline-when">
        <span className="timeline-kind">{t(`kinds.${kind}`)}</span> · {date ? <time dateTime={date}>{formatDate(date, locale, true)}</time> : t('undated')}
        {entry.resourceType === 'Encounter' && entry.status in STATUSES && <> · {t(`status.${entry.status}`)}</>}
      </p>
      <h2 className="timeline-title">{title ?? t(`kinds.${kind}`)}</h2>
      {details.length > 0 && <p>{details.join(' · ')}</p>}
      {orgs.length > 0 && <p className="item-meta">{t('at', { organization: [...new Set(orgs)].join(', ') })}</p>}
      {who && <p className="item-meta">{t('by', { who })}</p>}
    </li>
  );
}

const STATUSES: Record<string, true> = { planned: true, arrived: true, triaged: true, 'in-progress': true, onleave: true, finished: true, cancelled: true };

/** What an entry is about, as the record words it. */
function describe(entry: TimelineResource): { title?: string; details: string[]; who?: string } {
  switch (entry.resourceType) {
    case 'Encounter': {
      const title = conceptText(entry.type?.[0]) ?? conceptText(entry.serviceType) ?? entry.class?.display;
      const details = [...(entry.reasonCode ?? []).map(conceptText), ...(entry.diagnosis ?? []).map((d) => d.condition?.display)].filter((s): s is string => Boolean(s));
      const who = entry.participant?.map((p) => p.individual?.display).filter(Boolean).join(', ');
      return { ...(title ? { title } : {}), details, ...(who ? { who } : {}) };
    }
    case 'DocumentReference': {
      const title = entry.description ?? conceptText(entry.type) ?? entry.content?.[0]?.attachment?.title;
      const details = (entry.category ?? []).map(conceptText).filter((s): s is string => Boolean(s) && s !== title);
      const who = entry.author?.filter((a) => !a.reference?.startsWith('Organization/')).map((a) => a.display).filter(Boolean).join(', ');
      return { ...(title ? { title } : {}), details, ...(who ? { who } : {}) };
    }
    case 'DiagnosticReport': {
      const title = conceptText(entry.code);
      const details = [entry.conclusion, ...(entry.conclusionCode ?? []).map(conceptText)].filter((s): s is string => Boolean(s));
      return { ...(title ? { title } : {}), details };
    }
  }
}
