import type { Address, HumanName, Patient } from '@medplum/fhirtypes';
import { validateForeignIdentifier } from './foreign-identifiers.js';
import { IIN_SYSTEM } from './iin.js';
import { parsePatronymic } from './transliteration.js';

/**
 * What patient matching reads of a registration, whatever system it came
 * from: every spelling of every name, and the few facts people repeat at each
 * registration. Plain data, so matching runs without a database and the same
 * code scores a FHIR Patient, a `$match` input or a row of a migration file.
 */
export interface PersonRecord {
  id: string;
  /** As recorded; may be mistyped. Absent on foreign and emergency registrations. */
  iin?: string;
  /**
   * Another state's personal numbers and passports, as `system|value`: on a foreign registration
   * they stand in for the IIN. Only values in their system's format.
   */
  foreignIds?: string[];
  /** Every spelling of the family name, in any script. */
  family: string[];
  /** Every spelling of the given name(s), in any script; patronymics excluded. */
  given: string[];
  /** «Нұрланұлы», «Нурланович», «Nurlan uly»… */
  patronymic?: string;
  /** `YYYY-MM-DD`, or the shorter `YYYY-MM` / `YYYY` FHIR allows. */
  birthDate?: string;
  sex?: 'male' | 'female';
  /** Normalised to `+7` and ten digits by {@link normalizePhone} when it is a Kazakhstan number. */
  phone?: string;
  address?: PersonAddress;
}

export interface PersonAddress {
  postalCode?: string;
  city?: string;
  district?: string;
  /** Street, house and flat as one line: «Абай даңғылы, 12-үй, 5-пәтер», «проспект Абая, д. 12, кв. 5». */
  line?: string;
}

/**
 * Kazakhstan numbers as people write them — «8 701 123 45 67», «+7 (701)
 * 1234567», «7011234567» — to E.164 `+77011234567`. Kazakhstan shares
 * country code 7 with Russia; the national «8» trunk prefix is the old Soviet
 * habit that still fills registration forms. Other numbers keep their digits.
 */
export function normalizePhone(phone: string): string | undefined {
  const digits = phone.replace(/\D/g, '');
  if (digits.length === 0) {
    return undefined;
  }
  if (digits.length === 11 && (digits[0] === '8' || digits[0] === '7')) {
    return `+7${digits.slice(1)}`;
  }
  if (digits.length === 10 && (digits[0] === '7' || digits[0] === '6')) {
    return `+7${digits}`;
  }
  return `+${digits}`;
}

/**
 * The matching view of a FHIR Patient: the IIN from `identifier` with
 * {@link IIN_SYSTEM} and the foreign personal numbers and passports, names from every `HumanName` (all scripts), `gender`,
 * `birthDate`, the first phone in `telecom` and the home (or first) address.
 *
 * Kazakhstan's systems put the patronymic in `HumanName.given` after the given
 * name (FHIR R4 has no patronymic element,
 * https://hl7.org/fhir/R4/datatypes.html#HumanName), so a second or later
 * `given` that ends like a patronymic is read as one.
 */
export function personRecordFromPatient(patient: Patient): PersonRecord {
  const family: string[] = [];
  const given: string[] = [];
  let patronymic: string | undefined;
  for (const name of patient.name ?? []) {
    const parts = namePartsOf(name);
    if (parts.family && !family.includes(parts.family)) family.push(parts.family);
    for (const g of parts.given) {
      if (!given.includes(g)) given.push(g);
    }
    patronymic ??= parts.patronymic;
  }
  const iin = patient.identifier?.find((identifier) => identifier.system === IIN_SYSTEM)?.value?.trim();
  const foreignIds = (patient.identifier ?? [])
    .filter((identifier) => identifier.value && validateForeignIdentifier(identifier.system, identifier.value)?.valid)
    .map((identifier) => `${identifier.system}|${identifier.value}`);
  const phoneText = patient.telecom?.find((telecom) => telecom.system === 'phone' && telecom.value)?.value;
  const phone = phoneText === undefined ? undefined : normalizePhone(phoneText);
  const address = patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0];
  const sex = patient.gender === 'male' || patient.gender === 'female' ? patient.gender : undefined;
  return {
    id: patient.id ?? '',
    ...(iin ? { iin } : {}),
    ...(foreignIds.length ? { foreignIds } : {}),
    family,
    given,
    ...(patronymic ? { patronymic } : {}),
    ...(patient.birthDate ? { birthDate: patient.birthDate } : {}),
    ...(sex ? { sex } : {}),
    ...(phone ? { phone } : {}),
    ...(address ? { address: personAddress(address) } : {}),
  };
}

function namePartsOf(name: HumanName): { family?: string; given: string[]; patronymic?: string } {
  const given: string[] = [];
  let patronymic: string | undefined;
  const names = name.given ?? [];
  names.forEach((part, index) => {
    if (index > 0 && patronymic === undefined && parsePatronymic(part) !== null) {
      patronymic = part;
    } else if (part.trim()) {
      given.push(part.trim());
    }
  });
  if (name.family?.trim()) {
    return { family: name.family.trim(), given, ...(patronymic ? { patronymic } : {}) };
  }
  // Only text: «Family Given Patronymic», the order Kazakhstan's documents use.
  if (names.length === 0 && name.text) {
    const words = name.text.trim().split(/\s+/);
    const [first, second, ...rest] = words;
    const tail = rest.join(' ');
    return {
      ...(first ? { family: first } : {}),
      given: second ? [second] : [],
      ...(tail && parsePatronymic(tail) ? { patronymic: tail } : {}),
    };
  }
  return { given, ...(patronymic ? { patronymic } : {}) };
}

function personAddress(address: Address): PersonAddress {
  const line = address.line?.join(', ');
  return {
    ...(address.postalCode ? { postalCode: address.postalCode } : {}),
    ...(address.city ? { city: address.city } : {}),
    ...(address.district ? { district: address.district } : {}),
    ...(line ? { line } : {}),
  };
}
