/**
 * The identifier system of the IIN, Kazakhstan's 12-digit individual identification number
 * (a placeholder URI until the ministry publishes one in its naming system).
 */
export const IIN_SYSTEM = 'http://densaulyq.kz/fhir/sid/iin';

/**
 * Identifier systems whose value names one living record of a type: the store refuses a second
 * active resource with the same value (https://hl7.org/fhir/R4/resource.html#identifiers).
 */
export const UNIQUE_IDENTIFIER_SYSTEMS: Readonly<Record<string, readonly string[]>> = { Patient: [IIN_SYSTEM] };
