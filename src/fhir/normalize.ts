/**
 * The comparable form of a string search value: case- and accent-insensitive as
 * https://hl7.org/fhir/R4/search.html#string asks. NFD splits accented letters (ё, ä, ū) into a
 * base letter and a combining mark, which is dropped; lower-casing covers Kazakh Cyrillic
 * (Ә Ғ Қ Ң Ө Ұ Ү Һ І) and Latin alike.
 */
export function normalizeString(value: string): string {
  return value.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}
