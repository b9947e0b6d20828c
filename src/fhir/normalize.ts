/**
 * Kazakh Cyrillic letters folded onto the Russian letters they are written with when a keyboard
 * or a registry lacks them («Әбенов» is often «Абенов»); ы and і fold onto и, as Russian
 * spellings of Kazakh names use и for both («Ғалым» / «Гали…»). Kazakh Latin (2021) needs only
 * the dotless ı: its other letters carry accents that NFD strips.
 */
const FOLDS: Record<string, string> = { ә: 'а', ғ: 'г', қ: 'к', ң: 'н', ө: 'о', ұ: 'у', ү: 'у', һ: 'х', і: 'и', ы: 'и', ı: 'i' };
const FOLD_PATTERN = new RegExp(`[${Object.keys(FOLDS).join('')}]`, 'g');

/**
 * The comparable form of a string search value: case- and accent-insensitive as
 * https://hl7.org/fhir/R4/search.html#string asks. NFD splits accented letters (ё, й, ä, ū) into
 * a base letter and a combining mark, which is dropped; then Kazakh letters fold as above.
 */
export function normalizeString(value: string): string {
  return value
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(FOLD_PATTERN, (letter) => FOLDS[letter]);
}
