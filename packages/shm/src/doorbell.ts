import { closeSync, writeSync } from 'node:fs';
import { I32_PER_LINE } from './layout.js';

/** Values of a slot's sleeping word. */
export const BELL_AWAKE = 0;
/** Asleep (or about to be) in `Atomics.wait` on the slot's seq word. */
export const BELL_SLEEPING = 1;
/** Asleep (or about to be) in poll(2) on file descriptors that include the slot's wake fd. */
export const BELL_SLEEPING_FD = 2;

/** An eventfd increment of 1 (8 bytes, host order). */
const EVENTFD_ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

/**
 * A bank of doorbells: one wait word per sleeping consumer thread (a PMD, a handler), which any
 * number of producers ring. A consumer that polls many queues (a PMD with several rxqs, a handler
 * with several upcall queues) can only `Atomics.wait` on one address, so the queues it polls are
 * bound to its slot (see `SpscRing.bindDoorbell`) and every producer rings that slot after publishing.
 *
 * Layout (Int32Array over one SharedArrayBuffer, 64-byte lines):
 *   line 0:           [0] number of slots, [1] magic 0x62656c6c ("bell")
 *   line 1 + s:       slot s: [0] seq (the futex word: bumped by each wake-up),
 *                             [1] sleeping: BELL_AWAKE 0, BELL_SLEEPING 1 (preparing to sleep or
 *                                 asleep in Atomics.wait), BELL_SLEEPING_FD 2 (same, in poll(2)),
 *                             [2] in use (1 = allocated by `allocSlot`),
 *                             [3] wake fd + 1 (0 = none): an eventfd the owner polls while
 *                                 sleeping in poll(2) (a PMD whose rxqs are sockets)
 *
 * Protocol (no lost wake-up): the consumer stores sleeping=1, reads seq, re-checks all its queues and
 * only then waits for seq to change. A producer stores the queue's tail, then loads sleeping; if 1 it
 * bumps seq and notifies. All of these are sequentially consistent Atomics operations, so either the
 * consumer's re-check sees the new item, or the producer sees sleeping=1 and the bump makes the wait
 * return (at once, if it had not started yet).
 *
 * Sleeping in poll(2): a PMD whose rxqs are sockets sleeps in poll(2) on them (the kernel wakes it,
 * no watcher thread in between) plus an eventfd registered with `setWakeFd`, and announces it with
 * `prepareSleep(slot, true)`. A producer that sees BELL_SLEEPING_FD also writes 1 to the eventfd
 * (one write(2), only when the owner sleeps). The argument above holds unchanged: the eventfd stays
 * readable until the owner reads it, so a write before the poll begins makes it return at once.
 * A write that lands after the owner woke for another reason only makes its next poll return early
 * once. Wake fds are never closed while the bank is in use (a producer may have read the number
 * just before): they belong to the slot, are reused by its next owner, and `closeWakeFds` closes
 * them once no thread uses the bank any more.
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
    const s = Atomics.load(this.w, b + 1);
    if (s !== BELL_AWAKE) {
      Atomics.add(this.w, b, 1);
      Atomics.notify(this.w, b);
      if (s === BELL_SLEEPING_FD) this.writeWakeFd(b);
    }
  }

  /**
   * Consumer side, step 1: announces the intent to sleep and returns the wake sequence number to
   * pass to `sleep`. The caller must re-check every queue bound to the slot after this call and call
   * `endSleep` instead of `sleep` if one has work.
   */
  prepareSleep(slot: number, viaFd = false): number {
    const b = (1 + slot) * I32_PER_LINE;
    Atomics.store(this.w, b + 1, viaFd ? BELL_SLEEPING_FD : BELL_SLEEPING);
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

  /**
   * Consumer side: cancels `prepareSleep` when the re-check found work, or ends a sleep the
   * consumer did itself (poll(2) on its wake fd after `prepareSleep(slot, true)`).
   */
  endSleep(slot: number): void {
    Atomics.store(this.w, (1 + slot) * I32_PER_LINE + 1, 0);
  }

  /** Wakes the owner of `slot` unconditionally (e.g. to make a PMD see a reconfiguration). */
  kick(slot: number): void {
    const b = (1 + slot) * I32_PER_LINE;
    Atomics.add(this.w, b, 1);
    Atomics.notify(this.w, b);
    if (Atomics.load(this.w, b + 1) === BELL_SLEEPING_FD) this.writeWakeFd(b);
  }

  /**
   * Registers `fd` (an eventfd of this process, non-blocking) as the wake fd of `slot`: producers
   * write 1 to it while the owner sleeps with `prepareSleep(slot, true)`. The fd then belongs to
   * the slot (see the class comment); -1 is not allowed (fds are never unregistered).
   */
  setWakeFd(slot: number, fd: number): void {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`DoorbellBank.setWakeFd: bad fd ${fd}`);
    Atomics.store(this.w, (1 + slot) * I32_PER_LINE + 3, fd + 1);
  }

  /** The sleeping state of `slot`'s owner: BELL_AWAKE, BELL_SLEEPING or BELL_SLEEPING_FD (a snapshot). */
  sleeping(slot: number): number {
    return Atomics.load(this.w, (1 + slot) * I32_PER_LINE + 1);
  }

  /** Whether `slot` is allocated (a snapshot). */
  inUse(slot: number): boolean {
    return Atomics.load(this.w, (1 + slot) * I32_PER_LINE + 2) === 1;
  }

  /** The wake fd of `slot`, or -1 if none was registered. */
  wakeFd(slot: number): number {
    return Atomics.load(this.w, (1 + slot) * I32_PER_LINE + 3) - 1;
  }

  /**
   * Owner of the bank, once no thread uses it any more: closes every slot's wake fd (see
   * `setWakeFd`). Idempotent.
   */
  closeWakeFds(): void {
    for (let s = 0; s < this.nSlots; s++) {
      const b = (1 + s) * I32_PER_LINE + 3;
      const fd = Atomics.exchange(this.w, b, 0) - 1;
      if (fd < 0) continue;
      try {
        closeSync(fd);
      } catch {
        // Already closed: nothing to release.
      }
    }
  }

  /** write(2) of 1 to the wake fd of the slot at word `b`. Never throws (a full counter is still readable). */
  private writeWakeFd(b: number): void {
    const fd = Atomics.load(this.w, b + 3) - 1;
    if (fd < 0) return;
    try {
      writeSync(fd, EVENTFD_ONE);
    } catch {
      // EAGAIN: the counter is at its maximum, so the fd is readable anyway.
    }
  }
}
