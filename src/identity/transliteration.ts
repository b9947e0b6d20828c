/**
 * One person's name reaches the platform in up to four scripts: Kazakh
 * Cyrillic as the civil registry writes it («Нұрлан Әбенов»), Russian
 * Cyrillic where a system or a clerk has no Kazakh letters («Нурлан Абенов»),
 * ICAO Doc 9303 Latin from a passport or ID card («Nurlan Abenov») and the
 * Kazakh Latin alphabet of 2021 («Nūrlan Äbenov»). Matching cannot pick one of
 * them as the truth, so {@link matchKey} folds all four to one Latin skeleton
 * that only keeps the distinctions every script can make.
 */

/**
 * Kazakh Latin alphabet as approved in January 2021 (31 letters: A Ä B D E F G
 * Ğ H I İ J K L M N Ñ O Ö P Q R S Ş T U Ū Ü V Y Z), in lower case.
 *
 * І is written I/ı and И, Й are both İ/i — the reverse of Turkish habits, and
 * the reason upper and lower case are handled apart. Letters outside the
 * alphabet (Ё, Ц, Ч, Щ, Э, Ю, Я, met in Russian loan names) are spelled by
 * sound as the 2021 orthography proposals do: Ц→ts, Ч→ch, Щ→şş, Ю→iu, Я→ia.
 * Ч→ch follows the approved table; the 2019 draft's ç is still accepted by
 * {@link matchKey}.
 */
const KAZAKH_LATIN_2021: Readonly<Record<string, string>> = {
  а: 'a', ә: 'ä', б: 'b', в: 'v', г: 'g', ғ: 'ğ', д: 'd', е: 'e', ё: 'io', ж: 'j', з: 'z', и: 'i', й: 'i',
  к: 'k', қ: 'q', л: 'l', м: 'm', н: 'n', ң: 'ñ', о: 'o', ө: 'ö', п: 'p', р: 'r', с: 's', т: 't', у: 'u',
  ұ: 'ū', ү: 'ü', ф: 'f', х: 'h', һ: 'h', ц: 'ts', ч: 'ch', ш: 'ş', щ: 'şş', ъ: '', ы: 'y', і: 'ı', ь: '',
  э: 'e', ю: 'iu', я: 'ia',
};

/**
 * ICAO Doc 9303 Part 3 (8th ed., section 6, table "Transliteration of
 * Cyrillic characters") for the Russian letters, and Kazakhstan's passport
 * practice for the nine Kazakh ones, which Doc 9303 leaves to the issuing
 * state: each folds to its nearest Latin letter.
 */
const ICAO_9303: Readonly<Record<string, string>> = {
  а: 'a', ә: 'a', б: 'b', в: 'v', г: 'g', ғ: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i',
  к: 'k', қ: 'k', л: 'l', м: 'm', н: 'n', ң: 'n', о: 'o', ө: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u',
  ұ: 'u', ү: 'u', ф: 'f', х: 'kh', һ: 'h', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', і: 'i',
  ь: '', э: 'e', ю: 'iu', я: 'ia',
};

/** What a system without Kazakh letters types instead of them. */
const KAZAKH_TO_RUSSIAN: Readonly<Record<string, string>> = {
  ә: 'а', ғ: 'г', қ: 'к', ң: 'н', ө: 'о', ұ: 'у', ү: 'у', һ: 'х', і: 'и',
  Ә: 'А', Ғ: 'Г', Қ: 'К', Ң: 'Н', Ө: 'О', Ұ: 'У', Ү: 'У', Һ: 'Х', І: 'И',
};

/** Kazakh Cyrillic to the Kazakh Latin alphabet of 2021, keeping each word's case pattern. */
export function kazakhLatin2021(cyrillic: string): string {
  return transliterate(cyrillic, KAZAKH_LATIN_2021, kazakhLatinUpper);
}

/**
 * Cyrillic (Kazakh or Russian) to ICAO Doc 9303 Latin, keeping each word's
 * case pattern: «Жанна» → «Zhanna», «ЖАННА» → «ZHANNA» as in the MRZ.
 */
