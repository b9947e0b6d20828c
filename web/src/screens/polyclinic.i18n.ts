export const kk = {
  title: 'Менің емханам',
};

export const ru: typeof kk = {
  title: 'Моя поликлиника',
};

export const en: typeof kk = {
  title: 'My polyclinic',
};
