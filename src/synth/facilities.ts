import type {
  CodeableConcept,
  ContactPoint,
  Identifier,
  Location,
  Organization,
  Practitioner,
  PractitionerRole,
  Resource,
} from '@medplum/fhirtypes';
import { iinCheckDigit, IIN_SYSTEM } from '../identity/iin.js';
import { concept, SYSTEM } from './codes.js';
import { isoDate } from './dates.js';
import { ETHNIC_GROUPS, REGIONS, STREETS, VILLAGES, type District, type Region } from './geography.js';
import { icaoLatin, personName } from './names.js';
import { type IinRegistry } from './people.js';
import { cumulative, type Random } from './random.js';

/**
 * The state health network the patients are attached to: per region a health
 * department (under the Ministry), and under it polyclinics, hospitals,
 * specialised dispensaries, rural feldsher-midwife posts (ФАП), laboratories,
 * imaging centres and pharmacies, each with its Location and staff.
 */

export type FacilityKind =
  | 'ministry'
  | 'health-department'
  | 'polyclinic'
  | 'hospital'
  | 'tb-dispensary'
  | 'oncology-centre'
  | 'perinatal-centre'
  | 'fap'
  | 'laboratory'
  | 'imaging-centre'
  | 'pharmacy';

export type StaffPost =
  | 'gp'
  | 'pediatrician'
  | 'nurse'
  | 'obstetrician'
  | 'internist'
  | 'surgeon'
  | 'cardiologist'
  | 'endocrinologist'
  | 'phthisiatrician'
  | 'oncologist'
  | 'radiologist'
  | 'pathologist'
  | 'feldsher'
  | 'pharmacist';

export interface Staff {
  post: StaffPost;
  practitioner: string;
  role: string;
}

export interface Facility {
  kind: FacilityKind;
  /** `Organization/<id>` */
  organization: string;
  /** `Location/<id>` */
  location: string;
  staff: Staff[];
}

export interface DistrictNetwork {
  district: District;
  polyclinics: Facility[];
  /** Feldsher-midwife posts and the villages they serve, in the same order. */
  posts: Facility[];
  villages: (readonly [string, string])[];
}

export interface RegionNetwork {
  region: Region;
  districts: DistrictNetwork[];
  districtWeights: Float64Array;
  hospitals: Facility[];
  tbDispensary: Facility;
  oncologyCentre: Facility;
  perinatalCentre: Facility;
  laboratories: Facility[];
  imagingCentres: Facility[];
  pharmacies: Facility[];
}

export interface FacilityNetwork {
  regions: RegionNetwork[];
  regionWeights: Float64Array;
  resources: Resource[];
}

/** About 6,000 state medical organizations serve about 20 million people. */
const FACILITIES_PER_PERSON = 6_000 / 20_000_000;

/** Share of each kind among facilities at national scale. */
const KIND_SHARE: Partial<Record<FacilityKind, number>> = {
  polyclinic: 0.22,
  hospital: 0.1,
  fap: 0.3,
  laboratory: 0.08,
  'imaging-centre': 0.06,
  pharmacy: 0.22,
};

/** Staffing norms: a district GP serves about 1,700 adults, a district pediatrician about 900 children. */
const ADULTS_PER_GP = 1_700;
const CHILDREN_PER_PEDIATRICIAN = 900;
const CHILD_SHARE = 0.32;

/** The posts of the kinds of facility with fixed staff (a polyclinic's grows with its district). */
const STAFF_OF = {
  hospital: ['internist', 'surgeon', 'cardiologist', 'endocrinologist', 'nurse'],
  'tb-dispensary': ['phthisiatrician', 'nurse'],
  'oncology-centre': ['oncologist', 'radiologist'],
  'perinatal-centre': ['obstetrician', 'obstetrician', 'nurse'],
  fap: ['feldsher'],
  laboratory: ['pathologist'],
  'imaging-centre': ['radiologist'],
  pharmacy: ['pharmacist'],
} satisfies Partial<Record<FacilityKind, StaffPost[]>>;

