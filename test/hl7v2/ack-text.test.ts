import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCALES } from '../../src/fhir/locale.js';
import { ackLanguage, ackText } from '../../src/hl7v2/ack-text.js';
import { ERROR_CODES } from '../../src/hl7v2/hl7-error.js';
import { parseMessage } from '../../src/hl7v2/parse.js';

describe('ACK user messages (ERR-8)', () => {
  it('has every error condition in Kazakh, Russian and English', () => {
    for (const key of Object.values(ERROR_CODES).map((c) => c.code)) {
      const texts = LOCALES.map((locale) => ackText(key, locale));
      assert.ok(texts.every((t) => t !== undefined && t.length > 10), key);
      assert.equal(new Set(texts).size, 3, `${key}: three different texts`);
    }
    assert.equal(ackText('constructor', 'kk'), undefined);
  });

  it('answers in the language MSH-19 names, else Kazakh, else what the character set can write', () => {
    const message = (msh19: string, charset = 'UNICODE UTF-8') => parseMessage(`MSH|^~\\&|LIS|LAB|||||ORU^R01|1|P|2.5.1||||||${charset}|${msh19}`);
    assert.equal(ackLanguage(message('')), 'kk');
    assert.equal(ackLanguage(message('ru')), 'ru');
    assert.equal(ackLanguage(message('eng^English^ISO6392')), 'en');
    assert.equal(ackLanguage(message('kaz')), 'kk');
    assert.equal(ackLanguage(parseMessage(Buffer.from('MSH|^~\\&|LIS|LAB|||||ORU^R01|1|P|2.5.1||||||8859/5|kk'))), 'ru', 'no Kazakh letters in 8859/5');
    assert.equal(ackLanguage(parseMessage(Buffer.from('MSH|^~\\&|LIS|LAB|||||ORU^R01|1|P|2.5.1||||||8859/1'))), 'en');
    assert.equal(ackLanguage(undefined), 'kk');
  });
});
