import { createRequire } from 'node:module';
import type { Bundle, Composition, CompositionSection, HumanName, Patient } from '@medplum/fhirtypes';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { badRequest } from '../fhir/outcome.js';
import type { Locale } from '../fhir/validate.js';
import { type NarrativeTable, narrativeBlocks } from './pdf-narrative.js';
import { formatFhirDate, genderText, pdfText } from './pdf-text.js';

const require = createRequire(import.meta.url);

/**
 * Noto Sans (SIL Open Font License) from npm, so that a fresh `npm install` prints the passport
 * without any system font: it covers Latin and all of Cyrillic, the Kazakh letters (Ә Ғ Қ Ң Ө Ұ Ү
 * Һ І) included. pdfkit embeds only the glyphs a document uses.
 */
export const PASSPORT_FONT_FILES = {
  regular: require.resolve('@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf'),
  bold: require.resolve('@expo-google-fonts/noto-sans/700Bold/NotoSans_700Bold.ttf'),
} as const;

type FontName = keyof typeof PASSPORT_FONT_FILES;

/**
 * What pdfkit reads of a glyph. Its own objects, not fontkit's: fontkit caches one glyph object per
 * glyph id for the life of the font, with the code points of whatever first asked for it, and
 * subsetting asks for the components of composite glyphs with none (`һ` is built from `h`), so a
 * font shared across documents would give later ones glyphs that extract as nothing.
 */
interface PlainGlyph {
  id: number;
  advanceWidth: number;
  codePoints: number[];
}

/** A parsed font, and the glyph of each code point met so far. */
interface PassportFont {
  font: fontkit.Font;
  glyphs: Map<number, PlainGlyph>;
}
let parsedFonts: Record<FontName, PassportFont> | undefined;

/**
 * The fonts, parsed once per process (parsing a TrueType file's tables costs more than laying out
 * a whole passport) and laid out plainly: one glyph per character at its advance width.
 *
 * Kazakh, Russian and English need no OpenType shaping, and fontkit's (which pdfkit runs on every
 * word of every document) took most of the rendering time; all it would add here is kerning, by
 * a hair. Plain layout also makes the widths measured for line breaking exactly those drawn, and
 * keeps every character its own glyph, so text extracts as written (no "fi" ligature glyphs).
 */
function passportFonts(): Record<FontName, PassportFont> {
  const open = (file: string): PassportFont => {
    const parsed = fontkit.openSync(file);
    if ('fonts' in parsed) throw new Error(`${file} is a font collection, not a font`);
    const passportFont: PassportFont = { font: parsed, glyphs: new Map() };
    // pdfkit reads the font only through its interface, so an object inheriting from it with
    // another `layout` is the same font to pdfkit, laid out our way.
    passportFont.font = Object.create(parsed, { layout: { value: (text: string) => plainLayout(passportFont, text) } });
    return passportFont;
  };
  return (parsedFonts ??= { regular: open(PASSPORT_FONT_FILES.regular), bold: open(PASSPORT_FONT_FILES.bold) });
}

function glyphOf({ font, glyphs }: PassportFont, codePoint: number): PlainGlyph {
  let glyph = glyphs.get(codePoint);
  if (!glyph) {
    const { id, advanceWidth } = font.glyphForCodePoint(codePoint);
    glyph = { id, advanceWidth, codePoints: [codePoint] };
    // Characters the font lacks (drawn as its empty box) are not kept, so the map stays the font's size.
    if (id !== 0) glyphs.set(codePoint, glyph);
  }
  return glyph;
}

/** A fontkit glyph run without shaping: the glyph of each code point, advancing by its width. */
function plainLayout(font: PassportFont, text: string): { glyphs: PlainGlyph[]; positions: fontkit.GlyphPosition[]; advanceWidth: number } {
  const glyphs: PlainGlyph[] = [];
  const positions: fontkit.GlyphPosition[] = [];
  let advanceWidth = 0;
  for (const char of text) {
    const glyph = glyphOf(font, char.codePointAt(0)!);
    glyphs.push(glyph);
    positions.push({ xAdvance: glyph.advanceWidth, yAdvance: 0, xOffset: 0, yOffset: 0 });
    advanceWidth += glyph.advanceWidth;
  }
  return { glyphs, positions, advanceWidth };
}

