/**
 * Names the calling thread, as Open vSwitch names its own (lib/ovs-thread.c: the kind and a
 * process-wide thread serial, "handler4", "revalidator5"; PMDs "pmd-c00/id:7"), so that top -H,
 * ps -L, perf and /proc/PID/task/TID/comm tell tsvs's threads apart; Node leaves every worker
 * named after the process.
 */
import { nativeNetdev } from './addon.js';

/**
 * prctl(PR_SET_NAME) for the calling thread, cut to 15 bytes. Returns false, and changes nothing,
 * where the addon is not built or the call fails: a name is for operators, never a reason to fail.
 */
export function nameThread(name: string): boolean {
  try {
    return nativeNetdev().threadName(name) === 0;
  } catch {
    return false;
  }
}
