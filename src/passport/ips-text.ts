import type { Locale, Translated } from '../fhir/locale.js';

/** A text of the summary in each of the platform's languages. */
type Texts = Translated;

/**
 * The words of the International Patient Summary's narrative in Kazakh, Russian and English:
 * the document's title, the section titles (https://hl7.org/fhir/uv/ips/ipsStructure.html),
 * column headings and the empty-section sentence.
 */
export const TEXT = {
  title: { kk: 'Пациенттің халықаралық түйіндемесі', ru: 'Международная сводка о пациенте', en: 'International Patient Summary' },
  noInformation: { kk: 'Мәлімет жоқ', ru: 'Информация отсутствует', en: 'No information available' },
  platform: { kk: 'Densaulyq ұлттық платформасы', ru: 'Национальная платформа Densaulyq', en: 'Densaulyq national platform' },

  problems: { kk: 'Денсаулық мәселелерінің тізімі', ru: 'Список проблем', en: 'Problem List' },
  allergies: { kk: 'Аллергиялар және жақпаушылық', ru: 'Аллергии и непереносимость', en: 'Allergies and Intolerances' },
  medications: { kk: 'Қабылданатын дәрілер', ru: 'Принимаемые лекарства', en: 'Medication Summary' },
  immunizations: { kk: 'Екпелер', ru: 'Прививки', en: 'Immunizations' },
  results: { kk: 'Зерттеу нәтижелері', ru: 'Результаты исследований', en: 'Results' },
  procedures: { kk: 'Жүргізілген процедуралар', ru: 'Перенесённые процедуры', en: 'History of Procedures' },
  devices: { kk: 'Медициналық бұйымдар', ru: 'Медицинские изделия', en: 'Medical Devices' },
  vitalSigns: { kk: 'Өмірлік маңызды көрсеткіштер', ru: 'Показатели жизнедеятельности', en: 'Vital Signs' },
  pastIllness: { kk: 'Бұрын болған аурулар', ru: 'Перенесённые заболевания', en: 'History of Past Illness' },
  pregnancy: { kk: 'Жүктілік', ru: 'Беременность', en: 'History of Pregnancy' },
  planOfCare: { kk: 'Емдеу жоспары', ru: 'План лечения', en: 'Plan of Care' },
  functionalStatus: { kk: 'Функционалдық жағдай', ru: 'Функциональный статус', en: 'Functional Status' },
  advanceDirectives: { kk: 'Алдын ала берілген нұсқаулар', ru: 'Предварительные распоряжения', en: 'Advance Directives' },

  patient: { kk: 'Пациент', ru: 'Пациент', en: 'Patient' },
  birthDate: { kk: 'Туған күні', ru: 'Дата рождения', en: 'Date of birth' },
  gender: { kk: 'Жынысы', ru: 'Пол', en: 'Sex' },
  identifier: { kk: 'Сәйкестендіргіш', ru: 'Идентификатор', en: 'Identifier' },
  documentDate: { kk: 'Құжат күні', ru: 'Дата документа', en: 'Document date' },
  author: { kk: 'Авторы', ru: 'Автор', en: 'Author' },

  problem: { kk: 'Мәселе', ru: 'Проблема', en: 'Problem' },
  condition: { kk: 'Ауру', ru: 'Заболевание', en: 'Condition' },
  substance: { kk: 'Зат', ru: 'Вещество', en: 'Substance' },
  category: { kk: 'Санаты', ru: 'Категория', en: 'Category' },
  criticality: { kk: 'Қауіптілігі', ru: 'Критичность', en: 'Criticality' },
  reaction: { kk: 'Реакция', ru: 'Реакция', en: 'Reaction' },
  medication: { kk: 'Дәрі', ru: 'Лекарство', en: 'Medication' },
  dosage: { kk: 'Қабылдау тәртібі', ru: 'Способ приёма', en: 'Dosage' },
  vaccine: { kk: 'Вакцина', ru: 'Вакцина', en: 'Vaccine' },
  doseNumber: { kk: 'Доза', ru: 'Доза', en: 'Dose' },
  test: { kk: 'Зерттеу', ru: 'Исследование', en: 'Test' },
  result: { kk: 'Нәтиже', ru: 'Результат', en: 'Result' },
  referenceRange: { kk: 'Қалыпты мәні', ru: 'Референсный интервал', en: 'Reference range' },
  interpretation: { kk: 'Бағалау', ru: 'Оценка', en: 'Interpretation' },
  procedure: { kk: 'Процедура', ru: 'Процедура', en: 'Procedure' },
  device: { kk: 'Бұйым', ru: 'Изделие', en: 'Device' },
  measurement: { kk: 'Көрсеткіш', ru: 'Показатель', en: 'Measurement' },
  value: { kk: 'Мәні', ru: 'Значение', en: 'Value' },
  observation: { kk: 'Бақылау', ru: 'Наблюдение', en: 'Observation' },
  plan: { kk: 'Жоспар', ru: 'План', en: 'Plan' },
  assessment: { kk: 'Бағалау', ru: 'Оценка', en: 'Assessment' },
  directive: { kk: 'Нұсқау', ru: 'Распоряжение', en: 'Directive' },
  status: { kk: 'Күйі', ru: 'Статус', en: 'Status' },
  date: { kk: 'Күні', ru: 'Дата', en: 'Date' },
  onset: { kk: 'Басталуы', ru: 'Начало', en: 'Onset' },
  resolved: { kk: 'Аяқталуы', ru: 'Окончание', en: 'Resolved' },
  period: { kk: 'Кезеңі', ru: 'Период', en: 'Period' },
  yes: { kk: 'Иә', ru: 'Да', en: 'Yes' },
  no: { kk: 'Жоқ', ru: 'Нет', en: 'No' },
} as const satisfies Record<string, Texts>;

