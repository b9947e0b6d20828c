import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readInstanceHead } from '../../src/imaging/dicom-json.js';
import { dicomInstance } from '../../src/synth/dicom-instances.js';

/**
 * Metadata text in the character sets PACS send, decoded as dcmtk's dcm2json decodes it: the
 * reference. Files are written in UTF-8 (ISO_IR 192) and converted by dcmconv to ISO_IR 144
 * (Cyrillic, ISO 8859-5), with text inside sequence items too.
 */

const ATTRIBUTES = {
  PatientName: 'Смирнова^Ольга^Петровна',
  StudyDescription: 'КТ органов грудной клетки',
  ReferringPhysicianName: 'Ёлкин^Юрий',
  InstitutionName: 'Городская больница №1',
  RequestAttributesSequence: [{ ScheduledProcedureStepDescription: 'МРТ головного мозга', RequestedProcedureID: 'RP-1' }],
  ContentSequence: [{ RelationshipType: 'CONTAINS', ValueType: 'PNAME', PersonName: 'Иванов^Пётр' }],
};

/** The tags compared, as paths: top-level tags and tags inside the first item of a sequence. */
const PATHS = [['00100010'], ['00081030'], ['00080090'], ['00080080'], ['00400275', '00400007'], ['0040A730', '0040A123']] as const;

function valueAt(json: any, path: readonly string[]): unknown {
  let element = json[path[0]!];
  for (const tag of path.slice(1)) element = element?.Value?.[0]?.[tag];
  return element?.Value?.[0];
}

function dcm2json(file: string): any {
  return JSON.parse(execFileSync('dcm2json', [file], { encoding: 'utf8' }));
}

describe('metadata character sets against dcm2json', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-charsets-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const charset of ['ISO_IR 192', 'ISO_IR 144']) {
    test(`${charset}: every text value, in sequence items too, as dcm2json reads it`, async () => {
      const utf8 = join(dir, 'utf8.dcm');
      await writeFile(utf8, dicomInstance({ attributes: ATTRIBUTES }));
      const file = join(dir, `${charset.replace(' ', '_')}.dcm`);
      execFileSync('dcmconv', ['+C', charset, utf8, file]);
      const bytes = await readFile(file);
      if (charset === 'ISO_IR 144') assert.ok(bytes.includes(Buffer.from([0xc1, 0xdc, 0xd8, 0xe0, 0xdd, 0xde, 0xd2, 0xd0])), 'the file holds ISO 8859-5 bytes (Смирнова)');
      const ours = readInstanceHead(bytes, true).metadata;
      const reference = dcm2json(file);
      for (const path of PATHS) {
        assert.deepEqual(valueAt(ours, path), valueAt(reference, path), path.join('/'));
        assert.ok(valueAt(ours, path) !== undefined, `${path.join('/')} is present`);
      }
      assert.equal((valueAt(ours, ['00100010']) as { Alphabetic: string }).Alphabetic, ATTRIBUTES.PatientName);
    });
  }
});
