import type { Immunization, Parameters } from '@medplum/fhirtypes';
import { useTranslation } from 'react-i18next';
import { conceptText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, Empty } from '../ui/states.js';
import { type Shot, forecastRecommendation, givenDoses, shotsToGive, whenToGive } from './immunizations/logic.js';
import './immunizations/immunizations.css';

async function loadImmunizations(fhir: Fhir) {
  const { search, patientId } = fhir;
  if (!patientId) return { given: [], shots: [] };
  const [immunizations, output] = await Promise.all([search<Immunization>('Immunization', { patient: patientId, _count: 200 }, { all: true, max: 1000 }), fhir.operation<Parameters>(`Patient/${encodeURIComponent(patientId)}/$immds-forecast`)]);
  return { given: givenDoses(immunizations.resources), shots: shotsToGive(forecastRecommendation(output)) };
}

/** Doses given (Immunization) and what the national calendar says is due (`$immds-forecast`). */
export default function Immunizations() {
  const { t } = useTranslation('immunizations');
  const data = useFhirData(loadImmunizations);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data}>
        {({ given, shots }) => (
          <>
            <section aria-labelledby="to-give" className="immunization-group">
              <h2 id="to-give">{t('toGive')}</h2>
              {shots.length === 0 ? (
                <Empty>{t('allDone')}</Empty>
              ) : (
                <ul className="shots">
                  {shots.map((shot) => (
                    <ShotCard key={`${shot.vaccine}|${shot.due}`} shot={shot} />
                  ))}
                </ul>
              )}
            </section>
            <section aria-labelledby="given" className="immunization-group">
              <h2 id="given">{t('given')}</h2>
              {given.length === 0 ? (
                <Empty>{t('noneGiven')}</Empty>
              ) : (
                <ul className="card items given">
                  {given.map((dose, index) => (
                    <GivenDose key={dose.id ?? index} dose={dose} />
                  ))}
                </ul>
              )}
            </section>
          </>
        )}
      </Async>
    </section>
  );
}

function ShotCard({ shot }: { shot: Shot }) {
  const { t } = useTranslation('immunizations');
  const { locale } = useFhir();
  const when = whenToGive(shot);
  const doses = shot.doses.map((d) => (d.number === undefined ? undefined : d.of === undefined ? t('doseOpen', { n: d.number }) : t('dose', { n: d.number, of: d.of })));
  return (
    <li className={`card shot shot-${shot.state}`}>
      <p className="shot-state" data-state={shot.state}>
        <span aria-hidden="true">{shot.state === 'overdue' ? '! ' : shot.state === 'due' ? '• ' : ''}</span>
        {t(`state.${shot.state}`)}
      </p>
      <h3>{shot.vaccine}</h3>
      <p className="shot-when">{t(when.key, { date: formatDate(when.date, locale) })}</p>
      {shot.latest && <p className="item-meta">{t('latest', { date: formatDate(shot.latest, locale) })}</p>}
      {shot.diseases.length > 0 && <p>{t('against', { diseases: shot.diseases.join(', ') })}</p>}
      {doses.some(Boolean) && <p className="item-meta">{[...new Set(doses.filter(Boolean))].join(' · ')}</p>}
    </li>
  );
}

function GivenDose({ dose }: { dose: Immunization }) {
  const { t } = useTranslation('immunizations');
  const { locale } = useFhir();
  const place = dose.location?.display ?? dose.performer?.map((p) => p.actor.display).find(Boolean);
  return (
    <li>
      <span className="item-main">{conceptText(dose.vaccineCode)}</span>
      <span className="item-meta">{formatDate(dose.occurrenceDateTime, locale) ?? dose.occurrenceString}</span>
      {place && <span className="item-meta">{t('where', { place })}</span>}
      {dose.lotNumber && <span className="item-meta">{t('lot', { lot: dose.lotNumber })}</span>}
    </li>
  );
}
