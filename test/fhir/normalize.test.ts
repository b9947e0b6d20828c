import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeString } from '../../src/fhir/normalize.js';

describe('string search normalization', () => {
  test('is case-insensitive for Kazakh Cyrillic letters', () => {
    assert.equal(normalizeString('ӘҒҚҢӨҰҮҺІ'), normalizeString('әғқңөұүһі'));
  });

  test('folds Kazakh letters onto the Russian ones they are often typed as', () => {
    assert.equal(normalizeString('Әбенов'), normalizeString('Абенов'));
    assert.equal(normalizeString('Нұрлан'), normalizeString('Нурлан'));
    assert.equal(normalizeString('Қанат'), 'канат');
    assert.equal(normalizeString('Ғалым'), 'галим');
    assert.ok(normalizeString('Ғалым').startsWith(normalizeString('ғали')));
    assert.ok(normalizeString('Ғалым').startsWith(normalizeString('ГАЛИ')));
  });

  test('treats ё as е and drops Latin accents, including Kazakh Latin (2021) letters', () => {
    assert.equal(normalizeString('Ёлкин'), normalizeString('елкин'));
    assert.equal(normalizeString('Nūrlan Äbenov'), 'nurlan abenov');
    assert.equal(normalizeString('Ǵalym Qaıyrbek'), 'galym qaiyrbek');
  });

  test('keeps letters that differ in meaning apart', () => {
    assert.notEqual(normalizeString('Салем'), normalizeString('Селим'));
    assert.notEqual(normalizeString('kazan'), normalizeString('kazak'));
  });
});
