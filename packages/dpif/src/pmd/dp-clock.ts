/**
 * The datapath clock shared by all threads, read without allocating.
 *
 * Why: on Node 20 every clock (performance.now, Date.now, process.hrtime) returns a freshly boxed
 * heap number or array, 16 bytes or more per call; a PMD that read one per burst would allocate
 * per packet. So a clock thread (clock-worker.ts) writes the time into shared memory and PMDs
 * read a Float64Array element. The thread ticks every `periodMs` (default 1 ms) while at least one
 * PMD is awake and sleeps otherwise; a PMD reads the real clock itself (allocating) only when it
 * wakes up and before it sleeps, where the shared value may be stale.
 *
 * Waking the clock thread is lazy: a PMD counts itself awake (CLK_AWAKE) at once but notifies the
 * clock thread only once it has stayed awake for a while (pmd-loop.ts CLOCK_KICK_CALLS, at least
 * 64 loop iterations). A PMD that wakes for a ping and sleeps again some 20 µs later runs on the
 * time it read when it woke; it costs neither a futex wake-up on its way to the packet nor a
 * second thread scheduled next to it (measured with `perf trace` on a PMD: one Atomics.notify per
 * wake, i.e. pthread_cond_signal plus V8's futex-emulation mutex, before the first recvmmsg).
 *
 * Layout (SharedArrayBuffer of 128 bytes):
 *   Float64 [0]: now, datapath clock ms (`dpNowMs()`, epoch based), written by the clock thread
 *   Int32  [16]: PMDs awake (each adds 1 when it wakes, subtracts 1 before it sleeps); the clock
 *                thread sleeps on this word while it is 0, until a PMD that stays awake notifies it
 *   Int32  [17]: stop flag
 *   Int32  [18]: tick wait word (never changed; the clock thread times out on it)
 */
import { Worker } from 'node:worker_threads';
import { watchWorker } from '@tsvs/shm';

export const CLK_NOW_F64 = 0;
export const CLK_AWAKE = 16;
export const CLK_STOP = 17;
export const CLK_TICK = 18;
export const CLOCK_BYTES = 128;

const WORKER_URL = new URL('./clock-worker.js', import.meta.url);

/** The clock thread, owned by the datapath. */
export class DpClock {
  readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly worker: Worker;
  private readonly exited: Promise<number>;

  private constructor(periodMs: number) {
    this.sab = new SharedArrayBuffer(CLOCK_BYTES);
    this.i32 = new Int32Array(this.sab);
    this.f64 = new Float64Array(this.sab);
    this.f64[CLK_NOW_F64] = performance.timeOrigin + performance.now();
    this.worker = watchWorker(new Worker(WORKER_URL, { workerData: { sab: this.sab, periodMs } }));
    this.worker.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
  }

  /** Starts the clock thread (tick period in ms, default 1). */
  static start(periodMs = 1): DpClock {
    return new DpClock(periodMs);
  }

  /** The shared clock value (ms). */
  now(): number {
    return this.f64[CLK_NOW_F64]!;
  }

  /** Stops the clock thread. */
  async stop(): Promise<void> {
    Atomics.store(this.i32, CLK_STOP, 1);
    Atomics.notify(this.i32, CLK_AWAKE);
    Atomics.notify(this.i32, CLK_TICK);
    const t = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(t);
  }
}
