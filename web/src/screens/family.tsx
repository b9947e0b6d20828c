import type { Patient } from '@medplum/fhirtypes';
import { useTranslation } from 'react-i18next';
import { nameText } from '../fhir/text.js';
import { useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async } from '../ui/states.js';
import { familyRecords } from './family/children.js';

/** Family: the citizen's children under 18 the door lets them see as legal representative, and the switch to a child's record (issue 15). */
export default function Family() {
  const { t } = useTranslation('family');
  const { session, patientId, setPatientId, locale } = useFhir();
  // Not keyed by the record shown: the list is the citizen's, whoever is shown.
  const data = useFhirData(async ({ search }) => familyRecords((await search<Patient>('Patient', {}, { all: true })).resources, session.patient));
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data} isEmpty={(family) => family.children.length === 0} empty={t('empty')}>
        {(family) => (
          <ul className="items family">
            {[...(family.self ? [family.self] : []), ...family.children].map((p) => {
              const own = p.id === session.patient;
              const name = own ? t('me') : (nameText(p.name) ?? p.id ?? '');
              const born = formatDate(p.birthDate, locale);
              return (
                <li key={p.id} className="card">
                  <span className="item-main">{name}</span>
                  {born && !own && <span className="item-meta">{t('born', { date: born })}</span>}
                  {p.id === patientId ? (
                    <span className="item-meta" aria-current="true">
                      <strong>✓ {t('shown')}</strong>
                    </span>
                  ) : (
                    <button type="button" onClick={() => setPatientId(p.id)}>
                      {own ? t('back') : t('open', { name })}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </Async>
    </section>
  );
}
