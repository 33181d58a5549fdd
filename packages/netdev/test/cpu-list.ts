/**
 * CPU lists as /proc/PID/task/TID/status prints them (Cpus_allowed_list, proc(5)): "0-3,6". For the
 * tests of cpuAffinity and of the PMD that uses it (packages/dpif, test/system).
 */
import { readFileSync } from 'node:fs';

/** The calling thread's Cpus_allowed_list. */
export const ownCpuList = (): string => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))![1]!;

/** The CPUs of a Cpus_allowed_list ("0-3,6" -> [0, 1, 2, 3, 6]). */
export const cpusOf = (list: string): number[] => list.split(',').flatMap((r) => {
  const [a, b] = r.split('-').map(Number);
  return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
});

/** The Cpus_allowed_list of `cpus` (sorted): runs of consecutive CPUs as ranges, comma-separated. */
export const listOf = (cpus: number[]): string => cpus.reduce<number[][]>((rs, c) => {
  const last = rs[rs.length - 1];
  if (last && last[1]! + 1 === c) last[1] = c;
  else rs.push([c, c]);
  return rs;
}, []).map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
