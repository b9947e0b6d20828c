import { useTranslation } from 'react-i18next';

/** Placeholder: the Immunizations screen of issue 15, filled by its own author (texts in ./immunizations.i18n.ts, namespace `immunizations`). */
export default function Immunizations() {
  const { t } = useTranslation('immunizations');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
