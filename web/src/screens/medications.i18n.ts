export const kk = {
  title: 'Дәрілер мен рецептер',
};

export const ru: typeof kk = {
  title: 'Лекарства и рецепты',
};

export const en: typeof kk = {
  title: 'Medications and prescriptions',
};
