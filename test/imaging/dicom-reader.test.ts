import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as zlib, deflateRawSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { InstanceTemplate } from '../../bench/dicom-data.js';
import { type DicomJson, PIXEL_DATA, TruncatedHead, bulkValue, readInstanceHead } from '../../src/imaging/dicom-json.js';
import { dicomInstance } from '../../src/synth/dicom-instances.js';
import { dcmjsBulkValue, dcmjsMetadata } from '../support/dcmjs-reference.js';

/**
 * The Part 10 reader against the two readers it answers to: dcmjs as the platform used it before
 * (test/support/dcmjs-reference.ts is that code), and dcmtk's dcm2json. Where dcmjs was wrong the reader
 * follows dcm2json; `corrected` lists those cases and the departures test pins them.
 */

// ---- The corrections made to the dcmjs path (the reference is test/support/dcmjs-reference.ts). ----

/**
 * dcmjs's answer with the cases it got wrong put right, each as dcm2json reads it:
 * AT values are tags as "GGGGEEEE" strings (F.2.3), not numbers; ST and UT hold one value
 * (backslash is text there, PS3.5 6.2), not split on it; each of several values is trimmed,
 * not only the first's leading and the last's trailing spaces; DA DT TM AS UR lose trailing
 * spaces; UR is one value.
 */
function corrected(json: DicomJson): DicomJson {
  const out: DicomJson = {};
  for (const [key, element] of Object.entries(json)) {
    const values = element.Value;
    if (!values) out[key] = element;
    else if (element.vr === 'SQ') out[key] = { ...element, Value: values.map((item) => corrected(item as DicomJson)) };
    else if (element.vr === 'AT') out[key] = { ...element, Value: values.map((v) => (v as number).toString(16).toUpperCase().padStart(8, '0')) };
    else if (['ST', 'UT', 'UR'].includes(element.vr)) out[key] = { ...element, Value: [values.map((v) => v ?? '').join('\\').trimEnd()] };
    else if (['LO', 'SH', 'AE'].includes(element.vr)) out[key] = { ...element, Value: values.map((v) => (typeof v === 'string' ? v.trim() || null : v)) };
    else if (['UC', 'DA', 'DT', 'TM', 'AS'].includes(element.vr)) out[key] = { ...element, Value: values.map((v) => (typeof v === 'string' ? v.trimEnd() || null : v)) };
    else out[key] = element;
  }
  return out;
}

// ---- dcm2json, the other reference. ----

function dcm2json(file: string): DicomJson {
  return JSON.parse(execFileSync('dcm2json', ['-fc', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 }));
}

/** Ours agrees with dcm2json on every element and value; bulk data only by its size. */
function assertAgreesWithDcm2json(ours: DicomJson, theirs: DicomJson, where = ''): void {
  const keys = (json: DicomJson) => Object.keys(json).filter((k) => k !== PIXEL_DATA && !k.startsWith('0002') && k !== 'FFFCFFFC').sort();
  assert.deepEqual(keys(ours), keys(theirs), `${where} tags`);
  for (const key of keys(theirs)) {
    const [a, b] = [ours[key]!, theirs[key]!];
    const at = `${where}${key}`;
    assert.equal(a.vr, b.vr, `${at} VR`);
    if (a.vr === 'SQ') {
      assert.equal(a.Value?.length ?? 0, b.Value?.length ?? 0, `${at} items`);
      (a.Value ?? []).forEach((item, i) => assertAgreesWithDcm2json(item as DicomJson, b.Value![i] as DicomJson, `${at}/${i}/`));
    } else if (a.BulkDataURI) {
      assert.ok(Buffer.from(b.InlineBinary ?? '', 'base64').length > 1024, `${at} bulk`);
    } else {
      assert.deepEqual(a.InlineBinary, b.InlineBinary, `${at} InlineBinary`);
      assert.deepEqual(a.Value, b.Value, `${at} Value`);
    }
  }
}

