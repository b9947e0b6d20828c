import type { Patient } from '@medplum/fhirtypes';
import { useTranslation } from 'react-i18next';
import { nameText } from '../../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../../fhir/use-fhir.js';
import './family.css';

async function shownName({ read, patientId, session }: Fhir): Promise<string | undefined> {
  if (!patientId || patientId === session.patient) return undefined;
  const patient = await read<Patient>('Patient', patientId);
  return nameText(patient.name) ?? patientId;
}

/**
 * Whose record the app shows, when it is not the citizen's own (a child's, chosen on the family
 * screen), and the way back. Nothing while the citizen sees their own record.
 */
export function RecordBanner() {
  const { t } = useTranslation('family');
  const { patientId, session, setPatientId } = useFhir();
  const name = useFhirData(shownName);
  if (!patientId || patientId === session.patient) return null;
  const who = name.status === 'done' && name.data ? name.data : t('aChild');
  return (
    <div className="record-banner" role="status" data-testid="record-banner">
      <p>
        <strong>{t('banner.viewing', { name: who })}</strong> {t('banner.explain')}
      </p>
      <button type="button" className="primary" onClick={() => setPatientId(session.patient)}>
        {t('banner.back')}
      </button>
    </div>
  );
}
