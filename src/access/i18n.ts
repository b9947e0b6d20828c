import type { IdentityScope, Permission, Scope } from './scopes.js';

/**
 * Every user-facing text of the sign-in and consent pages in Kazakh, Russian and English.
 * The language is the first of the OpenID `ui_locales` the server has, else the best
 * Accept-Language match, else Kazakh (the state language).
 */
import { fillTemplate, LOCALES, type Locale } from '../fhir/locale.js';

export { LOCALES, type Locale };

const TEXT = {
  signInTitle: { kk: 'Densaulyq жүйесіне кіру', ru: 'Вход в Densaulyq', en: 'Sign in to Densaulyq' },
  username: { kk: 'Пайдаланушы аты', ru: 'Имя пользователя', en: 'Username' },
  password: { kk: 'Құпиясөз', ru: 'Пароль', en: 'Password' },
  signIn: { kk: 'Кіру', ru: 'Войти', en: 'Sign in' },
  signInUpstream: { kk: 'eGov ID арқылы кіру', ru: 'Войти через eGov ID', en: 'Sign in with eGov ID' },
  appAsks: { kk: '«{client}» қолданбасы кіруді сұрайды.', ru: 'Приложение «{client}» запрашивает вход.', en: 'The app “{client}” asks you to sign in.' },
  invalidCredentials: { kk: 'Пайдаланушы аты немесе құпиясөз қате.', ru: 'Неверное имя пользователя или пароль.', en: 'Wrong username or password.' },
  locked: {
    kk: 'Сәтсіз әрекеттер тым көп. Тіркелгі уақытша бұғатталды, кейінірек қайталаңыз.',
    ru: 'Слишком много неудачных попыток. Учётная запись временно заблокирована, повторите позже.',
    en: 'Too many failed attempts. The account is locked for a while; try again later.',
  },
  consentTitle: { kk: 'Қолжетімділік беру', ru: 'Предоставление доступа', en: 'Grant access' },
  consentIntro: { kk: '«{client}» қолданбасы мынаны сұрайды:', ru: 'Приложение «{client}» запрашивает:', en: 'The app “{client}” asks for:' },
  signedInAs: { kk: 'Сіз {user} ретінде кірдіңіз.', ru: 'Вы вошли как {user}.', en: 'You are signed in as {user}.' },
  patientLabel: { kk: 'Пациент (Patient ресурсының id)', ru: 'Пациент (id ресурса Patient)', en: 'Patient (the Patient resource id)' },
  patientRequired: { kk: 'Пациентті көрсетіңіз.', ru: 'Укажите пациента.', en: 'Choose a patient.' },
  allow: { kk: 'Рұқсат ету', ru: 'Разрешить', en: 'Allow' },
  deny: { kk: 'Бас тарту', ru: 'Отказать', en: 'Deny' },
  errorTitle: { kk: 'Қате', ru: 'Ошибка', en: 'Error' },
  sessionExpired: {
    kk: 'Кіру сеансының мерзімі өтті. Қолданбадан қайта бастаңыз.',
    ru: 'Сеанс входа истёк. Начните заново из приложения.',
    en: 'The sign-in session has expired. Start again from the app.',
  },
  notLinked: {
    kk: 'Бұл eGov ID тіркелгісі Densaulyq тіркелгісімен байланыстырылмаған.',
    ru: 'Эта учётная запись eGov ID не связана с учётной записью Densaulyq.',
    en: 'This eGov ID account is not linked to a Densaulyq account.',
  },
  upstreamFailed: { kk: 'eGov ID арқылы кіру сәтсіз аяқталды.', ru: 'Вход через eGov ID не удался.', en: 'Signing in with eGov ID failed.' },
  tooManyRequests: {
    kk: 'Сұраулар тым көп. Сәл кейінірек қайталаңыз.',
    ru: 'Слишком много запросов. Повторите попытку немного позже.',
    en: 'Too many requests. Try again in a little while.',
  },
  requestFailed: { kk: 'Сұрауды орындау мүмкін болмады.', ru: 'Не удалось выполнить запрос.', en: 'The request could not be completed.' },
  allResources: { kk: 'барлық ресурстар', ru: 'все ресурсы', en: 'all resources' },
  contextPatient: { kk: 'таңдалған пациенттің деректері', ru: 'данные выбранного пациента', en: 'the chosen patient’s data' },
  contextUser: { kk: 'сізге қолжетімді деректер', ru: 'данные, доступные вам', en: 'data you may access' },
  contextSystem: { kk: 'жүйе деңгейіндегі деректер', ru: 'данные на уровне системы', en: 'system-wide data' },
  permC: { kk: 'құру', ru: 'создание', en: 'create' },
  permR: { kk: 'оқу', ru: 'чтение', en: 'read' },
  permU: { kk: 'өзгерту', ru: 'изменение', en: 'update' },
  permD: { kk: 'жою', ru: 'удаление', en: 'delete' },
  permS: { kk: 'іздеу', ru: 'поиск', en: 'search' },
  constrained: { kk: 'шектеу: {query}', ru: 'ограничение: {query}', en: 'limited to {query}' },
  scopeOpenid: { kk: 'Сіздің кім екеніңізді растау', ru: 'Подтверждение вашей личности', en: 'Confirm who you are' },
  scopeFhirUser: { kk: 'Сіздің FHIR жазбаңызға сілтеме', ru: 'Ссылка на вашу запись FHIR', en: 'A link to your FHIR record' },
  scopeProfile: { kk: 'Профиліңіздің негізгі деректері', ru: 'Основные данные профиля', en: 'Your basic profile' },
  scopeOffline: { kk: 'Сіз желіде болмағанда да қолжетімділік', ru: 'Доступ, когда вы не в сети', en: 'Access while you are offline' },
  scopeOnline: { kk: 'Сеанс кезінде қолжетімділікті ұзарту', ru: 'Продление доступа в течение сеанса', en: 'Keep access during your session' },
  scopeLaunch: { kk: 'Медициналық ақпараттық жүйедегі ағымдағы контекст', ru: 'Текущий контекст из медицинской информационной системы', en: 'The current context from the medical information system' },
  scopeLaunchPatient: { kk: 'Пациентті таңдау', ru: 'Выбор пациента', en: 'Choosing a patient' },
  scopeLaunchEncounter: { kk: 'Қабылдауды таңдау', ru: 'Выбор обращения', en: 'Choosing an encounter' },
} as const satisfies Record<string, Record<Locale, string>>;

