export const kk = {
  title: 'Құпиялық',
};

export const ru: typeof kk = {
  title: 'Приватность',
};

export const en: typeof kk = {
  title: 'Privacy',
};
