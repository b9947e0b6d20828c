/**
 * Kazakhstan's first-level units as of the 2022 reform: 17 regions (oblys)
 * and 3 cities of republican significance, each with a few districts. Shares
 * follow the 2023 population estimates closely enough for a synthetic
 * population; ethnic mixes follow the 2021 census pattern (Russians and
 * Germans in the north, Uzbeks in the south, Uyghurs around Almaty).
 */

/** Order of the weights in {@link Region.ethnicMix}; see names.ts. */
export const ETHNIC_GROUPS = ['kazakh', 'russian', 'uzbek', 'uyghur', 'ukrainian', 'tatar', 'german', 'korean'] as const;
export type EthnicGroup = (typeof ETHNIC_GROUPS)[number];

export interface District {
  kk: string;
  ru: string;
  /** The town or city the district's addresses and facilities sit in. */
  centreKk: string;
  centreRu: string;
  /** Relative weight within the region. */
  share: number;
  urban: boolean;
}

export interface Region {
  key: string;
  kk: string;
  ru: string;
  /** A city of republican significance rather than a region. */
  city: boolean;
  /** Percent of the country's population. */
  share: number;
  /** West of the old UTC+5/UTC+6 line (see dates.ts). */
  westernZone: boolean;
  phoneAreaCode: string;
  postalCode: string;
  latitude: number;
  longitude: number;
  ethnicMix: readonly number[];
  districts: readonly District[];
}

const cityDistricts = (cityKk: string, cityRu: string, names: [string, string][]): District[] =>
  names.map(([kk, ru]) => ({ kk, ru, centreKk: cityKk, centreRu: cityRu, share: 1, urban: true }));

const district = (kk: string, ru: string, centreKk: string, centreRu: string, share: number, urban = false): District => ({
  kk,
  ru,
  centreKk,
  centreRu,
  share,
  urban,
});

/** A region's own centre: the city of regional significance its department sits in. */
const centre = (kk: string, ru: string, share: number): District => district(`${kk} қ.`, `г. ${ru}`, kk, ru, share, true);

