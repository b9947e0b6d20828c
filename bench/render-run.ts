/**
 * Rendered-frame speed per transfer syntax (issue #18's target: a rendered JPEG of a 512×512
 * 16-bit CT frame in 10 ms or less): the median and 95th percentile of `renderFrame` over the
 * whole Part 10 file in memory, as the /rendered route calls it. `tsx bench/render-run.ts [runs]`.
 */
import { renderFrame, thumbnail } from '../src/imaging/pixels/index.js';
import { dicomInstance } from '../src/synth/dicom-instances.js';
import { encode, type Syntax } from '../test/support/dicom-syntaxes.js';
import { percentile } from './load.js';

const runs = Number(process.argv[2] ?? 40);
/** A CT-like frame: a disc of soft tissue in air, with noise, in 12 of 16 bits. */
const ct = dicomInstance({
  rows: 512,
  columns: 512,
  pixel: (_f, r, c) => {
    const inside = (r - 256) ** 2 + (c - 256) ** 2 < 200 ** 2;
    return (inside ? 1040 : 24) + ((r * 7919 + c * 104729) % 61);
  },
  attributes: { WindowCenter: 1064, WindowWidth: 400, RescaleIntercept: -1024, RescaleSlope: 1 },
});
const grey8 = dicomInstance({ rows: 512, columns: 512, bitsAllocated: 8, pixel: (_f, r, c) => (r + c) % 256 });

const cases: [string, Buffer][] = [['explicit-little-endian', ct]];
for (const syntax of ['rle', 'jpeg-lossless-sv1', 'jpeg-ls', 'jpeg2000-lossless', 'jpeg2000'] as Syntax[]) cases.push([syntax, encode(ct, syntax)]);
cases.push(['jpeg-baseline (8-bit)', encode(grey8, 'jpeg-baseline')]);

console.log(`| syntax (512×512) | file KB | JPEG median ms | JPEG p95 ms | PNG median ms | thumbnail median ms |`);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, file] of cases) {
  const time = async (render: () => Promise<unknown>) => {
    for (let i = 0; i < 5; i++) await render();
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await render();
      ms.push(performance.now() - start);
    }
    return ms.sort((a, b) => a - b);
  };
  const jpeg = await time(() => renderFrame(file, 1, { mediaType: 'image/jpeg' }));
  const png = await time(() => renderFrame(file, 1, { mediaType: 'image/png' }));
  const small = await time(() => thumbnail(file));
  const cells = [percentile(jpeg, 0.5), percentile(jpeg, 0.95), percentile(png, 0.5), percentile(small, 0.5)].map((ms) => ms.toFixed(1));
  console.log(`| ${name} | ${Math.round(file.length / 1024)} | ${cells.join(' | ')} |`);
}
