import type { EthnicGroup } from './geography.js';

/**
 * Personal names of Kazakhstan's larger groups, in Cyrillic as civil
 * registries write them, and the Latin form printed on passports and ID cards.
 */

/** A father's name and the patronymics his son and daughter carry in the Russian style. */
type FatherName = readonly [name: string, sonPatronymic: string, daughterPatronymic: string];

interface NamingTradition {
  male: readonly FatherName[];
  female: readonly string[];
  /** [male, female] surname forms. */
  surnames: readonly (readonly [string, string])[];
  language: 'kk' | 'ru';
}

const russianStyle = (names: string[]): FatherName[] =>
  names.map((name) => {
    if (name.endsWith('ей')) {
      return [name, `${name.slice(0, -1)}евич`, `${name.slice(0, -1)}евна`];
    }
    if (name.endsWith('ай')) {
      return [name, `${name.slice(0, -1)}евич`, `${name.slice(0, -1)}евна`];
    }
    if (/[шжчщц]$/.test(name)) {
      return [name, `${name}евич`, `${name}евна`];
    }
    if (name.endsWith('ий')) {
      return [name, `${name.slice(0, -2)}ьевич`, `${name.slice(0, -2)}ьевна`];
    }
    return [name, `${name}ович`, `${name}овна`];
  });

/** -ов/-ев surnames take -а for women; -ко, -ук, Korean and German surnames do not change. */
const gendered = (surnames: string[]): [string, string][] =>
  surnames.map((s) => [s, /(ов|ев|ин)$/.test(s) ? `${s}а` : s]);