/** The width of `text` in points, as {@link plainLayout} lays it out. */
function advanceWidth(font: PassportFont, text: string, size: number): number {
  let units = 0;
  for (const char of text) units += glyphOf(font, char.codePointAt(0)!).advanceWidth;
  return (units * size) / font.font.unitsPerEm;
}

interface Style {
  font: FontName;
  size: number;
  color: string;
}

const INK = '#1a1a1a';
const MUTED = '#5a6470';
const RULE = '#9aa5b1';
const GRID = '#b8c2cc';
const HEADER_FILL = '#e6ecf2';

const STYLE = {
  title: { font: 'bold', size: 20, color: INK },
  subtitle: { font: 'regular', size: 9.5, color: MUTED },
  name: { font: 'bold', size: 14, color: INK },
  label: { font: 'regular', size: 9.5, color: MUTED },
  value: { font: 'regular', size: 9.5, color: INK },
  section: { font: 'bold', size: 12.5, color: INK },
  subsection: { font: 'bold', size: 10.5, color: INK },
  body: { font: 'regular', size: 9, color: INK },
  muted: { font: 'regular', size: 9, color: MUTED },
  cell: { font: 'regular', size: 8.5, color: INK },
  headCell: { font: 'bold', size: 8.5, color: INK },
  small: { font: 'regular', size: 7.5, color: MUTED },
} satisfies Record<string, Style>;

/** Page margins in points; the running header and the footer sit inside the top and bottom ones. */
const MARGIN = { top: 52, bottom: 52, left: 45, right: 45 };
const CELL_PAD = { x: 3.5, y: 2.5 };
/** The side of the QR code's modules, without its quiet zone, in points (about 37 mm). */
const QR_SIZE = 104;
/** The blank border a QR code needs around it, in modules (ISO/IEC 18004 §6.3.8). */
const QR_QUIET_ZONE = 4;

export interface PassportPdfOptions {
  locale: Locale;
  /** A SMART Health Link (`shlink:/…`) that opens this passport, printed as a QR code on the first page. */
  shareLink?: { uri: string; expires?: string };
}

/**
 * The printable health passport: an IPS document Bundle (https://hl7.org/fhir/uv/ips/) laid out
 * as an A4 PDF in `locale`, with the patient's identity, each Composition section's title and its
 * narrative (tables as tables, their header rows repeated on every page they span), page numbers,
 * and the share link as a QR code. Text is real text in an embedded font, extractable and in
 * reading order.
 *
 * The narrative printed is the document's own (https://hl7.org/fhir/R4/documents.html#presentation):
 * what the Composition attests is what the reader sees.
 */
export async function passportPdf(document: Bundle, options: PassportPdfOptions): Promise<Buffer> {
  if (document?.resourceType !== 'Bundle' || document.type !== 'document') {
    throw badRequest('A passport is printed from a document Bundle', 'Bundle.type');
  }
  const composition = document.entry?.[0]?.resource;
  if (composition?.resourceType !== 'Composition') {
    throw badRequest('The first entry of a document Bundle must be its Composition', 'Bundle.entry[0].resource');
  }
  const { locale } = options;
  const patient = subjectOf(document, composition);
  const generated = document.timestamp ?? composition.date;
  const doc = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    bufferPages: true,
    autoFirstPage: false,
    // No default font: pdfkit would load Helvetica, which is not embedded and has no Cyrillic.
    font: '',
    lang: locale,
    displayTitle: true,
    pdfVersion: '1.7',
    info: {
      Title: pdfText('title', locale),
      Subject: pdfText('subtitle', locale),
      Creator: 'Densaulyq',
      CreationDate: generated && !Number.isNaN(Date.parse(generated)) ? new Date(generated) : new Date(),
    },
  });
  const done = collect(doc);
  const fonts = passportFonts();
  for (const [name, { font }] of Object.entries(fonts)) {
    // pdfkit's types list only files and buffers; its font factory also takes a parsed fontkit font.
    doc.registerFont(name, font as unknown as Buffer);
  }

  const name = patient ? patientName(patient) : undefined;
  const iin = patient?.identifier?.find((i) => i.system === IIN_SYSTEM)?.value;
  const running = [pdfText('title', locale), name, iin && `${pdfText('iin', locale)} ${iin}`].filter(Boolean).join(' · ');
  const writer = new PassportWriter(doc, fonts, running);
  writer.firstPage();
  writer.header(locale, {
    name,
    facts: [
      [pdfText('birthDate', locale), formatFhirDate(patient?.birthDate, locale)],
      [pdfText('sex', locale), genderText(patient?.gender, locale)],
      [pdfText('iin', locale), iin],
      [pdfText('documentDate', locale), formatFhirDate(composition.date, locale)],
      [pdfText('documentId', locale), document.identifier?.value],
    ],
    shareLink: options.shareLink,
  });
  for (const section of composition.section ?? []) writer.section(section, locale, 0);
  writer.footers(generated ? pdfText('generatedAt', locale, { date: formatFhirDate(generated, locale) ?? generated }) : '');
  doc.end();
  return done;
}