// ---- The corpus. ----

/** A Part 10 file of `dataset` bytes in `syntax`, its meta information written by hand (so it can be wrong on purpose). */
function part10(syntax: string, dataset: Buffer, groupLength = true): Buffer {
  const uid = (s: string) => Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');
  const meta = Buffer.concat([
    explicit(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    explicit(0x0002, 0x0002, 'UI', uid('1.2.840.10008.5.1.4.1.1.7')),
    explicit(0x0002, 0x0003, 'UI', uid('2.25.42')),
    explicit(0x0002, 0x0010, 'UI', uid(syntax)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(groupLength ? meta.length : 7);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), explicit(0x0002, 0x0000, 'UL', length), meta, dataset]);
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const UNDEFINED = 0xffffffff;

/** An explicit VR little endian element; `length` UNDEFINED for undefined length. */
function explicit(group: number, element: number, vr: string, value: Buffer, length = value.length): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(length, 8);
  else header.writeUInt16LE(length, 6);
  return Buffer.concat([header, value]);
}

/** An implicit VR element, or item/delimiter (group FFFE). */
function implicit(group: number, element: number, value: Buffer, length = value.length): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(length, 4);
  return Buffer.concat([header, value]);
}

const item = (content: Buffer) => Buffer.concat([implicit(0xfffe, 0xe000, content, UNDEFINED), implicit(0xfffe, 0xe00d, Buffer.alloc(0))]);
const sequenceEnd = implicit(0xfffe, 0xe0dd, Buffer.alloc(0));
const text = (s: string) => Buffer.from(s.length % 2 ? `${s} ` : s, 'latin1');

/** Attributes of many VRs, sequences nested three deep, in UTF-8. */
const RICH_ATTRIBUTES = {
  PatientName: 'Doe^Jane^Q^Dr^PhD',
  OtherPatientNames: ['Roe^Richard', 'Poe^Edgar'],
  PatientAge: '042Y',
  PatientWeight: 72.5,
  StudyDescription: 'Chest CT with contrast',
  ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
  PixelSpacing: [0.625, 0.625],
  ImagePositionPatient: [-160.5, -170.25, 1203.5],
  ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
  SliceThickness: 1.25,
  KVP: 120,
  AcquisitionMatrix: [0, 512, 512, 0],
  EchoNumbers: [1, 2],
  ImageComments: 'a comment with a backslash-free text',
  AcquisitionDateTime: '20261201101500.123456',
  SoftwareVersions: ['v1.2', 'build 7'],
  ReferencedImageSequence: [
    { ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: '2.25.111' },
    { ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: '2.25.222' },
  ],
  ProcedureCodeSequence: [{ CodeValue: 'CTCHEST', CodingSchemeDesignator: 'L', CodeMeaning: 'КТ грудной клетки' }],
  RequestAttributesSequence: [
    {
      RequestedProcedureID: 'RP-1',
      ScheduledProcedureStepDescription: 'Плановое исследование',
      ScheduledProtocolCodeSequence: [{ CodeValue: 'P1', CodingSchemeDesignator: '99LOCAL', CodeMeaning: 'Протокол', ProtocolContextSequence: [{ ValueType: 'TEXT', TextValue: 'глубоко' }] }],
    },
  ],
  ContentSequence: [{ RelationshipType: 'CONTAINS', ValueType: 'PNAME', PersonName: 'Иванов^Пётр' }],
};