const TRADITIONS: Record<EthnicGroup, NamingTradition> = {
  kazakh: {
    language: 'kk',
    male: russianStyle([
      'Нұрлан', 'Ерлан', 'Асқар', 'Дәурен', 'Ержан', 'Бауыржан', 'Айдос', 'Қайрат', 'Мұхтар', 'Серік', 'Әлихан',
      'Ерасыл', 'Арман', 'Бекзат', 'Ғалым', 'Жандос', 'Санжар', 'Темірлан', 'Алмас', 'Мирас', 'Ақжол', 'Еламан',
      'Нұрислам', 'Талғат', 'Берік', 'Марат', 'Ілияс', 'Әділет', 'Димаш', 'Ерболат', 'Жұмабек', 'Омар',
    ]),
    female: [
      'Айгүл', 'Гүлнар', 'Әсел', 'Динара', 'Жансая', 'Аружан', 'Іңкәр', 'Меруерт', 'Назерке', 'Айжан', 'Салтанат',
      'Ақбота', 'Гүлмира', 'Жанар', 'Сәуле', 'Мөлдір', 'Томирис', 'Айым', 'Аяулым', 'Дана', 'Раушан', 'Қарлығаш',
      'Ботагөз', 'Әйгерім', 'Үміт', 'Ләззат', 'Балжан', 'Жұлдыз', 'Мадина', 'Гаухар',
    ],
    surnames: gendered([
      'Нұрланов', 'Асқаров', 'Серікбаев', 'Жұмабаев', 'Сүлейменов', 'Омаров', 'Ахметов', 'Оспанов', 'Қасымов',
      'Әбдірахманов', 'Байжанов', 'Есенов', 'Мұратов', 'Жақсылықов', 'Исабеков', 'Тұрсынов', 'Бекмағанбетов',
      'Құдайбергенов', 'Сәрсенбаев', 'Ысқақов', 'Дүйсенов', 'Әлімжанов', 'Төлеуов', 'Қалиев', 'Нұрғалиев',
      'Шәріпов', 'Ержанов', 'Темірбеков', 'Өмірзақов', 'Рахымжанов',
    ]),
  },
  russian: {
    language: 'ru',
    male: russianStyle([
      'Александр', 'Сергей', 'Дмитрий', 'Андрей', 'Алексей', 'Владимир', 'Иван', 'Николай', 'Евгений', 'Виктор',
      'Павел', 'Максим', 'Артём', 'Игорь', 'Юрий', 'Олег', 'Роман', 'Денис', 'Константин', 'Станислав',
    ]),
    female: [
      'Елена', 'Ольга', 'Наталья', 'Татьяна', 'Ирина', 'Светлана', 'Анна', 'Мария', 'Екатерина', 'Юлия',
      'Людмила', 'Валентина', 'Анастасия', 'Дарья', 'Виктория', 'Полина', 'Ксения', 'Галина', 'Надежда', 'Вера',
    ],
    surnames: gendered([
      'Иванов', 'Петров', 'Смирнов', 'Кузнецов', 'Попов', 'Васильев', 'Соколов', 'Михайлов', 'Новиков', 'Фёдоров',
      'Морозов', 'Волков', 'Лебедев', 'Козлов', 'Егоров', 'Павлов', 'Степанов', 'Никитин', 'Орлов', 'Зайцев',
    ]),
  },
  uzbek: {
    language: 'ru',
    male: russianStyle(['Шерзод', 'Бахтиёр', 'Рустам', 'Жахонгир', 'Улугбек', 'Фаррух', 'Алишер', 'Достон', 'Тимур', 'Азамат']),
    female: ['Дилноза', 'Гулноза', 'Зарина', 'Нилуфар', 'Мохира', 'Шахноза', 'Феруза', 'Камила', 'Мафтуна', 'Севара'],
    surnames: gendered(['Юсупов', 'Рахимов', 'Каримов', 'Умаров', 'Усманов', 'Эргашев', 'Турсунов', 'Мирзаев', 'Холматов', 'Абдуллаев']),
  },
  uyghur: {
    language: 'ru',
    male: russianStyle(['Ильяр', 'Алим', 'Азат', 'Мурат', 'Ильхам', 'Дильмурат', 'Арслан', 'Абдумиджит', 'Шухрат', 'Ерфан']),
    female: ['Дильназ', 'Гульмира', 'Мадина', 'Назугум', 'Патигуль', 'Рузигуль', 'Мукаддас', 'Зульфия', 'Айнур', 'Дильбар'],
    surnames: gendered(['Ниязов', 'Хасанов', 'Мамутов', 'Исмаилов', 'Розахунов', 'Кадыров', 'Масимов', 'Турдыев', 'Сабитов', 'Юнусов']),
  },
  ukrainian: {
    language: 'ru',
    male: russianStyle(['Тарас', 'Богдан', 'Олег', 'Василий', 'Григорий', 'Николай', 'Виталий', 'Степан', 'Юрий', 'Анатолий']),
    female: ['Оксана', 'Галина', 'Олеся', 'Алёна', 'Людмила', 'Наталья', 'Светлана', 'Ганна', 'Лариса', 'Марина'],
    surnames: gendered(['Шевченко', 'Бондаренко', 'Коваленко', 'Ткаченко', 'Кравченко', 'Мельник', 'Лысенко', 'Ковальчук', 'Савчук', 'Гончаренко']),
  },
  tatar: {
    language: 'ru',
    male: russianStyle(['Ринат', 'Рустам', 'Ильдар', 'Марат', 'Айдар', 'Рамиль', 'Тагир', 'Рашид', 'Ильнур', 'Фарид']),
    female: ['Гульнара', 'Альфия', 'Лилия', 'Резеда', 'Гузель', 'Эльмира', 'Алсу', 'Венера', 'Диляра', 'Наиля'],
    surnames: gendered(['Галиев', 'Сафин', 'Хабибуллин', 'Валиев', 'Гарипов', 'Ахмеров', 'Зарипов', 'Шарипов', 'Мухаметов', 'Файзуллин']),
  },
  german: {
    language: 'ru',
    male: russianStyle(['Роберт', 'Эдуард', 'Альберт', 'Виктор', 'Андрей', 'Владимир', 'Александр', 'Генрих', 'Вальтер', 'Артур']),
    female: ['Ирина', 'Елена', 'Марина', 'Эльвира', 'Ольга', 'Лидия', 'Эмма', 'Наталья', 'Ирма', 'Татьяна'],
    surnames: gendered(['Шмидт', 'Мюллер', 'Вагнер', 'Беккер', 'Шнайдер', 'Фишер', 'Рихтер', 'Вебер', 'Келлер', 'Майер']),
  },
  korean: {
    language: 'ru',
    male: russianStyle(['Вячеслав', 'Виталий', 'Роман', 'Эдуард', 'Валерий', 'Геннадий', 'Владислав', 'Игорь', 'Олег', 'Борис']),
    female: ['Анжела', 'Марина', 'Светлана', 'Валерия', 'Инна', 'Жанна', 'Лариса', 'Алла', 'Виктория', 'Кристина'],
    surnames: gendered(['Ким', 'Пак', 'Ли', 'Цой', 'Тен', 'Хан', 'Югай', 'Нам', 'Шин', 'Ан']),
  },
};

