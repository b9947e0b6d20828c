export const kk = {
  title: 'Паспортпен бөлісу',
};

export const ru: typeof kk = {
  title: 'Поделиться паспортом',
};

export const en: typeof kk = {
  title: 'Share my passport',
};
