import { useTranslation } from 'react-i18next';

/** Placeholder: the Medications and prescriptions screen of issue 15, filled by its own author (texts in ./medications.i18n.ts, namespace `medications`). */
export default function Medications() {
  const { t } = useTranslation('medications');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
