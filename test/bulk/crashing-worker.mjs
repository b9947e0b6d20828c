// A bulk-load worker that prepares its first batch like the real one, then throws: for the test of a worker's crash.
import { register } from 'tsx/esm/api';

register();
const { parentPort } = await import('node:worker_threads');
const { prepareLine } = await import('../../src/bulk/prepare-line.ts');
parentPort.on('message', ({ job, lines }) => {
  if (job > 0) throw new Error('a fault inside the worker');
  parentPort.postMessage({ job, results: lines.map(([line, text]) => prepareLine(text, line)) });
});
