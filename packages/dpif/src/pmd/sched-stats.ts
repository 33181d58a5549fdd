/**
 * Per-rxq and per-PMD processing time in intervals, for `pmd-rxq-show` and the `cycles`/`group`
 * rxq assignment (OVS dp_netdev_rxq cycles_intrvl / pmd busy_cycles_intrvl, PMD_INTERVAL_LEN 5 s,
 * PMD_INTERVAL_MAX 12).
 *
 * Layout: one Float64Array over a SharedArrayBuffer, slots of 32 doubles (256 bytes, four lines):
 *   rxq slot r (0 <= r < maxRxqs) at r * 16, written by the PMD that polls the rxq:
 *     [0] ns spent processing the rxq in the current interval, [1] index of the next interval
 *     to write (0..11), [2..13] ns per past interval (a ring)
 *   PMD slot p at (maxRxqs + p) * 16, written by PMD p:
 *     [0] total ns of the last complete interval, [1] next interval index, [2..13] busy ns per
 *     past interval, [14] start of the current interval (datapath clock, ms), [15] busy ns in the
 *     current interval, [16] the time `rotate` closes the interval at (written just before it)
 * An rxq's slot stays with the rxq when it moves to another PMD (the handover orders the writes).
 */

export const SCHED_SLOT = 32;
export const PMD_INTERVAL_MS = 5000;
export const PMD_INTERVAL_MAX = 12;
const S_CUR = 0, S_IDX = 1, S_RING = 2, P_START = 14, P_BUSY = 15, P_NOW = 16;
/** Word offsets for writers that update the arrays inline (the PMD loop). */
export const SCHED_CUR = S_CUR;
export const SCHED_P_BUSY = P_BUSY;
export const SCHED_P_NOW = P_NOW;

export class SchedStats {
  readonly f64: Float64Array;
  constructor(readonly sab: SharedArrayBuffer, readonly maxRxqs: number) {
    this.f64 = new Float64Array(sab);
  }

  static create(maxRxqs: number, maxPmds: number): SchedStats {
    return new SchedStats(new SharedArrayBuffer((maxRxqs + maxPmds) * SCHED_SLOT * 8), maxRxqs);
  }

  rxqBase(slot: number): number {
    return slot * SCHED_SLOT;
  }

  pmdBase(pmdId: number): number {
    return (this.maxRxqs + pmdId) * SCHED_SLOT;
  }

  /** Writer (the rxq's PMD): adds processing ns to the rxq's current interval. */
  rxqAdd(slot: number, ns: number): void {
    this.f64[slot * SCHED_SLOT + S_CUR] += ns;
  }

  /** Writer (PMD p): adds busy ns to the PMD's current interval. */
  pmdAddBusy(pmdId: number, ns: number): void {
    this.f64[(this.maxRxqs + pmdId) * SCHED_SLOT + P_BUSY] += ns;
  }

  /** Writer (PMD p): starts the interval clock (at PMD start). */
  pmdStart(pmdId: number, nowMs: number): void {
    const b = this.pmdBase(pmdId);
    this.f64.fill(0, b, b + SCHED_SLOT);
    this.f64[b + P_START] = nowMs;
  }

  /** Writer (PMD p): the ms at which the current interval ends. */
  pmdIntervalEnd(pmdId: number): number {
    return this.f64[this.pmdBase(pmdId) + P_START]! + PMD_INTERVAL_MS;
  }

  /**
   * Writer (PMD p): closes the current interval of the PMD and of its rxqs `slots[0..n)` at the
   * time stored in the PMD slot's word SCHED_P_NOW (a typed-array write rather than a double
   * argument, which would be boxed). Allocates nothing.
   */
  rotate(pmdId: number, slots: Int32Array, n: number): void {
    const f = this.f64;
    const nowMs = f[this.pmdBase(pmdId) + P_NOW]!;
    for (let i = 0; i < n; i++) {
      const b = slots[i]! * SCHED_SLOT;
      const idx = f[b + S_IDX]!;
      f[b + S_RING + idx] = f[b + S_CUR]!;
      f[b + S_IDX] = idx + 1 === PMD_INTERVAL_MAX ? 0 : idx + 1;
      f[b + S_CUR] = 0;
    }
    const b = this.pmdBase(pmdId);
    f[b + S_CUR] = (nowMs - f[b + P_START]!) * 1e6;
    const idx = f[b + S_IDX]!;
    f[b + S_RING + idx] = f[b + P_BUSY]!;
    f[b + S_IDX] = idx + 1 === PMD_INTERVAL_MAX ? 0 : idx + 1;
    f[b + P_BUSY] = 0;
    f[b + P_START] = nowMs;
  }

  /** Reader: sum of the last `intervals` intervals of rxq slot `slot`. */
  rxqIntervals(slot: number, intervals = PMD_INTERVAL_MAX): number {
    return this.ringSum(this.rxqBase(slot), intervals);
  }

  /** Reader: clears an rxq slot (a new rxq). */
  rxqReset(slot: number): void {
    const b = this.rxqBase(slot);
    this.f64.fill(0, b, b + SCHED_SLOT);
  }

  /** Reader: (total ns of the last interval x intervals, busy ns over the last `intervals`). */
  pmdIntervals(pmdId: number, intervals = PMD_INTERVAL_MAX): { totalNs: number; busyNs: number } {
    const b = this.pmdBase(pmdId);
    return { totalNs: this.f64[b + S_CUR]! * intervals, busyNs: this.ringSum(b, intervals) };
  }

  private ringSum(b: number, intervals: number): number {
    const f = this.f64;
    let idx = f[b + S_IDX]!, s = 0;
    for (let i = 0; i < intervals && i < PMD_INTERVAL_MAX; i++) {
      idx = idx === 0 ? PMD_INTERVAL_MAX - 1 : idx - 1;
      s += f[b + S_RING + idx]!;
    }
    return s;
  }
}
