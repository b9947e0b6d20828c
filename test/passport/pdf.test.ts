import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, CompositionSection, Patient } from '@medplum/fhirtypes';
import * as fontkit from 'fontkit';
import { isFhirError } from '../../src/fhir/outcome.js';
import type { Locale } from '../../src/fhir/validate.js';
import { buildIin, IIN_SYSTEM } from '../../src/identity/iin.js';
import { narrativeBlocks } from '../../src/passport/pdf-narrative.js';
import { PASSPORT_FONT_FILES, passportPdf, shareWidth } from '../../src/passport/pdf.js';
import { canReadBack, firstPageQrCode, pdfText, poppler, squeeze } from '../support/pdf-reader.js';

const KAZAKH_LETTERS = 'Ә ә Ғ ғ Қ қ Ң ң Ө ө Ұ ұ Ү ү Һ һ І і';
const XHTML = 'http://www.w3.org/1999/xhtml';
const IIN = buildIin({ birthDate: '1985-03-12', sex: 'female', serial: 4001 })!;
const SHARE_LINK =
  'shlink:/eyJ1cmwiOiJodHRwczovL2RlbnNhdWx5cS5rei9zaGwvbWFuaWZlc3QvM2Y1YjJjOWQiLCJmbGFnIjoiUCIsImtleSI6InJ4VGdZbE9hS0pQRnRjRWQwcWNjZVQ4emhQVDZ6TFN2VzJ2NUZqVDMyYW8iLCJleHAiOjE3OTc3NjgwMDAsImxhYmVsIjoi0JTQtdC90YHQsNGD0LvRi9KbINC/0LDRgdC/0L7RgNGC0YsifQ';

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A section's narrative in the shape the IPS builder writes: one table, or one paragraph. */
function tableDiv(header: string[], rows: string[][]): string {
  const head = header.map((h) => `<th>${escape(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`).join('');
  return `<div xmlns="${XHTML}"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}
const paragraphDiv = (text: string): string => `<div xmlns="${XHTML}"><p>${escape(text)}</p></div>`;

const section = (title: string, div: string | undefined): CompositionSection => ({
  title,
  code: { coding: [{ system: 'http://loinc.org', code: '11450-4' }] },
  ...(div === undefined ? {} : { text: { status: 'generated', div } }),
});

const patient: Patient = {
  resourceType: 'Patient',
  id: 'p1',
  identifier: [{ system: IIN_SYSTEM, value: IIN }],
  name: [{ use: 'official', family: 'Сәрсенбаева', given: ['Әлия', 'Нұрланқызы'] }],
  gender: 'female',
  birthDate: '1985-03-12',
};

/** An IPS-shaped document Bundle: the Composition first, then its subject. */
function ipsDocument(sections: CompositionSection[]): Bundle {
  return {
    resourceType: 'Bundle',
    identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:6f1c2a8e-5d3b-4c1e-9a7f-2b8d4e6f0a13' },
    type: 'document',
    timestamp: '2026-12-06T06:30:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:0b9d3c51-0f4e-4b8e-8f7e-3c2a1d0e9f87',
        resource: {
          resourceType: 'Composition',
          status: 'final',
          type: { coding: [{ system: 'http://loinc.org', code: '60591-5' }] },
          subject: { reference: 'urn:uuid:7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f' },
          date: '2026-12-06T06:30:00Z',
          author: [{ display: 'Densaulyq' }],
          title: 'International Patient Summary',
          section: sections,
        },
      },
      { fullUrl: 'urn:uuid:7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f', resource: patient },
    ],
  };
}

const LONG_NOTE =
  'Науқас метформинді күніне екі рет тамақпен бірге қабылдайды; глюкоза деңгейі тұрақты, ' +
  'гликирленген гемоглобин соңғы талдауда 6,8 пайыз болды, диетолог кеңесі ұсынылды және ' +
  'келесі тексеру үш айдан кейін жоспарланды';

const SUMMARY = ipsDocument([
  section(
    'Проблемалар тізімі',
    tableDiv(
      ['Ауру', 'Код', 'Басталуы', 'Күйі'],
      [
        ['Қант диабеті, 2 тип', 'E11.9', '2019-04-02', LONG_NOTE],
        ['Артериялық гипертензия', 'I10', '2021-11-15', 'белсенді'],
        ['Әріптер', 'Z00', '2024-01-01', KAZAKH_LETTERS],
      ],
    ),
  ),
  section('Аллергиялар мен төзбеушілік', paragraphDiv('Белгілі аллергия жоқ & төзбеушілік тіркелмеген')),
  section(
    'Дәрі-дәрмектер',
    tableDiv(
      ['Препарат', 'Дозасы'],
      [
        ['Метформин 500 мг', 'күніне 2 рет'],
        ['Лизиноприл 10 мг', 'күніне 1 рет <таңертең>'],
      ],
    ),
  ),
  section('Иммундау', tableDiv(['Вакцина', 'Күні'], [['Қызылша, қызамық, паротит', '1986-06-01']])),
]);

let workdir: string;
before(async () => {
  workdir = await mkdtemp(path.join(tmpdir(), 'passport-pdf-'));
});
after(async () => {
  await rm(workdir, { recursive: true, force: true });
});

let fileCount = 0;
async function save(pdf: Buffer): Promise<string> {
  const file = path.join(workdir, `passport-${++fileCount}.pdf`);
  await writeFile(file, pdf);
  return file;
}


const EXPECTED: Record<Locale, { title: string; birthDate: string; sex: string; iin: string; generated: string }> = {
  kk: { title: 'Денсаулық паспорты', birthDate: '1985 ж. 12 наурыз', sex: 'әйел', iin: 'ЖСН', generated: 'Қалыптастырылған уақыты: 2026 ж. 6 желтоқсан, 11:30 GMT+5' },
  ru: { title: 'Паспорт здоровья', birthDate: '12 марта 1985 г.', sex: 'женский', iin: 'ИИН', generated: 'Сформировано: 6 декабря 2026 г. в 11:30 GMT+5' },
  en: { title: 'Health passport', birthDate: '12 March 1985', sex: 'female', iin: 'IIN', generated: 'Generated: 6 December 2026 at 11:30 GMT+5' },
};

describe('passportPdf', () => {
  for (const locale of ['kk', 'ru', 'en'] as const) {
    it(`prints the summary in ${locale}: A4, embedded fonts, the header, every section and cell, Kazakh letters intact`, async (t) => {
      const file = await save(await passportPdf(SUMMARY, { locale }));
      if (!canReadBack(t)) return;

      const info = await poppler('pdfinfo', [file]);
      assert.match(info, /Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)/);
      const fonts = (await poppler('pdffonts', [file])).trim().split('\n').slice(2);
      assert.ok(fonts.length > 0, 'the text is set in a font');
      for (const font of fonts) assert.match(font, /\bCID TrueType\b.*\byes\s+yes\s+yes\b/, `embedded subset: ${font}`);

      const expected = EXPECTED[locale];
      const text = squeeze(await pdfText(file, '-raw'));
      for (const phrase of [
        expected.title,
        'Әлия Нұрланқызы Сәрсенбаева',
        expected.birthDate,
        expected.sex,
        `${expected.iin}`,
        IIN,
        'urn:uuid:6f1c2a8e-5d3b-4c1e-9a7f-2b8d4e6f0a13',
        'Проблемалар тізімі',
        'Аллергиялар мен төзбеушілік',
        'Дәрі-дәрмектер',
        'Иммундау',
        'Артериялық гипертензия',
        'E11.9',
        KAZAKH_LETTERS,
        'Белгілі аллергия жоқ & төзбеушілік тіркелмеген',
        'күніне 1 рет <таңертең>',
        'Қызылша, қызамық, паротит',
        expected.generated,
        '1 / 1',
      ]) {
        assert.ok(text.includes(phrase), `"${phrase}" is in the ${locale} text`);
      }
      assert.ok(text.includes(LONG_NOTE), 'the long cell, whole');
      // On the page, the long cell wraps inside its column, and a header row's cells share a line.
      const layout = await pdfText(file, '-layout');
      const noteLines = layout.split('\n').filter((line) => /Науқас|гликирленген|жоспарланды/.test(line));
      assert.ok(noteLines.length >= 2, 'the long cell wraps');
      assert.match(layout, /Ауру\s+Код\s+Басталуы\s+Күйі/);

      // Written in reading order: header, then the sections in the Composition's order.
      const raw = text;
      const order = [expected.title, 'Әлия Нұрланқызы Сәрсенбаева', 'Проблемалар тізімі', 'Қант диабеті, 2 тип', 'Артериялық гипертензия', 'Аллергиялар мен төзбеушілік', 'Дәрі-дәрмектер', 'Иммундау'];
      const positions = order.map((phrase) => raw.indexOf(phrase));
      assert.ok(positions.every((p) => p >= 0), `all of ${order.join(' | ')} in the raw text`);
      assert.deepEqual([...positions].sort((a, b) => a - b), positions, 'in reading order');
    });
  }

  it('embeds a font that covers every Kazakh letter, regular and bold', () => {
    for (const file of Object.values(PASSPORT_FONT_FILES)) {
      const font = fontkit.openSync(file);
      assert.ok(!('fonts' in font), `${file} is a single font`);
      for (const letter of KAZAKH_LETTERS.replace(/ /g, '')) {
        assert.ok(font.hasGlyphForCodePoint(letter.codePointAt(0)!), `${path.basename(file)} has ${letter}`);
      }
    }
  });

  it('spreads a 500-row table over pages, its header row repeated on each and every row once, in order', async (t) => {
    const rows = Array.from({ length: 500 }, (_, i) => {
      const n = String(i + 1).padStart(3, '0');
      return [`Жол-${n}`, `Нәтиже ${n}`, i % 50 === 0 ? LONG_NOTE : 'қалыпты'];
    });
    const document = ipsDocument([section('Зертханалық нәтижелер', tableDiv(['Талдау атауы', 'Мәні', 'Түсініктеме'], rows))]);
    const file = await save(await passportPdf(document, { locale: 'kk' }));
    if (!canReadBack(t)) return;
    const pages = (await pdfText(file, '-raw')).split('\f').filter((page) => page.trim()).map(squeeze);
    assert.ok(pages.length >= 8, `500 rows take many pages (${pages.length})`);
    pages.forEach((page, i) => {
      assert.match(page, /Талдау атауы Мәні Түсініктеме/, `header row on page ${i + 1}`);
      assert.ok(page.includes(`${i + 1} / ${pages.length}`), `page number on page ${i + 1}`);
      if (i > 0) {
        assert.ok(page.includes('Зертханалық нәтижелер (жалғасы)'), `continuation line on page ${i + 1}`);
        assert.ok(page.includes(`Денсаулық паспорты · Әлия Нұрланқызы Сәрсенбаева · ЖСН ${IIN}`), `running header on page ${i + 1}`);
      }
    });
    const seen = [...pages.join('\n').matchAll(/Жол-(\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('splits a row taller than a page between pages, losing none of its text', async (t) => {
    const words = Array.from({ length: 1500 }, (_, i) => `сөз${i + 1}`);
    const document = ipsDocument([section('Жоспар', tableDiv(['Күні', 'Жоспар'], [['2026-12-01', words.join(' ')], ['2026-12-02', 'соңғы жол']]))]);
    const file = await save(await passportPdf(document, { locale: 'kk' }));
    if (!canReadBack(t)) return;
    const text = await pdfText(file, '-raw');
    const pages = text.split('\f').filter((page) => page.trim());
    assert.ok(pages.length >= 2);
    assert.deepEqual([...text.matchAll(/сөз(\d+)/g)].map((m) => Number(m[1])), words.map((_, i) => i + 1));
    assert.ok(text.includes('соңғы жол'));
    for (const page of pages) assert.match(squeeze(page), /Күні Жоспар/);
  });

  for (const [locale, caption] of [
    ['kk', 'Осы паспортты ашу үшін сканерлеңіз'],
    ['ru', 'Отсканируйте, чтобы открыть этот паспорт'],
    ['en', 'Scan to open this passport'],
  ] as const) {
    it(`prints the share link as a QR code that decodes back to it, captioned in ${locale} with its expiry`, async (t) => {
      const file = await save(await passportPdf(SUMMARY, { locale, shareLink: { uri: SHARE_LINK, expires: '2026-12-20T07:00:00Z' } }));
      if (!canReadBack(t)) return;
      const text = squeeze(await pdfText(file, '-raw'));
      assert.ok(text.includes(caption), caption);
      const expiry = { kk: 'Жарамдылық мерзімі: 2026 ж. 20 желтоқсан, 12:00 GMT+5', ru: 'Действительно до 20 декабря 2026 г. в 12:00 GMT+5', en: 'Valid until 20 December 2026 at 12:00 GMT+5' }[locale];
      assert.ok(text.includes(expiry), expiry);
      assert.ok(!text.includes('shlink:/'), 'the link itself is not printed');

      assert.equal(await firstPageQrCode(file), SHARE_LINK);
    });
  }

  it('extracts the same text from a passport printed after another (fonts are shared between documents)', async (t) => {
    // Subsetting the first reads `h` only as a part of `һ`; the second must still say `h`.
    await passportPdf(ipsDocument([section('Һһ', paragraphDiv('Һһ'))]), { locale: 'kk' });
    const file = await save(await passportPdf(ipsDocument([section('hhh', paragraphDiv('shh, hush'))]), { locale: 'en' }));
    if (!canReadBack(t)) return;
    const text = await pdfText(file, '-raw');
    assert.ok(text.includes('shh, hush'));
  });

  it('prints no QR caption without a share link', async (t) => {
    const file = await save(await passportPdf(SUMMARY, { locale: 'en' }));
    if (!canReadBack(t)) return;
    const text = await pdfText(file, '-raw');
    assert.ok(!text.includes('Scan to open'));
  });

  it('still prints the text of a narrative that is not in the contract shape, without throwing', async (t) => {
    const document = ipsDocument([
      section('Unclosed', `<div xmlns="${XHTML}"><table><tr><th>Col A</th><th>Col B</th></tr><tr><td>alpha<td>beta<tr><td>gamma`),
      section('Unknown tags', `<div xmlns="${XHTML}"><foo>delta</foo> <custom:bar>epsilon</custom:bar><script>secret()</script><ul><li>zeta</li><li>eta</li></ul></div>`),
      section('Nested', `<div><table><tbody><tr><td>theta<table><tr><td>iota</td></tr></table>kappa</td><td>lambda</td><td>extra</td></tr><tr><td>mu</td></tr></tbody></table></div>`),
      section('Entities', `<div><p>a &lt; b &amp;&amp; c &gt; d &#1178;&#x4E8; &nbsp;&quot;q&quot; &unknown; <![CDATA[nu]]></p><p/></div>`),
      section('Not XHTML at all', 'just words, { "json": true } <<>> & more'),
      section('Empty', ''),
      section('No narrative', undefined),
      { text: { status: 'generated', div: paragraphDiv('untitled section text') } },
    ]);
    const file = await save(await passportPdf(document, { locale: 'en' }));
    if (!canReadBack(t)) return;
    const text = squeeze(await pdfText(file, '-raw'));
    for (const phrase of ['alpha', 'beta', 'gamma', 'Col A', 'delta', 'epsilon', '• zeta', '• eta', 'theta', 'iota', 'kappa', 'lambda', 'extra', 'mu', 'a < b && c > d', 'ҚӨ', '"q"', 'nu', 'just words, { "json": true } <<>> & more', 'No information', 'Section', 'untitled section text']) {
      assert.ok(text.includes(phrase), `"${phrase}" printed`);
    }
    assert.ok(!text.includes('secret()'), 'script content is not text');
  });

  it('refuses what is not a document Bundle, naming the element', async () => {
    await assert.rejects(passportPdf({ resourceType: 'Bundle', type: 'searchset' }, { locale: 'en' }), (e) => isFhirError(e) && e.status === 400 && e.outcome.issue[0]?.expression?.[0] === 'Bundle.type');
    await assert.rejects(
      passportPdf({ resourceType: 'Bundle', type: 'document', entry: [{ resource: patient }] }, { locale: 'en' }),
      (e) => isFhirError(e) && e.status === 400 && e.outcome.issue[0]?.expression?.[0] === 'Bundle.entry[0].resource',
    );
  });

  it('prints a document without a Patient entry, with dashes for the identity', async (t) => {
    const document = ipsDocument([section('Проблемалар', paragraphDiv('Мәлімет жоқ'))]);
    document.entry = document.entry!.slice(0, 1);
    const file = await save(await passportPdf(document, { locale: 'ru' }));
    if (!canReadBack(t)) return;
    const text = squeeze(await pdfText(file, '-raw'));
    assert.match(text, /Дата рождения —/);
    assert.ok(text.includes('Проблемалар'));
  });
});

