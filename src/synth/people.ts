import type { Address, HumanName, Patient } from '@medplum/fhirtypes';
import { buildIin, IIN_SYSTEM, type IinSex } from '../identity/iin.js';
import { concept } from './codes.js';
import { ageOn, isoDate, REFERENCE_DAY, yearOf } from './dates.js';
import type { DistrictNetwork, Facility, FacilityNetwork, RegionNetwork, Staff } from './facilities.js';
import { ETHNIC_GROUPS, STREETS, type Region } from './geography.js';
import { icaoLatin, personName } from './names.js';
import { cumulative, type Random } from './random.js';

/**
 * Hands out IINs the way the population registry does: serials run in order
 * per birth date and sex, skipping those without a check digit, so no two
 * synthetic people share an IIN even at national scale.
 */
export class IinRegistry {
  private readonly nextSerial = new Map<string, number>();

  issue(birthDate: string, sex: IinSex): string {
    const key = birthDate + sex;
    // Start each date's run somewhere other than 0000, as real serials do.
    let serial = this.nextSerial.get(key) ?? (hashOf(key) % 9000) + 1;
    for (let tries = 0; tries < 10_000; tries++, serial++) {
      const iin = buildIin({ birthDate, sex, serial: serial % 10_000 });
      if (iin !== null) {
        this.nextSerial.set(key, serial + 1);
        return iin;
      }
    }
    throw new Error(`no IIN serials left for ${sex} born ${birthDate}`);
  }
}

function hashOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  }
  return h >>> 0;
}

/**
 * Kazakhstan's population by 5-year age group (0-4 ... 85+), percent, after the
 * 2023 estimates: a young country, median age about 31.
 */
const AGE_GROUPS = cumulative([10.5, 10, 8.6, 7, 6, 6.6, 8.3, 7.8, 7, 6, 5.5, 5.3, 4.8, 3.7, 2.3, 1.2, 0.8, 0.6]);

/** More boys are born; women outlive men by about nine years. */
function femaleShare(age: number): number {
  if (age < 20) return 0.487;
  if (age < 40) return 0.5;
  if (age < 60) return 0.53;
  if (age < 70) return 0.58;
  if (age < 80) return 0.64;
  return 0.7;
}

const MOBILE_PREFIXES = ['700', '701', '702', '705', '707', '708', '747', '771', '775', '776', '777', '778'];

const NATIONAL_ID = concept('http://terminology.hl7.org/CodeSystem/v2-0203', 'NI', 'National unique individual identifier');
const LANGUAGE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/language';
const COMMUNICATION = {
  kk: [{ language: concept('urn:ietf:bcp:47', 'kk', 'Kazakh'), preferred: true }],
  ru: [{ language: concept('urn:ietf:bcp:47', 'ru', 'Russian'), preferred: true }],
};
const SCRIPT_TAG = {
  kk: [{ url: LANGUAGE_EXTENSION, valueCode: 'kk' }],
  ru: [{ url: LANGUAGE_EXTENSION, valueCode: 'ru' }],
  kkLatin: [{ url: LANGUAGE_EXTENSION, valueCode: 'kk-Latn' }],
  ruLatin: [{ url: LANGUAGE_EXTENSION, valueCode: 'ru-Latn' }],
};

/** Who a patient is and where they are attached: what the care history needs to know. */
export interface Person {
  reference: string;
  birthDay: number;
  sex: IinSex;
  region: RegionNetwork;
  district: DistrictNetwork;
  /** The polyclinic the patient is attached to (the attachment register). */
  polyclinic: Facility;
  /** District GP for adults, district pediatrician for children. */
  doctor: Staff;
  nurse: Staff;
  obstetrician: Staff;
  /** The village feldsher-midwife post for rural residents who have one. */
  post?: Facility;
}

const ethnicWeights = new Map<Region, Float64Array>();