/** The Composition's subject among the entries (by fullUrl or `Patient/id`), else the first Patient. */
function subjectOf(document: Bundle, composition: Composition): Patient | undefined {
  const reference = composition.subject?.reference;
  let first: Patient | undefined;
  for (const entry of document.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType !== 'Patient') continue;
    if (reference && (entry.fullUrl === reference || `Patient/${resource.id}` === reference || entry.fullUrl?.endsWith(`/${reference}`))) return resource;
    first ??= resource;
  }
  return first;
}

/** The official name (else the usual, else the first) as written: `text`, or its parts in order. */
function patientName(patient: Patient): string | undefined {
  const names = patient.name ?? [];
  const name: HumanName | undefined = names.find((n) => n.use === 'official') ?? names.find((n) => n.use === 'usual') ?? names[0];
  if (!name) return undefined;
  return name.text ?? ([...(name.prefix ?? []), ...(name.given ?? []), name.family, ...(name.suffix ?? [])].filter(Boolean).join(' ') || undefined);
}

/**
 * Column widths that add up to `total`: a column whose content fits in an equal share of what is
 * left gets just that, the others split the rest evenly but never below their longest word (so a
 * short code column is not wrapped to widen a long note). When even the longest words do not fit,
 * each column gets its share of the page by how long they are, and long words break.
 */
