import { Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Session, isCitizen } from './auth/session.js';
import { completeSignIn, currentSession, fhirBase, signIn, signOut } from './auth/smart.js';
import { FhirProvider } from './fhir/use-fhir.js';
import { LOCALES, type Locale, isLocale } from './i18n/locale.js';
import { changeLocale } from './i18n/setup.js';
import { CITIZEN_SCREENS, STAFF_SCREENS, screenFor } from './screens.js';
import { Link, navigate, useRoute } from './ui/router.js';
import { Loading } from './ui/states.js';
import { RecordBanner } from './screens/family/banner.js';

export function App() {
  const { t, i18n } = useTranslation();
  const route = useRoute();
  const [session, setSession] = useState<Session | undefined>(() => currentSession());
  const [failure, setFailure] = useState<string>();
  const locale: Locale = isLocale(i18n.language) ? i18n.language : 'kk';
  const callback = route.path === '/callback';

  useEffect(() => {
    if (!callback) return;
    completeSignIn(new URL(location.href)).then(
      ({ session: signedIn, returnTo }) => {
        setSession(signedIn);
        navigate(returnTo, { replace: true });
      },
      () => {
        setFailure('signInFailed');
        navigate('/', { replace: true });
      },
    );
  }, [callback]);

  const expired = useCallback(() => {
    void signOut(undefined);
    setSession(undefined);
    setFailure('sessionExpired');
  }, []);

  const leave = async () => {
    await signOut(session);
    setSession(undefined);
    navigate('/', { replace: true });
  };

  const screens = session && isCitizen(session) ? CITIZEN_SCREENS : STAFF_SCREENS;
  const screen = session ? screenFor(screens, route.segments) : undefined;

  return (
    <>
      <a className="skip-link" href="#main">
        {t('skipToContent')}
      </a>
      <header className="top">
        <Link href="/" className="brand">
          {t('appName')}
        </Link>
        <LanguageSwitcher locale={locale} />
        {session && (
          <button type="button" className="sign-out" onClick={leave}>
            {t('signOut')}
          </button>
        )}
      </header>
      {session && (
        <nav className="screens" aria-label={t('menu')}>
          <ul>
            {screens.map((s) => {
              const href = s === screens[0] ? '/' : `/${s.name}`;
              return (
                <li key={s.name}>
                  <Link href={href} aria-current={s === screen ? 'page' : undefined}>
                    {t(`nav.${s.name}`)}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        {callback ? (
          <Loading label={t('signingIn')} />
        ) : !session ? (
          <section className="welcome" aria-labelledby="screen-title">
            <h1 id="screen-title">{t('tagline')}</h1>
            {failure && (
              <p className="state state-error" role="alert">
                {t(failure)}
              </p>
            )}
            <p>{t('signInIntro')}</p>
            <button type="button" className="primary" onClick={() => void signIn(locale, route.path + route.query.toString().replace(/^(.)/, '?$1'))}>
              {t('signIn')}
            </button>
          </section>
        ) : (
          <FhirProvider session={session} baseUrl={fhirBase()} onUnauthorized={expired}>
            <RecordBanner />
            <Suspense fallback={<Loading />}>{screen ? <ScreenView key={screen.name} component={screen.component} /> : <p>{t('notFoundPage')}</p>}</Suspense>
          </FhirProvider>
        )}
      </main>
    </>
  );
}

/** A screen, with focus moved to its heading when it opens so screen readers announce it. */
function ScreenView({ component: Component }: { component: React.ComponentType }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('h1')?.setAttribute('tabindex', '-1');
    ref.current?.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }, []);
  return (
    <div ref={ref}>
      <Component />
    </div>
  );
}

const LANGUAGE_NAMES: Record<Locale, string> = { kk: 'Қазақша', ru: 'Русский', en: 'English' };

function LanguageSwitcher({ locale }: { locale: Locale }) {
  const { t } = useTranslation();
  return (
    <div className="languages" role="group" aria-label={t('language')}>
      {LOCALES.map((l) => (
        <button key={l} type="button" lang={l} aria-pressed={l === locale} onClick={() => void changeLocale(l)}>
          {LANGUAGE_NAMES[l]}
        </button>
      ))}
    </div>
  );
}
