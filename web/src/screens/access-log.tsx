import { useTranslation } from 'react-i18next';

/** Placeholder: the Who accessed my record screen of issue 15, filled by its own author (texts in ./access-log.i18n.ts, namespace `access-log`). */
export default function AccessLog() {
  const { t } = useTranslation('access-log');
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
    </section>
  );
}
