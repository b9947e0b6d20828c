import { type BundledCodeSystem, c } from './model.js';

/**
 * RxNorm (US National Library of Medicine): the medicines most prescribed in the Synthea data the
 * platform imports. English is RxNorm's own name; Russian and Kazakh name the active substance
 * by its international nonproprietary name, and the brand where RxNorm names one.
 */
export const RXNORM: BundledCodeSystem = {
  id: 'rxnorm',
  url: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  name: 'RxNorm',
  title: 'RxNorm',
  publisher: 'US National Library of Medicine',
  caseSensitive: true,
  concepts: [
    c('313782', 'medication', 'Acetaminophen 325 MG Oral Tablet', 'Парацетамол 325 мг, таблетки для приёма внутрь', 'Парацетамол 325 мг, ішуге арналған таблеткалар'),
    c('282464', 'medication', 'Acetaminophen 160 MG Oral Tablet', 'Парацетамол 160 мг, таблетки для приёма внутрь', 'Парацетамол 160 мг, ішуге арналған таблеткалар'),
    c('316672', 'medication', 'Simvastatin 10 MG', 'Симвастатин 10 мг', 'Симвастатин 10 мг'),
    c('316049', 'medication', 'Hydrochlorothiazide 25 MG', 'Гидрохлоротиазид 25 мг', 'Гидрохлоротиазид 25 мг'),
    c('310965', 'medication', 'Ibuprofen 200 MG Oral Tablet', 'Ибупрофен 200 мг, таблетки для приёма внутрь', 'Ибупрофен 200 мг, ішуге арналған таблеткалар'),
    c('562251', 'medication', 'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet', 'Амоксициллин 250 мг + клавулановая кислота 125 мг, таблетки', 'Амоксициллин 250 мг + клавулан қышқылы 125 мг, таблеткалар'),
    c('861467', 'medication', 'Meperidine Hydrochloride 50 MG Oral Tablet', 'Петидина гидрохлорид 50 мг, таблетки', 'Петидин гидрохлориді 50 мг, таблеткалар'),
    c('834102', 'medication', 'Penicillin V Potassium 500 MG Oral Tablet', 'Феноксиметилпенициллин калия 500 мг, таблетки', 'Феноксиметилпенициллин калийі 500 мг, таблеткалар'),
    c('849574', 'medication', 'Naproxen sodium 220 MG Oral Tablet', 'Напроксен натрия 220 мг, таблетки', 'Напроксен натрийі 220 мг, таблеткалар'),
    c('309362', 'medication', 'Clopidogrel 75 MG Oral Tablet', 'Клопидогрел 75 мг, таблетки', 'Клопидогрел 75 мг, таблеткалар'),
    c('389221', 'medication', 'Etonogestrel 68 MG Drug Implant', 'Этоногестрел 68 мг, имплантат', 'Этоногестрел 68 мг, имплант'),
    c('757594', 'medication', 'Jolivette 28 Day Pack', 'Jolivette (норэтистерон 0,35 мг), упаковка на 28 дней', 'Jolivette (норэтистерон 0,35 мг), 28 күндік қаптама'),
    c('748962', 'medication', 'Camila 28 Day Pack', 'Camila (норэтистерон 0,35 мг), упаковка на 28 дней', 'Camila (норэтистерон 0,35 мг), 28 күндік қаптама'),
    c('751905', 'medication', 'Trinessa 28 Day Pack', 'Trinessa (норгестимат + этинилэстрадиол), упаковка на 28 дней', 'Trinessa (норгестимат + этинилэстрадиол), 28 күндік қаптама'),
    c('748856', 'medication', 'Yaz 28 Day Pack', 'Yaz (дроспиренон + этинилэстрадиол), упаковка на 28 дней', 'Yaz (дроспиренон + этинилэстрадиол), 28 күндік қаптама'),
    c('807283', 'medication', 'Mirena 52 MG Intrauterine System', 'Мирена (левоноргестрел 52 мг), внутриматочная система', 'Мирена (левоноргестрел 52 мг), жатырішілік жүйе'),
    c('1000126', 'medication', '1 ML medroxyprogesterone acetate 150 MG/ML Injection', 'Медроксипрогестерона ацетат 150 мг/мл, 1 мл, раствор для инъекций', 'Медроксипрогестерон ацетаты 150 мг/мл, 1 мл, инъекцияға арналған ерітінді'),
  ],
};
