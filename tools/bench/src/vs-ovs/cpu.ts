/**
 * CPU time of a process (all its threads) from /proc/PID/stat: utime + stime, fields 14 and 15,
 * in clock ticks (USER_HZ, 100 on Linux: `getconf CLK_TCK`), returned in seconds.
 * Throws BenchError when the process is gone.
 */
import { readFileSync } from 'node:fs';
import { BenchError } from './proc.js';

const USER_HZ = 100;

export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    throw new BenchError(`process ${pid} is gone (no /proc/${pid}/stat)`);
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14 -> f[11], stime field 15 -> f[12].
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}
