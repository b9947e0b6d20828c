/** One stage of bench/bulk-run.ts, in a process of its own; prints its result as the last line. */
import { importAccess } from '../src/access/door.js';
import { exportToDirectory } from '../src/bulk/export.js';
import { importFiles, ndjsonFiles } from '../src/bulk/import.js';
import { openDatabase } from '../src/store/open.js';
import { Repository } from '../src/store/repository.js';
import { generatePopulation } from '../src/synth/population.js';

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);

async function timed(work: () => Promise<{ resources: number; detail?: Record<string, number> }>) {
  const started = performance.now();
  const { resources, detail } = await work();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { resources, seconds, peakRssMb: Math.round(peak / 2 ** 20), detail };
}

const [name, json] = process.argv.slice(2) as [string, string];
const args = JSON.parse(json) as Record<string, string>;
let result;
switch (name) {
  case 'generate':
    result = await timed(async () => ({ resources: (await generatePopulation({ patients: Number(args.patients), seed: 1, outDir: args.out! })).resources }));
    break;
  case 'import': {
    const db = await openDatabase({ databaseUrl: args.url });
    result = await timed(async () => {
      const progress = await importFiles(await ndjsonFiles(args.from!), { repo: new Repository(db, importAccess()), onRejected: () => undefined });
      return { resources: progress.written, detail: { ...progress } };
    });
    await db.close();
    break;
  }
  case 'export': {
    const db = await openDatabase({ databaseUrl: args.url });
    result = await timed(async () => {
      return { resources: (await exportToDirectory({ db, outDir: args.out! })).resources };
    });
    await db.close();
    break;
  }
  default:
    throw new Error(`unknown stage ${name}`);
}
console.log(JSON.stringify(result));