export function icao9303Latin(cyrillic: string): string {
  return transliterate(cyrillic, ICAO_9303, (latin) => latin.toUpperCase());
}

/** Kazakh Cyrillic with the nine Kazakh letters replaced by their Russian look-alikes. */
export function withoutKazakhLetters(cyrillic: string): string {
  let out = '';
  for (const ch of cyrillic) {
    out += KAZAKH_TO_RUSSIAN[ch] ?? ch;
  }
  return out;
}

const LATIN_2021_VOWELS = new Set(['a', 'ä', 'e', 'i', 'ı', 'o', 'ö', 'u', 'ū', 'ü', 'y']);

/** Reverse of {@link KAZAKH_LATIN_2021} for single letters; digraphs are handled in code. */
const LATIN_2021_TO_KAZAKH: Readonly<Record<string, string>> = {
  a: 'а', ä: 'ә', b: 'б', d: 'д', e: 'е', f: 'ф', g: 'г', ğ: 'ғ', h: 'х', ı: 'і', j: 'ж', k: 'к', l: 'л',
  m: 'м', n: 'н', ñ: 'ң', o: 'о', ö: 'ө', p: 'п', q: 'қ', r: 'р', s: 'с', ş: 'ш', t: 'т', u: 'у', ū: 'ұ',
  ü: 'ү', v: 'в', y: 'ы', z: 'з', c: 'ц', w: 'у',
};

/**
 * Kazakh Latin (2021) back to Kazakh Cyrillic. Not one-to-one, so it guesses
 * the way a reader does: İ/i after a vowel is Й, otherwise И; «ia», «iu», «io»
 * at a word's start or after a vowel are Я, Ю, Ё; «ch» is Ч, «şş» Щ, and «ts»
 * is Ц only at a word's start (inside a word it is usually т+с, as in «Бетсіз»).
 * Input is taken to be 2021 text: a bare capital I is І, not И.
 */
export function kazakhCyrillicFrom2021(latin: string): string {
  const chars = [...latin];
  let out = '';
  let i = 0;
  let wordStart = true;
  let previousVowel = false;
  while (i < chars.length) {
    const raw = chars[i];
    const upper = raw !== raw.toLowerCase() || raw === 'İ';
    const lower = raw === 'I' ? 'ı' : raw === 'İ' ? 'i' : raw.toLowerCase();
    const next = (chars[i + 1] ?? '').toLowerCase();
    let cyr: string | undefined;
    let width = 1;
    if (lower === 'i' && (next === 'a' || next === 'u' || next === 'o') && (wordStart || previousVowel)) {
      cyr = next === 'a' ? 'я' : next === 'u' ? 'ю' : 'ё';
      width = 2;
    } else if (lower === 'i') {
      cyr = previousVowel ? 'й' : 'и';
    } else if (lower === 'c' && next === 'h') {
      cyr = 'ч';
      width = 2;
    } else if (lower === 'ş' && next === 'ş') {
      cyr = 'щ';
      width = 2;
    } else if (lower === 't' && next === 's' && wordStart) {
      cyr = 'ц';
      width = 2;
    } else {
      cyr = LATIN_2021_TO_KAZAKH[lower];
    }
    if (cyr === undefined) {
      out += raw;
      wordStart = !/\p{L}/u.test(raw);
      previousVowel = false;
      i += 1;
      continue;
    }
    out += upper ? cyr.toUpperCase() : cyr;
    previousVowel = LATIN_2021_VOWELS.has(lower) && width === 1 && !(lower === 'i' && previousVowel);
    if (width === 2) {
      previousVowel = cyr === 'я' || cyr === 'ю' || cyr === 'ё';
    }
    wordStart = false;
    i += width;
  }
  return out;
}

/** 2021 capitals: i → İ and ı → I, which `toUpperCase` gets wrong. */
function kazakhLatinUpper(latin: string): string {
  let out = '';
  for (const ch of latin) {
    out += ch === 'i' ? 'İ' : ch === 'ı' ? 'I' : ch.toUpperCase();
  }
  return out;
}

