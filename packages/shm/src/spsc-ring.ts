import { DoorbellBank } from './doorbell.js';
import { I32_PER_LINE } from './layout.js';
import { mutexLock, mutexUnlock } from './mutex.js';

/** Serializable form of a ring: pass it to a worker (postMessage / workerData) and `SpscRing.attach` it there. */
export interface SpscRingDescriptor {
  readonly sab: SharedArrayBuffer;
  /** The doorbell bank whose slots producers ring, or null for a ring nobody sleeps on. */
  readonly bank: SharedArrayBuffer | null;
}

// Header word indices (Int32Array). Each index is written by one side only and has its own line.
const H_HEAD = 0; //               line 0: consumer's read index (free-running, wraps at 2^32)
const H_TAIL = I32_PER_LINE; //    line 1: producer's write index
const H_BELL = 2 * I32_PER_LINE; // line 2: doorbell slot bound by the consumer (-1 none); read-mostly
const H_CAP = H_BELL + 1; //                capacity (power of two)
const H_MAGIC = H_BELL + 2;
const H_LOCK = 3 * I32_PER_LINE; // line 3: optional producer lock (0 free, 1 held, 2 held + waiters)
const HEADER_BYTES = 4 * I32_PER_LINE * 4;
const MAGIC = 0x72696e67; // "ring"

/**
 * A single-producer single-consumer ring of 32-bit descriptors (packet buffer ids, upcall ids) in a
 * SharedArrayBuffer: wait-free, batch push/pop without allocation, optional doorbell.
 *
 * Layout (bytes): 0..255 header (head, tail, doorbell/capacity, producer lock, one 64-byte line
 * each), then `capacity` Uint32 slots. Indices are free-running 32-bit counters; slot = index &
 * (capacity - 1); the ring holds `tail - head` items (mod 2^32), at most `capacity`.
 *
 * Memory ordering: the producer writes the slots with plain stores, then publishes with
 * `Atomics.store(tail)`; the consumer reads tail with `Atomics.load` before reading the slots, and
 * releases them with `Atomics.store(head)`. Atomics are sequentially consistent in the JS memory
 * model, so plain writes before the store are visible to the thread whose load observes it.
 *
 * Roles: exactly one thread pushes and one thread pops at a time. Each side keeps a private copy of
 * the other side's index and re-reads the shared one only when the copy says full/empty, so in steady
 * state a batch costs one atomic load and one store on its own line. A role may move to another
 * thread with external synchronization (a new `attach` there); producers that cannot be serialized
 * otherwise use `pushLocked` (a futex mutex on the header, for rare paths like frame injection).
 */
export class SpscRing {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly mask: number;
  private readonly h: Int32Array;
  private readonly slots: Uint32Array;
  private readonly bank: DoorbellBank | null;
  private cachedHead = 0; // producer's view of head
  private cachedTail = 0; // consumer's view of tail

  private constructor(sab: SharedArrayBuffer, bankSab: SharedArrayBuffer | null) {
    this.sab = sab;
    this.h = new Int32Array(sab, 0, HEADER_BYTES / 4);
    if (this.h[H_MAGIC] !== MAGIC) throw new TypeError('SpscRing.attach: not a ring');
    this.capacity = this.h[H_CAP]!;
    this.mask = this.capacity - 1;
    this.slots = new Uint32Array(sab, HEADER_BYTES, this.capacity);
    this.bank = bankSab ? DoorbellBank.attach(bankSab) : null;
    this.cachedHead = Atomics.load(this.h, H_HEAD);
    this.cachedTail = Atomics.load(this.h, H_TAIL);
  }

