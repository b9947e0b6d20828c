import { type ComparisonField, isComparisonField } from './comparison.js';

/**
 * What the registrar reads for each field of a candidate pair, in Kazakh, Russian and English:
 * the field's name and how the two records agree on it (levels as in comparison.ts).
 */
import type { Locale, Translated } from '../fhir/locale.js';
import { SENDER_MERGE } from '../store/duplicate-candidates.js';

export type { Locale, Translated };

export const FIELD_LABELS: Readonly<Record<ComparisonField, Translated>> = {
  iin: { kk: 'ЖСН немесе шетелдік жеке нөмір', ru: 'ИИН или иностранный личный номер', en: 'IIN or foreign personal number' },
  family: { kk: 'Тегі', ru: 'Фамилия', en: 'Family name' },
  given: { kk: 'Аты', ru: 'Имя', en: 'Given name' },
  patronymic: { kk: 'Әкесінің аты', ru: 'Отчество', en: 'Patronymic' },
  birthDate: { kk: 'Туған күні', ru: 'Дата рождения', en: 'Birth date' },
  sex: { kk: 'Жынысы', ru: 'Пол', en: 'Sex' },
  contact: { kk: 'Телефон мен мекенжай', ru: 'Телефон и адрес', en: 'Phone and address' },
};

/** Evidence that is no field comparison: an organization's system said the two are one person (HL7 v2 A40). */
const OTHER_LABELS: Readonly<Record<string, Translated>> = {
  [SENDER_MERGE]: { kk: 'Ұйым жүйесі біріктірген', ru: 'Объединены системой организации', en: 'Merged by an organization’s system' },
};

export const LEVEL_LABELS: Readonly<Record<string, Translated>> = {
  exact: { kk: 'сәйкес келеді', ru: 'совпадает', en: 'the same' },
  same: { kk: 'сәйкес келеді', ru: 'совпадает', en: 'the same' },
  typo: { kk: 'бір цифр қате', ru: 'ошибка в одной цифре', en: 'one digit off' },
  close: { kk: 'өте ұқсас', ru: 'почти совпадает', en: 'nearly the same' },
  similar: { kk: 'ұқсас', ru: 'похоже', en: 'similar' },
  different: { kk: 'әртүрлі', ru: 'различается', en: 'different' },
  dayMonthSwapped: { kk: 'күні мен айы ауысқан', ru: 'день и месяц переставлены', en: 'day and month swapped' },
  oneComponentOff: { kk: 'бір бөлігі өзгеше', ru: 'отличается одна часть', en: 'one part differs' },
  phoneAndDwelling: { kk: 'телефоны мен тұрғын үйі бірдей', ru: 'совпадают телефон и жильё', en: 'same phone and dwelling' },
  phone: { kk: 'телефоны бірдей', ru: 'совпадает телефон', en: 'same phone' },
  dwelling: { kk: 'тұрғын үйі бірдей', ru: 'совпадает жильё', en: 'same dwelling' },
  streetOrLocality: { kk: 'көшесі немесе елді мекені бірдей', ru: 'совпадает улица или населённый пункт', en: 'same street or locality' },
  missing: { kk: 'көрсетілмеген', ru: 'не указано', en: 'not recorded' },
  asserted: { kk: 'расталмаған мәлімдеме', ru: 'заявлено, не подтверждено', en: 'asserted, not verified' },
};

/** «Birth date: day and month swapped» in the three languages. */
export function evidenceText(field: string, level: string): Translated {
  const name = isComparisonField(field) ? FIELD_LABELS[field] : OTHER_LABELS[field];
  const how = LEVEL_LABELS[level];
  const join = (locale: Locale) => `${name?.[locale] ?? field}: ${how?.[locale] ?? level}`;
  return { kk: join('kk'), ru: join('ru'), en: join('en') };
}