/**
 * Letter-by-letter transliteration. A capital Cyrillic letter becomes a
 * capitalised Latin group («Ж» → «Zh»), or an all-capital one inside an
 * all-capital word («ЖАННА» → «ZHANNA»).
 */
function transliterate(text: string, table: Readonly<Record<string, string>>, upper: (latin: string) => string): string {
  const chars = [...text];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const lower = ch.toLowerCase();
    const mapped = table[lower];
    if (mapped === undefined) {
      out += ch;
      continue;
    }
    if (lower === ch || mapped.length === 0) {
      out += mapped;
      continue;
    }
    const neighbour = chars[i + 1] ?? chars[i - 1] ?? '';
    const wordInCapitals = /\p{Lu}/u.test(neighbour);
    out += wordInCapitals ? upper(mapped) : upper(mapped[0]) + mapped.slice(1);
  }
  return out;
}

/**
 * Every script's letters to the skeleton alphabet, before digraphs are unified.
 * Cyrillic letters go to what ICAO would write, with the Kazakh letters folded;
 * the Latin letters with diacritics of the 2021 alphabet, its 2017-2019 drafts
 * and Turkish-style informal spelling go to their bare letter.
 */
const SKELETON_LETTERS: Readonly<Record<string, string>> = {
  а: 'a', ә: 'a', б: 'b', в: 'v', г: 'g', ғ: 'g', д: 'd', е: 'e', ё: 'e', э: 'e', ж: 'j', з: 'z', и: 'i',
  й: 'i', і: 'i', ы: 'i', к: 'k', қ: 'k', л: 'l', м: 'm', н: 'n', ң: 'n', о: 'o', ө: 'o', п: 'p', р: 'r',
  с: 's', т: 't', у: 'u', ұ: 'u', ү: 'u', ф: 'f', х: 'h', һ: 'h', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'sh',
  ъ: '', ь: '', ю: 'iu', я: 'ia', ї: 'i', є: 'e', ґ: 'g',
  ä: 'a', á: 'a', ə: 'a', ğ: 'g', ǵ: 'g', ñ: 'n', ń: 'n', ŋ: 'n', ö: 'o', ó: 'o', ɵ: 'o', ū: 'u', ü: 'u',
  ú: 'u', ý: 'u', ş: 'sh', ç: 'ch', ı: 'i', ï: 'i', í: 'i', é: 'e', ë: 'e', è: 'e', â: 'a', à: 'a',
  q: 'k', x: 'ks', w: 'u', y: 'i', j: 'j',
};

const keyCache = new Map<string, string>();
const KEY_CACHE_LIMIT = 200_000;

/**
 * A comparable Latin skeleton of a name in any of the four scripts:
 * «Нұрлан», «Нурлан», «Nurlan», «Nūrlan» → `nurlan`.
 *
 * Rules, in order:
 * 1. Kazakh letters fold to the Russian/ICAO letter (Ә/А, Ғ/Г, Қ/К/Q, Ң/Н/Ñ,
 *    Ө/О, Ұ/Ү/У, Һ/Х/H, І/И/Ы/Y/I all one vowel `i`).
 * 2. Digraphs unify: ZH/J/Ж → `j`, KH/H/Х → `h`, SHCH/ŞŞ/Щ → `sh`, Ş/Ш → `sh`,
 *    Ç/Ч → `ch`; Ю, IU, YU → `iu`; Я, IA, YA → `ia`.
 * 3. A word-initial «ie/ye» is Е («Yerlan» = «Erlan»); «ie» after a vowel is «e»
 *    («Sergeyev» = «Sergeev»).
 * 4. Doubled letters collapse («Zhanna» = «Janna» = `jana`; «Iuliia» = `iulia`).
 * 5. Anything that is not a letter (spaces, hyphens, apostrophes) is dropped,
 *    so «Нұр Ислам» = «Нұрислам».
 */
