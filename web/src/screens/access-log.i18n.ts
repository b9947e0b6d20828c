export const kk = {
  title: 'Жазбамды кім қарады',
};

export const ru: typeof kk = {
  title: 'Кто смотрел мою запись',
};

export const en: typeof kk = {
  title: 'Who accessed my record',
};
