import type { Patient } from '@medplum/fhirtypes';
import { useTranslation } from 'react-i18next';
import { nameText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async } from '../ui/states.js';
import { ageOn, familyOf } from './family/logic.js';

async function loadFamily({ search, session }: Fhir) {
  const { resources } = await search<Patient>('Patient', { _count: 50 }, { all: true, max: 200 });
  return familyOf(resources, session.patient);
}

/**
 * The citizen and the children they may see as legal representative (`GET Patient`); choosing a
 * child switches every screen to the child's record until the citizen switches back.
 */
export default function Family() {
  const { t } = useTranslation('family');
  const { patientId } = useFhir();
  const data = useFhirData(loadFamily);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data}>
        {({ self, children }) => (
          <>
            <ul className="family" aria-label={t('people')}>
              {self && <Member patient={self} own shown={patientId === self.id} />}
              {children.map((child) => (
                <Member key={child.id} patient={child} own={false} shown={patientId === child.id} />
              ))}
            </ul>
            {children.length === 0 && <p className="state state-empty">{t('noChildren')}</p>}
          </>
        )}
      </Async>
    </section>
  );
}

function Member({ patient, own, shown }: { patient: Patient; own: boolean; shown: boolean }) {
  const { t } = useTranslation('family');
  const { setPatientId, locale } = useFhir();
  const name = nameText(patient.name) ?? patient.id ?? '';
  const age = ageOn(patient.birthDate);
  const headingId = `member-${patient.id}`;
  return (
    <li className="card" data-shown={shown} aria-labelledby={headingId}>
      <h2 id={headingId}>{own ? t('you', { name }) : name}</h2>
      {patient.birthDate && <p className="item-meta">{t('born', { date: formatDate(patient.birthDate, locale), age: age ?? '–' })}</p>}
      {!own && <p>{t('childRights')}</p>}
      {shown ? (
        <p className="shown-now">
          <span aria-hidden="true">✓ </span>
          {t('shownNow')}
        </p>
      ) : (
        <button type="button" className={own ? undefined : 'primary'} onClick={() => setPatientId(patient.id)}>
          {own ? t('showMine') : t('showChild', { name })}
        </button>
      )}
    </li>
  );
}
