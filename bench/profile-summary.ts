/**
 * Where a .cpuprofile (V8 format, from serve-target's inspector or `node --cpu-prof`) spends its
 * time: self time by function and by file or package. Run on its own:
 * `npx tsx bench/profile-summary.ts .bench/profiles/postgres-read.cpuprofile`.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  /** Share of the non-idle samples, 0..1. */
  share: number;
  ms: number;
}

const ROOT = pathToFileURL(process.cwd()).href + '/';

/** `src/store/repository.ts`, `pg`, `fastify`, `@electric-sql/pglite`, or `node:internal/...`. */
function where(url: string): string {
  if (url === '') return '';
  const local = url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(local);
  if (packageMatch) return packageMatch[1]!;
  return local.replace(/^file:\/\//, '');
}

export async function summarizeProfile(file: string, top = 12): Promise<{ functions: HotSpot[]; files: HotSpot[]; busyMs: number }> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // The inspector's own work of stopping the profile is not the server's.
  const skipped = new Set<number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const skip = (node: ProfileNode) => {
    skipped.add(node.id);
    for (const child of node.children ?? []) skip(byId.get(child)!);
  };
  for (const node of profile.nodes) if (node.callFrame.url === 'node:inspector') skip(node);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || skipped.has(node.id)) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const file = where(url);
    const name = file ? `${file}:${functionName || '(anonymous)'}:${lineNumber + 1}` : functionName;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const fileKey = file || functionName;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, share: us / busy, ms: us / 1000 }));
  return { functions: rank(byFunction), files: rank(byFile), busyMs: busy / 1000 };
}

export function formatHotSpots(title: string, summary: { functions: HotSpot[]; files: HotSpot[]; busyMs: number }): string {
  const line = (h: HotSpot) => `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`;
  return [
    `${title} — ${Math.round(summary.busyMs)} ms on CPU (self time)`,
    ' by function:',
    ...summary.functions.map(line),
    ' by file or package:',
    ...summary.files.slice(0, 8).map(line),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of process.argv.slice(2)) console.log(formatHotSpots(file, await summarizeProfile(file)) + '\n');
}
