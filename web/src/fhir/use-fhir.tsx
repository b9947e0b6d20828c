import { type DependencyList, type ReactNode, createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Session } from '../auth/session.js';
import { isLocale, type Locale } from '../i18n/locale.js';
import { FhirClient } from './client.js';

export interface Fhir {
  /** read, search (optionally following `next` links) and operation against /fhir with the session's token. */
  client: FhirClient;
  read: FhirClient['read'];
  search: FhirClient['search'];
  operation: FhirClient['operation'];
  session: Session;
  /** The record shown: the citizen's own, or a child's the family screen switched to. */
  patientId: string | undefined;
  setPatientId(id: string | undefined): void;
  locale: Locale;
}

const FhirContext = createContext<Fhir | undefined>(undefined);

export function FhirProvider({ session, baseUrl, onUnauthorized, children }: { session: Session; baseUrl: string; onUnauthorized: () => void; children: ReactNode }) {
  const { i18n } = useTranslation();
  const [patientId, setPatientId] = useState(session.patient);
  const locale = isLocale(i18n.language) ? i18n.language : 'kk';
  const value = useMemo<Fhir>(() => {
    const client = new FhirClient(baseUrl, session.accessToken, onUnauthorized, locale);
    return {
      client,
      read: client.read.bind(client),
      search: client.search.bind(client),
      operation: client.operation.bind(client),
      session,
      patientId,
      setPatientId,
      locale,
    };
  }, [baseUrl, session, onUnauthorized, patientId, locale]);
  return <FhirContext.Provider value={value}>{children}</FhirContext.Provider>;
}

/** The FHIR API for a screen. Only inside the signed-in shell. */
export function useFhir(): Fhir {
  const fhir = useContext(FhirContext);
  if (!fhir) throw new Error('useFhir outside FhirProvider');
  return fhir;
}

export type Loadable<T> = { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'done'; data: T };

/**
 * Runs `load` with the FHIR API when the dependencies (and the patient or language) change;
 * an answer that arrives after a newer request started is dropped. `reload` runs it again.
 */
export function useFhirData<T>(load: (fhir: Fhir) => Promise<T>, deps: DependencyList = []): Loadable<T> & { reload(): void } {
  const fhir = useFhir();
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    load(fhir).then(
      (data) => current && setState({ status: 'done', data }),
      (error: unknown) => current && setState({ status: 'error', error }),
    );
    return () => {
      current = false;
    };
  }, [fhir.client, fhir.patientId, fhir.locale, round, ...deps]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}