export function matchKey(name: string): string {
  const cached = keyCache.get(name);
  if (cached !== undefined) {
    return cached;
  }
  let letters = '';
  const chars = [...name.replace(/İ/g, 'i').toLowerCase()];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const mapped = SKELETON_LETTERS[ch];
    if (ch === 'c') {
      // Latin «ch» is Ч; a lone «c» is how informal Latin writes Ц.
      letters += chars[i + 1] === 'h' ? 'c' : 'ts';
    } else if (mapped !== undefined) {
      letters += mapped;
    } else if (ch >= 'a' && ch <= 'z') {
      letters += ch;
    } else if (ch === ' ' || ch === '-') {
      letters += ' ';
    } else {
      const bare = ch.normalize('NFD').replace(/\p{M}/gu, '');
      if (bare >= 'a' && bare <= 'z' && bare.length === 1) {
        letters += bare;
      }
    }
  }
  const key = letters
    .replace(/shch/g, 'sh')
    .replace(/zh/g, 'j')
    .replace(/kh/g, 'h')
    .replace(/(^| )ie/g, '$1e')
    .replace(/([aeiou])ie/g, '$1e')
    .replace(/[^a-z]/g, '')
    .replace(/(.)\1+/g, '$1');
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    keyCache.clear();
  }
  keyCache.set(name, key);
  return key;
}

const SOUND_CLASS: Readonly<Record<string, string>> = {
  b: 'p', p: 'p', d: 't', t: 't', g: 'k', k: 'k', z: 's', s: 's', v: 'f', f: 'f', j: 'j', h: 'h',
  l: 'l', m: 'm', n: 'n', r: 'r',
};

/**
 * A coarse sound key for blocking: the first letter of the {@link matchKey},
 * then up to three consonant classes (voiced and voiceless pairs merged,
 * vowels dropped). Vowel typos and most script differences leave it alone,
 * so records that should meet in one block do.
 */
export function phoneticKey(name: string): string {
  const key = matchKey(name);
  if (key.length === 0) {
    return '';
  }
  let out = key[0];
  let last = SOUND_CLASS[key[0]] ?? '';
  for (let i = 1; i < key.length && out.length < 4; i++) {
    const cls = SOUND_CLASS[key[i]];
    if (cls === undefined) {
      // A vowel ends a run of one consonant class ("abba" keeps one p).
      if ('aeiou'.includes(key[i])) last = '';
      continue;
    }
    if (cls !== last) {
      out += cls;
    }
    last = cls;
  }
  return out;
}

export type PatronymicStyle = 'kazakh' | 'russian';

export interface Patronymic {
  /** {@link matchKey} of the father's name as the patronymic carries it: «Асқарұлы», «Аскарович» → `askar`. */
  root: string;
  sex: 'male' | 'female';
  style: PatronymicStyle;
}

/**
 * Patronymic endings on the skeleton: Kazakh «-ұлы/-улы/-uly/-ūly» (son),
 * «-қызы/-кызы/-qyzy/-kyzy» (daughter), written joined, hyphenated or as a
 * separate word; Russian «-ович/-евич» (son), «-овна/-евна», «-ична» (daughter).
 * Longer endings come first so «-евич» is not read as «-ич».
 */
const PATRONYMIC_ENDINGS: readonly (readonly [suffix: string, sex: 'male' | 'female', style: PatronymicStyle])[] = [
  ['uli', 'male', 'kazakh'],
  ['kizi', 'female', 'kazakh'],
  ['ovich', 'male', 'russian'],
  ['evich', 'male', 'russian'],
  ['ovna', 'female', 'russian'],
  ['evna', 'female', 'russian'],
  ['ichna', 'female', 'russian'],
];

/**
 * The father's-name root and the sex a patronymic tells, or null when the text
 * does not end like a patronymic. Lets «Нұрланұлы», «Nurlan uly» and
 * «Нурланович» compare as the same father's name.
 */
export function parsePatronymic(text: string): Patronymic | null {
  const key = matchKey(text);
  for (const [suffix, sex, style] of PATRONYMIC_ENDINGS) {
    if (key.length >= suffix.length + 2 && key.endsWith(suffix)) {
      return { root: key.slice(0, -suffix.length), sex, style };
    }
  }
  return null;
}
