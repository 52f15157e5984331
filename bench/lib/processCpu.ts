/**
 * CPU time of server processes, for benchmarks on a shared machine: throughput moves with what else runs,
 * CPU seconds per unit of work much less. Linux only (/proc); elsewhere every figure is NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; own: number; reaped: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields 4 (ppid), 14–17 (utime, stime, cutime, cstime), counted from 1; f[0] is field 3
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by each of `pids`, its live children and the children it has reaped (a
 * PostgreSQL postmaster's backends, for instance).
 */
export function cpuSeconds(pids: number[]): number {
  if (process.platform !== 'linux') return NaN;
  const roots = new Set(pids);
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const s = stat(pid);
    if (!s) continue;
    if (roots.has(pid)) ticks += s.own + s.reaped;
    else if (roots.has(s.ppid)) ticks += s.own;
  }
  return ticks / TICKS_PER_S;
}

/** This process's children whose command line contains `text` (e.g. the postmaster a test helper started). */
export function childrenRunning(text: string): number[] {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (stat(pid)?.ppid !== process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) found.push(pid);
    } catch {
      /* gone */
    }
  }
  return found;
}