const HL7_ROLE = 'http://terminology.hl7.org/CodeSystem/practitioner-role';
const ROLE: Record<'doctor' | 'nurse' | 'pharmacist', CodeableConcept[]> = {
  doctor: [concept(HL7_ROLE, 'doctor', 'Doctor')],
  nurse: [concept(HL7_ROLE, 'nurse', 'Nurse')],
  pharmacist: [concept(HL7_ROLE, 'pharmacist', 'Pharmacist')],
};

const specialty = (code: string, display: string): CodeableConcept[] => [concept(SYSTEM.snomed, code, display)];

const POST: Record<StaffPost, { code: CodeableConcept[]; specialty?: CodeableConcept[] }> = {
  gp: { code: ROLE.doctor, specialty: specialty('394814009', 'General practice') },
  pediatrician: { code: ROLE.doctor, specialty: specialty('394537008', 'Pediatric specialty') },
  nurse: { code: ROLE.nurse },
  obstetrician: { code: ROLE.doctor, specialty: specialty('394585009', 'Obstetrics and gynecology') },
  internist: { code: ROLE.doctor, specialty: specialty('394802001', 'General medicine') },
  surgeon: { code: ROLE.doctor, specialty: specialty('394609007', 'General surgery') },
  cardiologist: { code: ROLE.doctor, specialty: specialty('394579002', 'Cardiology') },
  endocrinologist: { code: ROLE.doctor, specialty: specialty('394583002', 'Endocrinology') },
  phthisiatrician: { code: ROLE.doctor, specialty: specialty('418112009', 'Pulmonary medicine') },
  oncologist: { code: ROLE.doctor, specialty: specialty('394592004', 'Clinical oncology') },
  radiologist: { code: ROLE.doctor, specialty: specialty('394914008', 'Radiology') },
  pathologist: { code: ROLE.doctor, specialty: specialty('394595002', 'Pathology') },
  feldsher: { code: [concept(SYSTEM.position, 'feldsher', 'Фельдшер')] },
  pharmacist: { code: ROLE.pharmacist },
};

/** A facility kind's types: HL7's organization type and the kind itself, with its Russian name. */
const kindType = (kind: FacilityKind, hl7: 'govt' | 'prov', ru: string): CodeableConcept[] => [
  concept('http://terminology.hl7.org/CodeSystem/organization-type', hl7, hl7 === 'govt' ? 'Government' : 'Healthcare Provider'),
  concept(SYSTEM.facilityType, kind, ru),
];

const KIND_TYPE: Record<FacilityKind, CodeableConcept[]> = {
  ministry: kindType('ministry', 'govt', 'Министерство здравоохранения'),
  'health-department': kindType('health-department', 'govt', 'Управление здравоохранения'),
  polyclinic: kindType('polyclinic', 'prov', 'Поликлиника'),
  hospital: kindType('hospital', 'prov', 'Больница'),
  'tb-dispensary': kindType('tb-dispensary', 'prov', 'Центр фтизиопульмонологии'),
  'oncology-centre': kindType('oncology-centre', 'prov', 'Онкологический центр'),
  'perinatal-centre': kindType('perinatal-centre', 'prov', 'Перинатальный центр'),
  fap: kindType('fap', 'prov', 'Фельдшерско-акушерский пункт'),
  laboratory: kindType('laboratory', 'prov', 'Лаборатория'),
  'imaging-centre': kindType('imaging-centre', 'prov', 'Центр лучевой диагностики'),
  pharmacy: kindType('pharmacy', 'prov', 'Аптека'),
};

