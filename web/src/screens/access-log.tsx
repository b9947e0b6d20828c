import type { Bundle, AuditEvent, Organization, Practitioner } from '@medplum/fhirtypes';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ACCESS_BASIS_DISPLAY, ACCESS_ROLE_DISPLAY, PURPOSE_OF_USE_DISPLAY } from '../../../src/access/audit-vocabulary.js';
import { bundleResources } from '../fhir/client.js';
import { nameText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, ErrorMessage, Loading } from '../ui/states.js';
import { type Access, type Notice, accessOf, referencesToName } from './access-log/logic.js';
import './access-log/access-log.css';

/** Entries per page: a phone screen or two. */
const PAGE_SIZE = 20;

interface Page {
  accesses: Access[];
  /** Names of the organizations and practitioners on the page, by reference. */
  names: Map<string, string>;
  next: string | undefined;
}

async function readPage(fhir: Fhir, bundle: Bundle): Promise<Page> {
  const accesses = bundleResources<AuditEvent>(bundle).matches.map(accessOf);
  const names = new Map<string, string>();
  // A name that cannot be read (gone, or not for the citizen to see) leaves the reference's place to plain words.
  await Promise.all(
    referencesToName(accesses).map(async (reference) => {
      const resource = await fhir.client.request<Organization | Practitioner>(reference).catch(() => undefined);
      const name = resource?.resourceType === 'Organization' ? resource.name : resource?.resourceType === 'Practitioner' ? nameText(resource.name) : undefined;
      if (name) names.set(reference, name);
    }),
  );
  return { accesses, names, next: bundle.link?.find((l) => l.relation === 'next')?.url };
}

async function loadFirstPage(fhir: Fhir): Promise<Page> {
  if (!fhir.patientId) return { accesses: [], names: new Map(), next: undefined };
  const bundle = await fhir.operation<Bundle>(`Patient/${encodeURIComponent(fhir.patientId)}/$access-log`, { params: { _count: PAGE_SIZE } });
  return readPage(fhir, bundle);
}

/** Who accessed the record (`Patient/[id]/$access-log`), newest first, one page at a time. */
export default function AccessLog() {
  const { t } = useTranslation('access-log');
  const data = useFhirData(loadFirstPage);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data} isEmpty={(page) => page.accesses.length === 0} empty={t('empty')}>
        {(first) => <Log first={first} />}
      </Async>
    </section>
  );
}

function Log({ first }: { first: Page }) {
  const { t } = useTranslation('access-log');
  const fhir = useFhir();
  const [pages, setPages] = useState<Page[]>([first]);
  const [more, setMore] = useState<{ status: 'idle' | 'loading' } | { status: 'error'; error: unknown }>({ status: 'idle' });
  useEffect(() => setPages([first]), [first]);
  const next = pages[pages.length - 1]?.next;
  const names = new Map(pages.flatMap((p) => [...p.names]));
  const loadMore = async () => {
    if (!next) return;
    setMore({ status: 'loading' });
    try {
      const page = await readPage(fhir, await fhir.client.request<Bundle>(next));
      setPages((list) => [...list, page]);
      setMore({ status: 'idle' });
    } catch (error) {
      setMore({ status: 'error', error });
    }
  };
  const [showOwn, setShowOwn] = useState(false);
  const all = pages.flatMap((p) => p.accesses);
  // The citizen's own looks (and their representatives') are most of the log: shown on request, so others' stand out.
  const accesses = showOwn ? all : all.filter((a) => a.role !== 'citizen');
  const ownHidden = all.length - accesses.length;
  return (
    <>
      <p className="access-own">
        <input id="show-own" type="checkbox" checked={showOwn} onChange={(e) => setShowOwn(e.target.checked)} />
        <label htmlFor="show-own">{t('showOwn')}</label>
      </p>
      {ownHidden > 0 && <p className="item-meta">{t('ownHidden', { n: ownHidden })}</p>}
      <ol className="access-log" aria-label={t('listLabel')}>
        {accesses.map((access) => (
          <AccessEntry key={access.id} access={access} names={names} />
        ))}
      </ol>
      {more.status === 'loading' && <Loading />}
      {more.status === 'error' && <ErrorMessage error={more.error} onRetry={loadMore} />}
      {next && more.status === 'idle' && (
        <button type="button" onClick={loadMore}>
          {t('more')}
        </button>
      )}
      {!next && <p className="item-meta">{t('end')}</p>}
    </>
  );
}

