export const kk = {
  title: 'Отбасы',
  intro: 'Мұнда 18 жасқа толмаған балаларыңыздың жазбалары бар. Баланы таңдасаңыз, барлық бет соның деректерін көрсетеді.',
  empty: 'Тізілімде сіздің атыңызға жазылған 18 жасқа толмаған бала жоқ.',
  born: 'Туған күні: {{date}}',
  open: '{{name}} жазбасын ашу',
  shown: 'Қазір көрсетілуде',
  banner: 'Сіз {{name}} жазбасын көріп отырсыз.',
  back: 'Өз жазбама оралу',
  me: 'Менің жазбам',
};

export const ru: typeof kk = {
  title: 'Семья',
  intro: 'Здесь записи ваших детей младше 18 лет. Выберите ребёнка — и все страницы покажут его данные.',
  empty: 'В регистре нет детей младше 18 лет, записанных на вас.',
  born: 'Дата рождения: {{date}}',
  open: 'Открыть запись: {{name}}',
  shown: 'Показывается сейчас',
  banner: 'Вы смотрите запись: {{name}}.',
  back: 'Вернуться к своей записи',
  me: 'Моя запись',
};

export const en: typeof kk = {
  title: 'Family',
  intro: 'Here are the records of your children under 18. Choose a child and every screen shows their data.',
  empty: 'The registry lists no children under 18 with you as their parent.',
  born: 'Born {{date}}',
  open: 'Open the record of {{name}}',
  shown: 'Shown now',
  banner: 'You are looking at the record of {{name}}.',
  back: 'Back to my own record',
  me: 'My record',
};