describe('narrativeBlocks', () => {
  it('reads the contract table: header rows apart from body rows, entities decoded', () => {
    assert.deepEqual(narrativeBlocks(tableDiv(['Ауру', 'Күні'], [['A & B <c>', '2020'], ['Ә', '2021']])), [
      { kind: 'table', header: [['Ауру', 'Күні']], body: [['A & B <c>', '2020'], ['Ә', '2021']], columns: 2 },
    ]);
  });

  it('reads the contract paragraph', () => {
    assert.deepEqual(narrativeBlocks(paragraphDiv('Белгілі аллергия жоқ')), [{ kind: 'paragraph', text: 'Белгілі аллергия жоқ' }]);
  });

  it('takes leading all-th rows as the header when there is no thead, and pads short rows', () => {
    assert.deepEqual(narrativeBlocks('<div><table><tr><th>A</th><th>B</th></tr><tr><td>1</td></tr><tr><th>x</th><td>2</td><td>3</td></tr></table></div>'), [
      { kind: 'table', header: [['A', 'B', '']], body: [['1', '', ''], ['x', '2', '3']], columns: 3 },
    ]);
  });

  it('keeps a caption before its table and line breaks inside a cell', () => {
    assert.deepEqual(narrativeBlocks('<div><table><caption>Cap</caption><tbody><tr><td>a<br/>b</td></tr></tbody></table></div>'), [
      { kind: 'paragraph', text: 'Cap' },
      { kind: 'table', header: [], body: [['a\nb']], columns: 1 },
    ]);
  });
});

describe('shareWidth', () => {
  it('gives a short column what it needs and the long one the rest', () => {
    assert.deepEqual(shareWidth([40, 30, 55, 60], [110, 30, 55, 2000], 505), [110, 30, 55, 310]);
  });

  it('never gives a column less than its longest word while the words fit', () => {
    assert.deepEqual(shareWidth([10, 10, 40], [33, 33, 60], 100), [30, 30, 40]);
  });

  it('shares the page by the longest words when even they do not fit', () => {
    assert.deepEqual(shareWidth([100, 300], [100, 300], 200), [50, 150]);
  });
});
