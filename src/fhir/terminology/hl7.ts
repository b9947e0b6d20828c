import { type BundledCodeSystem, type BundledConcept, c } from './model.js';

function hl7(id: string, name: string, title: string, concepts: BundledConcept[], url = `http://terminology.hl7.org/CodeSystem/${id}`): BundledCodeSystem {
  return { id, url, name, title, publisher: 'HL7 International', caseSensitive: true, concepts };
}

/**
 * The HL7, DICOM and IETF code systems of the statuses, categories, classes, roles and languages
 * the platform writes.
 * English is the code system's own display as R4 ships it.
 */
export const HL7_CODE_SYSTEMS: readonly BundledCodeSystem[] = [
  hl7('observation-category', 'ObservationCategoryCodes', 'Observation Category Codes', [
    c('vital-signs', undefined, 'Vital Signs', 'Показатели жизненно важных функций', 'Өмірлік маңызды көрсеткіштер'),
    c('laboratory', undefined, 'Laboratory', 'Лабораторные исследования', 'Зертханалық зерттеулер'),
  ]),
  hl7('v2-0074', 'DiagnosticServiceSectionId', 'Diagnostic Service Section ID', [
    c('LAB', undefined, 'Laboratory', 'Лаборатория', 'Зертхана'),
  ]),
  hl7('condition-category', 'ConditionCategoryCodes', 'Condition Category Codes', [
    c('encounter-diagnosis', undefined, 'Encounter Diagnosis', 'Диагноз при обращении', 'Қаралу кезіндегі диагноз'),
    c('problem-list-item', undefined, 'Problem List Item', 'Запись в списке проблем', 'Проблемалар тізіміндегі жазба'),
  ]),
  hl7('condition-clinical', 'ConditionClinicalStatusCodes', 'Condition Clinical Status Codes', [
    c('active', undefined, 'Active', 'Активное', 'Белсенді'),
    c('recurrence', undefined, 'Recurrence', 'Рецидив', 'Рецидив'),
    c('relapse', undefined, 'Relapse', 'Обострение', 'Өршу'),
    c('inactive', undefined, 'Inactive', 'Неактивное', 'Белсенді емес'),
    c('remission', undefined, 'Remission', 'Ремиссия', 'Ремиссия'),
    c('resolved', undefined, 'Resolved', 'Разрешилось', 'Жазылды'),
  ]),
  hl7('condition-ver-status', 'ConditionVerificationStatus', 'ConditionVerificationStatus', [
    c('unconfirmed', undefined, 'Unconfirmed', 'Не подтверждено', 'Расталмаған'),
    c('provisional', undefined, 'Provisional', 'Предварительный', 'Алдын ала'),
    c('differential', undefined, 'Differential', 'Дифференциальный', 'Дифференциалды'),
    c('confirmed', undefined, 'Confirmed', 'Подтверждено', 'Расталған'),
    c('refuted', undefined, 'Refuted', 'Опровергнуто', 'Жоққа шығарылған'),
    c('entered-in-error', undefined, 'Entered in Error', 'Введено ошибочно', 'Қате енгізілген'),
  ]),
  hl7('allergyintolerance-clinical', 'AllergyIntoleranceClinicalStatusCodes', 'AllergyIntolerance Clinical Status Codes', [
    c('active', undefined, 'Active', 'Активная', 'Белсенді'),
    c('inactive', undefined, 'Inactive', 'Неактивная', 'Белсенді емес'),
    c('resolved', undefined, 'Resolved', 'Разрешилась', 'Жойылды'),
  ]),
  hl7('allergyintolerance-verification', 'AllergyIntoleranceVerificationStatusCodes', 'AllergyIntolerance Verification Status Codes', [
    c('unconfirmed', undefined, 'Unconfirmed', 'Не подтверждена', 'Расталмаған'),
    c('confirmed', undefined, 'Confirmed', 'Подтверждена', 'Расталған'),
    c('refuted', undefined, 'Refuted', 'Опровергнута', 'Жоққа шығарылған'),
    c('entered-in-error', undefined, 'Entered in Error', 'Введена ошибочно', 'Қате енгізілген'),
  ]),
  hl7('v3-ObservationInterpretation', 'ObservationInterpretation', 'ObservationInterpretation', [
    c('H', undefined, 'High', 'Выше нормы', 'Қалыптан жоғары'),
    c('L', undefined, 'Low', 'Ниже нормы', 'Қалыптан төмен'),
    c('N', undefined, 'Normal', 'Норма', 'Қалыпты'),
  ]),
  hl7('v3-ActCode', 'ActCode', 'ActCode', [
    c('AMB', undefined, 'ambulatory', 'Амбулаторный приём', 'Амбулаториялық қабылдау'),
    c('IMP', undefined, 'inpatient encounter', 'Стационарное лечение', 'Стационарлық емдеу'),
    c('EMER', undefined, 'emergency', 'Неотложная помощь', 'Шұғыл көмек'),
    c('VR', undefined, 'virtual', 'Дистанционная консультация', 'Қашықтықтан консультация'),
  ]),
  hl7('v3-ParticipationType', 'ParticipationType', 'ParticipationType', [
    c('PPRF', undefined, 'primary performer', 'Основной исполнитель', 'Негізгі орындаушы'),
  ]),
  hl7('admit-source', 'AdmitSource', 'Admit source', [
    c('gp', undefined, 'General Practitioner referral', 'Направление врача общей практики', 'Жалпы практика дәрігерінің жолдамасы'),
    c('emd', undefined, 'From accident/emergency department', 'Из отделения неотложной помощи', 'Шұғыл көмек бөлімінен'),
  ]),
  hl7('practitioner-role', 'PractitionerRole', 'Practitioner role', [
    c('doctor', undefined, 'Doctor', 'Врач', 'Дәрігер'),
    c('nurse', undefined, 'Nurse', 'Медицинская сестра', 'Мейіргер'),
    c('pharmacist', undefined, 'Pharmacist', 'Фармацевт', 'Фармацевт'),
  ]),
  hl7('organization-type', 'OrganizationType', 'Organization type', [
    c('govt', undefined, 'Government', 'Государственный орган', 'Мемлекеттік орган'),
    c('prov', undefined, 'Healthcare Provider', 'Медицинская организация', 'Медициналық ұйым'),
  ]),
  hl7('v3-RoleCode', 'RoleCode', 'RoleCode', [
    c('HOSP', undefined, 'Hospital', 'Больница', 'Аурухана'),
    c('OF', undefined, 'Outpatient facility', 'Амбулаторно-поликлиническая организация', 'Амбулаториялық-емханалық ұйым'),
    c('OUTLAB', undefined, 'outpatient laboratory', 'Амбулаторная лаборатория', 'Амбулаториялық зертхана'),
    c('OUTPHARM', undefined, 'outpatient pharmacy', 'Аптека', 'Дәріхана'),
    c('RADDX', undefined, 'Radiology diagnostics or therapeutics unit', 'Отделение лучевой диагностики и терапии', 'Сәулелік диагностика және терапия бөлімшесі'),
  ]),
  hl7('location-physical-type', 'LocationType', 'Location type', [
    c('bu', undefined, 'Building', 'Здание', 'Ғимарат'),
  ]),
  hl7('v2-0203', 'IdentifierType', 'identifierType', [
    c('NI', undefined, 'National unique individual identifier', 'Национальный уникальный идентификатор личности', 'Жеке тұлғаның ұлттық бірегей сәйкестендіргіші'),
  ]),
  hl7('discharge-disposition', 'DischargeDisposition', 'Discharge disposition', [
    c('home', undefined, 'Home', 'Выписан домой', 'Үйге шығарылды'),
  ]),
  {
    id: 'dicom-dcm',
    url: 'http://dicom.nema.org/resources/ontology/DCM',
    name: 'DICOMControlledTerminology',
    title: 'DICOM Controlled Terminology',
    publisher: 'NEMA',
    caseSensitive: true,
    concepts: [
      c('CT', undefined, 'Computed Tomography', 'Компьютерная томография', 'Компьютерлік томография'),
      c('DX', undefined, 'Digital Radiography', 'Цифровая рентгенография', 'Цифрлық рентгенография'),
      c('MG', undefined, 'Mammography', 'Маммография', 'Маммография'),
      c('US', undefined, 'Ultrasound', 'Ультразвуковое исследование', 'Ультрадыбыстық зерттеу'),
    ],
  },
  {
    id: 'bcp-47',
    url: 'urn:ietf:bcp:47',
    name: 'BCP47',
    title: 'Tags for Identifying Languages (BCP 47)',
    publisher: 'IETF',
    caseSensitive: false,
    concepts: [
      c('kk', undefined, 'Kazakh', 'Казахский', 'Қазақ тілі'),
      c('ru', undefined, 'Russian', 'Русский', 'Орыс тілі'),
      c('en', undefined, 'English', 'Английский', 'Ағылшын тілі'),
    ],
  },
];

