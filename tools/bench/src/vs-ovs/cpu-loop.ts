/**
 * The machine's own speed at one moment: a fixed CPU-bound loop (integer arithmetic over a 1 MiB
 * table in L2, no allocation, no system call), best of 3, in ms. It involves neither switch, so
 * `cpu_loop_ms` beside a run's figures tells whether the machine (a shared VM) was slower than on
 * another day or between the two halves of one run. Why: on a day when a similar loop in C took
 * 10-15 % longer, both switches' RTT was several times its usual and tsvs's RTT lead was gone
 * (README, vs-OVS "run 6").
 */
import { round } from './workloads.js';

const TABLE = new Uint32Array(1 << 18);
const STEPS = 20_000_000;

export function cpuLoopMs(): number {
  let best = Infinity;
  let x = 1;
  for (let k = 0; k < 3; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < STEPS; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) | 0;
      TABLE[(x >>> 14) & 0x3ffff]! += x;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return round(best, 1);
}
