import type { Patient } from '@medplum/fhirtypes';
import { useTranslation } from 'react-i18next';
import { nameText } from '../../fhir/text.js';
import { useFhir, useFhirData } from '../../fhir/use-fhir.js';

/**
 * Whose record is shown, when it is not the citizen's own, with the way back. The family screen
 * shows it; the shell can mount it above every screen.
 */
export function RecordBanner() {
  const { t } = useTranslation('family');
  const { patientId, session, setPatientId } = useFhir();
  const child = patientId !== undefined && patientId !== session.patient;
  const data = useFhirData(async ({ read, patientId: id }) => (child && id ? read<Patient>('Patient', id) : undefined), [child]);
  if (!child) return null;
  const name = data.status === 'done' && data.data ? (nameText(data.data.name) ?? patientId) : patientId;
  return (
    <div className="card record-banner" role="status">
      <p>
        <strong>{t('banner', { name })}</strong>
      </p>
      <button type="button" onClick={() => setPatientId(session.patient)}>
        {t('back')}
      </button>
    </div>
  );
}