/** A dump2dcm text dump: undefined-length sequences and items, private tags, multi-valued numbers, a long OB (bulk), PN of three groups. */
const SEQUENCE_DUMP = `
(0008,0005) CS [ISO_IR 100]
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [2.25.77]
(0008,0060) CS [OT]
(0008,1032) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0008,0100) SH [T-D1100]
    (0008,0102) SH [SRT]
    (0008,0104) LO [Thorax, Müller]
  (fffe,e00d) na (ItemDelimitationItem)
  (fffe,e000) na (Item with undefined length)
    (0008,0100) SH [X2]
    (0040,a730) SQ (Sequence with undefined length)
      (fffe,e000) na (Item with undefined length)
        (0040,a010) CS [HAS PROPERTIES]
        (0040,a123) PN [Æsir^Ödin=Ideo^Gram=Pho^Net]
        (0040,a30a) DS [1.5\\-2\\3e2\\.25]
      (fffe,e00d) na (ItemDelimitationItem)
    (fffe,e0dd) na (SequenceDelimitationItem)
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0010,0010) PN [Ünal^Aysel=Hiro^Yamada=Hiro^Yamada]
(0010,0020) LO [P-0001]
(0018,1310) US 0\\256\\256\\0
(0018,9306) FD 1.25\\-2.5
(0018,9307) FD 0.5
(0018,9327) FD 12.75
(0020,0013) IS [7\\8\\-9]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 4
(0028,0011) US 4
(0028,0100) US 8
(0028,0101) US 8
(0028,0102) US 7
(0028,0103) US 0
(0028,1050) DS [40\\400]
(0028,1051) DS [350\\1500]
(0028,9110) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0018,9004) CS [DERIVED]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0029,0010) LO [DENSAULYQ TEST]
(0029,1001) LO [private text]
(0029,1002) OB ${Array.from({ length: 1500 }, (_, i) => (i % 256).toString(16).padStart(2, '0')).join('\\')}
(0029,1003) OB 01\\02\\03\\04
(0029,1004) UL 305419896
(0040,a168) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0008,0100) SH [C1]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(7fe0,0010) OB 00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f
`;

/** A structured report: no pixel data, so the head is the whole file. */
const REPORT_DUMP = `
(0008,0016) UI =BasicTextSRStorage
(0008,0018) UI [2.25.88]
(0040,a040) CS [CONTAINER]
(0040,a730) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0040,a040) CS [TEXT]
    (0040,a160) UT [Impression: no acute findings]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
`;

/** The files of the corpus by name, made in `before`. */
const corpus = new Map<string, { bytes: Buffer; file: string }>();
const CORPUS = [
  'synth-rich (explicit LE, dcmjs)',
  'bench CT 512x512 (explicit LE)',
  'synth-rich implicit LE (dcmconv +ti)',
  'synth-rich explicit BE (dcmconv +tb)',
  'synth-rich deflated (dcmconv +td)',
  'synth-rich undefined lengths (dcmconv -e)',
  'synth-rich ISO_IR 144 (dcmconv +C)',
  'sequences (dump2dcm)',
  'sequences implicit LE, group lengths (dump2dcm +ti +g)',
  'sequences explicit BE (dump2dcm +tb)',
  'sequences deflated (dump2dcm +td)',
  'report without pixel data (dump2dcm)',
] as const;
/** Cases where dcmjs read something other than the file (see DEPARTURES): compared with dcm2json only. */
const DCM2JSON_ONLY = new Set(['sequences implicit LE, group lengths (dump2dcm +ti +g)']);

let dir: string;

