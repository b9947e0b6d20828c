export const kk = {
  title: 'Талдау нәтижелері',
};

export const ru: typeof kk = {
  title: 'Результаты анализов',
};

export const en: typeof kk = {
  title: 'Test results',
};