export const REGIONS: readonly Region[] = [
  {
    key: 'almaty-city', kk: 'Алматы қаласы', ru: 'город Алматы', city: true, share: 11.2, westernZone: false,
    phoneAreaCode: '727', postalCode: '050000', latitude: 43.238, longitude: 76.889,
    ethnicMix: [60, 25, 0.5, 5.5, 1, 1.5, 0.5, 2],
    districts: cityDistricts('Алматы', 'Алматы', [
      ['Алмалы ауданы', 'Алмалинский район'], ['Әуезов ауданы', 'Ауэзовский район'],
      ['Бостандық ауданы', 'Бостандыкский район'], ['Медеу ауданы', 'Медеуский район'],
      ['Алатау ауданы', 'Алатауский район'], ['Түрксіб ауданы', 'Турксибский район'],
    ]),
  },
  {
    key: 'astana', kk: 'Астана қаласы', ru: 'город Астана', city: true, share: 6.8, westernZone: false,
    phoneAreaCode: '7172', postalCode: '010000', latitude: 51.169, longitude: 71.449,
    ethnicMix: [78, 13, 0.5, 0.3, 1.5, 1.5, 0.8, 0.8],
    districts: cityDistricts('Астана', 'Астана', [
      ['Алматы ауданы', 'район Алматы'], ['Байқоңыр ауданы', 'район Байконыр'],
      ['Есіл ауданы', 'район Есиль'], ['Сарыарқа ауданы', 'район Сарыарка'], ['Нұра ауданы', 'район Нура'],
    ]),
  },
  {
    key: 'shymkent', kk: 'Шымкент қаласы', ru: 'город Шымкент', city: true, share: 6.0, westernZone: false,
    phoneAreaCode: '7252', postalCode: '160000', latitude: 42.317, longitude: 69.596,
    ethnicMix: [66, 5, 24, 0.2, 0.2, 1, 0.1, 0.5],
    districts: cityDistricts('Шымкент', 'Шымкент', [
      ['Абай ауданы', 'Абайский район'], ['Әл-Фараби ауданы', 'Аль-Фарабийский район'],
      ['Еңбекші ауданы', 'Енбекшинский район'], ['Қаратау ауданы', 'Каратауский район'], ['Тұран ауданы', 'Туранский район'],
    ]),
  },
  {
    key: 'abai', kk: 'Абай облысы', ru: 'область Абай', city: false, share: 3.1, westernZone: false,
    phoneAreaCode: '7222', postalCode: '071400', latitude: 50.411, longitude: 80.227,
    ethnicMix: [80, 16, 0.1, 0.1, 0.5, 1, 1.2, 0.2],
    districts: [
      centre('Семей', 'Семей', 55),
      district('Аягөз ауданы', 'Аягозский район', 'Аягөз', 'Аягоз', 15),
      district('Үржар ауданы', 'Урджарский район', 'Үржар', 'Урджар', 15),
      district('Бесқарағай ауданы', 'Бескарагайский район', 'Бесқарағай', 'Бескарагай', 15),
    ],
  },
  {
    key: 'akmola', kk: 'Ақмола облысы', ru: 'Акмолинская область', city: false, share: 4.0, westernZone: false,
    phoneAreaCode: '7162', postalCode: '020000', latitude: 53.283, longitude: 69.396,
    ethnicMix: [54, 30, 0.2, 0.1, 4, 1.5, 5, 0.5],
    districts: [
      centre('Көкшетау', 'Кокшетау', 22),
      district('Бурабай ауданы', 'Бурабайский район', 'Щучинск', 'Щучинск', 22),
      district('Целиноград ауданы', 'Целиноградский район', 'Ақмол', 'Акмол', 30),
      district('Аршалы ауданы', 'Аршалынский район', 'Аршалы', 'Аршалы', 26),
    ],
  },
  {
    key: 'aktobe', kk: 'Ақтөбе облысы', ru: 'Актюбинская область', city: false, share: 4.6, westernZone: true,
    phoneAreaCode: '7132', postalCode: '030000', latitude: 50.283, longitude: 57.167,
    ethnicMix: [88, 7, 0.1, 0.1, 2, 1, 1, 0.3],
    districts: [
      centre('Ақтөбе', 'Актобе', 60),
      district('Мұғалжар ауданы', 'Мугалжарский район', 'Қандыағаш', 'Кандыагаш', 15),
      district('Хромтау ауданы', 'Хромтауский район', 'Хромтау', 'Хромтау', 12),
      district('Қарғалы ауданы', 'Каргалинский район', 'Бадамша', 'Бадамша', 13),
    ],
  },
  {
    key: 'almaty-region', kk: 'Алматы облысы', ru: 'Алматинская область', city: false, share: 7.5, westernZone: false,
    phoneAreaCode: '7277', postalCode: '040800', latitude: 43.867, longitude: 77.067,
    ethnicMix: [68, 16, 0.5, 8, 1, 1.5, 0.8, 1.5],
    districts: [
      centre('Қонаев', 'Конаев', 8),
      district('Қарасай ауданы', 'Карасайский район', 'Қаскелең', 'Каскелен', 25),
      district('Іле ауданы', 'Илийский район', 'Өтеген батыр', 'Отеген батыр', 25),
      district('Талғар ауданы', 'Талгарский район', 'Талғар', 'Талгар', 20),
      district('Еңбекшіқазақ ауданы', 'Енбекшиказахский район', 'Есік', 'Есик', 22),
    ],
  },
  {
    key: 'atyrau', kk: 'Атырау облысы', ru: 'Атырауская область', city: false, share: 3.5, westernZone: true,
    phoneAreaCode: '7122', postalCode: '060000', latitude: 47.107, longitude: 51.924,
    ethnicMix: [93, 5, 0.1, 0.1, 0.3, 0.5, 0.1, 0.3],
    districts: [
      centre('Атырау', 'Атырау', 65),
      district('Жылыой ауданы', 'Жылыойский район', 'Құлсары', 'Кульсары', 15),
      district('Индер ауданы', 'Индерский район', 'Индербор', 'Индербор', 10),
      district('Мақат ауданы', 'Макатский район', 'Мақат', 'Макат', 10),
    ],
  },
  {
    key: 'east-kazakhstan', kk: 'Шығыс Қазақстан облысы', ru: 'Восточно-Казахстанская область', city: false, share: 3.7,
    westernZone: false, phoneAreaCode: '7232', postalCode: '070000', latitude: 49.948, longitude: 82.628,
    ethnicMix: [63, 33, 0.1, 0.1, 0.6, 1, 1.3, 0.3],
    districts: [
      centre('Өскемен', 'Усть-Каменогорск', 55),
      district('Глубокое ауданы', 'Глубоковский район', 'Глубокое', 'Глубокое', 15),
      district('Алтай ауданы', 'район Алтай', 'Алтай', 'Алтай', 18),
      district('Зайсан ауданы', 'Зайсанский район', 'Зайсан', 'Зайсан', 12),
    ],
  },
  {
    key: 'jambyl', kk: 'Жамбыл облысы', ru: 'Жамбылская область', city: false, share: 6.0, westernZone: false,
    phoneAreaCode: '7262', postalCode: '080000', latitude: 42.9, longitude: 71.367,
    ethnicMix: [75, 9, 1, 1, 0.3, 1, 1, 1],
    districts: [
      centre('Тараз', 'Тараз', 40),
      district('Байзақ ауданы', 'Байзакский район', 'Сарыкемер', 'Сарыкемер', 15),
      district('Жамбыл ауданы', 'Жамбылский район', 'Аса', 'Аса', 15),
      district('Шу ауданы', 'Шуский район', 'Төле би', 'Толе би', 15),
      district('Қордай ауданы', 'Кордайский район', 'Қордай', 'Кордай', 15),
    ],
  },
  {
    key: 'jetisu', kk: 'Жетісу облысы', ru: 'область Жетісу', city: false, share: 3.5, westernZone: false,
    phoneAreaCode: '7282', postalCode: '040000', latitude: 45.017, longitude: 78.373,
    ethnicMix: [75, 15, 0.3, 5, 0.5, 1, 0.5, 0.5],
    districts: [
      centre('Талдықорған', 'Талдыкорган', 30),
      district('Ескелді ауданы', 'Ескельдинский район', 'Қарабұлақ', 'Карабулак', 20),
      district('Кербұлақ ауданы', 'Кербулакский район', 'Сарыөзек', 'Сарыозек', 20),
      district('Панфилов ауданы', 'Панфиловский район', 'Жаркент', 'Жаркент', 30),
    ],
  },
  {
    key: 'karaganda', kk: 'Қарағанды облысы', ru: 'Карагандинская область', city: false, share: 5.7, westernZone: false,
    phoneAreaCode: '7212', postalCode: '100000', latitude: 49.806, longitude: 73.085,
    ethnicMix: [52, 34, 0.3, 0.2, 4, 2, 3, 1.5],
    districts: [
      centre('Қарағанды', 'Караганда', 45),
      centre('Теміртау', 'Темиртау', 16),
      district('Бұқар жырау ауданы', 'Бухар-Жырауский район', 'Ботақара', 'Ботакара', 13),
      district('Абай ауданы', 'Абайский район', 'Абай', 'Абай', 13),
      district('Осакаров ауданы', 'Осакаровский район', 'Осакаровка', 'Осакаровка', 13),
    ],
  },
  {
    key: 'kostanay', kk: 'Қостанай облысы', ru: 'Костанайская область', city: false, share: 4.2, westernZone: false,
    phoneAreaCode: '7142', postalCode: '110000', latitude: 53.214, longitude: 63.632,
    ethnicMix: [44, 37, 0.1, 0.1, 8, 2, 4, 0.5],
    districts: [
      centre('Қостанай', 'Костанай', 35),
      centre('Рудный', 'Рудный', 15),
      district('Федоров ауданы', 'Федоровский район', 'Федоровка', 'Федоровка', 25),
      district('Қарабалық ауданы', 'Карабалыкский район', 'Қарабалық', 'Карабалык', 25),
    ],
  },
  {
    key: 'kyzylorda', kk: 'Қызылорда облысы', ru: 'Кызылординская область', city: false, share: 4.2, westernZone: true,
    phoneAreaCode: '7242', postalCode: '120000', latitude: 44.853, longitude: 65.509,
    ethnicMix: [96, 1.5, 0.1, 0.1, 0.1, 0.3, 0.1, 1],
    districts: [
      centre('Қызылорда', 'Кызылорда', 45),
      district('Қазалы ауданы', 'Казалинский район', 'Әйтеке би', 'Айтеке би', 20),
      district('Сырдария ауданы', 'Сырдарьинский район', 'Тереңөзек', 'Теренозек', 15),
      district('Шиелі ауданы', 'Шиелийский район', 'Шиелі', 'Шиели', 20),
    ],
  },
  {
    key: 'mangystau', kk: 'Маңғыстау облысы', ru: 'Мангистауская область', city: false, share: 3.8, westernZone: true,
    phoneAreaCode: '7292', postalCode: '130000', latitude: 43.65, longitude: 51.16,
    ethnicMix: [92, 4, 0.1, 0.1, 0.3, 0.5, 0.1, 0.1],
    districts: [
      centre('Ақтау', 'Актау', 45),
      centre('Жаңаөзен', 'Жанаозен', 20),
      district('Мұнайлы ауданы', 'Мунайлинский район', 'Маңғыстау', 'Мангистау', 25),
      district('Бейнеу ауданы', 'Бейнеуский район', 'Бейнеу', 'Бейнеу', 10),
    ],
  },
  {
    key: 'north-kazakhstan', kk: 'Солтүстік Қазақстан облысы', ru: 'Северо-Казахстанская область', city: false, share: 2.7,
    westernZone: false, phoneAreaCode: '7152', postalCode: '150000', latitude: 54.875, longitude: 69.162,
    ethnicMix: [39, 48, 0.1, 0.1, 4, 2, 4, 0.3],
    districts: [
      centre('Петропавл', 'Петропавловск', 40),
      district('Қызылжар ауданы', 'Кызылжарский район', 'Бескөл', 'Бесколь', 25),
      district('Есіл ауданы', 'Есильский район', 'Явленка', 'Явленка', 15),
      district('Мағжан Жұмабаев ауданы', 'район Магжана Жумабаева', 'Булаев', 'Булаево', 20),
    ],
  },
  {
    key: 'pavlodar', kk: 'Павлодар облысы', ru: 'Павлодарская область', city: false, share: 3.8, westernZone: false,
    phoneAreaCode: '7182', postalCode: '140000', latitude: 52.287, longitude: 76.967,
    ethnicMix: [55, 34, 0.1, 0.1, 4, 2, 3, 0.3],
    districts: [
      centre('Павлодар', 'Павлодар', 50),
      centre('Екібастұз', 'Экибастуз', 20),
      centre('Ақсу', 'Аксу', 10),
      district('Павлодар ауданы', 'Павлодарский район', 'Павлодар ауылы', 'Павлодарское', 20),
    ],
  },
  {
    key: 'turkistan', kk: 'Түркістан облысы', ru: 'Туркестанская область', city: false, share: 10.6, westernZone: false,
    phoneAreaCode: '7253', postalCode: '161200', latitude: 43.297, longitude: 68.252,
    ethnicMix: [76, 1.5, 20, 0.1, 0.1, 0.5, 0.1, 0.3],
    districts: [
      centre('Түркістан', 'Туркестан', 12),
      district('Сайрам ауданы', 'Сайрамский район', 'Ақсу', 'Аксукент', 22),
      district('Мақтаарал ауданы', 'Мактааральский район', 'Мырзакент', 'Мырзакент', 22),
      district('Сарыағаш ауданы', 'Сарыагашский район', 'Сарыағаш', 'Сарыагаш', 24),
      district('Төле би ауданы', 'Толебийский район', 'Ленгер', 'Ленгер', 20),
    ],
  },
  {
    key: 'ulytau', kk: 'Ұлытау облысы', ru: 'Улытауская область', city: false, share: 1.1, westernZone: false,
    phoneAreaCode: '7102', postalCode: '100600', latitude: 47.783, longitude: 67.7,
    ethnicMix: [80, 14, 0.1, 0.1, 2, 1, 1, 0.3],
    districts: [
      centre('Жезқазған', 'Жезказган', 45),
      centre('Сәтбаев', 'Сатпаев', 35),
      district('Ұлытау ауданы', 'Улытауский район', 'Ұлытау', 'Улытау', 20),
    ],
  },
  {
    key: 'west-kazakhstan', kk: 'Батыс Қазақстан облысы', ru: 'Западно-Казахстанская область', city: false, share: 3.5,
    westernZone: true, phoneAreaCode: '7112', postalCode: '090000', latitude: 51.233, longitude: 51.367,
    ethnicMix: [79, 17, 0.1, 0.1, 1, 1.5, 0.5, 0.5],
    districts: [
      centre('Орал', 'Уральск', 45),
      district('Бөрлі ауданы', 'Бурлинский район', 'Ақсай', 'Аксай', 20),
      district('Бәйтерек ауданы', 'Байтерекский район', 'Переметное', 'Перемётное', 20),
      district('Теректі ауданы', 'Теректинский район', 'Федоровка', 'Федоровка', 15),
    ],
  },
];

