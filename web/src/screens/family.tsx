import { useTranslation } from 'react-i18next';

/** Placeholder: the Family screen of issue 15, filled by its own author (texts in ./family.i18n.ts, namespace `family`). */
export default function Family() {
  const { t } = useTranslation('family');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
