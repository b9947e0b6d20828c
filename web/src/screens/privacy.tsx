import { useTranslation } from 'react-i18next';

/** Placeholder: the Privacy screen of issue 15, filled by its own author (texts in ./privacy.i18n.ts, namespace `privacy`). */
export default function Privacy() {
  const { t } = useTranslation('privacy');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
