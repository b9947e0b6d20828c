import { type BundledCodeSystem, c } from './model.js';

/**
 * ICD-10 (WHO), the classification Kazakhstan codes diagnoses in: the codes the platform writes.
 * Russian follows МКБ-10, Kazakh the Kazakh edition (АХЖ-10) as used in Kazakhstan's clinics.
 */
export const ICD10: BundledCodeSystem = {
  id: 'icd-10',
  url: 'http://hl7.org/fhir/sid/icd-10',
  name: 'ICD10',
  title: 'ICD-10 (WHO)',
  version: '2019',
  publisher: 'World Health Organization',
  caseSensitive: true,
  concepts: [
    c('A09.9', 'disorder', 'Gastroenteritis and colitis of unspecified origin', 'Гастроэнтерит и колит неуточнённого происхождения', 'Шығу тегі анықталмаған гастроэнтерит және колит'),
    c('A15.0', 'disorder', 'Tuberculosis of lung, confirmed by sputum microscopy with or without culture', 'Туберкулёз лёгких, подтверждённый бактериоскопически с наличием или отсутствием роста культуры', 'Өкпе туберкулезі, өсіндімен немесе өсіндісіз қақырық микроскопиясымен расталған'),
    c('A16.2', 'disorder', 'Tuberculosis of lung, without mention of bacteriological or histological confirmation', 'Туберкулёз лёгких без упоминания о бактериологическом или гистологическом подтверждении', 'Бактериологиялық немесе гистологиялық растауы көрсетілмеген өкпе туберкулезі'),
    c('A18.0', 'disorder', 'Tuberculosis of bones and joints', 'Туберкулёз костей и суставов', 'Сүйектер мен буындардың туберкулезі'),
    c('A19.9', 'disorder', 'Miliary tuberculosis, unspecified', 'Милиарный туберкулёз неуточнённый', 'Анықталмаған милиарлы туберкулез'),
    c('C16.9', 'disorder', 'Malignant neoplasm: Stomach, unspecified', 'Злокачественное новообразование желудка неуточнённой локализации', 'Асқазанның қатерлі ісігі, орналасуы анықталмаған'),
    c('C18.9', 'disorder', 'Malignant neoplasm: Colon, unspecified', 'Злокачественное новообразование ободочной кишки неуточнённой локализации', 'Тоқ ішектің қатерлі ісігі, орналасуы анықталмаған'),
    c('C34.1', 'disorder', 'Malignant neoplasm: Upper lobe, bronchus or lung', 'Злокачественное новообразование верхней доли, бронхов или лёгкого', 'Бронхтың немесе өкпенің жоғарғы бөлігінің қатерлі ісігі'),
    c('C50.9', 'disorder', 'Malignant neoplasm: Breast, unspecified', 'Злокачественное новообразование молочной железы неуточнённой части', 'Сүт безінің қатерлі ісігі, бөлігі анықталмаған'),
    c('D50.9', 'disorder', 'Iron deficiency anaemia, unspecified', 'Железодефицитная анемия неуточнённая', 'Анықталмаған темір тапшылықты анемия'),
    c('E11.9', 'disorder', 'Type 2 diabetes mellitus without complications', 'Сахарный диабет 2 типа без осложнений', 'Асқынусыз 2 типті қант диабеті'),
    c('H66.9', 'disorder', 'Otitis media, unspecified', 'Средний отит неуточнённый', 'Анықталмаған ортаңғы отит'),
    c('I10', 'disorder', 'Essential (primary) hypertension', 'Эссенциальная (первичная) гипертензия', 'Эссенциалды (біріншілік) артериялық гипертензия'),
    c('I25.1', 'disorder', 'Atherosclerotic heart disease', 'Атеросклеротическая болезнь сердца', 'Жүректің атеросклероздық ауруы'),
    c('J02.9', 'disorder', 'Acute pharyngitis, unspecified', 'Острый фарингит неуточнённый', 'Анықталмаған жедел фарингит'),
    c('J06.9', 'disorder', 'Acute upper respiratory infection, unspecified', 'Острая инфекция верхних дыхательных путей неуточнённая', 'Жоғарғы тыныс жолдарының анықталмаған жедел инфекциясы'),
    c('J18.9', 'disorder', 'Pneumonia, unspecified', 'Пневмония неуточнённая', 'Анықталмаған пневмония'),
    c('J20.9', 'disorder', 'Acute bronchitis, unspecified', 'Острый бронхит неуточнённый', 'Анықталмаған жедел бронхит'),
    c('J45.9', 'disorder', 'Asthma, unspecified', 'Астма неуточнённая', 'Анықталмаған демікпе'),
    c('K29.7', 'disorder', 'Gastritis, unspecified', 'Гастрит неуточнённый', 'Анықталмаған гастрит'),
    c('K35.8', 'disorder', 'Acute appendicitis, other and unspecified', 'Острый аппендицит, другой и неуточнённый', 'Басқа және анықталмаған жедел аппендицит'),
    c('K80.2', 'disorder', 'Calculus of gallbladder without cholecystitis', 'Камни желчного пузыря без холецистита', 'Холециститсіз өт қабының тастары'),
    c('M54.5', 'disorder', 'Low back pain', 'Боль внизу спины', 'Арқаның төменгі бөлігіндегі ауырсыну'),
    c('O80', 'disorder', 'Single spontaneous delivery', 'Роды одноплодные, самопроизвольное родоразрешение', 'Бір ұрықты өздігінен босану'),
    c('O82', 'disorder', 'Single delivery by caesarean section', 'Роды одноплодные, родоразрешение посредством кесарева сечения', 'Бір ұрықты кесар тілігі арқылы босану'),
    c('U07.1', 'disorder', 'COVID-19, virus identified', 'COVID-19, вирус идентифицирован', 'COVID-19, вирус анықталған'),
    c('U07.2', 'disorder', 'COVID-19, virus not identified', 'COVID-19, вирус не идентифицирован', 'COVID-19, вирус анықталмаған'),
    c('Z00.0', 'finding', 'General medical examination', 'Общий медицинский осмотр', 'Жалпы медициналық тексеру'),
    c('Z00.1', 'finding', 'Routine child health examination', 'Рутинное обследование состояния здоровья ребёнка', 'Бала денсаулығын жоспарлы тексеру'),
    c('Z34.0', 'finding', 'Supervision of normal first pregnancy', 'Наблюдение за течением нормальной первой беременности', 'Қалыпты бірінші жүктіліктің барысын бақылау'),
    c('Z34.8', 'finding', 'Supervision of other normal pregnancy', 'Наблюдение за течением другой нормальной беременности', 'Басқа қалыпты жүктіліктің барысын бақылау'),
  ],
};