export interface PersonName {
  family: string;
  given: string;
  /** Absent where a Kazakh name uses «-ұлы/-қызы» as the family name itself. */
  patronymic?: string;
  /** BCP-47 language of the Cyrillic form: Kazakh or Russian naming. */
  language: 'kk' | 'ru';
}

interface Chance {
  next(): number;
  pick<T>(items: readonly T[]): T;
}

/**
 * A name in the group's tradition. Kazakhs born after independence mostly
 * take «-ұлы/-қызы» patronymics, older ones the Soviet «-ович/-овна»; a few
 * use the patronymic form as their family name and have no separate patronymic.
 */
export function personName(group: EthnicGroup, sex: 'male' | 'female', birthYear: number, chance: Chance): PersonName {
  const tradition = TRADITIONS[group];
  const [father, sonPatronymic, daughterPatronymic] = chance.pick(tradition.male);
  const given = sex === 'male' ? chance.pick(tradition.male)[0] : chance.pick(tradition.female);
  if (group === 'kazakh') {
    const kazakhSuffix = sex === 'male' ? 'ұлы' : 'қызы';
    const roll = chance.next();
    if (birthYear >= 1995 && roll < 0.08) {
      return { family: father + kazakhSuffix, given, language: 'kk' };
    }
    const kazakhStyle = roll < (birthYear >= 1991 ? 0.7 : 0.25);
    if (kazakhStyle) {
      const [male, female] = chance.pick(tradition.surnames);
      return { family: sex === 'male' ? male : female, given, patronymic: father + kazakhSuffix, language: 'kk' };
    }
  }
  const [male, female] = chance.pick(tradition.surnames);
  return {
    family: sex === 'male' ? male : female,
    given,
    patronymic: sex === 'male' ? sonPatronymic : daughterPatronymic,
    language: tradition.language,
  };
}

/**
 * ICAO Doc 9303 transliteration as Kazakhstan prints it in the machine-readable
 * zone of passports and ID cards, with the Kazakh letters folded to their
 * nearest Latin letter (Ә→A, Ғ→G, Қ→K, Ң→N, Ө→O, Ұ/Ү→U, Һ→H, І→I).
 */
const ICAO: Record<string, string> = {
  а: 'a', ә: 'a', б: 'b', в: 'v', г: 'g', ғ: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i',
  к: 'k', қ: 'k', л: 'l', м: 'm', н: 'n', ң: 'n', о: 'o', ө: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u',
  ұ: 'u', ү: 'u', ф: 'f', х: 'kh', һ: 'h', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', і: 'i',
  ь: '', э: 'e', ю: 'iu', я: 'ia',
};

const latinCache = new Map<string, string>();

/** Latin form of a Cyrillic name, capitalised word by word. */
export function icaoLatin(cyrillic: string): string {
  let latin = latinCache.get(cyrillic);
  if (latin === undefined) {
    let out = '';
    let wordStart = true;
    for (const ch of cyrillic) {
      const lower = ch.toLowerCase();
      const mapped = ICAO[lower];
      if (mapped === undefined) {
        out += ch;
        wordStart = !/\p{L}/u.test(ch);
        continue;
      }
      out += wordStart && mapped.length > 0 ? mapped[0].toUpperCase() + mapped.slice(1) : mapped;
      if (mapped.length > 0) {
        wordStart = false;
      }
    }
    latin = out;
    latinCache.set(cyrillic, latin);
  }
  return latin;
}
