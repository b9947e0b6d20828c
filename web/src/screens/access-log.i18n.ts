export const kk = {
  title: 'Жазбамды кім қарады',
  intro: 'Мұнда сіздің медициналық жазбаңызды кім, қашан және не үшін ашқаны көрсетіледі. Ерекше жағдайлар белгіленген.',
  empty: 'Әзірге ешкім жазбаңызды ашпаған.',
  when: 'Қашан',
  organization: 'Ұйым',
  person: 'Кім',
  why: 'Не үшін',
  what: 'Не ашылды',
  unknown: 'Белгісіз',
  more: 'Тағы көрсету',
  flags: {
    'break-glass': 'Шұғыл қолжетімділік («әйнекті сындыру»)',
    'self-declared': 'Ұйым сізді емдейтінін өзі мәлімдеді (расталмаған)',
    refused: 'Бас тартылды — жазба көрсетілмеді',
  },
};

export const ru: typeof kk = {
  title: 'Кто смотрел мою запись',
  intro: 'Здесь видно, кто, когда и зачем открывал вашу медицинскую запись. Особые случаи отмечены.',
  empty: 'Пока никто не открывал вашу запись.',
  when: 'Когда',
  organization: 'Организация',
  person: 'Кто',
  why: 'Зачем',
  what: 'Что открыто',
  unknown: 'Неизвестно',
  more: 'Показать ещё',
  flags: {
    'break-glass': 'Экстренный доступ («разбить стекло»)',
    'self-declared': 'Организация сама заявила, что лечит вас (не подтверждено)',
    refused: 'Отказано — запись не показана',
  },
};

export const en: typeof kk = {
  title: 'Who accessed my record',
  intro: 'This shows who opened your medical record, when and why. Unusual access is marked.',
  empty: 'Nobody has opened your record yet.',
  when: 'When',
  organization: 'Organization',
  person: 'Who',
  why: 'Why',
  what: 'What was opened',
  unknown: 'Unknown',
  more: 'Show more',
  flags: {
    'break-glass': 'Emergency access ("break the glass")',
    'self-declared': 'The organization said it treats you (not verified)',
    refused: 'Refused — your record was not shown',
  },
};
