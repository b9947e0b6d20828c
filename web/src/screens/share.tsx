import { useTranslation } from 'react-i18next';

/** Placeholder: the Share my passport screen of issue 15, filled by its own author (texts in ./share.i18n.ts, namespace `share`). */
export default function Share() {
  const { t } = useTranslation('share');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