export type TextKey = keyof typeof TEXT;

export function text(key: TextKey, locale: Locale): string {
  return TEXT[key][locale];
}

/**
 * The FHIR codes a summary's tables show as words: statuses of the resources it lists, allergy
 * types, categories and criticality, and administrative gender. Codes not listed show as they are.
 */
const CODES: ReadonlyMap<string, Texts> = new Map<string, Texts>([
  ['active', { kk: 'белсенді', ru: 'активно', en: 'active' }],
  ['recurrence', { kk: 'қайталанған', ru: 'повторное', en: 'recurrence' }],
  ['relapse', { kk: 'өршуі', ru: 'рецидив', en: 'relapse' }],
  ['inactive', { kk: 'белсенді емес', ru: 'неактивно', en: 'inactive' }],
  ['remission', { kk: 'ремиссия', ru: 'ремиссия', en: 'remission' }],
  ['resolved', { kk: 'жазылған', ru: 'разрешилось', en: 'resolved' }],
  ['completed', { kk: 'аяқталған', ru: 'завершено', en: 'completed' }],
  ['in-progress', { kk: 'орындалуда', ru: 'выполняется', en: 'in progress' }],
  ['preparation', { kk: 'дайындалуда', ru: 'подготовка', en: 'preparation' }],
  ['not-done', { kk: 'орындалмаған', ru: 'не выполнено', en: 'not done' }],
  ['on-hold', { kk: 'тоқтатыла тұрған', ru: 'приостановлено', en: 'on hold' }],
  ['stopped', { kk: 'тоқтатылған', ru: 'прекращено', en: 'stopped' }],
  ['intended', { kk: 'жоспарланған', ru: 'запланировано', en: 'intended' }],
  ['not-taken', { kk: 'қабылданбаған', ru: 'не принимается', en: 'not taken' }],
  ['draft', { kk: 'жоба', ru: 'черновик', en: 'draft' }],
  ['proposed', { kk: 'ұсынылған', ru: 'предложено', en: 'proposed' }],
  ['revoked', { kk: 'күші жойылған', ru: 'отменено', en: 'revoked' }],
  ['cancelled', { kk: 'бас тартылған', ru: 'отменено', en: 'cancelled' }],
  ['rejected', { kk: 'қабылданбаған', ru: 'отклонено', en: 'rejected' }],
  ['unknown', { kk: 'белгісіз', ru: 'неизвестно', en: 'unknown' }],
  ['final', { kk: 'түпкілікті', ru: 'окончательный', en: 'final' }],
  ['preliminary', { kk: 'алдын ала', ru: 'предварительный', en: 'preliminary' }],
  ['registered', { kk: 'тіркелген', ru: 'зарегистрирован', en: 'registered' }],
  ['partial', { kk: 'ішінара', ru: 'частичный', en: 'partial' }],
  ['amended', { kk: 'өзгертілген', ru: 'изменён', en: 'amended' }],
  ['corrected', { kk: 'түзетілген', ru: 'исправлен', en: 'corrected' }],
  ['appended', { kk: 'толықтырылған', ru: 'дополнен', en: 'appended' }],
  ['confirmed', { kk: 'расталған', ru: 'подтверждено', en: 'confirmed' }],
  ['unconfirmed', { kk: 'расталмаған', ru: 'не подтверждено', en: 'unconfirmed' }],
  ['allergy', { kk: 'аллергия', ru: 'аллергия', en: 'allergy' }],
  ['intolerance', { kk: 'жақпаушылық', ru: 'непереносимость', en: 'intolerance' }],
  ['food', { kk: 'тағам', ru: 'пища', en: 'food' }],
  ['medication', { kk: 'дәрі', ru: 'лекарство', en: 'medication' }],
  ['environment', { kk: 'қоршаған орта', ru: 'окружающая среда', en: 'environment' }],
  ['biologic', { kk: 'биологиялық', ru: 'биологическое', en: 'biologic' }],
  ['low', { kk: 'төмен', ru: 'низкая', en: 'low' }],
  ['high', { kk: 'жоғары', ru: 'высокая', en: 'high' }],
  ['unable-to-assess', { kk: 'бағалау мүмкін емес', ru: 'невозможно оценить', en: 'unable to assess' }],
  ['male', { kk: 'ер', ru: 'мужской', en: 'male' }],
  ['female', { kk: 'әйел', ru: 'женский', en: 'female' }],
  ['other', { kk: 'басқа', ru: 'другой', en: 'other' }],
]);

