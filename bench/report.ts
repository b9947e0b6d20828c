import type { Measurement } from './load.js';

export interface ScenarioResult {
  name: string;
  label: string;
  measurement: Measurement;
  /** Throughput over the bare route's, for HTTP request scenarios. */
  ratio?: number;
  target?: string;
  met?: boolean;
  /** Medplum's figure on the same machine, when there is one. */
  medplum?: number;
}

/**
 * The issue's targets (set for real PostgreSQL on 2 cores) and Medplum's figures on this
 * machine: read 1,190/s (p50 7 ms), create 260/s, bundle load 250 resources/s.
 */
const GOALS: Record<string, { text: string; met: (m: Measurement, bare: Measurement) => boolean; medplum?: number }> = {
  read: {
    text: '≥40% bare, ≥4,000/s, p99<10ms',
    met: (m, bare) => m.throughput >= 0.4 * bare.throughput && m.throughput >= 4000 && m.p99 < 10,
    medplum: 1190,
  },
  create: { text: '≥1,500/s', met: (m) => m.throughput >= 1500, medplum: 260 },
  // The write-path issue (12) tightened these two: 0.5 s → 0.2 s, 3,000 → 4,000 resources/s.
  transaction500: { text: 'commit ≤0.2 s (median)', met: (m) => (m.medianMs ?? Infinity) <= 200 },
  syntheaSequential: { text: '≥3,000 resources/s', met: (m) => m.throughput >= 3000, medplum: 250 },
  syntheaParallel: { text: '≥4,000 resources/s', met: (m) => m.throughput >= 4000, medplum: 250 },
};

/** Adds the ratio to the bare route, the target and whether it was met. */
export function judge(name: string, label: string, measurement: Measurement, bare: Measurement | undefined): ScenarioResult {
  const goal = GOALS[name];
  const result: ScenarioResult = { name, label, measurement };
  if (bare && measurement.unit === 'req/s') result.ratio = measurement.throughput / bare.throughput;
  if (goal) {
    result.target = goal.text;
    result.medplum = goal.medplum;
    if (bare || name !== 'read') result.met = measurement.errors === 0 && goal.met(measurement, bare ?? measurement);
  }
  return result;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? integer.format(value) : value.toFixed(value >= 10 ? 1 : 2);
}

/** A plain-text table, one row per scenario. */
export function formatTable(title: string, results: ScenarioResult[]): string {
  const header = ['scenario', 'throughput', 'p50 ms', 'p95 ms', 'p99 ms', 'CPU µs server + PG per req. or resource', 'vs bare', 'errors', 'target', 'met?', 'vs Medplum'];
  const rows = results.map((r) => {
    const m = r.measurement;
    return [
      r.label,
      `${integer.format(m.throughput)} ${m.unit}`,
      ms(m.p50),
      ms(m.p95),
      ms(m.p99),
      m.cpu ? `${integer.format(m.cpu.serverUs)} + ${m.cpu.databaseUs === undefined ? '—' : integer.format(m.cpu.databaseUs)}` : '—',
      r.ratio === undefined ? '—' : `${(r.ratio * 100).toFixed(0)}%`,
      m.errors === 0 ? '0' : `${m.errors}${m.firstErrorStatus ? ` (${m.firstErrorStatus})` : ''}`,
      r.target ?? '',
      r.met === undefined ? '' : r.met ? 'yes' : 'NO',
      r.medplum ? `${(m.throughput / r.medplum).toFixed(1)}×` : '',
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6, 7, 10]);
  const line = (cells: string[]) => cells.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
