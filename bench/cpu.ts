/**
 * CPU time used by processes, from /proc (Linux), to say which process a request's cost lands
 * in: the Node server, or the PostgreSQL server's processes. Elsewhere (or for a server on
 * another host) the readings are undefined and the tables show "—".
 */
import { readFile, readdir } from 'node:fs/promises';

/** USER_HZ: the unit of /proc's CPU times, 100 on every Linux ABI Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime, and cutime + cstime (children already reaped), in ms. */
  ownMs: number;
  reapedMs: number;
}

async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = (i: number) => Number(fields[i - 3]);
    return { ppid: ticks(4), ownMs: ((ticks(14) + ticks(15)) * 1000) / TICKS_PER_SECOND, reapedMs: ((ticks(16) + ticks(17)) * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** CPU ms one process has used so far. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  return (await procStat(pid))?.ownMs;
}

/** The postmaster of the backend `backendPid` (from `SELECT pg_backend_pid()`), if it runs on this host. */
export async function postmasterOf(backendPid: number): Promise<number | undefined> {
  const backend = await procStat(backendPid);
  return backend && backend.ppid > 1 ? backend.ppid : undefined;
}

/** CPU ms a PostgreSQL server has used so far: the postmaster, its live processes, and those that exited. */
export async function serverCpuMs(postmaster: number): Promise<number | undefined> {
  const root = await procStat(postmaster);
  if (!root) return undefined;
  let total = root.ownMs + root.reapedMs;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await procStat(Number(name));
    if (stat?.ppid === postmaster) total += stat.ownMs;
  }
  return total;
}
