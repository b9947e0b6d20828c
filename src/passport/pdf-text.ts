import { fillTemplate, type Locale } from '../fhir/locale.js';

/**
 * The printed passport's fixed texts in Kazakh, Russian and English. Values between braces are
 * filled in as given.
 */
const TEXT = {
  title: { kk: 'Денсаулық паспорты', ru: 'Паспорт здоровья', en: 'Health passport' },
  subtitle: {
    kk: 'Пациент туралы халықаралық қысқаша мәлімет (IPS)',
    ru: 'Международная сводка о пациенте (IPS)',
    en: 'International Patient Summary (IPS)',
  },
  birthDate: { kk: 'Туған күні', ru: 'Дата рождения', en: 'Date of birth' },
  sex: { kk: 'Жынысы', ru: 'Пол', en: 'Sex' },
  iin: { kk: 'ЖСН', ru: 'ИИН', en: 'IIN' },
  documentDate: { kk: 'Құжат күні', ru: 'Дата документа', en: 'Document date' },
  documentId: { kk: 'Құжат идентификаторы', ru: 'Идентификатор документа', en: 'Document identifier' },
  generatedAt: { kk: 'Қалыптастырылған уақыты: {date}', ru: 'Сформировано: {date}', en: 'Generated: {date}' },
  scanToOpen: { kk: 'Осы паспортты ашу үшін сканерлеңіз', ru: 'Отсканируйте, чтобы открыть этот паспорт', en: 'Scan to open this passport' },
  validUntil: { kk: 'Жарамдылық мерзімі: {date}', ru: 'Действительно до {date}', en: 'Valid until {date}' },
  continued: { kk: 'жалғасы', ru: 'продолжение', en: 'continued' },
  noInformation: { kk: 'Мәлімет жоқ', ru: 'Нет сведений', en: 'No information' },
  section: { kk: 'Бөлім', ru: 'Раздел', en: 'Section' },
  male: { kk: 'ер', ru: 'мужской', en: 'male' },
  female: { kk: 'әйел', ru: 'женский', en: 'female' },
  other: { kk: 'басқа', ru: 'другой', en: 'other' },
  unknown: { kk: 'белгісіз', ru: 'неизвестно', en: 'unknown' },
} satisfies Record<string, Record<Locale, string>>;

export type PdfTextKey = keyof typeof TEXT;

/** The text `key` in `locale`, with `{name}` placeholders filled from `values`. */
export function pdfText(key: PdfTextKey, locale: Locale, values: Record<string, string> = {}): string {
  return fillTemplate(TEXT[key][locale], values);
}

/** `Patient.gender` (https://hl7.org/fhir/R4/valueset-administrative-gender.html) in `locale`. */
export function genderText(gender: string | undefined, locale: Locale): string | undefined {
  return gender === 'male' || gender === 'female' || gender === 'other' || gender === 'unknown' ? pdfText(gender, locale) : undefined;
}

/** ICU locales: British English writes the day before the month, as Kazakhstan does. */
const INTL_LOCALE: Record<Locale, string> = { kk: 'kk', ru: 'ru', en: 'en-GB' };
/**
 * Instants are printed on Kazakhstan's clock (one zone, UTC+5, since March 2024) with the offset
 * shown, so that a reader abroad is not misled.
 */
const TIME_ZONE = 'Asia/Almaty';

type DatePrecision = 'year' | 'month' | 'day' | 'instant';
const formats = new Map<string, Intl.DateTimeFormat>();

function format(locale: Locale, precision: DatePrecision): Intl.DateTimeFormat {
  const key = `${locale}|${precision}`;
  let found = formats.get(key);
  if (!found) {
    const options: Intl.DateTimeFormatOptions =
      precision === 'instant'
        ? { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: TIME_ZONE, timeZoneName: 'shortOffset' }
        : { year: 'numeric', month: precision === 'year' ? undefined : 'long', day: precision === 'day' ? 'numeric' : undefined, timeZone: 'UTC' };
    found = new Intl.DateTimeFormat(INTL_LOCALE[locale], options);
    formats.set(key, found);
  }
  return found;
}

const PARTIAL_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/**
 * A FHIR date, dateTime or instant (https://hl7.org/fhir/R4/datatypes.html#dateTime) as a reader of
 * `locale` writes it, to the precision it was given: `1985` stays a year, a birth date stays a
 * calendar day whatever the zone. Anything unparseable is printed as it came.
 */
export function formatFhirDate(value: string | undefined, locale: Locale): string | undefined {
  if (!value) return undefined;
  const partial = PARTIAL_DATE.exec(value);
  if (partial) {
    const [, y, m, d] = partial;
    const at = new Date(Date.UTC(Number(y), m ? Number(m) - 1 : 0, d ? Number(d) : 1));
    if (Number.isNaN(at.getTime())) return value;
    return format(locale, d ? 'day' : m ? 'month' : 'year').format(at);
  }
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? value : format(locale, 'instant').format(at);
}
