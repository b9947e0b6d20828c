import { Parser } from 'htmlparser2';

/** A table of the narrative: header rows (repeated on each page it spans) and body rows. */
export interface NarrativeTable {
  kind: 'table';
  header: string[][];
  body: string[][];
  /** The number of columns: the most cells in any row; shorter rows are padded with empty cells. */
  columns: number;
}

/** Running text; `\n` marks a hard line break. */
export interface NarrativeParagraph {
  kind: 'paragraph';
  text: string;
}

export type NarrativeBlock = NarrativeTable | NarrativeParagraph;

/** Elements after which text starts on a new line (https://hl7.org/fhir/R4/narrative.html#xhtml). */
const BLOCK = new Set(['p', 'div', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'hr', 'caption']);
/** Elements whose content is never shown. */
const HIDDEN = new Set(['script', 'style', 'head', 'title']);
/** C0 and C1 controls other than tab and line breaks: they have no glyph. */
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/**
 * The blocks a section's `text.div` shows, in reading order. The passport's IPS builder writes one
 * `<table>` (`thead` of `th`, `tbody` of `td`, plain text in each cell) or one `<p>`; anything
 * else a sender wrote (lists, nested tables, unknown or unclosed tags) is read leniently, as a
 * browser would, so that its text is still printed: blocks become paragraphs, a nested table's
 * text stays in its cell, and entities are decoded.
 */
export function narrativeBlocks(div: string): NarrativeBlock[] {
  const blocks: NarrativeBlock[] = [];
  let paragraph = '';
  let hidden = 0;
  let table: { header: string[][]; body: string[][]; inHead: boolean; row?: Row; cell?: string; depth: number } | undefined;

  const flushParagraph = (): void => {
    const text = tidy(paragraph);
    if (text) blocks.push({ kind: 'paragraph', text });
    paragraph = '';
  };
  const append = (text: string): void => {
    if (table?.cell !== undefined) table.cell += text;
    else paragraph += text;
  };
  const closeCell = (): void => {
    if (!table || table.cell === undefined) return;
    (table.row ??= { cells: [], headerOnly: false }).cells.push(tidy(table.cell));
    table.cell = undefined;
  };
  const closeRow = (): void => {
    if (!table) return;
    closeCell();
    const row = table.row;
    table.row = undefined;
    if (!row?.cells.length) return;
    // Without a thead, leading rows that the sender marked up as all-`th` are the header.
    if (table.inHead || (table.body.length === 0 && row.headerOnly)) table.header.push(row.cells);
    else table.body.push(row.cells);
  };

  const parser = new Parser(
    {
      onopentag(name) {
        if (HIDDEN.has(name)) hidden++;
        if (table && table.depth > 1) {
          if (name === 'table') table.depth++;
          append(name === 'br' || BLOCK.has(name) || name === 'tr' ? '\n' : ' ');
          return;
        }
        if (name === 'table') {
          if (table) {
            // A table in a cell (or in text around the cells): its text is kept in place.
            table.depth++;
            append(' ');
            return;
          }
          flushParagraph();
          table = { header: [], body: [], inHead: false, depth: 1 };
          return;
        }
        if (table) {
          if (name === 'thead') table.inHead = true;
          else if (name === 'tbody' || name === 'tfoot') table.inHead = false;
          if (name === 'tr') closeRow();
          else if (name === 'td' || name === 'th') {
            closeCell();
            table.row ??= { cells: [], headerOnly: true };
            if (name === 'td') table.row.headerOnly = false;
            table.cell = '';
          } else if (name === 'br' || BLOCK.has(name)) append('\n');
          return;
        }
        if (name === 'br') paragraph += '\n';
        else if (BLOCK.has(name) || name === 'tr') flushParagraph();
        else if (name === 'td' || name === 'th') paragraph += ' ';
        if (name === 'li') paragraph += '• ';
      },
      ontext(text) {
        if (hidden === 0) append(text);
      },
      onclosetag(name) {
        if (HIDDEN.has(name)) hidden = Math.max(0, hidden - 1);
        if (!table) {
          if (BLOCK.has(name)) flushParagraph();
          return;
        }
        if (name === 'table') {
          if (table.depth > 1) {
            table.depth--;
            append(' ');
            return;
          }
          closeRow();
          const { header, body } = table;
          table = undefined;
          // Text inside the table but outside its cells (a caption) is read before it.
          flushParagraph();
          const columns = [...header, ...body].reduce((most, r) => Math.max(most, r.length), 0);
          if (columns > 0) blocks.push({ kind: 'table', header: header.map((r) => pad(r, columns)), body: body.map((r) => pad(r, columns)), columns });
          return;
        }
        if (table.depth > 1) return;
        if (name === 'td' || name === 'th') closeCell();
        else if (name === 'tr') closeRow();
        else if (name === 'thead') {
          closeRow();
          table.inHead = false;
        }
      },
    },
    { decodeEntities: true, recognizeSelfClosing: true, recognizeCDATA: true },
  );
  // Ending closes whatever the sender left open, so an unclosed table is shown as far as it went.
  parser.end(div);
  flushParagraph();
  return blocks;
}

interface Row {
  cells: string[];
  /** Every cell so far is a `th`. */
  headerOnly: boolean;
}

/** Whitespace collapsed as HTML renders it; hard breaks (`\n`) kept, without spaces around them. */
function tidy(text: string): string {
  return text
    .replace(CONTROLS, '')
    .split('\n')
    .map((line) => line.replace(/[ \t\r\f]+/g, ' ').trim())
    .join('\n')
    .replace(/^\n+|\n+$/g, '')
    .replace(/\n{3,}/g, '\n\n');
}

function pad(row: string[], columns: number): string[] {
  return row.length === columns ? row : [...row, ...Array<string>(columns - row.length).fill('')];
}
