import { type Locale, type Translated } from '../fhir/locale.js';
import { type Message, component } from './message.js';

/**
 * What ERR-8 (user message) tells the people at the sending system, in Kazakh, Russian or English;
 * ERR-7 keeps the engineer's diagnostic in English, as the interface's own vocabulary. Keyed by
 * HL7 table 0357 code.
 */
const TEXT = {
  '0': {
    kk: 'Хабарлама қабылданды. Қосымша ескертпе ERR-7 ішінде.',
    ru: 'Сообщение принято. Дополнительное примечание — в ERR-7.',
    en: 'The message was accepted. ERR-7 holds a note.',
  },
  '100': {
    kk: 'Хабарлама құрылымы дұрыс емес (сегменттер реті немесе атауы). Жіберуші жүйені тексеріп, қайта жіберіңіз.',
    ru: 'Неверная структура сообщения (порядок или имя сегментов). Проверьте систему-отправитель и отправьте снова.',
    en: 'The message is not structured correctly (segment order or name). Check the sending system and send again.',
  },
  '101': {
    kk: 'Міндетті өріс бос. Оны толтырып, қайта жіберіңіз.',
    ru: 'Обязательное поле не заполнено. Заполните его и отправьте снова.',
    en: 'A required field is empty. Fill it in and send again.',
  },
  '102': {
    kk: 'Өріс мәні өз түріне сәйкес емес (сан, күн, код немесе кодтау). Түзетіп, қайта жіберіңіз.',
    ru: 'Значение поля не соответствует его типу (число, дата, код или кодировка). Исправьте и отправьте снова.',
    en: 'A field’s value does not match its type (number, date, code or character set). Correct it and send again.',
  },
  '103': {
    kk: 'Хабарламадағы таңбалар жинағы қабылданбайды: UNICODE UTF-8, 8859/5 немесе WINDOWS-1251 жіберіңіз.',
    ru: 'Кодировка сообщения не принимается: отправляйте в UNICODE UTF-8, 8859/5 или WINDOWS-1251.',
    en: 'The message’s character set is not taken: send UNICODE UTF-8, 8859/5 or WINDOWS-1251.',
  },
  '200': {
    kk: 'Бұл хабарлама түрі қабылданбайды: қабылданатын түрлер ERR-7 ішінде аталған.',
    ru: 'Этот тип сообщения не принимается: принимаемые типы перечислены в ERR-7.',
    en: 'This message type is not taken: ERR-7 lists the types that are.',
  },
  '201': {
    kk: 'Бұл оқиға түрі қабылданбайды: қабылданатын оқиғалар ERR-7 ішінде аталған.',
    ru: 'Этот тип события не принимается: принимаемые события перечислены в ERR-7.',
    en: 'This trigger event is not taken: ERR-7 lists the events that are.',
  },
  '202': {
    kk: 'Тек өндірістік (P) хабарламалар қабылданады: сынақ деректері пациенттің жазбасына түспейді.',
    ru: 'Принимаются только рабочие (P) сообщения: тестовые данные не попадают в карту пациента.',
    en: 'Only production (P) messages are taken: test data never enters a patient’s record.',
  },
  '203': {
    kk: 'HL7 нұсқасы қабылданбайды: қабылданатын нұсқалар ERR-7 ішінде аталған.',
    ru: 'Версия HL7 не принимается: принимаемые версии перечислены в ERR-7.',
    en: 'This HL7 version is not taken: ERR-7 lists the versions that are.',
  },
  '204': {
    kk: 'Жіберуші жүйе тіркелмеген немесе қазір жібере алмайды. Densaulyq әкімшісіне хабарласыңыз.',
    ru: 'Система-отправитель не зарегистрирована или сейчас не может отправлять. Обратитесь к администратору Densaulyq.',
    en: 'The sending system is not registered or may not send now. Contact the Densaulyq administrator.',
  },
  '207': {
    kk: 'Қабылдау кезінде ішкі қате болды. Кейінірек қайта жіберіңіз.',
    ru: 'При приёме произошла внутренняя ошибка. Отправьте снова позже.',
    en: 'An internal error occurred on receipt. Send again later.',
  },
} satisfies Record<string, Translated>;

type AckTextKey = keyof typeof TEXT;

/** ISO 639 codes MSH-19 may carry (CWE.1), two- or three-letter. */
const LANGUAGES: Readonly<Record<string, Locale | undefined>> = { kk: 'kk', kaz: 'kk', ru: 'ru', rus: 'ru', en: 'en', eng: 'en' };

/**
 * The language to answer `message` in: MSH-19 (principal language of message) when it is one of
 * ours; else Kazakh, the state language, in what its character set can write: 8859/5 and
 * Windows-1251 have no Kazakh letters (so Russian), 8859/1 no Cyrillic at all (so English).
 */
export function ackLanguage(message: Message | undefined): Locale {
  const declared = message ? LANGUAGES[component(message.segments[0], 19).toLowerCase()] : undefined;
  const encoding = message?.encoding ?? 'utf8';
  if (declared && (encoding === 'utf8' || declared !== 'kk')) return declared;
  return encoding === 'utf8' ? 'kk' : encoding === 'latin1' ? 'en' : 'ru';
}

export function ackText(key: string, locale: Locale): string | undefined {
  return Object.hasOwn(TEXT, key) ? TEXT[key as AckTextKey][locale] : undefined;
}
