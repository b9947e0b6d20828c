import { useTranslation } from 'react-i18next';

/** Placeholder: the Test results screen of issue 15, filled by its own author (texts in ./results.i18n.ts, namespace `results`). */
export default function Results() {
  const { t } = useTranslation('results');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
