import { useTranslation } from 'react-i18next';

/** Placeholder: the Timeline screen of issue 15, filled by its own author (texts in ./timeline.i18n.ts, namespace `timeline`). */
export default function Timeline() {
  const { t } = useTranslation('timeline');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