/** A FHIR code (a status, a category…) in `locale`; a code without a translation shows as it is. */
export function codeWord(code: string, locale: Locale): string {
  return CODES.get(code)?.[locale] ?? code;
}

const DATE_LOCALES: Readonly<Record<Locale, string>> = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
const FORMATS = new Map<string, Intl.DateTimeFormat>();

/**
 * A FHIR date or dateTime as the reader writes dates: `05.03.2024` in Kazakh and Russian,
 * `05/03/2024` in English, with only the precision the record has (`2024`, `03.2024`). The
 * calendar date is the one recorded, in the offset it was recorded with: a dateTime is not moved
 * to another time zone.
 */
export function formatDate(value: string | undefined, locale: Locale): string {
  const match = value === undefined ? null : /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!match) return value ?? '';
  const [, year, month, day] = match;
  if (month === undefined) return year!;
  const options: Intl.DateTimeFormatOptions = day === undefined ? { month: '2-digit', year: 'numeric' } : { day: '2-digit', month: '2-digit', year: 'numeric' };
  const key = `${locale}|${day === undefined ? 'm' : 'd'}`;
  let format = FORMATS.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(DATE_LOCALES[locale], { ...options, timeZone: 'UTC' });
    FORMATS.set(key, format);
  }
  return format.format(new Date(Date.UTC(Number(year), Number(month) - 1, Number(day ?? '1'))));
}