export function buildPatient(random: Random, network: FacilityNetwork, registry: IinRegistry): { patient: Patient; person: Person } {
  const region = network.regions[random.weighted(network.regionWeights)];
  const districtIndex = random.weighted(region.districtWeights);
  const district = region.districts[districtIndex];

  const ageGroup = random.weighted(AGE_GROUPS);
  const age = ageGroup === AGE_GROUPS.length - 1 ? 85 + random.int(15) : ageGroup * 5 + random.int(5);
  const birthDay = REFERENCE_DAY - 1 - age * 365.25 - random.int(365);
  const roundedBirthDay = Math.floor(birthDay);
  const sex: IinSex = random.chance(femaleShare(age)) ? 'female' : 'male';
  const birthDate = isoDate(roundedBirthDay);

  let weights = ethnicWeights.get(region.region);
  if (!weights) {
    weights = cumulative(region.region.ethnicMix);
    ethnicWeights.set(region.region, weights);
  }
  const group = ETHNIC_GROUPS[random.weighted(weights)];
  const name = personName(group, sex, yearOf(roundedBirthDay), random);
  const lang = name.language;
  const names: HumanName[] = [
    {
      extension: SCRIPT_TAG[lang],
      use: 'official',
      text: name.patronymic ? `${name.family} ${name.given} ${name.patronymic}` : `${name.family} ${name.given}`,
      family: name.family,
      given: name.patronymic ? [name.given, name.patronymic] : [name.given],
    },
    {
      extension: lang === 'kk' ? SCRIPT_TAG.kkLatin : SCRIPT_TAG.ruLatin,
      use: 'official',
      family: icaoLatin(name.family),
      given: [icaoLatin(name.given)],
    },
  ];

  const polyclinic = random.pick(district.polyclinics);
  const child = ageOn(roundedBirthDay, REFERENCE_DAY) < 18;
  const doctors = polyclinic.staff.filter((s) => s.post === (child ? 'pediatrician' : 'gp'));
  const doctor = random.pick(doctors);
  const nurse = polyclinic.staff.find((s) => s.post === 'nurse')!;
  const obstetrician = polyclinic.staff.find((s) => s.post === 'obstetrician')!;

  const villageIndex = district.posts.length > 0 && random.chance(0.6) ? random.int(district.posts.length) : -1;
  const [streetKk, streetRu] = random.pick(STREETS);
  const house = random.between(1, 180);
  const flat = district.district.urban ? random.between(1, 240) : 0;
  const settlement = villageIndex >= 0 ? district.villages[villageIndex] : [district.district.centreKk, district.district.centreRu];
  const address: Address =
    lang === 'kk'
      ? {
          use: 'home',
          type: 'physical',
          line: [flat ? `${streetKk}, ${house}-үй, ${flat}-пәтер` : `${streetKk}, ${house}-үй`],
          city: settlement[0],
          district: district.district.kk,
          state: region.region.kk,
          postalCode: region.region.postalCode,
          country: 'KZ',
        }
      : {
          use: 'home',
          type: 'physical',
          line: [flat ? `${streetRu}, д. ${house}, кв. ${flat}` : `${streetRu}, д. ${house}`],
          city: settlement[1],
          district: district.district.ru,
          state: region.region.ru,
          postalCode: region.region.postalCode,
          country: 'KZ',
        };

  const id = random.uuid();
  const patient: Patient = {
    resourceType: 'Patient',
    id,
    identifier: [{ use: 'official', type: NATIONAL_ID, system: IIN_SYSTEM, value: registry.issue(birthDate, sex) }],
    active: true,
    name: names,
    ...(age >= 14 ? { telecom: [{ system: 'phone', value: mobile(random), use: 'mobile' }] } : {}),
    gender: sex,
    birthDate,
    address: [address],
    communication: COMMUNICATION[lang],
    generalPractitioner: [{ reference: polyclinic.organization }, { reference: doctor.role }],
    managingOrganization: { reference: polyclinic.organization },
  };
  return {
    patient,
    person: {
      reference: `Patient/${id}`,
      birthDay: roundedBirthDay,
      sex,
      region,
      district,
      polyclinic,
      doctor,
      nurse,
      obstetrician,
      ...(villageIndex >= 0 ? { post: district.posts[villageIndex] } : {}),
    },
  };
}

function mobile(random: Random): string {
  return `+7${random.pick(MOBILE_PREFIXES)}${String(random.int(10_000_000)).padStart(7, '0')}`;
}
