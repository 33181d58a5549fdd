/**
 * Default thread counts, computed from the machine as Open vSwitch 3.1 does.
 *
 * Handlers and revalidators: ofproto/ofproto.c ofproto_set_threads() with n-handler-threads and
 * n-revalidator-threads from ovs-vswitchd.conf.db(5) (0 / unset = automatic):
 *   threads = max(count_cpu_cores(), 2)
 *   revalidators = handlers set ? max(threads - handlers, 1) : threads / 4 + 1   (integer division)
 *   handlers     = max(threads - revalidators, 1)
 * PMD threads: with no pmd-cpu-mask, dpif-netdev creates one PMD thread per NUMA node
 * (ovs-vswitchd.conf.db(5), other_config:pmd-cpu-mask).
 * On this project's 2-core, 1-NUMA-node machines: pmd 1, handler 1, revalidator 1.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ThreadCounts } from '@tsvs/control';

/** Configured counts; null means "automatic". */
export interface ConfiguredThreads {
  pmd: number | null;
  handler: number | null;
  revalidator: number | null;
}

export interface MachineShape {
  /** CPU cores this process may run on (count_cpu_cores() honours the affinity mask, as does availableParallelism). */
  cpuCores: number;
  numaNodes: number;
}

/** NUMA nodes from /sys/devices/system/node (1 when it cannot be read). */
export function countNumaNodes(): number {
  try {
    const n = readdirSync('/sys/devices/system/node').filter((e) => /^node\d+$/.test(e)).length;
    return n > 0 ? n : 1;
  } catch {
    return 1;
  }
}

export function machineShape(): MachineShape {
  return { cpuCores: availableParallelism(), numaNodes: countNumaNodes() };
}

/** Effective counts: configured ones as given, the others by the OVS formulas above. */
export function resolveThreadCounts(configured: ConfiguredThreads, machine: MachineShape = machineShape()): ThreadCounts {
  const threads = Math.max(machine.cpuCores, 2);
  let handler = configured.handler ?? 0;
  let revalidator = configured.revalidator ?? 0;
  if (!revalidator) revalidator = handler ? Math.max(threads - handler, 1) : Math.floor(threads / 4) + 1;
  if (!handler) handler = Math.max(threads - revalidator, 1);
  const pmd = configured.pmd ?? Math.max(machine.numaNodes, 1);
  return { pmd, handler, revalidator };
}
