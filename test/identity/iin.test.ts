import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildIin, iinCheckDigit, IIN_SYSTEM, parseIin, validateIin } from '../../src/identity/iin.js';

describe('iinCheckDigit', () => {
  it('uses weights 1..11 when that pass is not 10', () => {
    // 9*1 + 5*4 + 1*5 + 5*6 + 3*7 + 1*11 = 96; 96 mod 11 = 8
    assert.equal(iinCheckDigit('90051530001'), 8);
  });

  it('falls back to weights 3..11,1,2 when the first pass gives 10', () => {
    // first pass: 175 mod 11 = 10; second pass: 140 mod 11 = 8
    assert.equal(iinCheckDigit('90051530090'), 8);
  });

  it('has no digit when both passes give 10', () => {
    // first pass: 186 mod 11 = 10; second pass: 142 mod 11 = 10
    assert.equal(iinCheckDigit('90051530091'), null);
  });

  it('refuses anything but 11 digits', () => {
    assert.throws(() => iinCheckDigit('9005153000'), RangeError);
    assert.throws(() => iinCheckDigit('9005153000a'), RangeError);
  });
});

describe('validateIin', () => {
  it('accepts a well-formed IIN and reads birth date and sex from it', () => {
    assert.deepEqual(validateIin('900515300018'), { valid: true, birthDate: '1990-05-15', sex: 'male' });
    assert.deepEqual(validateIin('900515300908'), { valid: true, birthDate: '1990-05-15', sex: 'male' });
  });

  it('rejects wrong length and non-digits', () => {
    for (const bad of ['', '90051530001', '9005153000188', '90051530001x', ' 900515300018']) {
      const result = validateIin(bad);
      assert.equal(result.valid, false, bad);
      assert.match((result as { reason: string }).reason, /12 digits/);
    }
  });

  it('rejects an impossible birth date', () => {
    const first11 = '90023130001'; // 31 February
    const iin = first11 + iinCheckDigit(first11);
    const result = validateIin(iin);
    assert.equal(result.valid, false);
    assert.match((result as { reason: string }).reason, /calendar date/);
  });

  it('rejects 29 February outside leap years but not in them', () => {
    const leap = buildIin({ birthDate: '2000-02-29', sex: 'female', serial: 17 });
    assert.ok(leap);
    assert.equal(validateIin(leap).valid, true);
    const notLeap = '01022950017';
    const result = validateIin(notLeap + iinCheckDigit(notLeap));
    assert.equal(result.valid, false);
  });

  it('rejects century/sex digits 0, 7, 8 and 9', () => {
    for (const digit of ['0', '7', '8', '9']) {
      const first11 = `900515${digit}0001`;
      const check = iinCheckDigit(first11) ?? 0;
      const result = validateIin(first11 + check);
      assert.equal(result.valid, false);
      assert.match((result as { reason: string }).reason, /century/);
    }
  });

  it('rejects a wrong check digit', () => {
    const result = validateIin('900515300017');
    assert.equal(result.valid, false);
    assert.match((result as { reason: string }).reason, /check digit should be 8/);
  });

  it('rejects 11 digits whose check digit cannot exist, whatever the 12th', () => {
    for (let d = 0; d <= 9; d++) {
      const result = validateIin(`90051530091${d}`);
      assert.equal(result.valid, false);
      assert.match((result as { reason: string }).reason, /no check digit/);
    }
  });
});

describe('century and sex digit', () => {
  const cases = [
    { birthDate: '1899-12-31', sex: 'male', digit: '1' },
    { birthDate: '1850-01-01', sex: 'female', digit: '2' },
    { birthDate: '1900-01-01', sex: 'male', digit: '3' },
    { birthDate: '1999-07-04', sex: 'female', digit: '4' },
    { birthDate: '2000-01-01', sex: 'male', digit: '5' },
    { birthDate: '2024-02-29', sex: 'female', digit: '6' },
  ] as const;
  for (const { birthDate, sex, digit } of cases) {
    it(`${sex} born ${birthDate} gets digit ${digit}`, () => {
      const iin = firstIssuable(birthDate, sex);
      assert.equal(iin[6], digit);
      assert.equal(iin.slice(0, 6), birthDate.slice(2, 4) + birthDate.slice(5, 7) + birthDate.slice(8, 10));
      assert.deepEqual(parseIin(iin), { birthDate, sex });
    });
  }

  it('cannot encode births outside 1800-2099', () => {
    assert.throws(() => buildIin({ birthDate: '1799-12-31', sex: 'male', serial: 1 }), RangeError);
    assert.throws(() => buildIin({ birthDate: '2100-01-01', sex: 'male', serial: 1 }), RangeError);
  });
});

describe('buildIin', () => {
  it('returns null for a serial whose check digit cannot exist', () => {
    assert.equal(buildIin({ birthDate: '1990-05-15', sex: 'male', serial: 91 }), null);
  });

  it('refuses serials outside 0..9999 and malformed dates', () => {
    assert.throws(() => buildIin({ birthDate: '1990-05-15', sex: 'male', serial: 10000 }), RangeError);
    assert.throws(() => buildIin({ birthDate: '1990-5-15', sex: 'male', serial: 1 }), RangeError);
    assert.throws(() => buildIin({ birthDate: '1990-04-31', sex: 'male', serial: 1 }), RangeError);
  });

  it('round-trips through parseIin for every day from 1890 to 2030, both sexes', () => {
    let built = 0;
    let impossible = 0;
    for (let t = Date.UTC(1890, 0, 1); t <= Date.UTC(2030, 11, 31); t += 86_400_000) {
      const birthDate = new Date(t).toISOString().slice(0, 10);
      for (const sex of ['male', 'female'] as const) {
        const day = t / 86_400_000 - Date.UTC(1890, 0, 1) / 86_400_000;
        const serial = (day * 7 + (sex === 'male' ? 0 : 5000)) % 10000;
        const iin = buildIin({ birthDate, sex, serial });
        if (iin === null) {
          impossible++;
          continue;
        }
        built++;
        assert.deepEqual(parseIin(iin), { birthDate, sex }, iin);
      }
    }
    // About 1 in 11 first passes gives 10, and 1 in 11 of those again: ~0.8% impossible.
    assert.ok(impossible > 0 && impossible < built * 0.02, `${impossible} impossible of ${built}`);
  });
});

it('names the IIN identifier system', () => {
  assert.equal(IIN_SYSTEM, 'http://densaulyq.kz/fhir/sid/iin');
});

function firstIssuable(birthDate: string, sex: 'male' | 'female'): string {
  for (let serial = 0; serial <= 9999; serial++) {
    const iin = buildIin({ birthDate, sex, serial });
    if (iin) {
      return iin;
    }
  }
  throw new Error(`no serial issuable for ${birthDate}`);
}
