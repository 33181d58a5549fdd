import { I32_PER_LINE } from './layout.js';

/**
 * A bank of doorbells: one wait word per sleeping consumer thread (a PMD, a handler), which any
 * number of producers ring. A consumer that polls many queues (a PMD with several rxqs, a handler
 * with several upcall queues) can only `Atomics.wait` on one address, so the queues it polls are
 * bound to its slot (see `SpscRing.bindDoorbell`) and every producer rings that slot after publishing.
 *
 * Layout (Int32Array over one SharedArrayBuffer, 64-byte lines):
 *   line 0:           [0] number of slots, [1] magic 0x62656c6c ("bell")
 *   line 1 + s:       slot s: [0] seq (the futex word: bumped by each wake-up),
 *                             [1] sleeping (1 while the owner is preparing to sleep or asleep),
 *                             [2] in use (1 = allocated by `allocSlot`)
 *
 * Protocol (no lost wake-up): the consumer stores sleeping=1, reads seq, re-checks all its queues and
 * only then waits for seq to change. A producer stores the queue's tail, then loads sleeping; if 1 it
 * bumps seq and notifies. All of these are sequentially consistent Atomics operations, so either the
 * consumer's re-check sees the new item, or the producer sees sleeping=1 and the bump makes the wait
 * return (at once, if it had not started yet).
 */
export class DoorbellBank {
  static readonly MAGIC = 0x62656c6c;
  readonly sab: SharedArrayBuffer;
  readonly nSlots: number;
  private readonly w: Int32Array;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.w = new Int32Array(sab);
    if (this.w[1] !== DoorbellBank.MAGIC) throw new TypeError('DoorbellBank.attach: not a doorbell bank');
    this.nSlots = this.w[0]!;
  }

  /** A new bank of `nSlots` doorbells (default 128), all free. */
  static create(nSlots = 128): DoorbellBank {
    if (!Number.isInteger(nSlots) || nSlots < 1) throw new RangeError(`DoorbellBank: bad slot count ${nSlots}`);
    const sab = new SharedArrayBuffer((1 + nSlots) * I32_PER_LINE * 4);
    const w = new Int32Array(sab);
    w[0] = nSlots;
    w[1] = DoorbellBank.MAGIC;
    return new DoorbellBank(sab);
  }

  /** Attaches to a bank created (possibly in another thread) by `create`. Throws TypeError if `sab` is not one. */
  static attach(sab: SharedArrayBuffer): DoorbellBank {
    return new DoorbellBank(sab);
  }

  /** Claims a free slot for a consumer thread; returns its index, or -1 if all are taken. Any thread. */
  allocSlot(): number {
    for (let s = 0; s < this.nSlots; s++) {
      const b = (1 + s) * I32_PER_LINE;
      if (Atomics.compareExchange(this.w, b + 2, 0, 1) === 0) {
        Atomics.store(this.w, b + 1, 0);
        return s;
      }
    }
    return -1;
  }

  /** Returns a slot to the bank. Rings bound to it must have been unbound first. */
  freeSlot(slot: number): void {
    Atomics.store(this.w, (1 + slot) * I32_PER_LINE + 2, 0);
  }

  /**
   * Producer side: wakes the owner of `slot` if it is (about to be) asleep. Costs one atomic load
   * when it is awake. `slot < 0` is a no-op (queue bound to nobody).
   */
  ring(slot: number): void {
    if (slot < 0) return;
    const b = (1 + slot) * I32_PER_LINE;
    if (Atomics.load(this.w, b + 1) !== 0) {
      Atomics.add(this.w, b, 1);
      Atomics.notify(this.w, b);
    }
  }

  /**
   * Consumer side, step 1: announces the intent to sleep and returns the wake sequence number to
   * pass to `sleep`. The caller must re-check every queue bound to the slot after this call and call
   * `endSleep` instead of `sleep` if one has work.
   */
  prepareSleep(slot: number): number {
    const b = (1 + slot) * I32_PER_LINE;
    Atomics.store(this.w, b + 1, 1);
    return Atomics.load(this.w, b);
  }

  /**
   * Consumer side, step 2: blocks until a producer rings the slot (or already has since
   * `prepareSleep`) or `timeoutMs` passes (Infinity = no limit), then clears the sleeping flag.
   * Returns what Atomics.wait returned: 'ok', 'not-equal' (rung before the wait began) or 'timed-out'.
   */
  sleep(slot: number, seq: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    const b = (1 + slot) * I32_PER_LINE;
    const r = Atomics.wait(this.w, b, seq, timeoutMs);
    Atomics.store(this.w, b + 1, 0);
    return r;
  }

  /** Consumer side: cancels `prepareSleep` when the re-check found work. */
  endSleep(slot: number): void {
    Atomics.store(this.w, (1 + slot) * I32_PER_LINE + 1, 0);
  }

  /** Wakes the owner of `slot` unconditionally (e.g. to make a PMD see a reconfiguration). */
  kick(slot: number): void {
    const b = (1 + slot) * I32_PER_LINE;
    Atomics.add(this.w, b, 1);
    Atomics.notify(this.w, b);
  }
}
