/**
 * Whether a process is running. A zombie (exited, not yet reaped: state Z in /proc/PID/stat) counts as
 * not running: a detached daemon is re-parented to PID 1, which on some machines (containers, micro-VMs)
 * never reaps it.
 */
import { readFileSync } from 'node:fs';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Format: "pid (comm) state ..."; comm may contain spaces and parentheses, so split after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
