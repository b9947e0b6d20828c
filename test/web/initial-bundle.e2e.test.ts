import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

const DIST = resolve(import.meta.dirname, '../../web/dist');
/** Issue 15: the JavaScript a phone loads before the first screen, gzipped. */
const BUDGET = 250 * 1024;

/** The scripts index.html loads or preloads, and the modules they import statically (not the lazy screens). */
async function initialScripts(): Promise<string[]> {
  const html = await readFile(join(DIST, 'index.html'), 'utf8');
  const queue = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+\.js)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = await readFile(join(DIST, file), 'utf8');
    for (const m of code.matchAll(/(?:^|[;}\n])\s*import\s*(?:[^'"()]*?from\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(`assets/${m[1]!}`);
  }
  return [...seen];
}

describe('the built citizen app', () => {
  it(`loads under ${BUDGET / 1024} KB of gzipped JavaScript before the first screen`, async () => {
    const files = await initialScripts();
    assert.ok(files.length > 0, 'index.html loads a script');
    let total = 0;
    for (const file of files) total += gzipSync(await readFile(join(DIST, file))).length;
    assert.ok(total < BUDGET, `initial JavaScript is ${(total / 1024).toFixed(1)} KB gzipped (${files.join(', ')})`);
  });
});
