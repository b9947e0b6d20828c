import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encodeAck } from '../../src/hl7v2/ack.js';
import { ERROR_CODES } from '../../src/hl7v2/hl7-error.js';
import { component, field, header, part, repetition, segment, segments } from '../../src/hl7v2/message.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import { hl7Error } from './hl7-error.js';

const fixture = (name: string) => readFileSync(new URL(`../lab/fixtures/${name}`, import.meta.url));

describe('HL7 v2 parsing', () => {
  it('reads segments, fields, repetitions, components and subcomponents by HL7 numbering', () => {
    const message = parseMessage(fixture('oru-chemistry.hl7'));
    assert.deepEqual(message.segments.map((s) => s.name), ['MSH', 'PID', 'PV1', 'ORC', 'OBR', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'SPM']);
    assert.deepEqual(header(message), {
      sendingApplication: 'LIS',
      sendingFacility: 'KDL_ALMATY',
      receivingApplication: 'DENSAULYQ',
      receivingFacility: 'MOH_KZ',
      messageCode: 'ORU',
      triggerEvent: 'R01',
      controlId: 'KDL000101',
      processingId: 'P',
      version: '2.5.1',
    });
    const pid = segment(message, 'PID');
    assert.equal(field(pid, 3).length, 2, 'PID-3 repeats: IIN and passport');
    assert.equal(component(pid, 3, 1), '900101401238');
    assert.equal(component(pid, 3, 4, 1), 'KZ');
    assert.equal(component(pid, 3, 4, 2), '1.2.398.7.1.1', 'PID-3.4 is an HD whose subcomponents carry the OID');
    assert.equal(component(pid, 3, 5, 1, 2), 'PPN', 'the second repetition');
    assert.equal(part(repetition(pid, 5), 2), 'Айгүл', 'Kazakh letters survive UTF-8');
    const obx = segments(message, 'OBX');
    assert.equal(obx.length, 5);
    assert.equal(component(obx[2], 8, 1, 1, 2), 'LL', 'OBX-8 repeats');
    assert.equal(component(obx[0], 6, 1), 'mmol/L');
    assert.equal(component(obx[0], 99), '', 'a field beyond the segment is empty, not an error');
    assert.equal(component(segment(message, 'OBR'), 15, 1, 2), 'Blood');
  });

  it('keeps MSH-1 and MSH-2 as written and honours the delimiters a message declares', () => {
    const text = 'MSH#$*!@#LIS#LAB#####ORU$R01#7#P#2.5.1\rOBX#1#ST#X$Y@Z##a!b*c$d@e!F!x!F!';
    const message = parseMessage(text);
    const [msh, obx] = message.segments;
    assert.equal(component(msh, 1), '#');
    assert.equal(component(msh, 2), '$*!@');
    assert.equal(header(message).triggerEvent, 'R01');
    assert.equal(field(obx, 5).length, 2, '* repeats');
    assert.equal(component(obx, 5, 1, 1, 2), 'c');
    assert.equal(component(obx, 5, 2, 2, 2), 'e#x#', 'escapes use the declared escape character, \\F\\ gives the declared field separator');
    assert.equal(component(obx, 3, 2, 2), 'Z');
  });

  it('takes CRLF and LF segment ends and skips empty lines', () => {
    const text = readFileSync(new URL('../lab/fixtures/oru-cbc.hl7', import.meta.url), 'utf8');
    for (const ending of ['\r\n', '\n', '\r\r\n']) {
      const message = parseMessage(Buffer.from(text.replaceAll('\r', ending)));
      assert.equal(segments(message, 'OBX').length, 7, JSON.stringify(ending));
      assert.equal(component(segments(message, 'OBX')[6], 5), 'Анизоцитоз: умеренный');
    }
  });

  it('unescapes delimiters, hexadecimal data, line breaks; ignores formatting it cannot carry', () => {
    const message = parseMessage(fixture('oru-notes.hl7'));
    const [first, , unclosed] = segments(message, 'NTE');
    assert.equal(component(first, 3), 'Sample slightly haemolysed\nRepeat advised if K ^ 5.5');
    assert.equal(component(segment(message, 'OBX'), 5), 'Line one\nLine two: A|B&C~D\\end OK bold');
    assert.equal(component(unclosed, 3), 'Unclosed \\escape kept');
  });

  it('decodes the character set MSH-18 declares: 8859/5 and Windows-1251, \\X..\\ in that set too', () => {
    for (const [name, encoding] of [['oru-8859-5.hl7', 'iso-8859-5'], ['oru-windows-1251.hl7', 'windows-1251']]) {
      const message = parseMessage(fixture(name!));
      assert.equal(message.encoding, encoding);
      assert.equal(component(segment(message, 'PID'), 5, 2), 'Пётр');
      const [color, appearance] = segments(message, 'OBX');
      assert.equal(component(color, 5), 'Соломенно-жёлтый');
      assert.equal(component(appearance, 5), 'Прозрачная А', `${name}: the hex byte is a Cyrillic A in its own set`);
      assert.equal(component(segment(message, 'NTE'), 3), 'Белок не обнаружен');
    }
  });

  it('refuses bytes that are not what MSH-18 declares, and character sets it does not know', () => {
    const wrong = hl7Error(() => parseMessage(fixture('oru-wrong-encoding.hl7')));
    assert.equal(wrong.acknowledgment, 'AE');
    assert.equal(wrong.detail.condition, ERROR_CODES.dataType);
    assert.deepEqual(wrong.detail.location, { segment: 'MSH', sequence: 1, field: 18 });
    const unknown = hl7Error(() => parseMessage(Buffer.from('MSH|^~\\&|LIS|LAB|||||ORU^R01|1|P|2.5.1||||||KOI8-R\rPID|1')));
    assert.equal(unknown.acknowledgment, 'AR');
    assert.equal(unknown.detail.condition.code, '103');
  });

  it('reads a UTF-8 message without MSH-18 (ASCII declared) and strips a byte-order mark', () => {
    const message = parseMessage(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('MSH|^~\\&|LIS|LAB|||||ORU^R01|1|P|2.5.1\rNTE|1||Қазақ')]));
    assert.equal(component(segment(message, 'NTE'), 3), 'Қазақ');
  });

  it('says which segment is bad, and refuses what is no HL7 message', () => {
    const bad = hl7Error(() => parseMessage(fixture('oru-bad-segment.hl7')));
    assert.equal(bad.acknowledgment, 'AE');
    assert.equal(bad.detail.condition.code, '100');
    assert.equal(bad.detail.location?.sequence, 1);
    assert.match(bad.message, /Segment 4/);
    for (const text of ['', 'hello', 'PID|1||x', 'MSH|^~', 'MSH|^^\\&|A', 'MSHa^~\\&|x']) {
      const error = hl7Error(() => parseMessage(Buffer.from(text)));
      assert.equal(error.acknowledgment, 'AR', JSON.stringify(text));
    }
    assert.equal(hl7Error(() => parseMessage('MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B')).detail.location?.sequence, 2, 'a second MSH');
  });
});