  /**
   * A new empty ring of `capacity` slots (a power of two, 2..2^30). With `bank`, consumers can bind
   * a slot of that bank so that producers wake them. Throws RangeError on a bad capacity.
   */
  static create(capacity: number, bank: DoorbellBank | null = null): SpscRing {
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 2 ** 30 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`SpscRing: capacity must be a power of two in [2, 2^30], got ${capacity}`);
    }
    const sab = new SharedArrayBuffer(HEADER_BYTES + capacity * 4);
    const h = new Int32Array(sab, 0, HEADER_BYTES / 4);
    h[H_BELL] = -1;
    h[H_CAP] = capacity;
    h[H_MAGIC] = MAGIC;
    return new SpscRing(sab, bank ? bank.sab : null);
  }

  /** Attaches to a ring made by `create` (in this or another thread). Throws TypeError if it is not one. */
  static attach(desc: SpscRingDescriptor): SpscRing {
    return new SpscRing(desc.sab, desc.bank);
  }

  /** The serializable descriptor of this ring. */
  descriptor(): SpscRingDescriptor {
    return { sab: this.sab, bank: this.bank ? this.bank.sab : null };
  }

  /**
   * Producer: appends up to `n` descriptors from `src[off..off+n)`; returns how many were appended
   * (fewer when the ring fills; the rest stay with the caller). Rings the bound doorbell if any.
   */
  push(src: Uint32Array, off: number, n: number): number {
    const t = Atomics.load(this.h, H_TAIL);
    let free = this.capacity - ((t - this.cachedHead) | 0);
    if (free < n || free > this.capacity) {
      this.cachedHead = Atomics.load(this.h, H_HEAD);
      free = this.capacity - ((t - this.cachedHead) | 0);
    }
    const k = n < free ? n : free;
    if (k <= 0) return 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = 0; i < k; i++) slots[(t + i) & mask] = src[off + i]!;
    Atomics.store(this.h, H_TAIL, (t + k) | 0);
    if (this.bank !== null) this.bank.ring(Atomics.load(this.h, H_BELL));
    return k;
  }

  /** Producer: appends one descriptor; returns false (and appends nothing) when full. */
  pushOne(v: number): boolean {
    const t = Atomics.load(this.h, H_TAIL);
    if (((t - this.cachedHead) | 0) >= this.capacity || ((t - this.cachedHead) | 0) < 0) {
      this.cachedHead = Atomics.load(this.h, H_HEAD);
      if (((t - this.cachedHead) | 0) >= this.capacity) return false;
    }
    this.slots[t & this.mask] = v;
    Atomics.store(this.h, H_TAIL, (t + 1) | 0);
    if (this.bank !== null) this.bank.ring(Atomics.load(this.h, H_BELL));
    return true;
  }

  /**
   * Consumer: removes up to `max` descriptors into `dst[off..off+max)`; returns how many (0 when
   * empty).
   */
  pop(dst: Uint32Array, off: number, max: number): number {
    const hd = Atomics.load(this.h, H_HEAD);
    let avail = (this.cachedTail - hd) | 0;
    if (avail < max || avail > this.capacity) {
      this.cachedTail = Atomics.load(this.h, H_TAIL);
      avail = (this.cachedTail - hd) | 0;
    }
    const k = max < avail ? max : avail;
    if (k <= 0) return 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = 0; i < k; i++) dst[off + i] = slots[(hd + i) & mask]!;
    Atomics.store(this.h, H_HEAD, (hd + k) | 0);
    return k;
  }

  /** Consumer: removes and returns one descriptor, or -1 when empty. */
  popOne(): number {
    const hd = Atomics.load(this.h, H_HEAD);
    if (((this.cachedTail - hd) | 0) <= 0) {
      this.cachedTail = Atomics.load(this.h, H_TAIL);
      if (((this.cachedTail - hd) | 0) <= 0) return -1;
    }
    const v = this.slots[hd & this.mask]!;
    Atomics.store(this.h, H_HEAD, (hd + 1) | 0);
    return v;
  }

  /** Number of descriptors in the ring now (exact when both sides are quiet; a snapshot otherwise). */
  count(): number {
    return (Atomics.load(this.h, H_TAIL) - Atomics.load(this.h, H_HEAD)) | 0;
  }

  /** True when the ring holds nothing (reads the shared indices: use it for the pre-sleep re-check). */
  isEmpty(): boolean {
    return Atomics.load(this.h, H_TAIL) === Atomics.load(this.h, H_HEAD);
  }

  /**
   * Consumer: makes producers ring `slot` of the ring's bank after each push (-1 unbinds). Throws
   * TypeError if the ring was created without a bank.
   */
  bindDoorbell(slot: number): void {
    if (this.bank === null && slot >= 0) throw new TypeError('SpscRing.bindDoorbell: ring has no doorbell bank');
    Atomics.store(this.h, H_BELL, slot);
  }

  /** The doorbell slot producers ring, or -1. */
  boundDoorbell(): number {
    return Atomics.load(this.h, H_BELL);
  }

  /** The bank this ring's doorbells live in, or null. */
  doorbellBank(): DoorbellBank | null {
    return this.bank;
  }

  /**
   * Consumer with a single ring: sleeps on `slot` (already bound with `bindDoorbell`) until the ring
   * is not empty or `timeoutMs` passes. Returns true if the ring has items.
   */
  waitNotEmpty(slot: number, timeoutMs: number): boolean {
    const bank = this.bank;
    if (bank === null) throw new TypeError('SpscRing.waitNotEmpty: ring has no doorbell bank');
    if (!this.isEmpty()) return true;
    const seq = bank.prepareSleep(slot);
    if (!this.isEmpty()) {
      bank.endSleep(slot);
      return true;
    }
    bank.sleep(slot, seq, timeoutMs);
    return !this.isEmpty();
  }

  /**
   * Producer that shares the producer role with other threads: takes the ring's producer lock, pushes,
   * releases. Blocks (Atomics.wait) while another producer holds the lock. Not for the PMD fast path.
   */
  pushLocked(src: Uint32Array, off: number, n: number): number {
    this.lockProducer();
    try {
      return this.push(src, off, n);
    } finally {
      this.unlockProducer();
    }
  }

  /** Takes the producer lock (a futex mutex in the header, see mutex.ts). */
  lockProducer(): void {
    mutexLock(this.h, H_LOCK);
  }

  /** Releases the producer lock taken with `lockProducer`. */
  unlockProducer(): void {
    mutexUnlock(this.h, H_LOCK);
  }
}