async function makeCorpus(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'densaulyq-reader-'));
  const put = async (name: string, bytes: Buffer) => {
    const file = join(dir, `${corpus.size}.dcm`);
    await writeFile(file, bytes);
    corpus.set(name, { bytes, file });
  };
  const converted = async (name: string, from: string, args: string[]) => {
    const file = join(dir, `${corpus.size}.dcm`);
    execFileSync('dcmconv', [...args, corpus.get(from)!.file, file], { stdio: 'ignore' });
    corpus.set(name, { bytes: await readFile(file), file });
  };
  const dumped = async (name: string, dump: string, args: string[]) => {
    const dumpFile = join(dir, `${corpus.size}.txt`);
    const file = join(dir, `${corpus.size}.dcm`);
    await writeFile(dumpFile, dump, 'latin1');
    execFileSync('dump2dcm', ['+l', '65536', ...args, dumpFile, file], { stdio: 'ignore' });
    corpus.set(name, { bytes: await readFile(file), file });
  };
  await put('synth-rich (explicit LE, dcmjs)', dicomInstance({ rows: 32, columns: 32, attributes: RICH_ATTRIBUTES }));
  await put('bench CT 512x512 (explicit LE)', new InstanceTemplate(512, 512).bytes);
  await converted('synth-rich implicit LE (dcmconv +ti)', 'synth-rich (explicit LE, dcmjs)', ['+ti']);
  await converted('synth-rich explicit BE (dcmconv +tb)', 'synth-rich (explicit LE, dcmjs)', ['+tb']);
  await converted('synth-rich deflated (dcmconv +td)', 'synth-rich (explicit LE, dcmjs)', ['+td']);
  await converted('synth-rich undefined lengths (dcmconv -e)', 'synth-rich (explicit LE, dcmjs)', ['-e']);
  await converted('synth-rich ISO_IR 144 (dcmconv +C)', 'synth-rich (explicit LE, dcmjs)', ['+C', 'ISO_IR 144']);
  await dumped('sequences (dump2dcm)', SEQUENCE_DUMP, ['+te']);
  await dumped('sequences implicit LE, group lengths (dump2dcm +ti +g)', SEQUENCE_DUMP, ['+ti', '+g']);
  await dumped('sequences explicit BE (dump2dcm +tb)', SEQUENCE_DUMP, ['+tb']);
  await dumped('sequences deflated (dump2dcm +td)', SEQUENCE_DUMP, ['+td']);
  await dumped('report without pixel data (dump2dcm)', REPORT_DUMP, ['+te']);
}

/** A small deterministic generator, so a failing garbage case can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads `bytes` as a head; whatever happens, only a result, TruncatedHead or a plain Error. */
function outcome(bytes: Buffer, complete: boolean): DicomJson | Error {
  try {
    return readInstanceHead(bytes, complete).metadata;
  } catch (error) {
    assert.ok(error instanceof Error, `throws an Error, not ${String(error)}`);
    return error;
  }
}

