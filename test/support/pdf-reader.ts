import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

const run = promisify(execFile);
// jsqr is CommonJS (`module.exports = jsQR`), typed as an ES module with a default export.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/**
 * PDFs are read back with poppler, as a reader's viewer would: pdftotext for the text, pdfinfo
 * for the page size, pdffonts for embedding, pdftoppm to rasterize a QR code. CI installs
 * poppler-utils (.ci/run); on a machine without it every PDF is still rendered, and the reading
 * back is skipped with the reason, rather than done by a second, JavaScript PDF reader (pdfjs-dist,
 * a large dependency) whose text extraction would have to be kept in step with poppler's.
 */
const POPPLER = ['pdftotext', 'pdfinfo', 'pdffonts', 'pdftoppm'];
const missing = POPPLER.filter((tool) => spawnSync(tool, ['-v']).error);

/** Whether a PDF can be read back here; if not, the test (having rendered it) is marked skipped. */
export function canReadBack(t: TestContext): boolean {
  if (missing.length) t.skip(`poppler-utils is not installed (no ${missing.join(', ')}): apt-get install poppler-utils`);
  return missing.length === 0;
}

/** Runs one of poppler's tools and gives its standard output. */
export async function poppler(tool: string, args: string[]): Promise<string> {
  return (await run(tool, args, { maxBuffer: 64 << 20 })).stdout;
}

/** The text as laid out on the page (`-layout`) or in the order it was written (`-raw`); pages end with a form feed. */
export function pdfText(file: string, mode: '-layout' | '-raw'): Promise<string> {
  return poppler('pdftotext', [mode, '-enc', 'UTF-8', file, '-']);
}

/**
 * Whitespace folded to single spaces. Phrases are looked for in the `-raw` text, where a line
 * wrapped in its cell reads on; `-layout` guesses spaces from gaps and drops narrow ones.
 */
export const squeeze = (text: string): string => text.replace(/\s+/g, ' ');

/**
 * The QR code in the top right corner of the first page, rasterized at 200 dpi and decoded as a
 * phone's camera would (the printed passport puts it there, 104 pt from the right margin).
 */
export async function firstPageQrCode(file: string): Promise<string | undefined> {
  const png = `${file}-qr`;
  await run('pdftoppm', ['-r', '200', '-f', '1', '-l', '1', '-x', '1100', '-y', '60', '-W', '550', '-H', '450', '-png', '-singlefile', file, png]);
  const image = PNG.sync.read(await readFile(`${png}.png`));
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height)?.data;
}
