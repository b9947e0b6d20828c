import type { MedicationRequest, MedicationStatement, Practitioner } from '@medplum/fhirtypes';
import { useTranslation } from 'react-i18next';
import { conceptText, nameText, referenceId } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, Empty } from '../ui/states.js';
import { type MedicationEntry, dosageText, endDate, splitCurrent, startDate } from './medications/logic.js';
import './medications/medications.css';

async function loadMedications({ search, read, patientId }: Fhir) {
  if (!patientId) return { current: [], past: [], prescribers: new Map<string, string>() };
  const [requests, statements] = await Promise.all([
    search<MedicationRequest>('MedicationRequest', { patient: patientId, _count: 200 }, { all: true, max: 1000 }),
    search<MedicationStatement>('MedicationStatement', { patient: patientId, _count: 200 }, { all: true, max: 1000 }),
  ]);
  // Prescribers the reference does not name are read once each; one the citizen may not read stays unnamed.
  const ids = [...new Set(requests.resources.filter((r) => !r.requester?.display).map((r) => referenceId(r.requester, 'Practitioner')).filter((id): id is string => id !== undefined))];
  const named = await Promise.all(ids.map((id) => read<Practitioner>('Practitioner', id).then((p) => [id, nameText(p.name) ?? ''] as const, () => [id, ''] as const)));
  return { ...splitCurrent([...requests.resources, ...statements.resources]), prescribers: new Map(named.filter(([, name]) => name)) };
}

/** Prescriptions (MedicationRequest) and reported use (MedicationStatement): current first, then past. */
export default function Medications() {
  const { t } = useTranslation('medications');
  const data = useFhirData(loadMedications);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data} isEmpty={(m) => m.current.length + m.past.length === 0} empty={t('empty')}>
        {({ current, past, prescribers }) => (
          <>
            <MedicationList id="current" title={t('current')} entries={current} prescribers={prescribers} />
            <MedicationList id="past" title={t('past')} entries={past} prescribers={prescribers} />
          </>
        )}
      </Async>
    </section>
  );
}

function MedicationList({ id, title, entries, prescribers }: { id: string; title: string; entries: MedicationEntry[]; prescribers: ReadonlyMap<string, string> }) {
  const { t } = useTranslation('medications');
  return (
    <section aria-labelledby={`medications-${id}`} className="medications-group">
      <h2 id={`medications-${id}`}>{title}</h2>
      {entries.length === 0 ? (
        <Empty>{t('none')}</Empty>
      ) : (
        <ul className="medications">
          {entries.map((entry) => (
            <MedicationCard key={`${entry.resourceType}/${entry.id}`} entry={entry} prescribers={prescribers} />
          ))}
        </ul>
      )}
    </section>
  );
}

function MedicationCard({ entry, prescribers }: { entry: MedicationEntry; prescribers: ReadonlyMap<string, string> }) {
  const { t } = useTranslation('medications');
  const { locale } = useFhir();
  const name = conceptText(entry.medicationCodeableConcept) ?? entry.medicationReference?.display;
  const person = entry.resourceType === 'MedicationRequest' ? (entry.requester?.display ?? prescribers.get(referenceId(entry.requester, 'Practitioner') ?? '')) : entry.informationSource?.display;
  const from = formatDate(startDate(entry), locale);
  const until = formatDate(endDate(entry), locale);
  const reason = (entry.reasonCode ?? []).map(conceptText).filter(Boolean).join(', ');
  return (
    <li className="card medication">
      <h3>{name ?? t(entry.resourceType === 'MedicationRequest' ? 'prescription' : 'statement')}</h3>
      <p className="item-meta">
        {t(entry.resourceType === 'MedicationRequest' ? 'prescription' : 'statement')} · {t(`status.${entry.status}`, { defaultValue: entry.status })}
      </p>
      <dl>
        <dt>{t('dosage')}</dt>
        <dd>{dosageText(entry) ?? t('noDosage')}</dd>
        {person && (
          <>
            <dt>{t(entry.resourceType === 'MedicationRequest' ? 'prescriber' : 'informant')}</dt>
            <dd>{person}</dd>
          </>
        )}
        {from && (
          <>
            <dt>{t('from')}</dt>
            <dd>{from}</dd>
          </>
        )}
        {until && (
          <>
            <dt>{t('until')}</dt>
            <dd>{until}</dd>
          </>
        )}
        {reason && (
          <>
            <dt>{t('reason')}</dt>
            <dd>{reason}</dd>
          </>
        )}
      </dl>
    </li>
  );
}