export type TextKey = keyof typeof TEXT;

export function t(locale: Locale, key: TextKey, values: Record<string, string> = {}): string {
  return fillTemplate(TEXT[key][locale], values);
}

/** `ui_locales` (space-separated BCP 47 tags, preferred first) wins over Accept-Language. */
export function pickLocale(uiLocales: string | undefined, acceptLanguage: string | undefined): Locale {
  for (const tag of (uiLocales ?? '').split(/\s+/)) {
    const match = matchLocale(tag);
    if (match) return match;
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag ?? '', q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((entry) => entry.tag && Number.isFinite(entry.q) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    const match = matchLocale(tag);
    if (match) return match;
  }
  return 'kk';
}

function matchLocale(tag: string): Locale | undefined {
  const primary = tag.toLowerCase().split('-')[0];
  return LOCALES.find((locale) => locale === primary);
}

const IDENTITY_TEXT: Record<IdentityScope['name'], TextKey> = {
  openid: 'scopeOpenid',
  fhirUser: 'scopeFhirUser',
  profile: 'scopeProfile',
  offline_access: 'scopeOffline',
  online_access: 'scopeOnline',
};

const PERMISSION_TEXT: Record<Permission, TextKey> = { c: 'permC', r: 'permR', u: 'permU', d: 'permD', s: 'permS' };

/** A human description of one scope for the consent page. */
export function describeScope(locale: Locale, scope: Scope): string {
  switch (scope.kind) {
    case 'identity':
      return t(locale, IDENTITY_TEXT[scope.name]);
    case 'launch':
      return t(locale, scope.context === 'patient' ? 'scopeLaunchPatient' : scope.context === 'encounter' ? 'scopeLaunchEncounter' : 'scopeLaunch');
    case 'resource': {
      const what = scope.resourceType === '*' ? t(locale, 'allResources') : scope.resourceType;
      const context = t(locale, scope.context === 'patient' ? 'contextPatient' : scope.context === 'user' ? 'contextUser' : 'contextSystem');
      const perms = scope.permissions.map((p) => t(locale, PERMISSION_TEXT[p])).join(', ');
      const limit = scope.query.length ? `; ${t(locale, 'constrained', { query: scope.query.map(([n, v]) => `${n}=${v}`).join(', ') })}` : '';
      return `${what} (${context}): ${perms}${limit}`;
    }
    default:
      return scope.raw;
  }
}
