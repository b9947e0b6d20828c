import type { Consent, Organization } from '@medplum/fhirtypes';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, Empty, ErrorMessage, Loading } from '../ui/states.js';
import { SENSITIVE_CATEGORIES, type Rule, blockConsent, ended, hideConsent, rulesOf } from './privacy/logic.js';
import './privacy/privacy.css';

/** Organizations offered for one search: enough to find one by the start of its name. */
const SEARCH_COUNT = 20;

async function loadRules(fhir: Fhir) {
  if (!fhir.patientId) return { rules: [], names: new Map<string, string>() };
  const { resources } = await fhir.search<Consent>('Consent', { patient: fhir.patientId, status: 'active', _count: 100 }, { all: true, max: 1000 });
  const rules = rulesOf(resources);
  const names = new Map<string, string>();
  await Promise.all(
    [...new Set(rules.flatMap((r) => (r.kind === 'block' ? [r.organization] : [])))].map(async (id) => {
      const organization = await fhir.read<Organization>('Organization', id).catch(() => undefined);
      if (organization?.name) names.set(id, organization.name);
    }),
  );
  return { rules, names };
}

type Action = { status: 'idle' } | { status: 'busy' } | { status: 'done'; message: string } | { status: 'error'; error: unknown };

/** Privacy: block or unblock organizations and hide sensitive categories (Consent), each with what it does in plain words. */
export default function Privacy() {
  const { t } = useTranslation('privacy');
  const fhir = useFhir();
  const data = useFhirData(loadRules);
  const [action, setAction] = useState<Action>({ status: 'idle' });

  /** Creates or ends a Consent, then reads back what is in force. */
  const act = async (run: () => Promise<unknown>, message: string) => {
    setAction({ status: 'busy' });
    try {
      await run();
      setAction({ status: 'done', message });
      data.reload();
    } catch (error) {
      setAction({ status: 'error', error });
    }
  };
  const create = (consent: Consent) => fhir.client.request('Consent', { method: 'POST', body: consent });
  const end = (consent: Consent) => fhir.client.request(`Consent/${encodeURIComponent(consent.id ?? '')}`, { method: 'PUT', body: ended(consent) });

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <div aria-live="polite" className="privacy-status">
        {action.status === 'busy' && <Loading label={t('saving')} />}
        {action.status === 'done' && (
          <p className="state privacy-done" role="status">
            ✓ {action.message}
          </p>
        )}
      </div>
      {action.status === 'error' && <ErrorMessage error={action.error} />}
      <Async data={data}>
        {({ rules, names }) => {
          const patient = fhir.patientId ?? '';
          const orgName = (id: string) => names.get(id) ?? t('unknownOrganization');
          const blocked = rules.filter((r): r is Extract<Rule, { kind: 'block' }> => r.kind === 'block');
          const hidden = rules.filter((r): r is Extract<Rule, { kind: 'hide' }> => r.kind === 'hide');
          const busy = action.status === 'busy';
          return (
            <>
              <section aria-labelledby="in-force" className="card">
                <h2 id="in-force">{t('inForce')}</h2>
                {rules.length === 0 ? (
                  <Empty>{t('nothingInForce')}</Empty>
                ) : (
                  <ul className="items rules">
                    {blocked.map((rule) => (
                      <li key={`${rule.consent.id}-${rule.organization}`} className="rule">
                        <span className="item-main">{t('blockedRule', { name: orgName(rule.organization) })}</span>
                        <span className="item-meta">{t('blockedEffect', { name: orgName(rule.organization) })}</span>
                        {rule.consent.meta?.lastUpdated && <span className="item-meta">{t('since', { date: formatDate(rule.consent.meta.lastUpdated, fhir.locale) })}</span>}
                        <button type="button" disabled={busy} onClick={() => act(() => end(rule.consent), t('unblocked', { name: orgName(rule.organization) }))}>
                          {t('unblock', { name: orgName(rule.organization) })}
                        </button>
                      </li>
                    ))}
                    {hidden.map((rule) => (
                      <li key={`${rule.consent.id}-${rule.label}`} className="rule">
                        <span className="item-main">{t('hiddenRule', { category: categoryName(t, rule.label) })}</span>
                        <span className="item-meta">{t('hiddenEffect')}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <BlockOrganization
                busy={busy}
                blocked={new Set(blocked.map((r) => r.organization))}
                onBlock={(organization) => act(() => create(blockConsent(patient, organization.id ?? '')), t('blocked', { name: organization.name ?? t('unknownOrganization') }))}
              />
              <section aria-labelledby="categories" className="card">
                <h2 id="categories">{t('categories')}</h2>
                <p>{t('categoriesIntro')}</p>
                <ul className="items categories">
                  {SENSITIVE_CATEGORIES.map((code) => {
                    const rulesHiding = hidden.filter((r) => r.label === code);
                    const name = categoryName(t, code);
                    return (
                      <li key={code} className="category" data-category={code}>
                        <span className="item-main">{name}</span>
                        <span className="item-meta">{rulesHiding.length ? t('categoryHidden') : t('categoryShown')}</span>
                        {rulesHiding.length ? (
                          <button type="button" disabled={busy} onClick={() => act(() => Promise.all(rulesHiding.map((r) => end(r.consent))), t('shownDone', { category: name }))}>
                            {t('show', { category: name })}
                          </button>
                        ) : (
                          <button type="button" disabled={busy} onClick={() => act(() => create(hideConsent(patient, code)), t('hiddenDone', { category: name }))}>
                            {t('hide', { category: name })}
                          </button>
                        )}
                      </li>
                    );
                  })}
                </ul>
              </section>
            </>
          );
        }}
      </Async>
    </section>
  );
}

function categoryName(t: (key: string) => string, code: string): string {
  return (SENSITIVE_CATEGORIES as readonly string[]).includes(code) ? t(`category.${code}`) : code;
}

/** Search organizations by name, choose one, read what blocking it does, confirm. */
function BlockOrganization({ busy, blocked, onBlock }: { busy: boolean; blocked: Set<string>; onBlock(organization: Organization): void }) {
  const { t } = useTranslation('privacy');
  const { search } = useFhir();
  const [name, setName] = useState('');
  const [found, setFound] = useState<{ status: 'idle' | 'loading' } | { status: 'done'; organizations: Organization[] } | { status: 'error'; error: unknown }>({ status: 'idle' });
  const [chosen, setChosen] = useState<Organization | undefined>();

  const find = async (event: FormEvent) => {
    event.preventDefault();
    setChosen(undefined);
    if (!name.trim()) return;
    setFound({ status: 'loading' });
    try {
      const { resources } = await search<Organization>('Organization', { name: name.trim(), _count: SEARCH_COUNT });
      setFound({ status: 'done', organizations: resources });
    } catch (error) {
      setFound({ status: 'error', error });
    }
  };

  return (
    <section aria-labelledby="block" className="card">
      <h2 id="block">{t('blockTitle')}</h2>
      <p>{t('blockIntro')}</p>
      <form className="org-search" role="search" onSubmit={find}>
        <label htmlFor="organization-name">{t('organizationName')}</label>
        <div className="org-search-row">
          <input id="organization-name" type="search" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
          <button type="submit">{t('search')}</button>
        </div>
      </form>
      {found.status === 'loading' && <Loading />}
      {found.status === 'error' && <ErrorMessage error={found.error} />}
      {found.status === 'done' &&
        (found.organizations.length === 0 ? (
          <Empty>{t('noneFound')}</Empty>
        ) : (
          <ul className="items organizations" aria-label={t('found')}>
            {found.organizations.map((organization) => (
              <li key={organization.id}>
                <span className="item-main">{organization.name}</span>
                {blocked.has(organization.id ?? '') ? (
                  <span className="item-meta">{t('alreadyBlocked')}</span>
                ) : (
                  <button type="button" onClick={() => setChosen(organization)} aria-expanded={chosen?.id === organization.id}>
                    {t('choose', { name: organization.name })}
                  </button>
                )}
              </li>
            ))}
          </ul>
        ))}
      {chosen && (
        <div className="confirm" role="group" aria-labelledby="confirm-title">
          <h3 id="confirm-title">{t('confirmTitle', { name: chosen.name })}</h3>
          <p>{t('blockedEffect', { name: chosen.name })}</p>
          <p>{t('emergencyNote')}</p>
          <div className="confirm-buttons">
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => {
                onBlock(chosen);
                setChosen(undefined);
                setFound({ status: 'idle' });
                setName('');
              }}
            >
              {t('confirmBlock', { name: chosen.name })}
            </button>
            <button type="button" onClick={() => setChosen(undefined)}>
              {t('cancel')}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
