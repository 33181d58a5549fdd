/**
 * The clock thread (see dp-clock.ts): writes the datapath clock into shared memory every
 * `periodMs` while a PMD is awake, sleeps on the awake count otherwise (until a PMD that stays
 * awake notifies it, or 1 s).
 */
import { threadId, workerData } from 'node:worker_threads';
import { nameThread } from '@tsvs/netdev/system/thread-name'; // not the package index: this thread loads nothing else
import { CLK_AWAKE, CLK_NOW_F64, CLK_STOP, CLK_TICK } from './dp-clock.js';

nameThread(`dp_clock${threadId}`);

const { sab, periodMs } = workerData as { sab: SharedArrayBuffer; periodMs: number };
const i32 = new Int32Array(sab);
const f64 = new Float64Array(sab);
const origin = performance.timeOrigin;

for (;;) {
  f64[CLK_NOW_F64] = origin + performance.now();
  if (Atomics.load(i32, CLK_STOP) !== 0) break;
  if (Atomics.load(i32, CLK_AWAKE) <= 0) Atomics.wait(i32, CLK_AWAKE, Atomics.load(i32, CLK_AWAKE), 1000);
  else Atomics.wait(i32, CLK_TICK, 0, periodMs);
}
