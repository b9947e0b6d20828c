import type { Organization, Practitioner } from '@medplum/fhirtypes';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { curlExample } from '../auth/session.js';
import { nameText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async } from '../ui/states.js';

async function loadStaff({ read, session }: Fhir) {
  const practitionerId = session.fhirUser?.startsWith('Practitioner/') ? session.fhirUser.slice('Practitioner/'.length) : undefined;
  const [practitioner, organization] = await Promise.all([
    practitionerId ? read<Practitioner>('Practitioner', practitionerId).catch(() => undefined) : undefined,
    session.organization ? read<Organization>('Organization', session.organization).catch(() => undefined) : undefined,
  ]);
  return { practitioner, organization };
}

/**
 * The one page staff get for now (issue 15): who they are, what the door lets their role see,
 * and their access token with a `curl` example, so a developer gets a token without the server's console.
 */
export default function Staff() {
  const { t } = useTranslation();
  const fhir = useFhir();
  const { session, locale, client } = fhir;
  const data = useFhirData(loadStaff);
  const curl = curlExample(client.baseUrl, session.accessToken);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('staff.title')}</h1>
      <article className="card" aria-labelledby="staff-who">
        <h2 id="staff-who">{t('staff.who')}</h2>
        <Async data={data}>
          {({ practitioner, organization }) => (
            <dl className="facts">
              {practitioner && (
                <div>
                  <dt>{t('staff.username')}</dt>
                  <dd>{nameText(practitioner.name)}</dd>
                </div>
              )}
              <div>
                <dt>{t('staff.role')}</dt>
                <dd data-testid="staff-role">{t(`roles.${session.role}`, { defaultValue: session.role })}</dd>
              </div>
              {session.organization && (
                <div>
                  <dt>{t('staff.organization')}</dt>
                  <dd>{organization?.name ?? session.organization}</dd>
                </div>
              )}
              {session.region && (
                <div>
                  <dt>{t('staff.region')}</dt>
                  <dd>{session.region}</dd>
                </div>
              )}
            </dl>
          )}
        </Async>
      </article>
      <article className="card" aria-labelledby="staff-what">
        <h2 id="staff-what">{t('staff.what')}</h2>
        <p>{t(`roleExplained.${session.role}`, { defaultValue: '' })}</p>
        <p>{t('staff.workspace')}</p>
      </article>
      <article className="card" aria-labelledby="staff-token">
        <h2 id="staff-token">{t('staff.token')}</h2>
        <p>{t('staff.tokenHint', { time: formatDate(new Date(session.expiresAt).toISOString(), locale, true) })}</p>
        <Copyable id="access-token" label={t('staff.token')} text={session.accessToken} />
        <h3>{t('staff.curl')}</h3>
        <Copyable id="curl-example" label={t('staff.curl')} text={curl} />
      </article>
    </section>
  );
}

function Copyable({ id, label, text }: { id: string; label: string; text: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(text);
    setCopied(true);
  };
  return (
    <div className="copyable">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <textarea id={id} readOnly value={text} rows={4} spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={copy}>
        {t('staff.copy')}
      </button>
      <span role="status" aria-live="polite">
        {copied ? t('staff.copied') : ''}
      </span>
    </div>
  );
}
