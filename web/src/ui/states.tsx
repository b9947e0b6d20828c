import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Loadable } from '../fhir/use-fhir.js';
import { errorDetails, errorKey } from './errors.js';

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t('loading')}
    </p>
  );
}

export function Empty({ children }: { children?: ReactNode }) {
  const { t } = useTranslation();
  return <p className="state state-empty">{children ?? t('empty')}</p>;
}

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const details = errorDetails(error);
  return (
    <div className="state state-error" role="alert">
      <p>{t(errorKey(error))}</p>
      {details && <p className="details">{t('errors.details', { details })}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}

/** Loading, error (with retry) or the content for what `useFhirData` loaded; `isEmpty` shows the empty state. */
export function Async<T>({ data, children, isEmpty, empty }: { data: Loadable<T> & { reload(): void }; children: (value: T) => ReactNode; isEmpty?: (value: T) => boolean; empty?: ReactNode }) {
  if (data.status === 'loading') return <Loading />;
  if (data.status === 'error') return <ErrorMessage error={data.error} onRetry={data.reload} />;
  if (isEmpty?.(data.data)) return <Empty>{empty}</Empty>;
  return <>{children(data.data)}</>;
}
