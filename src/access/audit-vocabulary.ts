import type { AccessContext } from './context.js';
import type { Translated } from '../fhir/locale.js';

/**
 * The codes an AuditEvent of Densaulyq carries where a person reads them (the citizen's access
 * log), with their display in Kazakh, Russian and English. The payload stores each code with its
 * English display, as FHIR codings do; apps show the display of the reader's language from here.
 */

/** The platform's access roles (`AccessContext.role`), coded in `AuditEvent.agent.role`. */
export const ACCESS_ROLE_SYSTEM = 'http://densaulyq.kz/fhir/CodeSystem/access-role';

/** How an access reached the patient, when not by a verified care relationship (AuditEvent.meta.security). */
export const ACCESS_BASIS_SYSTEM = 'http://densaulyq.kz/fhir/CodeSystem/access-basis';

export const ACCESS_BASIS_DISPLAY: Record<'self-declared' | 'shared-link' | 'consent-refused', Translated> = {
  'self-declared': {
    kk: 'Ұйымның өз мәлімдемесі бойынша (расталмаған)',
    ru: 'По заявлению самой организации (не подтверждено)',
    en: 'self-declared care relationship (not verified)',
  },
  'shared-link': {
    kk: 'Пациент бөліскен сілтеме арқылы',
    ru: 'По ссылке, которой поделился пациент',
    en: 'shared link used (shared by the patient)',
  },
  'consent-refused': {
    kk: 'Бас тартылды: пациенттің келісімі бұл ұйымға рұқсат бермейді',
    ru: 'Отказано: согласие пациента запрещает доступ этой организации',
    en: "refused: the patient's consent denies this organization",
  },
};

/**
 * Extension on AuditEvent.agent: which of its values the client only asserted (`on-behalf-of`,
 * `purpose-of-use`), recorded as stated rather than verified.
 */
export const ASSERTED_EXTENSION = 'http://densaulyq.kz/fhir/StructureDefinition/asserted-by-client';

/** HL7 v3 ActReason: the purpose-of-use codes, BTG ("break the glass") among them. */
export const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

export const ACCESS_ROLE_DISPLAY: Record<AccessContext['role'], Translated> = {
  citizen: { kk: 'Азамат', ru: 'Гражданин', en: 'Citizen' },
  clinician: { kk: 'Медицина қызметкері', ru: 'Медицинский работник', en: 'Clinician' },
  system: { kk: 'Ұйымның ақпараттық жүйесі', ru: 'Информационная система организации', en: 'Organization system' },
  'public-health': { kk: 'Қоғамдық денсаулық сақтау маманы', ru: 'Специалист общественного здравоохранения', en: 'Public-health officer' },
  analyst: { kk: 'Талдаушы', ru: 'Аналитик', en: 'Analyst' },
  administrator: { kk: 'Әкімші', ru: 'Администратор', en: 'Administrator' },
  'organization-administrator': { kk: 'Ұйым әкімшісі', ru: 'Администратор организации', en: 'Organization administrator' },
  registry: { kk: 'Ұлттық тізілім', ru: 'Национальный регистр', en: 'National registry' },
  platform: { kk: 'Densaulyq платформасы', ru: 'Платформа Densaulyq', en: 'Densaulyq platform' },
  'link-recipient': { kk: 'Сілтемені алушы', ru: 'Получатель ссылки', en: 'Recipient of a shared link' },
};

/**
 * The purposes of use the platform states (v3-ActReason, https://terminology.hl7.org/CodeSystem-v3-ActReason.html);
 * `en` is the code system's own display. Another code is recorded as given, without a display.
 */
export const PURPOSE_OF_USE_DISPLAY: Readonly<Record<string, Translated>> = {
  TREAT: { kk: 'Емдеу', ru: 'Лечение', en: 'treatment' },
  ETREAT: { kk: 'Шұғыл емдеу', ru: 'Экстренное лечение', en: 'Emergency Treatment' },
  BTG: { kk: 'Шұғыл қолжетімділік («әйнекті сындыру»)', ru: 'Экстренный доступ («разбить стекло»)', en: 'break the glass' },
  CAREMGT: { kk: 'Көмекті үйлестіру', ru: 'Координация помощи', en: 'care management' },
  PATRQT: { kk: 'Пациенттің сұрауы бойынша', ru: 'По запросу пациента', en: 'patient requested' },
  FAMRQT: { kk: 'Отбасы мүшесінің сұрауы бойынша', ru: 'По запросу члена семьи', en: 'family requested' },
  PWATRNY: { kk: 'Сенімхат бойынша', ru: 'По доверенности', en: 'power of attorney' },
  PUBHLTH: { kk: 'Қоғамдық денсаулық сақтау', ru: 'Общественное здравоохранение', en: 'public health' },
  HRESCH: { kk: 'Денсаулық сақтау саласындағы зерттеу', ru: 'Исследования в здравоохранении', en: 'healthcare research' },
  HOPERAT: { kk: 'Денсаулық сақтау ұйымының жұмысы', ru: 'Деятельность организации здравоохранения', en: 'healthcare operations' },
  HSYSADMIN: { kk: 'Жүйені әкімшілендіру', ru: 'Администрирование системы', en: 'health system administration' },
};

/** `AuditEvent.action` (https://hl7.org/fhir/R4/valueset-audit-event-action.html). */
export const AUDIT_ACTION_DISPLAY: Record<'C' | 'R' | 'U' | 'D' | 'E', Translated> = {
  C: { kk: 'Құру', ru: 'Создание', en: 'Create' },
  R: { kk: 'Қарау', ru: 'Просмотр', en: 'Read' },
  U: { kk: 'Өзгерту', ru: 'Изменение', en: 'Update' },
  D: { kk: 'Жою', ru: 'Удаление', en: 'Delete' },
  E: { kk: 'Іздеу немесе операция', ru: 'Поиск или операция', en: 'Search or operation' },
};

/** `AuditEvent.outcome` (https://hl7.org/fhir/R4/valueset-audit-event-outcome.html). */
export const AUDIT_OUTCOME_DISPLAY: Record<'0' | '4' | '8' | '12', Translated> = {
  '0': { kk: 'Сәтті', ru: 'Успешно', en: 'Success' },
  '4': { kk: 'Орындалмады (сұрау қабылданбады)', ru: 'Не выполнено (запрос отклонён)', en: 'Not done (request refused)' },
  '8': { kk: 'Орындалмады (қате)', ru: 'Не выполнено (ошибка)', en: 'Not done (error)' },
  '12': { kk: 'Орындалмады (ауыр қате)', ru: 'Не выполнено (серьёзная ошибка)', en: 'Not done (major error)' },
};