function AccessEntry({ access, names }: { access: Access; names: Map<string, string> }) {
  const { t } = useTranslation('access-log');
  const { locale, patientId } = useFhir();
  const organization = access.organization ? (names.get(`Organization/${access.organization}`) ?? t('unknownOrganization')) : undefined;
  const person =
    access.person === `Patient/${patientId}`
      ? t('you')
      : access.person?.startsWith('Practitioner/')
        ? (names.get(access.person) ?? t('unknownPerson'))
        : (access.recipient ?? (access.person?.startsWith('Patient/') ? t('representative') : t('unknownPerson')));
  const role = access.role && access.role in ACCESS_ROLE_DISPLAY ? ACCESS_ROLE_DISPLAY[access.role as keyof typeof ACCESS_ROLE_DISPLAY][locale] : undefined;
  const purposes = access.purposes.map((code) => PURPOSE_OF_USE_DISPLAY[code]?.[locale] ?? code);
  const heading = organization ?? person;
  return (
    <li className={`card access${access.notices.length ? ' access-notice' : ''}${access.refused ? ' access-refused' : ''}`} data-outcome={access.refused ? 'refused' : 'ok'}>
      <h2 className="access-who">{heading}</h2>
      {access.notices.length > 0 && (
        <ul className="notices">
          {access.notices.map((notice) => (
            <li key={notice} className={`notice notice-${notice}`}>
              <span aria-hidden="true">{notice === 'refused' ? '⛔ ' : '⚠ '}</span>
              <NoticeText notice={notice} />
            </li>
          ))}
        </ul>
      )}
      <dl className="access-facts">
        <div>
          <dt>{t('when')}</dt>
          <dd>
            <time dateTime={access.recorded}>{formatDate(access.recorded, locale, true)}</time>
          </dd>
        </div>
        <div>
          <dt>{t('who')}</dt>
          <dd>{[person, role].filter(Boolean).join(', ')}</dd>
        </div>
        {organization && (
          <div>
            <dt>{t('organization')}</dt>
            <dd>{organization}</dd>
          </div>
        )}
        <div>
          <dt>{t('why')}</dt>
          <dd>{purposes.length ? purposes.join(', ') : t('noPurpose')}</dd>
        </div>
        {access.reason && (
          <div>
            <dt>{t('reason')}</dt>
            <dd>{access.reason}</dd>
          </div>
        )}
        <div>
          <dt>{t('what')}</dt>
          <dd>{whatText(access, t)}</dd>
        </div>
      </dl>
    </li>
  );
}

function NoticeText({ notice }: { notice: Notice }) {
  const { t } = useTranslation('access-log');
  const { locale } = useFhir();
  switch (notice) {
    case 'break-glass':
      return <>{t('breakGlass')}</>;
    case 'self-declared':
      return <>{ACCESS_BASIS_DISPLAY['self-declared'][locale]}</>;
    case 'shared-link':
      return <>{ACCESS_BASIS_DISPLAY['shared-link'][locale]}</>;
    case 'refused':
      return <>{ACCESS_BASIS_DISPLAY['consent-refused'][locale]}</>;
  }
}

/** What was done, in words: the interaction, then the kinds of data touched. */
function whatText(access: Access, t: (key: string, options?: Record<string, unknown>) => string): string {
  const known = ['read', 'vread', 'search-type', 'search-system', 'history-instance', 'create', 'update', 'patch', 'delete', '$everything', '$summary', '$break-glass', '$access-log'];
  const action = access.interaction && known.includes(access.interaction) ? t(`action.${access.interaction}`) : t('action.other');
  const kinds = access.what.filter((type) => type !== 'Patient').map((type) => t(`resource.${type}`, { defaultValue: type }));
  return kinds.length ? `${action}: ${[...new Set(kinds)].join(', ')}` : action;
}
