export const kk = {
  title: 'Екпелер',
};

export const ru: typeof kk = {
  title: 'Прививки',
};

export const en: typeof kk = {
  title: 'Immunizations',
};
