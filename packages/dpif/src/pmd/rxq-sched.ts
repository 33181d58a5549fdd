/**
 * Rxq to PMD assignment (OVS lib/dpif-netdev.c sched_numa_list_schedule, `pmd-rxq-assign`):
 *  - roundrobin: rxqs in port-number then queue-id order go to the PMDs in id order, cycling;
 *  - cycles: rxqs sorted by their measured processing time (last 60 s, most first) go to the PMDs
 *    in id order up then down (0,1,2,2,1,0,0,1,...), so the busiest are spread out;
 *  - group: rxqs sorted the same way each go to the PMD with the least time assigned so far
 *    (ties: fewer rxqs, then lower id).
 * Pure functions of their inputs (tested without threads).
 */
import type { RxqAssign } from '../dpif.js';

/** An rxq to place. */
export interface RxqLoad {
  readonly portNo: number;
  readonly rxq: number;
  /** Processing ns over the measured intervals (0 when unknown). */
  readonly procNs: number;
}

/** Returns the PMD id for each rxq, in the order of `rxqs`. `pmdIds` must not be empty. */
export function assignRxqs(rxqs: readonly RxqLoad[], pmdIds: readonly number[], algo: RxqAssign): number[] {
  if (pmdIds.length === 0) throw new RangeError('assignRxqs: no PMD threads');
  const pmds = [...pmdIds].sort((a, b) => a - b);
  const order = rxqs.map((_, i) => i);
  const byPort = (a: number, b: number): number => rxqs[a]!.portNo - rxqs[b]!.portNo || rxqs[a]!.rxq - rxqs[b]!.rxq;
  if (algo === 'roundrobin') order.sort(byPort);
  else order.sort((a, b) => rxqs[b]!.procNs - rxqs[a]!.procNs || byPort(a, b));
  const out = new Array<number>(rxqs.length);
  if (algo === 'group') {
    const load = new Map(pmds.map((p) => [p, 0]));
    const count = new Map(pmds.map((p) => [p, 0]));
    for (const i of order) {
      let best = pmds[0]!;
      for (const p of pmds) {
        const d = load.get(p)! - load.get(best)! || count.get(p)! - count.get(best)!;
        if (d < 0) best = p;
      }
      out[i] = best;
      load.set(best, load.get(best)! + rxqs[i]!.procNs);
      count.set(best, count.get(best)! + 1);
    }
    return out;
  }
  const n = pmds.length;
  order.forEach((i, k) => {
    if (algo === 'roundrobin') out[i] = pmds[k % n]!;
    else {
      const round = Math.floor(k / n), pos = k % n;
      out[i] = pmds[round % 2 === 0 ? pos : n - 1 - pos]!;
    }
  });
  return out;
}