/** Villages for rural addresses and feldsher-midwife posts: Kazakh and Russian forms. */
export const VILLAGES: readonly (readonly [string, string])[] = [
  ['Жаңаталап', 'Жанаталап'], ['Көктерек', 'Коктерек'], ['Қызылту', 'Кызылту'], ['Жаңажол', 'Жанажол'],
  ['Бірлік', 'Бирлик'], ['Ынтымақ', 'Ынтымак'], ['Сарыбұлақ', 'Сарыбулак'], ['Қарасу', 'Карасу'],
  ['Талдыбұлақ', 'Талдыбулак'], ['Ақжар', 'Акжар'], ['Шолаққорған', 'Шолаккорган'], ['Жаңаауыл', 'Жанаауыл'],
  ['Қаратөбе', 'Каратобе'], ['Көкбұлақ', 'Кокбулак'], ['Береке', 'Береке'], ['Достық', 'Достык'],
];

/** Streets named the way Kazakh towns name them, as [Kazakh, Russian]. */
export const STREETS: readonly (readonly [string, string])[] = [
  ['Абай даңғылы', 'проспект Абая'], ['Сәтбаев көшесі', 'улица Сатпаева'], ['Төле би көшесі', 'улица Толе би'],
  ['Қабанбай батыр көшесі', 'улица Кабанбай батыра'], ['Жамбыл көшесі', 'улица Жамбыла'],
  ['Әуезов көшесі', 'улица Ауэзова'], ['Бөкейхан көшесі', 'улица Букейхана'], ['Желтоқсан көшесі', 'улица Желтоксан'],
  ['Тәуелсіздік даңғылы', 'проспект Тауелсиздик'], ['Достық даңғылы', 'проспект Достык'],
  ['Абылай хан даңғылы', 'проспект Абылай хана'], ['Наурыз көшесі', 'улица Наурыз'], ['Гагарин көшесі', 'улица Гагарина'],
  ['Бейбітшілік көшесі', 'улица Бейбитшилик'], ['Мұқанов көшесі', 'улица Муканова'], ['Байтұрсынұлы көшесі', 'улица Байтурсынулы'],
];