/**
 * The International Patient Summary's codes for "no known …" and "no information about …"
 * (https://hl7.org/fhir/uv/ips/CodeSystem-absent-unknown-uv-ips.html), complete.
 */
export const IPS_ABSENT_UNKNOWN: BundledCodeSystem = {
  id: 'absent-unknown-uv-ips',
  url: 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips',
  name: 'AbsentOrUnknownDataUvIps',
  title: 'Absent and Unknown Data - IPS',
  version: '1.1.0',
  publisher: 'HL7 International / Patient Care',
  caseSensitive: true,
  complete: true,
  concepts: [
    c('no-allergy-info', undefined, 'No information about allergies', 'Нет сведений об аллергиях', 'Аллергиялар туралы мәлімет жоқ'),
    c('no-known-allergies', undefined, 'No known allergies', 'Аллергии не известны', 'Белгілі аллергиялар жоқ'),
    c('no-known-medication-allergies', undefined, 'No known medication allergies', 'Аллергии на лекарственные средства не известны', 'Дәрілік заттарға белгілі аллергия жоқ'),
    c('no-known-environmental-allergies', undefined, 'No known environmental allergies', 'Аллергии на факторы окружающей среды не известны', 'Қоршаған орта факторларына белгілі аллергия жоқ'),
    c('no-known-food-allergies', undefined, 'No known food allergies', 'Пищевые аллергии не известны', 'Белгілі тағамдық аллергия жоқ'),
    c('no-medication-info', undefined, 'No information about medications', 'Нет сведений о приёме лекарственных средств', 'Дәрілік заттарды қабылдау туралы мәлімет жоқ'),
    c('no-known-medications', undefined, 'No known medications', 'Приём лекарственных средств не известен', 'Қабылданатын белгілі дәрілік заттар жоқ'),
    c('no-immunization-info', undefined, 'No information about immunizations', 'Нет сведений об иммунизации', 'Иммундау туралы мәлімет жоқ'),
    c('no-known-immunizations', undefined, 'No known immunizations', 'Иммунизации не известны', 'Белгілі иммундау жоқ'),
    c('no-problem-info', undefined, 'No information about problems', 'Нет сведений о проблемах со здоровьем', 'Денсаулық проблемалары туралы мәлімет жоқ'),
    c('no-known-problems', undefined, 'No known problems', 'Проблемы со здоровьем не известны', 'Денсаулыққа қатысты белгілі проблемалар жоқ'),
    c('no-procedure-info', undefined, 'No information about past history of procedures', 'Нет сведений о перенесённых процедурах', 'Жасалған емшаралар туралы мәлімет жоқ'),
    c('no-known-procedures', undefined, 'No known procedures', 'Перенесённые процедуры не известны', 'Жасалған белгілі емшаралар жоқ'),
    c('no-device-info', undefined, 'No information about devices', 'Нет сведений о медицинских изделиях', 'Медициналық бұйымдар туралы мәлімет жоқ'),
    c('no-known-devices', undefined, 'No known devices', 'Медицинские изделия не используются', 'Пайдаланылатын белгілі медициналық бұйымдар жоқ'),
  ],
};
