import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  icao9303Latin,
  kazakhCyrillicFrom2021,
  kazakhLatin2021,
  matchKey,
  parsePatronymic,
  phoneticKey,
  withoutKazakhLetters,
} from '../../src/identity/transliteration.js';

describe('kazakhLatin2021', () => {
  it('writes the nine Kazakh letters with the 2021 alphabet', () => {
    const cases: [string, string][] = [
      ['Ә', 'Ä'], ['ә', 'ä'], ['Ғ', 'Ğ'], ['ғ', 'ğ'], ['Қ', 'Q'], ['қ', 'q'], ['Ң', 'Ñ'], ['ң', 'ñ'],
      ['Ө', 'Ö'], ['ө', 'ö'], ['Ұ', 'Ū'], ['ұ', 'ū'], ['Ү', 'Ü'], ['ү', 'ü'], ['Һ', 'H'], ['һ', 'h'],
      ['І', 'I'], ['і', 'ı'],
    ];
    for (const [cyrillic, latin] of cases) assert.equal(kazakhLatin2021(cyrillic), latin, cyrillic);
  });

  it('writes И and Й as İ/i, Ы as Y, Ш as Ş, Ж as J, Х as H, У as U', () => {
    assert.equal(kazakhLatin2021('Иса'), 'İsa');
    assert.equal(kazakhLatin2021('Қайрат'), 'Qairat');
    assert.equal(kazakhLatin2021('Ысқақ'), 'Ysqaq');
    assert.equal(kazakhLatin2021('Шәріп'), 'Şärıp');
    assert.equal(kazakhLatin2021('Жұлдыз'), 'Jūldyz');
    assert.equal(kazakhLatin2021('Хасен'), 'Hasen');
    assert.equal(kazakhLatin2021('Ұлу'), 'Ūlu');
  });

  it('spells the letters outside the alphabet by sound: Ц ts, Ч ch, Щ şş, Ю iu, Я ia, Ё io', () => {
    assert.equal(kazakhLatin2021('Цой'), 'Tsoi');
    assert.equal(kazakhLatin2021('Чапаев'), 'Chapaev');
    assert.equal(kazakhLatin2021('щ'), 'şş');
    assert.equal(kazakhLatin2021('Юлия'), 'İuliia');
    assert.equal(kazakhLatin2021('ёж'), 'ioj');
  });

  it('keeps an all-capital word in capitals, with İ for И and I for І', () => {
    assert.equal(kazakhLatin2021('ІЛИЯС'), 'ILİİAS');
    assert.equal(kazakhLatin2021('Нұрлан Әбенов'), 'Nūrlan Äbenov');
  });
});

describe('kazakhCyrillicFrom2021', () => {
  it('round-trips Kazakh names', () => {
    for (const name of ['Нұрлан Әбенов', 'Қайрат', 'Ілияс', 'Жұлдыз', 'Әйгерім', 'Іңкәр', 'Үміт', 'Ботагөз', 'Цой', 'Юлия']) {
      assert.equal(kazakhCyrillicFrom2021(kazakhLatin2021(name)), name);
    }
  });

  it('reads i after a vowel as Й and otherwise as И', () => {
    assert.equal(kazakhCyrillicFrom2021('Aidos'), 'Айдос');
    assert.equal(kazakhCyrillicFrom2021('Serik'), 'Серик');
    assert.equal(kazakhCyrillicFrom2021('Serık'), 'Серік');
  });
});

describe('icao9303Latin', () => {
  it('follows the Doc 9303 Part 3 table for the Russian letters', () => {
    const cases: [string, string][] = [
      ['Ж', 'Zh'], ['Х', 'Kh'], ['Ц', 'Ts'], ['Ч', 'Ch'], ['Ш', 'Sh'], ['Щ', 'Shch'], ['Ю', 'Iu'], ['Я', 'Ia'],
      ['Й', 'I'], ['Ы', 'Y'], ['Ъ', 'Ie'], ['Ё', 'E'], ['Е', 'E'], ['Э', 'E'], ['ь', ''],
    ];
    for (const [cyrillic, latin] of cases) assert.equal(icao9303Latin(cyrillic), latin, cyrillic);
    assert.equal(icao9303Latin('Юлия'), 'Iuliia');
    assert.equal(icao9303Latin('Щербаков'), 'Shcherbakov');
  });

  it('folds the Kazakh letters as Kazakhstan passports do', () => {
    assert.equal(icao9303Latin('ӘҒҚҢӨҰҮҺІ'), 'AGKNOUUHI');
    assert.equal(icao9303Latin('Нұрлан Әбенов'), 'Nurlan Abenov');
    assert.equal(icao9303Latin('Ғалым'), 'Galym');
  });

  it('writes an all-capital word all in capitals, as the MRZ does', () => {
    assert.equal(icao9303Latin('ЖАННА'), 'ZHANNA');
  });
});

describe('withoutKazakhLetters', () => {
  it('replaces each Kazakh letter by its Russian look-alike', () => {
    assert.equal(withoutKazakhLetters('әғқңөұүһі ӘҒҚҢӨҰҮҺІ'), 'агкноуухи АГКНОУУХИ');
    assert.equal(withoutKazakhLetters('Нұрлан Әбенов'), 'Нурлан Абенов');
  });
});

