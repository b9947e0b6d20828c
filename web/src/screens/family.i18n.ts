export const kk = {
  title: 'Отбасы',
};

export const ru: typeof kk = {
  title: 'Семья',
};

export const en: typeof kk = {
  title: 'Family',
};
