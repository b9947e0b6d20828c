import type { AllergyIntolerance, Bundle, Condition, Immunization, Observation, Organization, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { passportSummary } from '../fhir/summary.js';
import { conceptText, nameText, referenceId } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate, formatNumber, type Locale } from '../i18n/locale.js';
import { Async, Empty } from '../ui/states.js';

/** Recent results on the home screen; the results screen has them all. */
const RECENT_RESULTS = 5;

async function loadHome({ read, operation, patientId, locale }: Fhir) {
  if (!patientId) return undefined;
  const [patient, summary] = await Promise.all([
    read<Patient>('Patient', patientId),
    operation<Bundle>(`Patient/${encodeURIComponent(patientId)}/$summary`, { params: { language: locale } }),
  ]);
  // The primary-care organization and doctor; one the caller may not read is left out, not an error.
  const readable = async <T extends Resource>(type: T['resourceType'], id: string | undefined) => (id ? read<T>(type, id).catch(() => undefined) : undefined);
  const care = patient.generalPractitioner ?? [];
  const [organizations, practitioners] = await Promise.all([
    Promise.all(care.map((r) => readable<Organization>('Organization', referenceId(r, 'Organization')))),
    Promise.all(care.map((r) => readable<Practitioner>('Practitioner', referenceId(r, 'Practitioner')))),
  ]);
  return {
    patient,
    summary: passportSummary(summary),
    organizations: organizations.filter((o) => o !== undefined),
    practitioners: practitioners.filter((p) => p !== undefined),
  };
}

/** The home screen: the passport summary (IPS `$summary`) and the primary-care organization and doctor. */
export default function Home() {
  const { t } = useTranslation();
  const { locale } = useFhir();
  const data = useFhirData(loadHome);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('home.title')}</h1>
      <Async data={data} isEmpty={(value) => value === undefined}>
        {(home) =>
          home && (
            <>
              <p className="lead">{t('home.viewing', { name: nameText(home.patient.name) ?? home.patient.id })}</p>
              <article className="card" aria-labelledby="primary-care">
                <h2 id="primary-care">{t('home.primaryCare')}</h2>
                {home.organizations.length === 0 && home.practitioners.length === 0 ? (
                  <p>{t('home.noPrimaryCare')}</p>
                ) : (
                  <dl>
                    {home.organizations.map((o) => (
                      <div key={o.id}>
                        <dt>{o.name}</dt>
                        {o.address?.[0] && <dd>{o.address[0].text ?? [o.address[0].line?.join(' '), o.address[0].city].filter(Boolean).join(', ')}</dd>}
                        {o.telecom?.find((c) => c.system === 'phone') && <dd>{o.telecom.find((c) => c.system === 'phone')?.value}</dd>}
                      </div>
                    ))}
                    {home.practitioners.map((p) => (
                      <div key={p.id}>
                        <dt>{t('home.doctor')}</dt>
                        <dd>{nameText(p.name)}</dd>
                      </div>
                    ))}
                  </dl>
                )}
              </article>
              <div className="grid">
                <Section id="problems" title={t('home.problems')} items={home.summary.problems} render={(c: Condition) => [conceptText(c.code), formatDate(c.onsetDateTime ?? c.recordedDate, locale)]} />
                <Section id="allergies" title={t('home.allergies')} items={home.summary.allergies} render={(a: AllergyIntolerance) => [conceptText(a.code), conceptText(a.reaction?.[0]?.manifestation?.[0])]} />
                <Section id="medications" title={t('home.medications')} items={home.summary.medications} render={(m) => medicationLine(m, locale)} />
                <Section id="immunizations" title={t('home.immunizations')} items={home.summary.immunizations} render={(i: Immunization) => [conceptText(i.vaccineCode), formatDate(i.occurrenceDateTime, locale)]} />
                <Section id="results" title={t('home.results')} items={recent(home.summary.results)} render={(o: Observation) => resultLine(o, locale)} />
              </div>
            </>
          )
        }
      </Async>
    </section>
  );
}

function Section<T extends Resource>({ id, title, items, render }: { id: string; title: string; items: T[]; render: (item: T) => (ReactNode | undefined)[] }) {
  const { t } = useTranslation();
  return (
    <article className="card" aria-labelledby={`section-${id}`}>
      <h2 id={`section-${id}`}>{title}</h2>
      {items.length === 0 ? (
        <Empty>{t('home.none')}</Empty>
      ) : (
        <ul className="items">
          {items.map((item, index) => {
            const [main, ...rest] = render(item);
            return (
              <li key={item.id ?? index}>
                <span className="item-main">{main}</span>
                {rest.filter(Boolean).map((text, n) => (
                  <span key={n} className="item-meta">
                    {text}
                  </span>
                ))}
              </li>
            );
          })}
        </ul>
      )}
    </article>
  );
}

function recent(results: Observation[]): Observation[] {
  const when = (o: Observation) => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued ?? '';
  return [...results].sort((a, b) => when(b).localeCompare(when(a))).slice(0, RECENT_RESULTS);
}

function resultLine(o: Observation, locale: Locale): (string | undefined)[] {
  const q = o.valueQuantity;
  const value = q?.value !== undefined ? `${formatNumber(q.value, locale)} ${q.unit ?? q.code ?? ''}`.trim() : (o.valueString ?? conceptText(o.valueCodeableConcept));
  return [conceptText(o.code), value, formatDate(o.effectiveDateTime ?? o.issued, locale)];
}

function medicationLine(m: Resource, locale: Locale): (string | undefined)[] {
  if (m.resourceType === 'MedicationStatement') return [conceptText(m.medicationCodeableConcept) ?? m.medicationReference?.display, m.dosage?.[0]?.text, formatDate(m.effectiveDateTime ?? m.effectivePeriod?.start, locale)];
  if (m.resourceType === 'MedicationRequest') return [conceptText(m.medicationCodeableConcept) ?? m.medicationReference?.display, m.dosageInstruction?.[0]?.text, formatDate(m.authoredOn, locale)];
  return [m.resourceType];
}
