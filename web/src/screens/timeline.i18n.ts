export const kk = {
  title: 'Хронология',
};

export const ru: typeof kk = {
  title: 'Хронология',
};

export const en: typeof kk = {
  title: 'Timeline',
};
