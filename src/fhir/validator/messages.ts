/**
 * The texts of validation issues in Kazakh, Russian and English. The issue's `code` and
 * `expression` are the same in every language; only `details.text` follows the caller's
 * Accept-Language. Values between braces are filled in as given (element names, codes, URLs).
 */
import { fillTemplate, type Locale } from '../locale.js';

export type { Locale };

const TEXT = {
  notResource: { kk: 'Ресурс JSON объектісі болуы керек', ru: 'Ресурс должен быть объектом JSON', en: 'A resource must be a JSON object' },
  noResourceType: { kk: 'Ресурста resourceType жоқ', ru: 'У ресурса нет resourceType', en: 'The resource has no resourceType' },
  unknownResourceType: {
    kk: '{value} — R4 ресурс түрі емес',
    ru: '{value} не является типом ресурса R4',
    en: '{value} is not an R4 resource type',
  },
  notObject: {
    kk: '{type} үшін JSON объектісі күтілген, {found} берілген',
    ru: 'Для {type} ожидается объект JSON, получено: {found}',
    en: 'Expected a JSON object for {type}, found {found}',
  },
  unknownElement: {
    kk: '{type} ішінде «{name}» элементі жоқ',
    ru: 'В {type} нет элемента «{name}»',
    en: 'Unknown element "{name}" in {type}',
  },
  expectedArray: {
    kk: '«{name}» элементі JSON массиві болуы керек',
    ru: 'Элемент «{name}» должен быть массивом JSON',
    en: 'Element "{name}" must be a JSON array',
  },
  expectedSingle: {
    kk: '«{name}» элементінің бір ғана мәні болады, массив емес',
    ru: 'У элемента «{name}» не более одного значения, не массив',
    en: 'Element "{name}" has at most one value, not an array',
  },
  emptyArray: {
    kk: 'Массив бос болмауы керек: оның орнына элементті қалдырмаңыз',
    ru: 'Массив не может быть пустым: вместо этого опустите элемент',
    en: 'An array must not be empty: leave the element out instead',
  },
  nullValue: {
    kk: 'null мән емес: оның орнына элементті қалдырмаңыз',
    ru: 'null не является значением: вместо этого опустите элемент',
    en: 'null is not a value: leave the element out instead',
  },
  nullWithoutExtension: {
    kk: 'Примитивтер массивіндегі null үшін «_{name}» ішінде сол индексте кеңейтім болуы керек',
    ru: 'Для null в массиве примитивов нужно расширение с тем же индексом в «_{name}»',
    en: 'A null in an array of primitives needs an extension at the same index in "_{name}"',
  },
  extensionLength: {
    kk: '«{name}» мен «_{name}» элементтерінің саны бірдей болуы керек',
    ru: 'В «{name}» и «_{name}» должно быть одинаковое число элементов',
    en: '"{name}" and "_{name}" must have the same number of items',
  },
  required: {
    kk: '«{name}» элементі міндетті: кемінде {min} мән керек, {count} берілген',
    ru: 'Элемент «{name}» обязателен: нужно не менее {min}, получено {count}',
    en: 'Element "{name}" is required: at least {min} needed, found {count}',
  },
  tooMany: {
    kk: '«{name}» элементінде ең көбі {max} мән болады, {count} берілген',
    ru: 'В элементе «{name}» не более {max} значений, получено {count}',
    en: 'Element "{name}" allows at most {max}, found {count}',
  },
  choiceConflict: {
    kk: 'Мыналардың біреуі ғана болуы мүмкін: {keys}',
    ru: 'Допустимо только одно из: {keys}',
    en: 'Only one of {keys} may be present',
  },
  elementEmpty: {
    kk: 'Элементтің мәні немесе ішкі элементтері болуы керек (ele-1)',
    ru: 'У элемента должно быть значение или дочерние элементы (ele-1)',
    en: 'An element must have a value or children (ele-1)',
  },
  extensionValueAndChildren: {
    kk: 'Кеңейтімде не ішкі кеңейтімдер, не value[x] болуы керек, екеуі бірге емес (ext-1)',
    ru: 'У расширения должны быть либо вложенные расширения, либо value[x], но не оба (ext-1)',
    en: 'An extension must have either extensions or a value[x], not both (ext-1)',
  },
  invariant: {
    kk: '{key} шектеуі орындалмады: {human}',
    ru: 'Нарушено ограничение {key}: {human}',
    en: 'Constraint {key} failed: {human}',
  },
  invariantNotEvaluated: {
    kk: '{key} шектеуін тексеру мүмкін болмады: {reason}',
    ru: 'Ограничение {key} не удалось проверить: {reason}',
    en: 'Constraint {key} could not be evaluated: {reason}',
  },
  jsonType: {
    kk: '{type} үшін JSON {json} күтілген, {found} берілген',
    ru: 'Для {type} ожидается JSON {json}, получено: {found}',
    en: 'Expected a JSON {json} for {type}, found {found}',
  },
  emptyString: { kk: '{type} бос болмауы керек', ru: '{type} не может быть пустым', en: '{type} must not be empty' },
  blankString: {
    kk: '{type} тек бос орындардан тұрмауы керек',
    ru: '{type} не может состоять из одних пробелов',
    en: '{type} must hold more than whitespace',
  },
  stringTooLong: {
    kk: '{type} {max} таңбадан ұзын',
    ru: '{type} длиннее {max} символов',
    en: '{type} is longer than {max} characters',
  },
  controlCharacter: {
    kk: '{type} ішінде {code} басқару таңбасы бар',
    ru: '{type} содержит управляющий символ {code}',
    en: '{type} contains the control character {code}',
  },
  notInteger: { kk: '{value} бүтін сан емес ({type})', ru: '{value} не целое число ({type})', en: '{value} is not an integer ({type})' },
  integerRange: {
    kk: '{value} {type} ауқымынан тыс: {min}…{max}',
    ru: '{value} вне диапазона {type}: {min}…{max}',
    en: '{value} is outside the range of {type}: {min} to {max}',
  },
  format: { kk: '«{value}» — жарамды {type} емес', ru: '«{value}» не является допустимым {type}', en: '"{value}" is not a valid {type}' },
  codeWhitespace: {
    kk: '«{value}» — жарамды code емес: басында, соңында бос орын немесе қатарынан екі бос орын болмауы керек',
    ru: '«{value}» не является допустимым code: без пробелов в начале, в конце и двойных пробелов',
    en: '"{value}" is not a valid code: no leading, trailing or repeated whitespace',
  },
  noSuchDay: {
    kk: '«{value}» күнтізбеде жоқ: {year}-{month} айында {days} күн бар',
    ru: '«{value}» нет в календаре: в {year}-{month} {days} дней',
    en: '"{value}" is not on the calendar: {year}-{month} has {days} days',
  },
  noLeapSecond: {
    kk: '«{value}» ішінде 60-секунд бар, бірақ бұл қосымша секунд емес (ай соңында UTC бойынша 23:59:60)',
    ru: 'В «{value}» секунда 60, но это не дополнительная секунда (23:59:60 UTC в конце месяца)',
    en: '"{value}" has second 60 but is not a leap second (23:59:60 UTC at the end of a month)',
  },
  base64: {
    kk: 'base64 жарамсыз: A–Z, a–z, 0–9, + және / таңбаларынан төрттен топтар, = тек соңында',
    ru: 'Недопустимый base64: группы по четыре символа из A–Z, a–z, 0–9, + и /, знак = только в конце',
    en: 'Not valid base64: groups of four characters from A–Z, a–z, 0–9, + and /, with = padding only at the end',
  },
  codeNotInValueSet: {
    kk: '«{code}» коды міндетті {url} мәндер жиынында жоқ',
    ru: 'Кода «{code}» нет в обязательном наборе значений {url}',
    en: 'Code "{code}" is not in the required value set {url}',
  },
  codingNotInValueSet: {
    kk: '{coding} коды міндетті {url} мәндер жиынында жоқ',
    ru: 'Кода {coding} нет в обязательном наборе значений {url}',
    en: 'Code {coding} is not in the required value set {url}',
  },
  conceptNotInValueSet: {
    kk: 'Кодтардың ({codings}) ешқайсысы міндетті {url} мәндер жиынынан емес',
    ru: 'Ни один из кодов ({codings}) не из обязательного набора значений {url}',
    en: 'None of the codings ({codings}) is from the required value set {url}',
  },
  extensibleNotInValueSet: {
    kk: '{coding} {url} мәндер жиынында жоқ: жиында сәйкес код болса, соны қолданыңыз',
    ru: '{coding} нет в наборе значений {url}: если в нём есть подходящий код, используйте его',
    en: '{coding} is not in the value set {url}: use its code where it has a suitable one',
  },
  referenceFormat: {
    kk: '«{value}» сілтемесі Type/id, Type/id/_history/vid, Type?іздеу, http(s) URL, urn:uuid:, urn:oid: немесе #contained түрінде болуы керек',
    ru: 'Ссылка «{value}» должна иметь вид Type/id, Type/id/_history/vid, Type?поиск, http(s) URL, urn:uuid:, urn:oid: или #contained',
    en: 'Reference "{value}" must be Type/id, Type/id/_history/vid, Type?search, an http(s) URL, urn:uuid:, urn:oid: or #contained',
  },
  referenceUnknownType: {
    kk: '«{value}» сілтемесінде белгісіз {type} ресурс түрі көрсетілген',
    ru: 'Ссылка «{value}» указывает неизвестный тип ресурса {type}',
    en: 'Reference "{value}" names an unknown resource type {type}',
  },
  referenceTarget: {
    kk: '«{value}» сілтемесі {type} емес, {allowed} ресурсына нұсқауы керек',
    ru: 'Ссылка «{value}» должна указывать на {allowed}, а не на {type}',
    en: 'Reference "{value}" must point to {allowed}, not {type}',
  },
  referenceNotContained: {
    kk: '«{value}» сілтемесі осы ресурстың ішіндегі (contained) ешбір ресурсқа нұсқамайды (ref-1)',
    ru: 'Ссылка «{value}» не указывает ни на один вложенный (contained) ресурс этого ресурса (ref-1)',
    en: 'Reference "{value}" names no contained resource of this resource (ref-1)',
  },
  referenceToContainer: {
    kk: '«#» сілтемесі құрамындағы ресурсты білдіреді, оны тек ішкі (contained) ресурстан қолдануға болады',
    ru: 'Ссылка «#» означает содержащий ресурс и допустима только из вложенного (contained) ресурса',
    en: 'The reference "#" means the containing resource and is allowed only from a resource contained in it',
  },
  nestedContained: {
    kk: 'Ішкі (contained) ресурстың өз ішкі ресурстары болмайды (dom-2)',
    ru: 'Вложенный (contained) ресурс не может содержать ресурсы (dom-2)',
    en: 'A contained resource must not contain resources (dom-2)',
  },
  containedVersion: {
    kk: 'Ішкі (contained) ресурста meta.versionId және meta.lastUpdated болмайды (dom-4)',
    ru: 'У вложенного (contained) ресурса не может быть meta.versionId и meta.lastUpdated (dom-4)',
    en: 'A contained resource must not have meta.versionId or meta.lastUpdated (dom-4)',
  },
  containedSecurity: {
    kk: 'Ішкі (contained) ресурста meta.security болмайды (dom-5)',
    ru: 'У вложенного (contained) ресурса не может быть meta.security (dom-5)',
    en: 'A contained resource must not have meta.security (dom-5)',
  },
  containedUnreferenced: {
    kk: '«{id}» ішкі (contained) ресурсына ресурстың басқа жерінен сілтеме жоқ (dom-3)',
    ru: 'На вложенный (contained) ресурс «{id}» нет ссылок из остальной части ресурса (dom-3)',
    en: 'The contained resource "{id}" is not referenced from elsewhere in the resource (dom-3)',
  },
  narrativeRoot: {
    kk: 'Нарратив XHTML аттар кеңістігіндегі <div> элементі болуы керек (txt-1)',
    ru: 'Нарратив должен быть элементом <div> в пространстве имён XHTML (txt-1)',
    en: 'The narrative must be a <div> in the XHTML namespace (txt-1)',
  },
  narrativeElement: {
    kk: 'Нарративте <{name}> элементі болмайды: тек негізгі HTML пішімдеу элементтері (txt-1)',
    ru: 'Нарратив не может содержать <{name}>: только базовые элементы форматирования HTML (txt-1)',
    en: 'The narrative may not contain <{name}>: only basic HTML formatting elements (txt-1)',
  },
  narrativeAttribute: {
    kk: 'Нарративте {name} атрибуты болмайды (txt-1)',
    ru: 'Нарратив не может содержать атрибут {name} (txt-1)',
    en: 'The narrative may not contain the attribute {name} (txt-1)',
  },
  narrativeMarkup: {
    kk: 'Нарратив дұрыс XHTML емес ({at}-таңба маңында) (txt-1)',
    ru: 'Нарратив не является правильным XHTML (около символа {at}) (txt-1)',
    en: 'The narrative is not well-formed XHTML (near character {at}) (txt-1)',
  },
  narrativeEmpty: {
    kk: 'Нарративте бос орыннан басқа мазмұн болуы керек (txt-2)',
    ru: 'В нарративе должно быть содержимое помимо пробелов (txt-2)',
    en: 'The narrative must have some non-whitespace content (txt-2)',
  },
  profileWrongType: {
    kk: '{url} профилі {actual} емес, {type} түрін шектейді',
    ru: 'Профиль {url} ограничивает {type}, а не {actual}',
    en: 'Profile {url} constrains {type}, not {actual}',
  },
  profileUnknown: {
    kk: '{url} профилі бұл серверде жоқ, сондықтан тексерілмеді',
    ru: 'Профиля {url} нет на этом сервере, поэтому он не проверен',
    en: 'Profile {url} is not held by this server, so it was not checked',
  },
  sliceCount: {
    kk: '«{name}» элементінің «{slice}» бөлігінде {min}…{max} мән керек, {count} берілген',
    ru: 'В срезе «{slice}» элемента «{name}» нужно {min}…{max} значений, получено {count}',
    en: 'Slice "{slice}" of "{name}" needs {min} to {max}, found {count}',
  },
  sliceClosed: {
    kk: 'Бұл мән «{name}» элементінің ешбір бөлігіне сәйкес келмейді, ал бөліктер жабық',
    ru: 'Значение не подходит ни к одному срезу элемента «{name}», а срезы закрыты',
    en: 'The value matches none of the slices of "{name}", and the slicing is closed',
  },
  sliceOrder: {
    kk: '«{name}» мәндері бөліктер ретімен берілмеген: «{slice}» бөлігі кейінірек болуы керек',
    ru: 'Значения «{name}» не в порядке срезов: срез «{slice}» должен идти позже',
    en: 'The values of "{name}" are not in slice order: slice "{slice}" must come later',
  },
  sliceOpenAtEnd: {
    kk: '«{name}» элементінің ешбір бөлікке жатпайтын мәндері соңында болуы керек',
    ru: 'Значения «{name}», не входящие в срезы, должны идти в конце',
    en: 'Values of "{name}" that match no slice must come last',
  },
  fixedValue: {
    kk: 'Мән дәл {value} болуы керек',
    ru: 'Значение должно быть в точности {value}',
    en: 'The value must be exactly {value}',
  },
  patternValue: {
    kk: 'Мәнде {value} үлгісі болуы керек',
    ru: 'Значение должно содержать образец {value}',
    en: 'The value must contain the pattern {value}',
  },
  longerThan: {
    kk: 'Мән ең көбі {max} таңба болуы керек, {length} берілген',
    ru: 'Значение должно быть не длиннее {max} символов, получено {length}',
    en: 'The value may be at most {max} characters long, found {length}',
  },
  outOfRange: {
    kk: '{value} рұқсат етілген ауқымнан тыс: {min}…{max}',
    ru: '{value} вне допустимого диапазона: {min}…{max}',
    en: '{value} is outside the allowed range {min} to {max}',
  },
  typeNotAllowed: {
    kk: 'Мұнда {type} түріне рұқсат жоқ: {allowed}',
    ru: 'Тип {type} здесь не допускается: {allowed}',
    en: 'Type {type} is not allowed here: {allowed}',
  },
  notConformant: {
    kk: 'Мән {profile} профиліне сәйкес келмейді',
    ru: 'Значение не соответствует профилю {profile}',
    en: 'The value does not conform to the profile {profile}',
  },
  tooDeep: {
    kk: 'Ресурс тексеру үшін тым терең',
    ru: 'Ресурс вложен слишком глубоко для проверки',
    en: 'The resource is nested too deeply to validate',
  },
  notValidated: {
    kk: 'Ресурсты тексеру мүмкін болмады',
    ru: 'Ресурс не удалось проверить',
    en: 'The resource could not be validated',
  },
} as const satisfies Record<string, Record<Locale, string>>;

export type MessageKey = keyof typeof TEXT;

export function message(locale: Locale, key: MessageKey, params?: Readonly<Record<string, string | number>>): string {
  const template: string = TEXT[key][locale];
  if (!params) return template;
  return fillTemplate(template, params);
}

/**
 * The language of validation messages from an Accept-Language header
 * (https://www.rfc-editor.org/rfc/rfc9110#name-accept-language): the first of kk, ru, en by the
 * client's preference, by primary subtag (`ru-RU` is ru). English when the header names none of
 * them or is absent, as in the rest of the API's texts.
 */
export function negotiateLocale(acceptLanguage: string | undefined): Locale {
  if (!acceptLanguage) return 'en';
  const ranked = acceptLanguage
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { language: tag.trim().toLowerCase().split('-')[0], q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((entry) => Number.isFinite(entry.q) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { language } of ranked) {
    if (language === 'kk' || language === 'ru' || language === 'en') return language;
  }
  return 'en';
}
