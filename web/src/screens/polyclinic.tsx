import type { Bundle, Organization, Patient, Practitioner } from '@medplum/fhirtypes';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameText, referenceId } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, ErrorMessage } from '../ui/states.js';
import { type CareDeclaration, careDeclarations } from './polyclinic/declarations.js';

async function loadPolyclinic({ read, operation, patientId }: Fhir) {
  if (!patientId) return undefined;
  const path = `Patient/${encodeURIComponent(patientId)}`;
  const [patient, open] = await Promise.all([read<Patient>('Patient', patientId), operation<Bundle>(`${path}/$care-declarations`, { params: { status: 'open' } })]);
  const care = patient.generalPractitioner ?? [];
  const readable = <T extends Organization | Practitioner>(type: T['resourceType'], id: string | undefined) => (id ? read<T>(type, id).catch(() => undefined) : Promise.resolve(undefined));
  const [organizations, practitioners] = await Promise.all([
    Promise.all(care.map((r) => readable<Organization>('Organization', referenceId(r, 'Organization')))),
    Promise.all(care.map((r) => readable<Practitioner>('Practitioner', referenceId(r, 'Practitioner')))),
  ]);
  return { organizations: organizations.filter((o) => o !== undefined), practitioners: practitioners.filter((p) => p !== undefined), declarations: careDeclarations(open) };
}

/** My polyclinic: primary care now, and self-declared visits to confirm or dispute (`$confirm-care`, `$dispute-care`; issue 15). */
export default function Polyclinic() {
  const { t } = useTranslation('polyclinic');
  const fhir = useFhir();
  const data = useFhirData(loadPolyclinic);
  const [done, setDone] = useState<Record<string, 'confirmed' | 'disputed'>>({});
  const [error, setError] = useState<unknown>();

  const answer = async (declaration: CareDeclaration, choice: 'confirm' | 'dispute') => {
    setError(undefined);
    try {
      await fhir.operation(`Patient/${encodeURIComponent(fhir.patientId ?? '')}/$${choice}-care`, {
        body: { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: declaration.organization } }] },
      });
      setDone((d) => ({ ...d, [declaration.id]: choice === 'confirm' ? 'confirmed' : 'disputed' }));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <Async data={data} isEmpty={(value) => value === undefined}>
        {(clinic) =>
          clinic && (
            <>
              <article className="card" aria-labelledby="current-care">
                <h2 id="current-care">{t('current')}</h2>
                {clinic.organizations.length === 0 && clinic.practitioners.length === 0 ? (
                  <p>{t('none')}</p>
                ) : (
                  <dl>
                    {clinic.organizations.map((o) => (
                      <div key={o.id}>
                        <dt>{o.name}</dt>
                      </div>
                    ))}
                    {clinic.practitioners.map((p) => (
                      <div key={p.id}>
                        <dt>{t('doctor')}</dt>
                        <dd>{nameText(p.name)}</dd>
                      </div>
                    ))}
                  </dl>
                )}
              </article>
              <article className="card" aria-labelledby="declarations">
                <h2 id="declarations">{t('declarations')}</h2>
                <p>{t('declarationsIntro')}</p>
                {error !== undefined && <ErrorMessage error={error} />}
                {clinic.declarations.length === 0 ? (
                  <p>{t('noDeclarations')}</p>
                ) : (
                  <ul className="items">
                    {clinic.declarations.map((d) => (
                      <li key={d.id}>
                        <span className="item-main">{d.organizationName ?? d.organization}</span>
                        <span className="item-meta">{t('declared', { date: formatDate(d.declared, fhir.locale) })}</span>
                        {d.expires && <span className="item-meta">{t('expires', { date: formatDate(d.expires, fhir.locale) })}</span>}
                        {done[d.id] ? (
                          <p role="status">
                            <strong>{t(done[d.id] ?? 'confirmed')}</strong>
                          </p>
                        ) : (
                          <div className="actions">
                            <button type="button" onClick={() => void answer(d, 'confirm')}>
                              {t('confirm')}
                            </button>
                            <button type="button" onClick={() => void answer(d, 'dispute')}>
                              {t('dispute')}
                            </button>
                          </div>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
              </article>
            </>
          )
        }
      </Async>
    </section>
  );
}
