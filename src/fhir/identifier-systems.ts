/**
 * The identifier system of the IIN, Kazakhstan's 12-digit individual identification number
 * (a placeholder URI until the ministry publishes one in its naming system).
 */
export const IIN_SYSTEM = 'http://densaulyq.kz/fhir/sid/iin';

/**
 * A laboratory's HL7 v2 sending facility (MSH-4.1) as its Endpoint's identifier: the Endpoint
 * says which Organization the lab is and whether it may send results (src/lab/).
 */
export const HL7V2_FACILITY_SYSTEM = 'http://densaulyq.kz/fhir/sid/hl7v2-facility';

/**
 * The placer order numbers (ORC-2, OBR-2) an ordering facility gives its orders, one namespace per
 * its HL7 v2 facility id (EI-2): the identifier by which an order (a ServiceRequest) and the
 * results of it (the DiagnosticReport's PLAC identifier) find each other (src/lab/).
 */
export const placerOrderSystem = (facility: string) => `http://densaulyq.kz/fhir/sid/placer-order/${encodeURIComponent(facility)}`;

/**
 * A person's number in another state's register, or a passport: what a citizen of another CIS
 * state shows at registration instead of an IIN (https://hl7.org/fhir/R4/patient.html#identifier).
 *
 * A URI its own country has published is used where one exists; otherwise the platform's
 * namespace `http://densaulyq.kz/fhir/sid/{ISO 3166 alpha-3}/{number}`, to be replaced, like
 * the IIN's, once the issuing state publishes a NamingSystem.
 */
export interface ForeignIdentifierSystem {
  system: string;
  /** ISO 3166-1 alpha-3 code of the issuing state. */
  country: string;
  /** `personal`: one number for life, so two different numbers are two people; `document`: renewed, so they need not be. */
  kind: 'personal' | 'document';
  /** What the number is called, for error messages. */
  name: string;
}

/** СНИЛС, HL7 FHIR Russia's RuCore NamingSystem `core-ns-rf-snils`. */
export const SNILS_SYSTEM = 'https://fhir.ru/ig/core/systems/snils';
/**
 * Passport of a citizen of the Russian Federation (internal), series and number. RuCore names it
 * only as one kind of its generic `identity-document` system, whose values mean nothing without
 * `Identifier.type`; a system of its own keeps the value comparable on its own.
 */
export const RUSSIAN_PASSPORT_SYSTEM = 'http://densaulyq.kz/fhir/sid/rus/internal-passport';
/** Belarus: идентификационный номер, the 14-character personal number of the ID card and passport. */
export const BELARUS_PERSONAL_NUMBER_SYSTEM = 'http://densaulyq.kz/fhir/sid/blr/personal-number';
/** Kyrgyzstan: ПИН (ИНН), the 14-digit personal identification number assigned by the civil registry. */
export const KYRGYZ_PIN_SYSTEM = 'http://densaulyq.kz/fhir/sid/kgz/pin';
/** Uzbekistan: ПИНФЛ, as the ministry's Digital Health Platform names it (NamingSystem `patient-id-uzb-national-id`). */
export const UZBEK_PINFL_SYSTEM = 'https://dhp.uz/fhir/core/sid/pid/uz/ni';
/** Tajikistan: РМА (ИНН), the 9-digit taxpayer number, which Tajik registries use as the personal number. */
export const TAJIK_INN_SYSTEM = 'http://densaulyq.kz/fhir/sid/tjk/inn';
/** Armenia: public service number (ՀԾՀ, social card), 10 digits. */
export const ARMENIAN_PSN_SYSTEM = 'http://densaulyq.kz/fhir/sid/arm/psn';
/** Azerbaijan: FİN, the 7-character personal identification code of the ID card. */
export const AZERBAIJANI_FIN_SYSTEM = 'http://densaulyq.kz/fhir/sid/aze/fin';
/** Moldova: IDNP, the 13-digit state identification number of a person. */
export const MOLDOVAN_IDNP_SYSTEM = 'http://densaulyq.kz/fhir/sid/mda/idnp';

/**
 * Passport numbers (ICAO Doc 9303) of any state: `http://hl7.org/fhir/sid/passport-` and the
 * ISO 3166 alpha-3 code, as HL7 Terminology's `passportNumNS-*` NamingSystems publish them.
 */
export const PASSPORT_SYSTEM_PREFIX = 'http://hl7.org/fhir/sid/passport-';

export const FOREIGN_IDENTIFIER_SYSTEMS: readonly ForeignIdentifierSystem[] = [
  { system: SNILS_SYSTEM, country: 'RUS', kind: 'personal', name: 'SNILS' },
  { system: RUSSIAN_PASSPORT_SYSTEM, country: 'RUS', kind: 'document', name: 'Russian internal passport number' },
  { system: BELARUS_PERSONAL_NUMBER_SYSTEM, country: 'BLR', kind: 'personal', name: 'Belarusian identification number' },
  { system: KYRGYZ_PIN_SYSTEM, country: 'KGZ', kind: 'personal', name: 'Kyrgyz PIN' },
  { system: UZBEK_PINFL_SYSTEM, country: 'UZB', kind: 'personal', name: 'Uzbek PINFL' },
  { system: TAJIK_INN_SYSTEM, country: 'TJK', kind: 'personal', name: 'Tajik INN' },
  { system: ARMENIAN_PSN_SYSTEM, country: 'ARM', kind: 'personal', name: 'Armenian public service number' },
  { system: AZERBAIJANI_FIN_SYSTEM, country: 'AZE', kind: 'personal', name: 'Azerbaijani FIN' },
  { system: MOLDOVAN_IDNP_SYSTEM, country: 'MDA', kind: 'personal', name: 'Moldovan IDNP' },
];

const BY_SYSTEM = new Map(FOREIGN_IDENTIFIER_SYSTEMS.map((s) => [s.system, s]));

/** The foreign system an identifier belongs to, passports of any state included; undefined for the rest. */
export function foreignIdentifierSystem(system: string | undefined): ForeignIdentifierSystem | undefined {
  if (!system) return undefined;
  const known = BY_SYSTEM.get(system);
  if (known) return known;
  const country = system.startsWith(PASSPORT_SYSTEM_PREFIX) ? system.slice(PASSPORT_SYSTEM_PREFIX.length) : '';
  return /^[A-Z]{3}$/.test(country) ? { system, country, kind: 'document', name: `${country} passport number` } : undefined;
}

/**
 * Identifier systems whose value names one living record of a type: the store refuses a second
 * active resource with the same value (https://hl7.org/fhir/R4/resource.html#identifiers). The
 * lifelong personal numbers qualify; document numbers do not, since states reissue them.
 */
export const UNIQUE_IDENTIFIER_SYSTEMS: Readonly<Record<string, readonly string[]>> = {
  Patient: [IIN_SYSTEM, ...FOREIGN_IDENTIFIER_SYSTEMS.filter((s) => s.kind === 'personal').map((s) => s.system)],
};
