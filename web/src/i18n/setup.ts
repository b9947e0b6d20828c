import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import * as common from './common.i18n.js';
import { LOCALES, type Catalogue, type Locale, isLocale, namespaceOf } from './locale.js';

/**
 * Every screen's catalogue registers itself: `web/src/screens/NAME.i18n.ts` exporting `kk`, `ru`
 * and `en` becomes namespace NAME, so a screen author never edits a shared catalogue.
 */
const screenCatalogues = import.meta.glob<Catalogue>('../screens/*.i18n.ts', { eager: true });

const LOCALE_KEY = 'densaulyq.locale';

/** The language of this session: kept in sessionStorage only, Kazakh by default. */
export function sessionLocale(): Locale {
  const stored = sessionStorage.getItem(LOCALE_KEY);
  return isLocale(stored) ? stored : 'kk';
}

export async function changeLocale(locale: Locale): Promise<void> {
  sessionStorage.setItem(LOCALE_KEY, locale);
  document.documentElement.lang = locale;
  await i18next.changeLanguage(locale);
}

export async function setUpI18n(): Promise<typeof i18next> {
  const catalogues: Record<string, Catalogue> = { common };
  for (const [path, catalogue] of Object.entries(screenCatalogues)) catalogues[namespaceOf(path)] = catalogue;
  const resources = Object.fromEntries(LOCALES.map((locale) => [locale, Object.fromEntries(Object.entries(catalogues).map(([ns, c]) => [ns, c[locale]]))]));
  const locale = sessionLocale();
  document.documentElement.lang = locale;
  await i18next.use(initReactI18next).init({
    resources,
    lng: locale,
    fallbackLng: false,
    supportedLngs: [...LOCALES],
    ns: Object.keys(catalogues),
    defaultNS: 'common',
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return i18next;
}
