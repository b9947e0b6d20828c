import { type BundledCodeSystem, c } from './model.js';

/**
 * The ATC classification (WHO Collaborating Centre for Drug Statistics Methodology), by which
 * Kazakhstan's formulary lists medicines and vaccines: the codes the platform writes. English is
 * the ATC index's name, Russian and Kazakh the international nonproprietary names as registered
 * in Kazakhstan.
 */
export const ATC: BundledCodeSystem = {
  id: 'atc',
  url: 'http://www.whocc.no/atc',
  name: 'ATC',
  title: 'Anatomical Therapeutic Chemical classification (WHO)',
  version: '2024',
  publisher: 'WHO Collaborating Centre for Drug Statistics Methodology',
  caseSensitive: true,
  concepts: [
    c('A10BA02', 'medication', 'metformin', 'Метформин', 'Метформин'),
    c('A10BB09', 'medication', 'gliclazide', 'Гликлазид', 'Гликлазид'),
    c('B01AB05', 'medication', 'enoxaparin', 'Эноксапарин', 'Эноксапарин'),
    c('B01AC06', 'medication', 'acetylsalicylic acid', 'Ацетилсалициловая кислота', 'Ацетилсалицил қышқылы'),
    c('B03AA07', 'medication', 'ferrous sulfate', 'Железа сульфат', 'Темір сульфаты'),
    c('B03BB01', 'medication', 'folic acid', 'Фолиевая кислота', 'Фолий қышқылы'),
    c('C03BA11', 'medication', 'indapamide', 'Индапамид', 'Индапамид'),
    c('C07AB07', 'medication', 'bisoprolol', 'Бисопролол', 'Бисопролол'),
    c('C08CA01', 'medication', 'amlodipine', 'Амлодипин', 'Амлодипин'),
    c('C09AA02', 'medication', 'enalapril', 'Эналаприл', 'Эналаприл'),
    c('C10AA05', 'medication', 'atorvastatin', 'Аторвастатин', 'Аторвастатин'),
    c('H02AB02', 'medication', 'dexamethasone', 'Дексаметазон', 'Дексаметазон'),
    c('J01CA04', 'medication', 'amoxicillin', 'Амоксициллин', 'Амоксициллин'),
    c('J04AM02', 'medication', 'rifampicin and isoniazid', 'Рифампицин и изониазид', 'Рифампицин және изониазид'),
    c('J04AM06', 'medication', 'rifampicin, pyrazinamide, ethambutol and isoniazid', 'Рифампицин, пиразинамид, этамбутол и изониазид', 'Рифампицин, пиразинамид, этамбутол және изониазид'),
    c('L01BC06', 'medication', 'capecitabine', 'Капецитабин', 'Капецитабин'),
    c('L01XA02', 'medication', 'carboplatin', 'Карбоплатин', 'Карбоплатин'),
    c('L02BA01', 'medication', 'tamoxifen', 'Тамоксифен', 'Тамоксифен'),
    c('N02BE01', 'medication', 'paracetamol', 'Парацетамол', 'Парацетамол'),
    c('R03AC02', 'medication', 'salbutamol', 'Сальбутамол', 'Сальбутамол'),
    c('J07AL02', 'vaccine', 'pneumococcus, purified polysaccharides antigen conjugated', 'Вакцина пневмококковая конъюгированная', 'Пневмококтық конъюгацияланған вакцина'),
    c('J07AM51', 'vaccine', 'tetanus toxoid, combinations with diphtheria toxoid', 'Анатоксин столбнячный в комбинации с дифтерийным анатоксином', 'Дифтерия анатоксинімен біріктірілген сіреспе анатоксині'),
    c('J07AN01', 'vaccine', 'tuberculosis, live attenuated', 'Вакцина туберкулёзная живая аттенуированная (БЦЖ)', 'Тірі әлсіретілген туберкулез вакцинасы (БЦЖ)'),
    c('J07BB02', 'vaccine', 'influenza, inactivated, split virus or surface antigen', 'Вакцина гриппозная инактивированная (расщеплённая или субъединичная)', 'Белсенсіздендірілген тұмау вакцинасы (ыдыратылған немесе суббірлікті)'),
    c('J07BC01', 'vaccine', 'hepatitis B, purified antigen', 'Вакцина против гепатита B', 'В гепатитіне қарсы вакцина'),
    c('J07BC02', 'vaccine', 'hepatitis A, inactivated, whole virus', 'Вакцина против гепатита A инактивированная', 'А гепатитіне қарсы белсенсіздендірілген вакцина'),
    c('J07BD52', 'vaccine', 'measles, combinations with mumps and rubella, live attenuated', 'Вакцина против кори, паротита и краснухи живая', 'Қызылшаға, эпидемиялық паротитке және қызамыққа қарсы тірі вакцина'),
    c('J07BM01', 'vaccine', 'papillomavirus (human types 6, 11, 16, 18)', 'Вакцина против вируса папилломы человека (типы 6, 11, 16, 18)', 'Адам папилломасы вирусына қарсы вакцина (6, 11, 16, 18 типтері)'),
    c('J07BX03', 'vaccine', 'covid-19 vaccines', 'Вакцины против COVID-19', 'COVID-19-ға қарсы вакциналар'),
    c('J07CA02', 'vaccine', 'diphtheria-pertussis-poliomyelitis-tetanus', 'Вакцина против дифтерии, коклюша, полиомиелита и столбняка', 'Дифтерияға, көкжөтелге, полиомиелитке және сіреспеге қарсы вакцина'),
    c('J07CA06', 'vaccine', 'diphtheria-hemophilus influenzae B-pertussis-poliomyelitis-tetanus', 'Вакцина против дифтерии, гемофильной инфекции типа b, коклюша, полиомиелита и столбняка', 'Дифтерияға, b типті гемофилдік инфекцияға, көкжөтелге, полиомиелитке және сіреспеге қарсы вакцина'),
    c('J07CA09', 'vaccine', 'diphtheria-hemophilus influenzae B-pertussis-poliomyelitis-tetanus-hepatitis B', 'Вакцина против дифтерии, гемофильной инфекции типа b, коклюша, полиомиелита, столбняка и гепатита B', 'Дифтерияға, b типті гемофилдік инфекцияға, көкжөтелге, полиомиелитке, сіреспеге және В гепатитіне қарсы вакцина'),
  ],
};
