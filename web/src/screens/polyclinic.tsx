import { useTranslation } from 'react-i18next';

/** Placeholder: the My polyclinic screen of issue 15, filled by its own author (texts in ./polyclinic.i18n.ts, namespace `polyclinic`). */
export default function Polyclinic() {
  const { t } = useTranslation('polyclinic');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
