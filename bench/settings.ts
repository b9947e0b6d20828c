/** Where benchmarks write their JSON results (ignored by git). */
export const OUT_DIR = '.bench';

/** A non-negative integer setting from the environment, or its default. */
export function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not "${text}"`);
  return value;
}