export function shareWidth(min: number[], max: number[], total: number): number[] {
  const sumMin = min.reduce((s, w) => s + w, 0);
  if (sumMin >= total) return min.map((w) => (w / sumMin) * total);
  const widths = Array<number | undefined>(min.length).fill(undefined);
  const settle = (wish: (i: number, share: number) => number | undefined): boolean => {
    const open = widths.flatMap((w, i) => (w === undefined ? [i] : []));
    const share = (total - widths.reduce<number>((s, w) => s + (w ?? 0), 0)) / open.length;
    let settled = false;
    for (const i of open) {
      widths[i] = wish(i, share);
      settled ||= widths[i] !== undefined;
    }
    return settled;
  };
  // Those whose longest word needs more than a share first, as they shrink the others' shares.
  while (widths.includes(undefined) && (settle((i, share) => (min[i]! > share ? min[i] : undefined)) || settle((i, share) => (max[i]! <= share ? max[i] : undefined))));
  const used = widths.reduce<number>((s, w) => s + (w ?? 0), 0);
  const open = widths.filter((w) => w === undefined).length;
  if (open > 0 && used < total) return widths.map((w) => w ?? (total - used) / open);
  // Everything fits unbroken (the table still spans the page), or the shares ran out: scale.
  return widths.map((w) => ((w ?? 0) * total) / used);
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/** A run of text measured once: its hard lines, each as words with their widths. */
interface Measured {
  lines: { words: string[]; widths: number[] }[];
  space: number;
}

/**
 * Lays the passport out top to bottom with its own cursor: its own line breaking lets a table row
 * be measured before it is drawn, moved whole to the next page under a repeated header, or split
 * by lines when it is taller than a page.
 */
class PassportWriter {
  private y = MARGIN.top;
  /** The fill colour last set on the current page. */
  private color: string | undefined;
  private readonly widthCache = new Map<string, Map<string, number>>();
  private readonly lineHeights = new Map<string, number>();

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly fonts: Record<FontName, PassportFont>,
    /** Printed atop every page after the first, so that a loose page still says whose it is. */
    private readonly running: string,
  ) {}

  private get left(): number {
    return MARGIN.left;
  }
  private get width(): number {
    return this.doc.page.width - MARGIN.left - MARGIN.right;
  }
  private get bottom(): number {
    return this.doc.page.height - MARGIN.bottom;
  }

  firstPage(): void {
    this.doc.addPage();
    this.color = undefined;
    this.y = MARGIN.top;
  }

  private newPage(): void {
    this.doc.addPage();
    this.color = undefined;
    const y = MARGIN.top - 24;
    this.draw(this.running, STYLE.small, this.left, y);
    this.rule(y + this.lineHeight(STYLE.small) + 1, RULE, 0.4);
    this.y = MARGIN.top;
  }

  /** Starts a new page unless `height` fits below the cursor; says whether it did. */
  private ensure(height: number): boolean {
    if (this.y + height <= this.bottom) return false;
    this.newPage();
    return true;
  }

  header(
    locale: Locale,
    content: { name?: string; facts: [string, string | undefined][]; shareLink?: PassportPdfOptions['shareLink'] },
  ): void {
    const top = this.y;
    const qr = content.shareLink ? this.qr(content.shareLink, locale, top) : { left: this.left + this.width, bottom: top };
    const width = qr.left - this.left;
    this.lines(this.wrap(pdfText('title', locale), STYLE.title, width), STYLE.title, this.left);
    this.lines(this.wrap(pdfText('subtitle', locale), STYLE.subtitle, width), STYLE.subtitle, this.left);
    this.y += 8;
    this.lines(this.wrap(content.name ?? '—', STYLE.name, width), STYLE.name, this.left);
    this.y += 3;
    const labelWidth = Math.min(width / 2, Math.max(...content.facts.map(([label]) => this.measure(label, STYLE.label))) + 10);
    for (const [label, value] of content.facts) {
      const lines = this.wrap(value ?? '—', STYLE.value, width - labelWidth);
      this.draw(label, STYLE.label, this.left, this.y);
      this.lines(lines, STYLE.value, this.left + labelWidth);
    }
    this.y = Math.max(this.y, qr.bottom) + 10;
    this.rule(this.y, RULE, 0.8);
    this.y += 12;
  }

  /**
   * The share link's QR code, drawn as vector squares in the top right corner with its caption
   * below. Returns where the text beside it must stop (clear of the code's quiet zone) and where
   * the caption ends.
   */
  private qr(link: NonNullable<PassportPdfOptions['shareLink']>, locale: Locale, top: number): { left: number; bottom: number } {
    const { modules } = QRCode.create(link.uri, { errorCorrectionLevel: 'M' });
    const n = modules.size;
    const module = QR_SIZE / n;
    // The quiet zone above and to the right lies in the page margin, which stays blank.
    const x0 = this.left + this.width - QR_SIZE;
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; ) {
        if (!modules.get(row, col)) {
          col++;
          continue;
        }
        const start = col;
        while (col < n && modules.get(row, col)) col++;
        this.doc.rect(x0 + start * module, top + row * module, (col - start) * module, module);
      }
    }
    this.fillColor('#000000').fill();
    const expires = formatFhirDate(link.expires, locale);
    const caption = [pdfText('scanToOpen', locale), expires && pdfText('validUntil', locale, { date: expires })].filter(Boolean).join('\n');
    let y = top + QR_SIZE + QR_QUIET_ZONE * module;
    const lh = this.lineHeight(STYLE.small);
    for (const line of this.wrap(caption, STYLE.small, QR_SIZE)) {
      this.draw(line, STYLE.small, x0 + (QR_SIZE - this.measure(line, STYLE.small)) / 2, y);
      y += lh;
    }
    return { left: x0 - QR_QUIET_ZONE * module - 6, bottom: y };
  }

  section(section: CompositionSection, locale: Locale, depth: number): void {
    const title = section.title ?? section.code?.text ?? section.code?.coding?.find((c) => c.display)?.display ?? pdfText('section', locale);
    const style = depth === 0 ? STYLE.section : STYLE.subsection;
    const titleLines = this.wrap(title, style, this.width);
    // Keeps a title with the first lines under it.
    this.ensure(titleLines.length * this.lineHeight(style) + 8 + 3 * this.lineHeight(STYLE.cell));
    if (depth === 0) this.doc.outline.addItem(title);
    this.y += depth === 0 ? 4 : 2;
    this.lines(titleLines, style, this.left);
    if (depth === 0) this.rule(this.y + 1, RULE, 0.6);
    this.y += 5;
    const blocks = section.text?.div ? narrativeBlocks(section.text.div) : [];
    if (blocks.length === 0 && !section.section?.length) this.paragraph(pdfText('noInformation', locale), STYLE.muted);
    for (const block of blocks) {
      if (block.kind === 'table') this.table(block, `${title} (${pdfText('continued', locale)})`);
      else this.paragraph(block.text, STYLE.body);
      this.y += 5;
    }
    for (const child of section.section ?? []) this.section(child, locale, depth + 1);
    this.y += 8;
  }

  private paragraph(text: string, style: Style): void {
    const lh = this.lineHeight(style);
    for (const line of this.wrap(text, style, this.width)) {
      this.ensure(lh);
      this.draw(line, style, this.left, this.y);
      this.y += lh;
    }
  }

  /**
   * A table at the page's width, its columns sized by {@link shareWidth}; a row that does
   * not fit moves to the next page, where the header rows are drawn again under a "continued"
   * line; a row taller than a whole page is split between pages by lines.
   */
  private table(table: NarrativeTable, continued: string): void {
    const widths = this.columnWidths(table);
    const xs = widths.reduce<number[]>((acc, w, i) => [...acc, acc[i]! + w], [this.left]);
    const cellLh = this.lineHeight(STYLE.cell);
    const layout = (row: string[], style: Style): string[][] => row.map((cell, i) => this.wrap(cell, style, widths[i]! - 2 * CELL_PAD.x));
    const header = table.header.map((row) => layout(row, STYLE.headCell));
    const rowHeight = (lines: string[][], from = 0): number => Math.max(1, ...lines.map((l) => l.length - from)) * cellLh + 2 * CELL_PAD.y;
    const headerHeight = header.reduce((sum, row) => sum + rowHeight(row), 0);
    const continuedHeight = this.lineHeight(STYLE.small) + 2;

    const drawHeader = (): void => {
      for (const row of header) this.drawRow(row, 0, rowHeight(row), xs, STYLE.headCell, HEADER_FILL);
    };
    const nextPage = (): void => {
      this.newPage();
      this.draw(continued, STYLE.small, this.left, this.y);
      this.y += continuedHeight;
      drawHeader();
    };

    const body = table.body.map((row) => layout(row, STYLE.cell));
    // The header never stands alone at the foot of a page.
    this.ensure(headerHeight + (body[0] ? Math.min(rowHeight(body[0]), cellLh * 2 + 2 * CELL_PAD.y) : 0));
    drawHeader();
    const roomOnFreshPage = this.bottom - MARGIN.top - continuedHeight - headerHeight;
    for (const lines of body) {
      let from = 0;
      for (;;) {
        const height = rowHeight(lines, from);
        if (this.y + height <= this.bottom) {
          this.drawRow(lines, from, height, xs, STYLE.cell);
          break;
        }
        const fit = Math.floor((this.bottom - this.y - 2 * CELL_PAD.y) / cellLh);
        if (height <= roomOnFreshPage || fit < 1) {
          nextPage();
          continue;
        }
        this.drawRow(lines.map((l) => l.slice(0, from + fit)), from, fit * cellLh + 2 * CELL_PAD.y, xs, STYLE.cell);
        from += fit;
        nextPage();
      }
    }
  }

  /** One row (or the part of it from line `from`): background, text, then its grid lines. */
  private drawRow(lines: string[][], from: number, height: number, xs: number[], style: Style, fill?: string): void {
    const top = this.y;
    const right = xs[xs.length - 1]!;
    if (fill) this.fillColor(fill).rect(this.left, top, right - this.left, height).fill();
    const lh = this.lineHeight(style);
    lines.forEach((cell, i) => {
      for (let l = from; l < cell.length; l++) this.draw(cell[l]!, style, xs[i]! + CELL_PAD.x, top + CELL_PAD.y + (l - from) * lh);
    });
    const doc = this.doc;
    doc.moveTo(this.left, top).lineTo(right, top).moveTo(this.left, top + height).lineTo(right, top + height);
    for (const x of xs) doc.moveTo(x, top).lineTo(x, top + height);
    doc.lineWidth(0.5).strokeColor(GRID).stroke();
    this.y = top + height;
  }

  /** Each column's narrowest (its longest word) and widest (its longest line unbroken) wish. */
  private columnWidths(table: NarrativeTable): number[] {
    const rows = [...table.header.map((r) => ({ r, style: STYLE.headCell })), ...table.body.map((r) => ({ r, style: STYLE.cell }))];
    const min = Array<number>(table.columns).fill(0);
    const max = Array<number>(table.columns).fill(0);
    for (const { r, style } of rows) {
      r.forEach((cell, i) => {
        const measured = this.measured(cell, style);
        for (const line of measured.lines) {
          let sum = measured.space * Math.max(0, line.words.length - 1);
          for (const w of line.widths) {
            min[i] = Math.max(min[i]!, w);
            sum += w;
          }
          max[i] = Math.max(max[i]!, sum);
        }
      });
    }
    const pad = 2 * CELL_PAD.x + 0.5;
    return shareWidth(
      min.map((w) => w + pad),
      max.map((w) => w + pad),
      this.width,
    );
  }

  /** Greedy line breaking at spaces; a word wider than the line is broken between characters. */
  private wrap(text: string, style: Style, width: number): string[] {
    const { lines: hard, space } = this.measured(text, style);
    const out: string[] = [];
    for (const { words, widths } of hard) {
      let line = '';
      let lineWidth = 0;
      words.forEach((word, i) => {
        const w = widths[i]!;
        if (line && lineWidth + space + w <= width) {
          line += ` ${word}`;
          lineWidth += space + w;
          return;
        }
        if (line) out.push(line);
        line = word;
        lineWidth = w;
        if (w <= width) return;
        line = '';
        lineWidth = 0;
        for (const char of word) {
          const cw = this.measure(char, style);
          if (line && lineWidth + cw > width) {
            out.push(line);
            line = '';
            lineWidth = 0;
          }
          line += char;
          lineWidth += cw;
        }
      });
      out.push(line);
    }
    return out;
  }

  private measured(text: string, style: Style): Measured {
    const lines = text.split('\n').map((line) => {
      const words = line.split(/[ \t\r\f]+/).filter(Boolean);
      return { words, widths: words.map((w) => this.measure(w, style)) };
    });
    return { lines, space: this.measure(' ', style) };
  }

  private measure(text: string, style: Style): number {
    const key = `${style.font}|${style.size}`;
    let cache = this.widthCache.get(key);
    if (!cache) this.widthCache.set(key, (cache = new Map()));
    let width = cache.get(text);
    if (width === undefined) {
      width = advanceWidth(this.fonts[style.font], text, style.size);
      cache.set(text, width);
    }
    return width;
  }

  private lineHeight(style: Style): number {
    const key = `${style.font}|${style.size}`;
    let height = this.lineHeights.get(key);
    if (height === undefined) {
      height = this.doc.font(style.font).fontSize(style.size).currentLineHeight(true);
      this.lineHeights.set(key, height);
    }
    return height;
  }

  private lines(lines: string[], style: Style, x: number): void {
    const lh = this.lineHeight(style);
    for (const line of lines) {
      this.draw(line, style, x, this.y);
      this.y += lh;
    }
  }

  private draw(text: string, style: Style, x: number, y: number): void {
    if (!text) return;
    this.fillColor(style.color).font(style.font).fontSize(style.size).text(text, x, y, { lineBreak: false });
  }

  /** Sets the fill colour unless it is already set on this page: pdfkit parses it on every call. */
  private fillColor(color: string): PDFKit.PDFDocument {
    if (this.color !== color) this.doc.fillColor(color);
    this.color = color;
    return this.doc;
  }

  private rule(y: number, color: string, width: number): void {
    this.doc.moveTo(this.left, y).lineTo(this.left + this.width, y).lineWidth(width).strokeColor(color).stroke();
  }

  /** The footer of every page: when the document was generated, and "n / N". */
  footers(generated: string): void {
    const { start, count } = this.doc.bufferedPageRange();
    for (let i = start; i < start + count; i++) {
      this.doc.switchToPage(i);
      this.color = undefined;
      const y = this.doc.page.height - MARGIN.bottom + 14;
      this.rule(y - 4, RULE, 0.4);
      this.draw(generated, STYLE.small, this.left, y);
      const page = `${i - start + 1} / ${count}`;
      this.draw(page, STYLE.small, this.left + this.width - this.measure(page, STYLE.small), y);
    }
  }
}