describe('matchKey', () => {
  const sameKey = (...spellings: string[]): void => {
    const keys = spellings.map(matchKey);
    assert.ok(keys.every((key) => key === keys[0]), `${spellings.join(' / ')} → ${keys.join(' / ')}`);
  };

  it('gives all four scripts of «Нұрлан Әбенов» one key', () => {
    sameKey('Нұрлан Әбенов', 'Нурлан Абенов', 'Nurlan Abenov', 'Nūrlan Äbenov', 'NURLAN ABENOV');
    assert.equal(matchKey('Нұрлан'), 'nurlan');
  });

  it('folds each Kazakh letter to its Russian one', () => {
    for (const [kazakh, russian] of [['ә', 'а'], ['ғ', 'г'], ['қ', 'к'], ['ң', 'н'], ['ө', 'о'], ['ұ', 'у'], ['ү', 'у'], ['һ', 'х'], ['і', 'и']]) {
      assert.equal(matchKey(`б${kazakh}т`), matchKey(`б${russian}т`), kazakh);
    }
  });

  it('unifies Zh/J/Ж, Kh/H/Х, Sh/Ş/Ш, Ch/Ç/Ч', () => {
    sameKey('Жанна', 'Zhanna', 'Janna');
    sameKey('Хасен', 'Khasen', 'Hasen');
    sameKey('Шәріп', 'Sharip', 'Şärıp');
    sameKey('Чапаев', 'Chapaev', 'Çapaev');
  });

  it('unifies Iu/Yu/Ю and Ia/Ya/Я, and Y with I', () => {
    sameKey('Юлия', 'Iuliia', 'Yulia', 'Yuliya', 'Iulia');
    sameKey('Аяулым', 'Aiaulym', 'Ayaulym');
    sameKey('Дмитрий', 'Dmitrii', 'Dmitriy', 'Dmitry');
  });

  it('unifies Ғ/G/Ğ, Қ/K/Q, Ң/N/Ñ and Ы/Y/I', () => {
    sameKey('Ғалым', 'Galym', 'Ğalym');
    sameKey('Ысқақов', 'Искаков', 'Ysqaqov', 'Iskakov');
    sameKey('Іңкәр', 'Inkar', 'Iñkär');
  });

  it('reads a word-initial Ye as Е and drops the y in -yev', () => {
    sameKey('Ерлан', 'Erlan', 'Yerlan');
    sameKey('Сергеевич', 'Sergeevich', 'Sergeyevich');
  });

  it('collapses doubled letters and ignores spaces, hyphens and case', () => {
    sameKey('Жанна', 'Жана');
    sameKey('Нұр Ислам', 'Нұрислам', 'Nur-Islam');
    sameKey('Alexandr', 'Aleksandr', 'Александр');
  });

  it('still tells different names apart', () => {
    assert.notEqual(matchKey('Ерлан'), matchKey('Ержан'));
    assert.notEqual(matchKey('Айгүл'), matchKey('Айжан'));
  });
});

describe('phoneticKey', () => {
  it('survives script and vowel differences', () => {
    assert.equal(phoneticKey('Жұмабаев'), phoneticKey('Zhumabaev'));
    assert.equal(phoneticKey('Сүлейменов'), phoneticKey('Sulaimenov'));
    assert.equal(phoneticKey('Нұрланов'), 'nrln');
  });

  it('merges voiced and voiceless pairs', () => {
    assert.equal(phoneticKey('Сатпаев'), phoneticKey('Сәтбаев'));
  });
});

describe('parsePatronymic', () => {
  it('reads the Kazakh son and daughter endings in every script and spacing', () => {
    for (const text of ['Нұрланұлы', 'Нурланулы', 'Nurlanuly', 'Nūrlanūly', 'Нұрлан ұлы', 'Nurlan-uly']) {
      assert.deepEqual(parsePatronymic(text), { root: 'nurlan', sex: 'male', style: 'kazakh' }, text);
    }
    for (const text of ['Асқарқызы', 'Аскаркызы', 'Askarqyzy', 'Askarkyzy', 'Askar kyzy']) {
      assert.deepEqual(parsePatronymic(text), { root: 'askar', sex: 'female', style: 'kazakh' }, text);
    }
  });

  it('reads the Russian endings', () => {
    assert.deepEqual(parsePatronymic('Нурланович'), { root: 'nurlan', sex: 'male', style: 'russian' });
    assert.deepEqual(parsePatronymic('Nurlanovich'), { root: 'nurlan', sex: 'male', style: 'russian' });
    assert.deepEqual(parsePatronymic('Димашевич'), { root: 'dimash', sex: 'male', style: 'russian' });
    assert.deepEqual(parsePatronymic('Аскаровна'), { root: 'askar', sex: 'female', style: 'russian' });
    assert.deepEqual(parsePatronymic('Сергеевна'), { root: 'serg', sex: 'female', style: 'russian' });
    assert.equal(parsePatronymic('Ильинична')?.sex, 'female');
  });

  it('gives the Kazakh and Russian patronymics of one father the same root', () => {
    assert.equal(parsePatronymic('Асқарұлы')?.root, parsePatronymic('Аскарович')?.root);
    assert.equal(parsePatronymic('Бауыржанқызы')?.root, parsePatronymic('Bauyrzhanovna')?.root);
  });

  it('is null for a plain name', () => {
    assert.equal(parsePatronymic('Нұрлан'), null);
    assert.equal(parsePatronymic('Иванов'), null);
    assert.equal(parsePatronymic('Улы'), null);
  });
});