describe('Part 10 reader', () => {
  before(makeCorpus);
  after(() => rm(dir, { recursive: true, force: true }));

  describe('the same DICOM JSON as the dcmjs path (corrected) and as dcm2json', () => {
    for (const name of CORPUS) {
      if (!DCM2JSON_ONLY.has(name)) {
        test(`${name}: deep-equals the dcmjs path, corrected`, () => {
          const { bytes } = corpus.get(name)!;
          assert.deepStrictEqual(readInstanceHead(bytes, true).metadata, corrected(dcmjsMetadata(bytes)));
        });
      }
      test(`${name}: agrees with dcm2json`, () => {
        const { bytes, file } = corpus.get(name)!;
        assertAgreesWithDcm2json(readInstanceHead(bytes, true).metadata, dcm2json(file));
      });
    }

    test('the head fields: transfer syntax and UIDs, in every syntax', () => {
      const syntaxes = CORPUS.map((name) => readInstanceHead(corpus.get(name)!.bytes, true).transferSyntaxUid);
      assert.deepEqual(new Set(syntaxes), new Set(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']));
      for (const name of CORPUS) {
        const { bytes, file } = corpus.get(name)!;
        const head = readInstanceHead(bytes, true);
        assert.equal(head.sopInstanceUid, (dcm2json(file)['00080018']!.Value as string[])[0], name);
        assert.equal(head.mediaStorageSopInstanceUid, head.sopInstanceUid, name);
        assert.equal(head.sopClassUid, (dcm2json(file)['00080016']!.Value as string[])[0], name);
      }
    });

    test('text in the character set of each item, inherited or its own', () => {
      const ours = readInstanceHead(corpus.get('synth-rich ISO_IR 144 (dcmconv +C)')!.bytes, true).metadata;
      const nested = (ours['00400275']!.Value![0] as DicomJson)['00400008']!.Value![0] as DicomJson;
      assert.deepEqual(nested['00080104']!.Value, ['Протокол']);
      assert.deepEqual(((nested['00400440']!.Value![0] as DicomJson)['0040A160']!.Value), ['глубоко']);
      const latin = readInstanceHead(corpus.get('sequences (dump2dcm)')!.bytes, true).metadata;
      assert.deepEqual((latin['00081032']!.Value![0] as DicomJson)['00080104']!.Value, ['Thorax, Müller']);
      // An item that declares its own set is read in it, its siblings in the data set's.
      const own = readInstanceHead(
        part10(
          '1.2.840.10008.1.2.1',
          Buffer.concat([
            explicit(0x0008, 0x0005, 'CS', text('ISO_IR 100')),
            explicit(0x0008, 0x1032, 'SQ', Buffer.concat([item(Buffer.concat([explicit(0x0008, 0x0005, 'CS', text('ISO_IR 144')), explicit(0x0008, 0x0104, 'LO', Buffer.from([0xbc, 0xc0, 0xc2]))])), item(explicit(0x0008, 0x0104, 'LO', Buffer.from([0xbc, 0xc0]))), sequenceEnd]), UNDEFINED),
          ]),
        ),
        true,
      ).metadata;
      assert.deepEqual((own['00081032']!.Value as DicomJson[]).map((i) => i['00080104']!.Value![0]), ['МРТ', '¼À']);
    });

    test('bulk data: the value behind each BulkDataURI, in items too, as dcmjs gave it', () => {
      const { bytes } = corpus.get('sequences (dump2dcm)')!;
      const metadata = readInstanceHead(bytes, true).metadata;
      assert.equal(metadata['00291002']!.BulkDataURI, 'bulkdata/00291002');
      assert.deepEqual(bulkValue(bytes, '00291002'), dcmjsBulkValue(bytes, '00291002'));
      assert.equal(bulkValue(bytes, '00291002')!.length, 1500);
      assert.deepEqual(bulkValue(bytes, '00291003'), Buffer.from([1, 2, 3, 4]));
      assert.equal(bulkValue(bytes, '00100020'), undefined, 'not a binary element');
      assert.equal(bulkValue(bytes, '00291099'), undefined, 'absent');
      const nested = part10(
        '1.2.840.10008.1.2.1',
        Buffer.concat([explicit(0x0054, 0x0016, 'SQ', Buffer.concat([item(explicit(0x0018, 0x1030, 'LO', text('x'))), item(explicit(0x0028, 0x1201, 'OW', Buffer.alloc(2048, 7))), sequenceEnd]), UNDEFINED)]),
      );
      assert.equal((readInstanceHead(nested, true).metadata['00540016']!.Value![1] as DicomJson)['00281201']!.BulkDataURI, 'bulkdata/00540016/1/00281201');
      assert.deepEqual(bulkValue(nested, '00540016/1/00281201'), Buffer.alloc(2048, 7));
      assert.deepEqual(bulkValue(nested, '00540016/1/00281201'), dcmjsBulkValue(nested, '00540016/1/00281201'));
    });
  });

  describe('departures from the dcmjs path, each as dcm2json reads the file', () => {
    const cases: [string, () => Buffer][] = [
      ['an empty US has no value (dcmjs: [0])', () => part10('1.2.840.10008.1.2.1', explicit(0x0028, 0x0010, 'US', Buffer.alloc(0)))],
      ['AT values are "GGGGEEEE" strings (dcmjs: numbers)', () => part10('1.2.840.10008.1.2.1', explicit(0x0020, 0x9165, 'AT', Buffer.from([0x10, 0, 0x10, 0, 0x28, 0, 0x11, 0])))],
      ['ST keeps its backslash (dcmjs: two values)', () => part10('1.2.840.10008.1.2.1', explicit(0x0008, 0x0081, 'ST', text('C:\\dir')))],
      ['LO values are each trimmed (dcmjs: "A ", " B")', () => part10('1.2.840.10008.1.2.1', explicit(0x0008, 0x1030, 'LO', text('A \\ B')))],
      ['DT loses its padding (dcmjs: trailing space)', () => part10('1.2.840.10008.1.2.1', explicit(0x0008, 0x002a, 'DT', text('2026010112000')))],
      ['an empty PN value stays, as null (dcmjs: dropped)', () => part10('1.2.840.10008.1.2.1', explicit(0x0010, 0x1001, 'PN', text('A^B\\\\C^D')))],
      [
        'empty items stay, so item numbers in paths hold (dcmjs: dropped)',
        () => part10('1.2.840.10008.1.2.1', explicit(0x0008, 0x1115, 'SQ', Buffer.concat([item(Buffer.alloc(0)), implicit(0xfffe, 0xe000, Buffer.alloc(0)), item(explicit(0x0020, 0x000e, 'UI', text('2.25.5'))), sequenceEnd]), UNDEFINED)),
      ],
      ['implicit VR group lengths are UL (dcmjs: UN)', () => part10('1.2.840.10008.1.2', Buffer.concat([implicit(0x0008, 0x0000, Buffer.from([10, 0, 0, 0])), implicit(0x0008, 0x0060, text('CT'))]))],
      [
        'OL, OV, SV, UV have 4-byte lengths (dcmjs: misread)',
        () => {
          const big = Buffer.alloc(8);
          big.writeBigInt64LE(-5n);
          return part10(
            '1.2.840.10008.1.2.1',
            Buffer.concat([explicit(0x0018, 0x9915, 'SV', big), explicit(0x0028, 0x0020, 'OV', Buffer.alloc(8, 1)), explicit(0x0066, 0x0040, 'OL', Buffer.alloc(4, 2))]),
          );
        },
      ],
      [
        'UN of undefined length is a sequence in implicit VR (PS3.5 6.2.2; dcmjs: fails)',
        () =>
          part10(
            '1.2.840.10008.1.2.1',
            Buffer.concat([
              explicit(0x0009, 0x0010, 'LO', text('CREATOR')),
              explicit(0x0009, 0x1010, 'UN', Buffer.concat([item(Buffer.concat([implicit(0x0009, 0x0010, text('INNER')), implicit(0x0009, 0x1001, Buffer.from([1, 2, 3, 4])), implicit(0x0010, 0x0010, text('A^B'))])), sequenceEnd]), UNDEFINED),
            ]),
          ),
      ],
    ];
    for (const [name, make] of cases) {
      test(name, async () => {
        const bytes = make();
        const file = join(dir, 'departure.dcm');
        await writeFile(file, bytes);
        const ours = readInstanceHead(bytes, true).metadata;
        assertAgreesWithDcm2json(ours, dcm2json(file));
        let today: unknown;
        try {
          today = dcmjsMetadata(bytes);
        } catch (error) {
          today = error;
        }
        assert.notDeepStrictEqual(ours, today, 'dcmjs read it otherwise');
      });
    }

    test('a UN of a public tag keeps its dictionary VR, as the dcmjs path gave it (dcm2json: UN)', () => {
      const bytes = part10('1.2.840.10008.1.2.1', Buffer.concat([explicit(0x0010, 0x0020, 'UN', text('ID1')), explicit(0x0028, 0x0010, 'UN', Buffer.from([0, 2]))]));
      assert.deepEqual(readInstanceHead(bytes, true).metadata, { '00100020': { vr: 'LO', Value: ['ID1'] }, '00280010': { vr: 'US', Value: [512] } });
      assert.deepEqual(readInstanceHead(bytes, true).metadata, dcmjsMetadata(bytes));
    });

    test('a character set of several terms is read in the first known one (dcmjs: fails)', () => {
      const bytes = part10('1.2.840.10008.1.2.1', Buffer.concat([explicit(0x0008, 0x0005, 'CS', text('\\ISO 2022 IR 144')), explicit(0x0010, 0x0010, 'PN', Buffer.from([0xbc, 0xc0, 0xc2, 0x5e, 0xbc]))]));
      assert.deepEqual(readInstanceHead(bytes, true).metadata['00100010']!.Value, [{ Alphabetic: 'МРТ^М' }]);
      assert.throws(() => dcmjsMetadata(bytes));
    });
  });

  describe('heads cut short', () => {
    for (const name of ['bench CT 512x512 (explicit LE)', 'synth-rich implicit LE (dcmconv +ti)', 'synth-rich explicit BE (dcmconv +tb)', 'synth-rich deflated (dcmconv +td)', 'sequences (dump2dcm)', 'synth-rich undefined lengths (dcmconv -e)']) {
      test(`${name}: every prefix is TruncatedHead or the whole answer`, () => {
        const { bytes } = corpus.get(name)!;
        const whole = readInstanceHead(bytes, true);
        const end = Math.min(bytes.length, (bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00])) + 1 || bytes.indexOf(Buffer.from([0x7f, 0xe0, 0x00, 0x10])) + 1 || bytes.length) + 64);
        let truncated = 0;
        for (let length = 0; length <= end; length++) {
          const result = outcome(bytes.subarray(0, length), false);
          if (result instanceof Error) {
            assert.ok(result instanceof TruncatedHead, `at ${length}: ${result.message}`);
            truncated++;
          } else {
            assert.deepStrictEqual(result, whole.metadata, `at ${length}`);
          }
        }
        assert.ok(truncated > 100);
        assert.deepStrictEqual(readInstanceHead(bytes.subarray(0, 64 * 1024), false), whole, 'the 64 KiB STOW reads first');
      });
    }

    test('a file without pixel data: whole when complete, TruncatedHead when not', () => {
      const { bytes } = corpus.get('report without pixel data (dump2dcm)')!;
      const whole = readInstanceHead(bytes, true).metadata;
      assert.deepEqual(((whole['0040A730']!.Value![0] as DicomJson)['0040A160']!.Value), ['Impression: no acute findings']);
      for (let length = 0; length <= bytes.length; length++) assert.throws(() => readInstanceHead(bytes.subarray(0, length), false), TruncatedHead);
    });

    test('a complete file that ends inside an element is an error, not TruncatedHead', () => {
      const { bytes } = corpus.get('sequences (dump2dcm)')!;
      const cut = bytes.subarray(0, bytes.indexOf('private text') + 3);
      assert.throws(() => readInstanceHead(cut, true), (error) => error instanceof Error && !(error instanceof TruncatedHead));
    });

    test('a meta group length that is wrong is not trusted', () => {
      const bytes = part10('1.2.840.10008.1.2.1', Buffer.concat([explicit(0x0008, 0x0060, 'CS', text('CT')), explicit(0x7fe0, 0x0010, 'OB', Buffer.alloc(4))]), false);
      const head = readInstanceHead(bytes, true);
      assert.equal(head.transferSyntaxUid, '1.2.840.10008.1.2.1');
      assert.equal(head.mediaStorageSopInstanceUid, '2.25.42');
      assert.deepEqual(head.metadata, { '00080060': { vr: 'CS', Value: ['CT'] }, '7FE00010': { vr: 'OB', BulkDataURI: 'bulkdata/7FE00010' } });
    });
  });

  describe('garbage and hostile input', () => {
    test('not DICOM: a plain Error', () => {
      assert.throws(() => readInstanceHead(Buffer.alloc(200), true), (e) => e instanceof Error && !(e instanceof TruncatedHead));
      assert.throws(() => readInstanceHead(Buffer.alloc(100), false), TruncatedHead);
    });

    test('random bytes after DICM: a result or an Error, quickly', () => {
      const next = random(7);
      const started = Date.now();
      for (let i = 0; i < 2000; i++) {
        const body = Buffer.from(Array.from({ length: Math.floor(next() * 600) }, () => Math.floor(next() * 256)));
        const bytes = i % 2 ? Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), body]) : part10('1.2.840.10008.1.2.1', body);
        outcome(bytes, i % 3 === 0);
        outcome(bytes, true);
      }
      assert.ok(Date.now() - started < 10_000);
    });

    test('random bytes in every syntax, and flipped bytes in real files: a result or an Error', () => {
      const next = random(11);
      for (const syntax of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.50']) {
        for (let i = 0; i < 500; i++) outcome(part10(syntax, Buffer.from(Array.from({ length: Math.floor(next() * 400) }, () => Math.floor(next() * 256)))), true);
      }
      for (const name of ['sequences (dump2dcm)', 'sequences implicit LE, group lengths (dump2dcm +ti +g)', 'synth-rich deflated (dcmconv +td)']) {
        const { bytes } = corpus.get(name)!;
        for (let i = 0; i < 500; i++) {
          const copy = Buffer.from(bytes);
          for (let k = 0; k < 3; k++) copy[132 + Math.floor(next() * (copy.length - 132))] = Math.floor(next() * 256);
          outcome(copy, true);
          outcome(copy.subarray(0, Math.floor(next() * copy.length)), false);
        }
      }
    });

    test('absurd lengths: no allocation, TruncatedHead or an Error', () => {
      for (const vr of ['OB', 'UT', 'SQ', 'UN']) {
        const value = vr === 'SQ' ? implicit(0xfffe, 0xe000, explicit(0x0008, 0x0060, 'CS', text('CT')), 0xffffff00) : Buffer.alloc(16);
        const bytes = part10('1.2.840.10008.1.2.1', Buffer.concat([explicit(0x0009, 0x1010, vr, value, 0xfffffff0)]));
        assert.throws(() => readInstanceHead(bytes, false), TruncatedHead, vr);
        assert.throws(() => readInstanceHead(bytes, true), (e) => e instanceof Error && !(e instanceof TruncatedHead), vr);
      }
      const inItem = part10('1.2.840.10008.1.2.1', explicit(0x0008, 0x1115, 'SQ', Buffer.concat([implicit(0xfffe, 0xe000, explicit(0x0008, 0x0104, 'UT', Buffer.alloc(4), 0xfffffff0), 16)]), 24));
      assert.throws(() => readInstanceHead(inItem, false), (e) => e instanceof Error && !(e instanceof TruncatedHead), 'an element past its item is malformed');
      // 600 MiB of zeros in a long OB, deflated to some 600 KiB: inflated no further than the cap.
      const megabyte = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: zlib.Z_SYNC_FLUSH });
      const header = deflateRawSync(explicit(0x0009, 0x1010, 'OB', Buffer.alloc(0), 0xfffffff0), { finishFlush: zlib.Z_SYNC_FLUSH });
      const bomb = part10('1.2.840.10008.1.2.1.99', Buffer.concat([header, ...Array.from({ length: 600 }, () => megabyte)]));
      assert.throws(() => readInstanceHead(bomb, true), /cannot be inflated/);
      assert.throws(() => readInstanceHead(bomb, false), /cannot be inflated/);
    });

    test('sequences nested 64 deep are read, deeper is an Error', () => {
      const nest = (depth: number): Buffer => {
        let inner = explicit(0x0008, 0x0100, 'SH', text('leaf'));
        for (let i = 0; i < depth; i++) inner = explicit(0x0040, 0xa730, 'SQ', Buffer.concat([item(inner), sequenceEnd]), UNDEFINED);
        return part10('1.2.840.10008.1.2.1', inner);
      };
      assert.ok(readInstanceHead(nest(64), true).metadata['0040A730']);
      assert.throws(() => readInstanceHead(nest(65), true), /deeper/);
      assert.throws(() => readInstanceHead(nest(100_000), true), /deeper/);
    });
  });
});