/** v3 RoleCode service delivery location types. */
const LOCATION_TYPE: Partial<Record<FacilityKind, CodeableConcept[]>> = {
  polyclinic: [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'OF', 'Outpatient facility')],
  fap: [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'OF', 'Outpatient facility')],
  hospital: [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'HOSP', 'Hospital')],
  'tb-dispensary': [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'HOSP', 'Hospital')],
  'oncology-centre': [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'HOSP', 'Hospital')],
  'perinatal-centre': [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'HOSP', 'Hospital')],
  laboratory: [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'OUTLAB', 'outpatient laboratory')],
  'imaging-centre': [
    concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'RADDX', 'Radiology diagnostics or therapeutics unit'),
  ],
  pharmacy: [concept('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'OUTPHARM', 'outpatient pharmacy')],
};

const BUILDING = concept('http://terminology.hl7.org/CodeSystem/location-physical-type', 'bu', 'Building');

/** Builds the network scaled to a population of `patients`. */
export function buildFacilityNetwork(patients: number, random: Random, registry: IinRegistry): FacilityNetwork {
  const resources: Resource[] = [];
  let binSerial = 0;
  /** Business identification number: registration YYMM, 4 = resident legal entity, 0 = head office, serial, check digit. */
  const bin = (): Identifier => {
    for (;;) {
      const first11 = `${String((1995 + random.int(21)) % 100).padStart(2, '0')}${String(random.between(1, 12)).padStart(2, '0')}40${String(binSerial++).padStart(5, '0')}`;
      const check = iinCheckDigit(first11);
      if (check !== null) {
        return { system: SYSTEM.bin, value: first11 + check };
      }
    }
  };

  const ministryId = random.uuid();
  resources.push({
    resourceType: 'Organization',
    id: ministryId,
    identifier: [bin()],
    active: true,
    type: KIND_TYPE.ministry,
    name: 'Қазақстан Республикасы Денсаулық сақтау министрлігі',
    alias: ['Министерство здравоохранения Республики Казахстан'],
    address: [{ city: 'Астана', country: 'KZ' }],
  } satisfies Organization);

  const regions: RegionNetwork[] = [];
  for (const region of REGIONS) {
    const expectedPeople = (patients * region.share) / 100;
    const departmentId = random.uuid();
    resources.push({
      resourceType: 'Organization',
      id: departmentId,
      identifier: [bin()],
      active: true,
      type: KIND_TYPE['health-department'],
      name: `${region.kk} денсаулық сақтау басқармасы`,
      alias: [`Управление здравоохранения: ${region.ru}`],
      address: [{ city: region.districts[0].centreKk, state: region.kk, country: 'KZ' }],
      partOf: { reference: `Organization/${ministryId}` },
    } satisfies Organization);

    const numbering = new Map<FacilityKind, number>();
    const districtWeights = cumulative(region.districts.map((d) => d.share));
    const totalShare = districtWeights[districtWeights.length - 1];

    const facility = (kind: FacilityKind, district: District, staffPosts: StaffPost[], village?: readonly [string, string]): Facility => {
      const number = (numbering.get(kind) ?? 0) + 1;
      numbering.set(kind, number);
      const [kk, ru] = facilityName(kind, number, region, district, village);
      const organizationId = random.uuid();
      const locationId = random.uuid();
      const [cityKk] = village ?? [district.centreKk];
      const [streetKk] = random.pick(STREETS);
      const address = {
        line: [`${streetKk}, ${random.between(1, 150)}`],
        city: cityKk,
        district: district.kk,
        state: region.kk,
        postalCode: region.postalCode,
        country: 'KZ',
      };
      const telecom: ContactPoint[] = [{ system: 'phone', value: landline(region, random), use: 'work' }];
      resources.push({
        resourceType: 'Organization',
        id: organizationId,
        identifier: [bin()],
        active: true,
        type: KIND_TYPE[kind],
        name: kk,
        alias: [ru],
        telecom,
        address: [address],
        partOf: { reference: `Organization/${departmentId}` },
      } satisfies Organization);
      const spread = district.urban ? 0.04 : 0.4;
      resources.push({
        resourceType: 'Location',
        id: locationId,
        status: 'active',
        name: kk,
        alias: [ru],
        mode: 'instance',
        type: LOCATION_TYPE[kind],
        telecom,
        address,
        physicalType: BUILDING,
        position: {
          longitude: round4(region.longitude + (random.next() - 0.5) * spread),
          latitude: round4(region.latitude + (random.next() - 0.5) * spread),
        },
        managingOrganization: { reference: `Organization/${organizationId}` },
      } satisfies Location);
      const staff = staffPosts.map((post) => hire(post, organizationId, locationId, region, random, registry, resources));
      return { kind, organization: `Organization/${organizationId}`, location: `Location/${locationId}`, staff };
    };

    const centreDistrict = region.districts[0];
    const count = (kind: FacilityKind, district: District): number =>
      Math.round(((expectedPeople * district.share) / totalShare) * FACILITIES_PER_PERSON * (KIND_SHARE[kind] ?? 0));

    const districts: DistrictNetwork[] = region.districts.map((district) => {
      const people = (expectedPeople * district.share) / totalShare;
      // Towns have no feldsher posts: their share goes to polyclinics.
      const polyclinicCount = Math.max(1, count('polyclinic', district) + (district.urban ? count('fap', district) : 0));
      const attached = people / polyclinicCount;
      const gps = Math.max(1, Math.ceil((attached * (1 - CHILD_SHARE)) / ADULTS_PER_GP));
      const pediatricians = Math.max(1, Math.ceil((attached * CHILD_SHARE) / CHILDREN_PER_PEDIATRICIAN));
      const polyclinicStaff: StaffPost[] = [
        ...Array<StaffPost>(gps).fill('gp'),
        ...Array<StaffPost>(pediatricians).fill('pediatrician'),
        ...Array<StaffPost>(gps).fill('nurse'),
        'obstetrician',
      ];
      const polyclinics = Array.from({ length: polyclinicCount }, () => facility('polyclinic', district, polyclinicStaff));
      const postCount = district.urban ? 0 : Math.max(1, count('fap', district));
      const villages = Array.from({ length: postCount }, (_, i) => VILLAGES[(i * 7 + district.kk.length) % VILLAGES.length]);
      const posts = villages.map((village) => facility('fap', district, STAFF_OF.fap, village));
      return { district, polyclinics, posts, villages };
    });

    const spreadOverDistricts = (kind: keyof typeof STAFF_OF): Facility[] => {
      const out: Facility[] = [];
      for (const district of region.districts) {
        const n = Math.max(district === centreDistrict ? 1 : 0, count(kind, district));
        for (let i = 0; i < n; i++) {
          out.push(facility(kind, district, STAFF_OF[kind]));
        }
      }
      return out;
    };

    regions.push({
      region,
      districts,
      districtWeights,
      hospitals: spreadOverDistricts('hospital'),
      tbDispensary: facility('tb-dispensary', centreDistrict, STAFF_OF['tb-dispensary']),
      oncologyCentre: facility('oncology-centre', centreDistrict, STAFF_OF['oncology-centre']),
      perinatalCentre: facility('perinatal-centre', centreDistrict, STAFF_OF['perinatal-centre']),
      laboratories: spreadOverDistricts('laboratory'),
      imagingCentres: spreadOverDistricts('imaging-centre'),
      pharmacies: spreadOverDistricts('pharmacy'),
    });
  }
  return { regions, regionWeights: cumulative(REGIONS.map((r) => r.share)), resources };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** A landline in the region's area code: ten digits after +7 in all. */
export function landline(region: Region, random: Random): string {
  let local = '';
  for (let i = region.phoneAreaCode.length; i < 10; i++) {
    local += i === region.phoneAreaCode.length ? String(random.between(2, 5)) : String(random.int(10));
  }
  return `+7${region.phoneAreaCode}${local}`;
}

function facilityName(
  kind: FacilityKind,
  n: number,
  region: Region,
  district: District,
  village?: readonly [string, string],
): [string, string] {
  const regional = !region.city;
  switch (kind) {
    case 'polyclinic':
      return district.urban
        ? [`${district.centreKk} қ. №${n} қалалық емхана`, `Городская поликлиника №${n}, г. ${district.centreRu}`]
        : [`${district.centreKk} аудандық емханасы`, `Районная поликлиника, ${district.centreRu}`];
    case 'hospital':
      return n === 1
        ? regional
          ? ['Облыстық көпбейінді аурухана', `Областная многопрофильная больница, ${region.ru}`]
          : [`${district.centreKk} қ. №1 қалалық клиникалық аурухана`, `Городская клиническая больница №1, г. ${district.centreRu}`]
        : district.urban
          ? [`${district.centreKk} қ. №${n} қалалық аурухана`, `Городская больница №${n}, г. ${district.centreRu}`]
          : [`${district.centreKk} орталық аудандық ауруханасы`, `Центральная районная больница, ${district.centreRu}`];
    case 'tb-dispensary':
      return regional
        ? [`${region.kk} фтизиопульмонология орталығы`, `Областной центр фтизиопульмонологии, ${region.ru}`]
        : [`${district.centreKk} қ. фтизиопульмонология орталығы`, `Городской центр фтизиопульмонологии, г. ${district.centreRu}`];
    case 'oncology-centre':
      return regional
        ? [`${region.kk} онкологиялық орталығы`, `Областной онкологический центр, ${region.ru}`]
        : [`${district.centreKk} қ. онкологиялық орталығы`, `Городской онкологический центр, г. ${district.centreRu}`];
    case 'perinatal-centre':
      return regional
        ? [`${region.kk} перинаталдық орталығы`, `Областной перинатальный центр, ${region.ru}`]
        : [`${district.centreKk} қ. перинаталдық орталығы`, `Городской перинатальный центр, г. ${district.centreRu}`];
    case 'fap':
      return [`${village![0]} фельдшерлік-акушерлік пункті`, `Фельдшерско-акушерский пункт, с. ${village![1]}`];
    case 'laboratory':
      return [`${district.centreKk}, №${n} клиникалық-диагностикалық зертхана`, `Клинико-диагностическая лаборатория №${n}, ${district.centreRu}`];
    case 'imaging-centre':
      return [`${district.centreKk}, №${n} сәулелік диагностика орталығы`, `Центр лучевой диагностики №${n}, ${district.centreRu}`];
    case 'pharmacy':
      return [`${district.centreKk}, №${n} дәріхана`, `Аптека №${n}, ${district.centreRu}`];
    default:
      throw new Error(`${kind} is not a facility with a name of its own`);
  }
}

const ethnicWeightsByRegion = new Map<Region, Float64Array>();

function hire(
  post: StaffPost,
  organizationId: string,
  locationId: string,
  region: Region,
  random: Random,
  registry: IinRegistry,
  resources: Resource[],
): Staff {
  let weights = ethnicWeightsByRegion.get(region);
  if (!weights) {
    weights = cumulative(region.ethnicMix);
    ethnicWeightsByRegion.set(region, weights);
  }
  const group = ETHNIC_GROUPS[random.weighted(weights)];
  const femaleShare = post === 'nurse' || post === 'obstetrician' || post === 'pediatrician' ? 0.92 : 0.65;
  const sex = random.chance(femaleShare) ? 'female' : 'male';
  const birthYear = random.between(1960, 1998);
  const birthDay = Date.UTC(birthYear, 0, 1) / 86_400_000 + random.int(365);
  const birthDate = isoDate(birthDay);
  const name = personName(group, sex, birthYear, random);
  const given = name.patronymic ? [name.given, name.patronymic] : [name.given];
  const practitionerId = random.uuid();
  const roleId = random.uuid();
  resources.push({
    resourceType: 'Practitioner',
    id: practitionerId,
    identifier: [{ use: 'official', system: IIN_SYSTEM, value: registry.issue(birthDate, sex) }],
    active: true,
    name: [
      { use: 'official', family: name.family, given },
      { use: 'official', family: icaoLatin(name.family), given: [icaoLatin(name.given)] },
    ],
    gender: sex,
    birthDate,
  } satisfies Practitioner);
  resources.push({
    resourceType: 'PractitionerRole',
    id: roleId,
    active: true,
    practitioner: { reference: `Practitioner/${practitionerId}` },
    organization: { reference: `Organization/${organizationId}` },
    location: [{ reference: `Location/${locationId}` }],
    code: POST[post].code,
    ...(POST[post].specialty ? { specialty: POST[post].specialty } : {}),
  } satisfies PractitionerRole);
  return { post, practitioner: `Practitioner/${practitionerId}`, role: `PractitionerRole/${roleId}` };
}
