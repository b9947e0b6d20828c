export const kk = {
  title: 'Отбасы',
  intro: 'Тіркелім сізді ата-анасы немесе заңды өкілі ретінде көрсеткен 18 жасқа толмаған балаларыңыздың жазбаларын көре аласыз.',
  people: 'Жазбалары сізге көрінетін адамдар',
  you: 'Сіз: {{name}}',
  born: 'Туған күні: {{date}}, жасы: {{age}}',
  childRights: 'Сіз заңды өкілсіз: бала 18 жасқа толғанша оның жазбасын көріп, оның атынан бөлісе аласыз.',
  showMine: 'Өз жазбамды көрсету',
  showChild: '{{name}} жазбасын көрсету',
  shownNow: 'Қазір осы жазба көрсетілуде',
  noChildren: 'Тіркелімде сіз заңды өкілі болып табылатын 18 жасқа толмаған бала жоқ. Қате болса, ХҚКО-ға немесе емханаңызға хабарласыңыз.',
  aChild: 'баланың',
  banner: {
    viewing: 'Сіз {{name}} жазбасын көріп отырсыз.',
    explain: 'Барлық беттер енді осы жазбаның деректерін көрсетеді.',
    back: 'Өз жазбама оралу',
  },
};

export const ru: typeof kk = {
  title: 'Семья',
  intro: 'Вы видите записи своих детей до 18 лет, родителем или законным представителем которых вас указывает регистр.',
  people: 'Люди, чьи записи вам видны',
  you: 'Вы: {{name}}',
  born: 'Дата рождения: {{date}}, возраст: {{age}}',
  childRights: 'Вы законный представитель: до 18 лет ребёнка вы видите его запись и можете делиться ею от его имени.',
  showMine: 'Показать мою запись',
  showChild: 'Показать запись: {{name}}',
  shownNow: 'Сейчас показана эта запись',
  noChildren: 'В регистре нет детей до 18 лет, законным представителем которых вы являетесь. Если это ошибка, обратитесь в ЦОН или в свою поликлинику.',
  aChild: 'ребёнка',
  banner: {
    viewing: 'Вы смотрите запись: {{name}}.',
    explain: 'Все экраны сейчас показывают данные этой записи.',
    back: 'Вернуться к моей записи',
  },
};

export const en: typeof kk = {
  title: 'Family',
  intro: 'You can see the records of your children under 18 for whom the registry lists you as parent or legal guardian.',
  people: 'People whose records you can see',
  you: 'You: {{name}}',
  born: 'Born {{date}}, age {{age}}',
  childRights: 'You are their legal representative: until they turn 18 you can see their record and share it for them.',
  showMine: 'Show my own record',
  showChild: 'Show {{name}}’s record',
  shownNow: 'This record is shown now',
  noChildren: 'The registry lists no children under 18 for whom you are the legal representative. If that is wrong, contact a public service centre or your polyclinic.',
  aChild: 'a child',
  banner: {
    viewing: 'You are looking at the record of {{name}}.',
    explain: 'Every screen now shows this record’s data.',
    back: 'Back to my own record',
  },
};