describe('HL7 v2 acknowledgments', () => {
  it('answers with sender and receiver swapped, the trigger in MSH-9 and the original control id in MSA', () => {
    const original = parseMessage(fixture('oru-chemistry.hl7'));
    const ack = parseMessage(encodeAck({ code: 'AA', original, controlId: 'DQ1', now: new Date('2026-12-06T04:30:00Z') }));
    const msh = ack.segments[0];
    assert.deepEqual(
      [3, 4, 5, 6, 7, 9, 10, 11, 12, 18].map((n) => field(msh, n).map((r) => r.map((c) => c.join('&')).join('^')).join('~')),
      ['DENSAULYQ', 'MOH_KZ', 'LIS', 'KDL_ALMATY', '20261206043000+0000', 'ACK^R01^ACK', 'DQ1', 'P', '2.5.1', 'UNICODE UTF-8'],
    );
    assert.deepEqual(ack.segments.map((s) => s.name), ['MSH', 'MSA']);
    assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
    assert.equal(component(segment(ack, 'MSA'), 2), 'KDL000101');
  });

  it('writes ERR with its location, table 0357 code and severity, escaping what it quotes', () => {
    const original = parseMessage(fixture('oru-cbc.hl7'));
    const bytes = encodeAck({
      code: 'AE',
      original,
      errors: [
        { condition: ERROR_CODES.requiredFieldMissing, severity: 'E', location: { segment: 'OBX', sequence: 3, field: 5 }, diagnostic: 'OBX-5 empty | no value^given' },
        { condition: ERROR_CODES.unknownKey, severity: 'I', diagnostic: 'kept for review' },
      ],
    });
    assert.ok(bytes.toString('latin1').startsWith('MSH|^~\\&|DENSAULYQ|'));
    const errors = segments(parseMessage(bytes), 'ERR');
    assert.equal(errors.length, 2);
    assert.deepEqual(repetition(errors[0], 2), [['OBX'], ['3'], ['5'], ['1']], 'ERL: segment, sequence, field, repetition');
    assert.deepEqual(repetition(errors[0], 3), [['101'], ['Required field missing'], ['HL70357']]);
    assert.equal(component(errors[0], 4), 'E');
    assert.equal(component(errors[0], 7), 'OBX-5 empty | no value^given');
    assert.deepEqual(field(errors[1], 2), []);
    assert.equal(component(errors[1], 4), 'I');
  });

  it('answers in the original character set, and in UTF-8 with empty MSA-2 when there was no readable MSH', () => {
    const original = parseMessage(fixture('oru-windows-1251.hl7'));
    const bytes = encodeAck({ code: 'AE', original, errors: [{ condition: ERROR_CODES.dataType, severity: 'E', diagnostic: 'Ошибка в OBX' }] });
    const ack = parseMessage(bytes);
    assert.equal(ack.encoding, 'windows-1251');
    assert.equal(component(segment(ack, 'ERR'), 7), 'Ошибка в OBX');
    const blind = parseMessage(encodeAck({ code: 'AR', errors: [hl7Error(() => parseMessage(Buffer.from('garbage'))).detail] }));
    assert.equal(header(blind).triggerEvent, '');
    assert.equal(component(segment(blind, 'MSA'), 2), '');
    assert.equal(component(segment(blind, 'ERR'), 3), '100');
  });
});
