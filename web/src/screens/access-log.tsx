import type { AuditEvent, Bundle, Organization } from '@medplum/fhirtypes';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bundleResources } from '../fhir/client.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, ErrorMessage, Loading } from '../ui/states.js';
import { type AccessEntry, accessEntry } from './access-log/entries.js';

/** Entries per page of the log. */
const PAGE_SIZE = 20;

interface Page {
  events: AuditEvent[];
  next: string | undefined;
}

async function page(fhir: Fhir, url?: string): Promise<Page> {
  const bundle = url
    ? await fhir.client.request<Bundle>(url)
    : await fhir.operation<Bundle>(`Patient/${encodeURIComponent(fhir.patientId ?? '')}/$access-log`, { params: { _count: PAGE_SIZE } });
  return { events: bundleResources<AuditEvent>(bundle).matches, next: bundle.link?.find((l) => l.relation === 'next')?.url };
}

/** Organization names by id; one the citizen may not read keeps the name the log gave. */
async function organizationNames(fhir: Fhir, entries: AccessEntry[], known: Map<string, string>): Promise<Map<string, string>> {
  const ids = [...new Set(entries.map((e) => e.organizationId).filter((id): id is string => id !== undefined && !known.has(id)))];
  const found = await Promise.all(ids.map((id) => fhir.read<Organization>('Organization', id).then((o) => [id, o.name] as const, () => [id, undefined] as const)));
  const names = new Map(known);
  for (const [id, name] of found) if (name) names.set(id, name);
  return names;
}

/** Who accessed my record: `Patient/[id]/$access-log`, newest first, paged (issue 15). */
export default function AccessLog() {
  const { t } = useTranslation('access-log');
  const fhir = useFhir();
  const { locale } = fhir;
  const [more, setMore] = useState<{ events: AuditEvent[]; next: string | undefined; names: Map<string, string> } | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>();
  const data = useFhirData(async (f) => {
    setMore(undefined);
    const first = await page(f);
    const names = await organizationNames(f, first.events.map((e) => accessEntry(e, f.locale)), new Map());
    return { ...first, names };
  });

  const showMore = async (current: { events: AuditEvent[]; next: string | undefined; names: Map<string, string> }) => {
    if (!current.next) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const next = await page(fhir, current.next);
      const names = await organizationNames(fhir, next.events.map((e) => accessEntry(e, locale)), current.names);
      setMore({ events: [...current.events, ...next.events], next: next.next, names });
    } catch (error) {
      setMoreError(error);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data} isEmpty={(value) => value.events.length === 0} empty={t('empty')}>
        {(first) => {
          const shown = more ?? first;
          return (
            <>
              <ul className="items access-log">
                {shown.events.map((event) => {
                  const entry = accessEntry(event, locale);
                  const organization = (entry.organizationId && shown.names.get(entry.organizationId)) ?? entry.organizationName ?? t('unknown');
                  return (
                    <li key={entry.id} className={entry.flags.length > 0 ? 'card access-flagged' : 'card'}>
                      {entry.flags.length > 0 && (
                        <ul className="access-flags">
                          {entry.flags.map((flag) => (
                            <li key={flag}>
                              <strong>
                                <span aria-hidden="true">⚠ </span>
                                {t(`flags.${flag}`)}
                              </strong>
                            </li>
                          ))}
                        </ul>
                      )}
                      <dl>
                        <div>
                          <dt>{t('when')}</dt>
                          <dd>
                            <time dateTime={entry.recorded}>{formatDate(entry.recorded, locale, true) ?? t('unknown')}</time>
                          </dd>
                        </div>
                        <div>
                          <dt>{t('organization')}</dt>
                          <dd>{organization}</dd>
                        </div>
                        <div>
                          <dt>{t('person')}</dt>
                          <dd>{entry.person ?? t('unknown')}</dd>
                        </div>
                        {entry.purposes.length > 0 && (
                          <div>
                            <dt>{t('why')}</dt>
                            <dd>{entry.purposes.join(', ')}</dd>
                          </div>
                        )}
                        {entry.what && (
                          <div>
                            <dt>{t('what')}</dt>
                            <dd>{entry.what}</dd>
                          </div>
                        )}
                      </dl>
                      {entry.reason && <p>{entry.reason}</p>}
                    </li>
                  );
                })}
              </ul>
              {moreError !== undefined && <ErrorMessage error={moreError} onRetry={() => void showMore(shown)} />}
              {loadingMore ? (
                <Loading />
              ) : (
                shown.next && (
                  <button type="button" onClick={() => void showMore(shown)}>
                    {t('more')}
                  </button>
                )
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}
