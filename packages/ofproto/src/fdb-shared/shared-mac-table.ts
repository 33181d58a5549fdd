/**
 * The MAC learning table in a SharedArrayBuffer, shared by every thread that translates (handler
 * threads, revalidator threads, the control thread's trace): learning in one handler is seen by
 * the others at once. Semantics are exactly those of the in-process `MacLearning`
 * (../mac-learning/mac-learning.ts, a port of OVS 3.1 lib/mac-learning.c), with the same method
 * names and arguments so translation can use either: (VLAN, MAC) → OpenFlow port; multicast
 * sources never learned; a refresh within the same second does nothing; aging `mac-aging-time`
 * seconds after the last refresh, applied by `run()`; at `mac-table-size` a new MAC evicts the
 * least recently used entry of the port with the most entries (ties: the port whose LRU entry is
 * older); static entries; flushes; stats; the need-revalidate flag.
 *
 * Concurrency (byte layout in ./layout.ts):
 * - Writers (learning, aging, flushes, static entries) serialize on a futex mutex in the buffer
 *   and wrap each change in a seqlock: the sequence word is odd while the table changes.
 * - Readers (`lookup`, and the "is an update needed" check that `update` makes before it takes
 *   the lock, OVS is_mac_learning_update_needed) take no lock: read the sequence (retry while odd),
 *   read bucket head, chain links, VLAN, MAC, port and expiry, read the sequence again; equal →
 *   the values belong to one state of the table. After 8 failed attempts a reader takes the mutex.
 * - Memory ordering: every field a lock-free reader reads is written with `Atomics.store` and read
 *   with `Atomics.load`; all are sequentially consistent, so they have one total order consistent
 *   with each thread's program order. If both sequence reads return the same even value s, no
 *   writer's opening increment lies between them in that order, so each field read saw a value
 *   from a writer that had finished (closing increment before the first read) or none that started
 *   later: a consistent snapshot. (Plain accesses would not give this on arm64, where loads may
 *   pass an acquire load.) Fields only writers read (LRU and port lists, stamps, counters) are
 *   plain, under the mutex.
 * - Chain walks are bounded by the capacity, so a walk never loops even on a torn snapshot (which
 *   the sequence check then discards).
 *
 * Time: whole seconds of `now()` (ms) since the clock base stored at creation; the default clock is
 * `performance.timeOrigin + performance.now()`, the same in every thread of the process.
 *
 * Sizes are fixed at creation: `capacity` entries (default max(mac-table-size, 65536)); a
 * mac-table-size above the capacity is clamped to it.
 */
import { mutexLock, mutexUnlock } from '@tsvs/shm';
import {
  MAC_DEFAULT_MAX, MAC_ENTRY_AGE_STATIC, MAC_ENTRY_DEFAULT_IDLE_TIME, MAC_GRAT_ARP_LOCK_TIME,
  macIsMulticast, normalizeIdleTime, normalizeMaxEntries,
  type MacEvent, type MacEventType, type MacLearningStats,
} from '../mac-learning/mac-learning.js';
import {
  E_EXPIRES, E_GRAT, E_HI, E_HNEXT, E_INUSE, E_LNEXT, E_LO, E_LPREV, E_PNEXT, E_PORT, E_PPREV, E_VLAN,
  ENTRY_WORDS, FDB_LAYOUT_VERSION, FDB_MAGIC, F_BASE_MS, F_NEXT_STAMP, H_CAPACITY, H_CHANGES, H_COUNT,
  H_EVICTED, H_EXPIRED, H_FREE, H_IDLE, H_KICK, H_LEARNED, H_LOCK, H_LRU_HEAD, H_LRU_TAIL, H_MAGIC, H_MAX,
  H_MOVED, H_NBUCKETS, H_NEED_REVAL, H_NPORTSLOTS, H_NSTATIC, H_SEQ, H_VERSION, P_COUNT, P_HEAD, P_PORT,
  P_TAIL, PORT_SLOT_WORDS, computeFdbLayout, type FdbLayout,
} from './layout.js';

export interface SharedMacTableOptions {
  /** mac-aging-time in seconds (clamped to 15..3600). Default 300. */
  idleTime?: number;
  /** mac-table-size (clamped to 10..min(1000000, capacity)). Default 2048. */
  maxEntries?: number;
  /** Entries the buffer holds. Default max(maxEntries, 65536). */
  capacity?: number;
  /** Distinct ports with entries at once (OpenFlow ports). Default 4096. */
  portSlots?: number;
}

export interface SharedMacTableThreadOptions {
  /** Clock in ms; must be the same in every thread (default performance.timeOrigin + performance.now()). */
  now?: () => number;
  /** Called for every change this thread makes. */
  onEvent?: (e: MacEvent) => void;
}

/** One entry as `entries()` snapshots it. */
export interface SharedMacEntry {
  vlan: number;
  macHi: number;
  macLo: number;
  port: number;
  /** Seconds since the last refresh, or MAC_ENTRY_AGE_STATIC. */
  age: number;
}

const MAX_READ_TRIES = 8;
const defaultClock = (): number => performance.timeOrigin + performance.now();

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function macHash(vlan: number, hi: number, lo: number): number {
  return fmix((lo ^ Math.imul(hi | (vlan << 16), 0x9e3779b1)) >>> 0);
}

export class SharedMacTable {
  readonly sab: SharedArrayBuffer;
  readonly layout: FdbLayout;
  readonly capacity: number;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly bBase: number;
  private readonly bMask: number;
  private readonly eBase: number;
  private readonly sBase: number;
  private readonly pBase: number;
  private readonly nPortSlots: number;
  private readonly clock: () => number;
  private listener: ((e: MacEvent) => void) | null;

  private constructor(sab: SharedArrayBuffer, t: SharedMacTableThreadOptions) {
    const h = new Int32Array(sab, 0, 16);
    if (h[H_MAGIC] !== FDB_MAGIC || h[H_VERSION] !== FDB_LAYOUT_VERSION) {
      throw new TypeError('SharedMacTable.attach: buffer is not a shared MAC table of this layout version');
    }
    const L = computeFdbLayout(h[H_CAPACITY]!, h[H_NPORTSLOTS]!);
    if (sab.byteLength < L.totalBytes) throw new TypeError('SharedMacTable.attach: buffer shorter than its layout');
    this.sab = sab;
    this.layout = L;
    this.capacity = L.capacity;
    this.i32 = new Int32Array(sab, 0, L.totalBytes >>> 2);
    this.f64 = new Float64Array(sab, 0, L.totalBytes >>> 3);
    this.bBase = L.buckets >>> 2;
    this.bMask = L.nBuckets - 1;
    this.eBase = L.entries >>> 2;
    this.sBase = L.stamps >>> 3;
    this.pBase = L.portSlots >>> 2;
    this.nPortSlots = L.nPortSlots;
    this.clock = t.now ?? defaultClock;
    this.listener = t.onEvent ?? null;
  }

  /** A new empty table. Throws RangeError for sizes out of range. */
  static create(opts: SharedMacTableOptions = {}, t: SharedMacTableThreadOptions = {}): SharedMacTable {
    const maxEntries = normalizeMaxEntries(opts.maxEntries ?? MAC_DEFAULT_MAX);
    const capacity = opts.capacity ?? Math.max(maxEntries, 65536);
    const nPortSlots = opts.portSlots ?? 4096;
    if (!Number.isInteger(capacity) || capacity < 10 || capacity > 1_000_000) throw new RangeError(`fdb capacity ${capacity} must be 10..1000000`);
    if (!Number.isInteger(nPortSlots) || nPortSlots < 1 || nPortSlots > 65536) throw new RangeError(`fdb port slots ${nPortSlots} must be 1..65536`);
    const L = computeFdbLayout(capacity, nPortSlots);
    const sab = new SharedArrayBuffer(L.totalBytes);
    const i32 = new Int32Array(sab);
    const f64 = new Float64Array(sab);
    i32[H_MAGIC] = FDB_MAGIC;
    i32[H_VERSION] = FDB_LAYOUT_VERSION;
    i32[H_CAPACITY] = capacity;
    i32[H_NBUCKETS] = L.nBuckets;
    i32[H_NPORTSLOTS] = nPortSlots;
    i32[H_MAX] = Math.min(maxEntries, capacity);
    i32[H_IDLE] = normalizeIdleTime(opts.idleTime ?? MAC_ENTRY_DEFAULT_IDLE_TIME);
    i32[H_LRU_HEAD] = i32[H_LRU_TAIL] = -1;
    i32.fill(-1, L.buckets >>> 2, (L.buckets >>> 2) + L.nBuckets);
    const eb = L.entries >>> 2;
    for (let e = 0; e < capacity; e++) {
      const b = eb + e * ENTRY_WORDS;
      i32[b + E_PORT] = -1;
      i32[b + E_HNEXT] = -1;
      i32[b + E_LPREV] = -1;
      i32[b + E_LNEXT] = e + 1 < capacity ? e + 1 : -1;
      i32[b + E_PPREV] = i32[b + E_PNEXT] = -1;
    }
    i32[H_FREE] = 0;
    for (let s = 0; s < nPortSlots; s++) {
      const b = (L.portSlots >>> 2) + s * PORT_SLOT_WORDS;
      i32[b + P_PORT] = -1;
      i32[b + P_HEAD] = i32[b + P_TAIL] = -1;
    }
    f64[F_BASE_MS] = (t.now ?? defaultClock)();
    return new SharedMacTable(sab, t);
  }

  /** This thread's view of a table created elsewhere. Throws TypeError if `sab` is not one. */
  static attach(sab: SharedArrayBuffer, t: SharedMacTableThreadOptions = {}): SharedMacTable {
    return new SharedMacTable(sab, t);
  }

  setListener(fn: ((e: MacEvent) => void) | null): void {
    this.listener = fn;
  }

  /** Whole seconds since the clock base (OVS time_now()). */
  private nowS(): number {
    return Math.floor((this.clock() - this.f64[F_BASE_MS]!) / 1000);
  }

  get idleTime(): number {
    return Atomics.load(this.i32, H_IDLE);
  }

  get maxEntries(): number {
    return Atomics.load(this.i32, H_MAX);
  }

  get size(): number {
    return Atomics.load(this.i32, H_COUNT);
  }

  /** Monotonic count of mapping changes (learned, moved, removed): a cheap "did anything change". */
  get changes(): number {
    return Atomics.load(this.i32, H_CHANGES);
  }

  // ---- lock-free reads ----

  /** Entry index of (vlan, MAC) by a chain walk with atomic loads (callers validate with the seqlock or hold the mutex), or -1. */
  private findAtomic(vlan: number, hi: number, lo: number): number {
    const w = this.i32, eb = this.eBase, cap = this.capacity;
    let e = Atomics.load(w, this.bBase + (macHash(vlan, hi, lo) & this.bMask));
    for (let steps = 0; e >= 0 && e < cap && steps <= cap; steps++) {
      const b = eb + e * ENTRY_WORDS;
      if (Atomics.load(w, b + E_LO) === (lo | 0) && Atomics.load(w, b + E_HI) === hi && Atomics.load(w, b + E_VLAN) === vlan) return e;
      e = Atomics.load(w, b + E_HNEXT);
    }
    return -1;
  }

  /**
   * OVS mac_learning_lookup: the port `dst` was learned on in `vlan`, or -1 (unknown, or a
   * multicast destination). Lock-free; allocates nothing.
   */
  lookup(vlan: number, hi: number, lo: number): number {
    if (macIsMulticast(hi)) return -1;
    hi &= 0xffff;
    const w = this.i32;
    for (let t = 0; t < MAX_READ_TRIES; t++) {
      const s = Atomics.load(w, H_SEQ);
      if (s & 1) continue;
      const e = this.findAtomic(vlan, hi, lo);
      const port = e < 0 ? -1 : Atomics.load(w, this.eBase + e * ENTRY_WORDS + E_PORT);
      if (Atomics.load(w, H_SEQ) === s) return port;
    }
    mutexLock(w, H_LOCK);
    try {
      const e = this.findAtomic(vlan, hi, lo);
      return e < 0 ? -1 : w[this.eBase + e * ENTRY_WORDS + E_PORT]!;
    } finally {
      mutexUnlock(w, H_LOCK);
    }
  }

  /** Port and age of (vlan, MAC), or null (also for multicast): `fdb` queries and tests. Takes the mutex. */
  entry(vlan: number, hi: number, lo: number): { port: number; age: number } | null {
    if (macIsMulticast(hi)) return null;
    hi &= 0xffff;
    const w = this.i32;
    mutexLock(w, H_LOCK);
    try {
      const e = this.findAtomic(vlan, hi, lo);
      if (e < 0) return null;
      const b = this.eBase + e * ENTRY_WORDS;
      return { port: w[b + E_PORT]!, age: this.ageOf(w[b + E_EXPIRES]!, this.nowS()) };
    } finally {
      mutexUnlock(w, H_LOCK);
    }
  }

  private ageOf(expires: number, now: number): number {
    return expires === MAC_ENTRY_AGE_STATIC ? MAC_ENTRY_AGE_STATIC : this.i32[H_IDLE]! - (expires - now);
  }

  /**
   * OVS is_mac_learning_update_needed, lock-free: 1 update needed, 0 not needed, -1 no consistent
   * snapshot (decide under the lock).
   */
  private updateNeeded(vlan: number, hi: number, lo: number, port: number, isGratArp: boolean, now: number): number {
    const w = this.i32;
    for (let t = 0; t < MAX_READ_TRIES; t++) {
      const s = Atomics.load(w, H_SEQ);
      if (s & 1) continue;
      const e = this.findAtomic(vlan, hi, lo);
      let needed = 1;
      if (e >= 0) {
        const b = this.eBase + e * ENTRY_WORDS;
        const exp = Atomics.load(w, b + E_EXPIRES);
        const p = Atomics.load(w, b + E_PORT);
        const age = exp === MAC_ENTRY_AGE_STATIC ? MAC_ENTRY_AGE_STATIC : Atomics.load(w, H_IDLE) - (exp - now);
        if (age === MAC_ENTRY_AGE_STATIC) needed = 0;
        else if (!(age > 0) && !isGratArp && p === port) needed = 0;
      }
      if (Atomics.load(w, H_SEQ) === s) return needed;
    }
    return -1;
  }

  // ---- writers ----

  private beginWrite(): void {
    mutexLock(this.i32, H_LOCK);
    Atomics.add(this.i32, H_SEQ, 1);
  }

  /** Ends a change and delivers the events it queued to this thread's listener (outside the lock). */
  private endWrite(): void {
    Atomics.add(this.i32, H_SEQ, 1);
    mutexUnlock(this.i32, H_LOCK);
    const q = this.evq;
    if (q.length === 0) return;
    this.evq = [];
    if (this.listener) for (const e of q) this.listener(e);
  }

  /**
   * OVS mac_learning_update: learns that `src` is on `port` in `vlan`. Returns true if the table
   * changed what it says about the MAC (new entry, or moved from another port). Takes the mutex
   * only when the lock-free check says an update is needed (new MAC, moved, or a refresh in a later
   * second). Learning a new MAC allocates nothing.
   */
  update(vlan: number, hi: number, lo: number, port: number, isGratArp = false): boolean {
    if (macIsMulticast(hi) || port < 0) return false;
    hi &= 0xffff;
    const now = this.nowS();
    if (this.updateNeeded(vlan, hi, lo, port, isGratArp, now) === 0) return false;
    const w = this.i32;
    this.beginWrite();
    try {
      // Re-check under the lock (another writer may have done it meanwhile).
      const e0 = this.findAtomic(vlan, hi, lo);
      if (e0 >= 0) {
        const b = this.eBase + e0 * ENTRY_WORDS;
        const age = this.ageOf(w[b + E_EXPIRES]!, now);
        if (age === MAC_ENTRY_AGE_STATIC) return false;
        if (!(age > 0) && !isGratArp && w[b + E_PORT] === port) return false;
      }
      const e = this.insert(vlan, hi, lo, now, false);
      if (e < 0) return false;
      const b = this.eBase + e * ENTRY_WORDS;
      if (isGratArp) w[b + E_GRAT] = now + MAC_GRAT_ARP_LOCK_TIME;
      if (w[b + E_PORT] !== port) {
        const old = w[b + E_PORT]!;
        if (old >= 0) w[H_MOVED]!++;
        this.setPort(e, port);
        this.queue(old >= 0 ? 'moved' : 'learned', vlan, hi, lo, port, old);
        return true;
      }
      return false;
    } finally {
      this.endWrite();
    }
  }

  /** OVS mac_learning_add_static_entry (`fdb/add`): a permanent entry; replaces a dynamic one. */
  addStatic(vlan: number, hi: number, lo: number, port: number): void {
    hi &= 0xffff;
    this.beginWrite();
    try {
      const e = this.insert(vlan, hi, lo, this.nowS(), true);
      if (e >= 0 && this.i32[this.eBase + e * ENTRY_WORDS + E_PORT] !== port) {
        const old = this.i32[this.eBase + e * ENTRY_WORDS + E_PORT]!;
        this.setPort(e, port);
        this.queue(old >= 0 ? 'moved' : 'learned', vlan, hi, lo, port, old);
      }
    } finally {
      this.endWrite();
    }
  }

  /** OVS mac_learning_del_static_entry (`fdb/del`). Returns false if there was no static entry. */
  delStatic(vlan: number, hi: number, lo: number): boolean {
    if (macIsMulticast(hi)) return false;
    hi &= 0xffff;
    this.beginWrite();
    try {
      const e = this.findAtomic(vlan, hi, lo);
      if (e < 0 || this.i32[this.eBase + e * ENTRY_WORDS + E_EXPIRES] !== MAC_ENTRY_AGE_STATIC) return false;
      this.remove(e, 'deleted');
      this.i32[H_NSTATIC]!--;
      return true;
    } finally {
      this.endWrite();
    }
  }

  /** mac_learning_insert__: finds or creates the entry, marks it most recently used, sets expiry. Under the lock. -1 if no entry could be had. */
  private insert(vlan: number, hi: number, lo: number, now: number, isStatic: boolean): number {
    const w = this.i32;
    let e = this.findAtomic(vlan, hi, lo);
    if (e < 0) {
      if (w[H_COUNT]! >= w[H_MAX]!) this.evictFairly();
      e = w[H_FREE]!;
      if (e < 0) return -1;
      const b = this.eBase + e * ENTRY_WORDS;
      w[H_FREE] = w[b + E_LNEXT]!;
      w[b + E_INUSE] = 1;
      w[b + E_PPREV] = w[b + E_PNEXT] = -1;
      w[b + E_GRAT] = 0;
      Atomics.store(w, b + E_PORT, -1);
      Atomics.store(w, b + E_VLAN, vlan);
      Atomics.store(w, b + E_HI, hi);
      Atomics.store(w, b + E_LO, lo | 0);
      Atomics.store(w, b + E_EXPIRES, 0);
      const bk = this.bBase + (macHash(vlan, hi, lo) & this.bMask);
      Atomics.store(w, b + E_HNEXT, w[bk]!);
      Atomics.store(w, bk, e);
      w[H_COUNT]!++;
      if (!isStatic) w[H_LEARNED]!++;
    } else {
      this.lruUnlink(e);
    }
    this.lruPushBack(e);
    const b = this.eBase + e * ENTRY_WORDS;
    const port = w[b + E_PORT]!;
    if (port >= 0) {
      const s = this.portSlot(port, false);
      this.portUnlink(s, e);
      this.portPushBack(s, e);
    }
    if (isStatic) {
      if (w[b + E_EXPIRES] !== MAC_ENTRY_AGE_STATIC) w[H_NSTATIC]!++;
      Atomics.store(w, b + E_EXPIRES, MAC_ENTRY_AGE_STATIC);
    } else {
      Atomics.store(w, b + E_EXPIRES, now + w[H_IDLE]!);
    }
    return e;
  }

  /** mac_entry_set_port. Under the lock. */
  private setPort(e: number, port: number): void {
    const w = this.i32, b = this.eBase + e * ENTRY_WORDS;
    const cur = w[b + E_PORT]!;
    if (cur === port) return;
    Atomics.store(w, H_NEED_REVAL, 1);
    w[H_CHANGES]!++;
    if (cur >= 0) this.portUnlink(this.portSlot(cur, false), e);
    Atomics.store(w, b + E_PORT, port);
    if (port >= 0) this.portPushBack(this.portSlot(port, true), e);
  }

  /** evict_mac_entry_fairly: the LRU entry of the port with the most entries; ties: the older LRU entry. */
  private evictFairly(): void {
    const w = this.i32, pb = this.pBase;
    let best = -1, bestCount = 0, bestStamp = 0;
    for (let s = 0; s < this.nPortSlots; s++) {
      const b = pb + s * PORT_SLOT_WORDS;
      if (w[b + P_PORT]! < 0) continue;
      const c = w[b + P_COUNT]!;
      if (c === 0) continue;
      const st = this.f64[this.sBase + w[b + P_HEAD]!]!;
      if (best < 0 || c > bestCount || (c === bestCount && st < bestStamp)) {
        best = s;
        bestCount = c;
        bestStamp = st;
      }
    }
    if (best < 0) return;
    const head = w[pb + best * PORT_SLOT_WORDS + P_HEAD]!;
    w[H_EVICTED]!++;
    if (w[this.eBase + head * ENTRY_WORDS + E_EXPIRES] === MAC_ENTRY_AGE_STATIC) w[H_NSTATIC]!--;
    this.remove(head, 'evicted');
  }

  /** mac_learning_expire: unlinks and frees the entry (caller adjusts its counters). Under the lock. */
  private remove(e: number, why: MacEventType): void {
    const w = this.i32, b = this.eBase + e * ENTRY_WORDS;
    const old = w[b + E_PORT]!;
    Atomics.store(w, H_NEED_REVAL, 1);
    this.setPort(e, -1);
    // Unlink from the hash chain.
    const vlan = w[b + E_VLAN]!, hi = w[b + E_HI]!, lo = w[b + E_LO]!;
    let at = this.bBase + (macHash(vlan, hi, lo) & this.bMask);
    for (let x = w[at]!, steps = 0; x >= 0 && steps <= this.capacity; x = w[this.eBase + x * ENTRY_WORDS + E_HNEXT]!, steps++) {
      if (x === e) {
        Atomics.store(w, at, w[b + E_HNEXT]!);
        break;
      }
      at = this.eBase + x * ENTRY_WORDS + E_HNEXT;
    }
    this.lruUnlink(e);
    w[H_COUNT]!--;
    this.queue(why, vlan, hi, lo, -1, old);
    w[b + E_INUSE] = 0;
    Atomics.store(w, b + E_HNEXT, -1);
    Atomics.store(w, b + E_VLAN, -1);
    w[b + E_LNEXT] = w[H_FREE]!;
    w[H_FREE] = e;
  }

  /**
   * OVS mac_learning_run: removes dynamic entries that expired, and the least recently used ones
   * while over the size limit. Returns (and clears) whether anything changed since the last call
   * that may require flow revalidation.
   */
  run(): boolean {
    const w = this.i32;
    this.beginWrite();
    try {
      const now = this.nowS();
      for (;;) {
        const e = this.firstDynamic();
        if (e < 0 || !(w[H_COUNT]! > w[H_MAX]! || now >= w[this.eBase + e * ENTRY_WORDS + E_EXPIRES]!)) break;
        w[H_EXPIRED]!++;
        this.remove(e, 'expired');
      }
    } finally {
      this.endWrite();
    }
    return this.takeNeedRevalidate();
  }

  /** Returns and clears the "flows may need revalidation" flag (any thread). */
  takeNeedRevalidate(): boolean {
    return Atomics.exchange(this.i32, H_NEED_REVAL, 0) !== 0;
  }

  /** Peeks at the need-revalidate flag without clearing it. */
  get needRevalidate(): boolean {
    return Atomics.load(this.i32, H_NEED_REVAL) !== 0;
  }

  /**
   * Claims the "kick requested" flag: true for the first caller since the last `clearKick` (a
   * handler that learned something posts one message to the control thread, not one per packet).
   */
  requestKick(): boolean {
    return Atomics.compareExchange(this.i32, H_KICK, 0, 1) === 0;
  }

  /** Control thread: the kick was served. */
  clearKick(): void {
    Atomics.store(this.i32, H_KICK, 0);
  }

  /** Seconds until the next entry expires, or Infinity. */
  nextExpiry(): number {
    mutexLock(this.i32, H_LOCK);
    try {
      const e = this.firstDynamic();
      return e < 0 ? Infinity : Math.max(0, this.i32[this.eBase + e * ENTRY_WORDS + E_EXPIRES]! - this.nowS());
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
  }

  private firstDynamic(): number {
    const w = this.i32;
    for (let e = w[H_LRU_HEAD]!, steps = 0; e >= 0 && steps <= this.capacity; e = w[this.eBase + e * ENTRY_WORDS + E_LNEXT]!, steps++) {
      if (w[this.eBase + e * ENTRY_WORDS + E_EXPIRES] !== MAC_ENTRY_AGE_STATIC) return e;
    }
    return -1;
  }

  /** OVS mac_learning_flush (`fdb/flush`): removes all dynamic entries. */
  flush(): void {
    this.beginWrite();
    try {
      for (let e = this.firstDynamic(); e >= 0; e = this.firstDynamic()) this.remove(e, 'flushed');
    } finally {
      this.endWrite();
    }
  }

  /** Removes every entry on `port` (OVS bundle_flush_macs: port removed or reconfigured). */
  flushPort(port: number): void {
    const w = this.i32;
    this.beginWrite();
    try {
      const s = this.portSlot(port, false);
      if (s >= 0) {
        const pb = this.pBase + s * PORT_SLOT_WORDS;
        while (w[pb + P_HEAD]! >= 0) {
          const e = w[pb + P_HEAD]!;
          if (w[this.eBase + e * ENTRY_WORDS + E_EXPIRES] === MAC_ENTRY_AGE_STATIC) w[H_NSTATIC]!--;
          this.remove(e, 'flushed');
        }
      }
    } finally {
      this.endWrite();
    }
  }

  /** OVS mac_learning_set_idle_time: existing entries keep their remaining life shifted by the change. */
  setIdleTime(seconds: number): void {
    const t = normalizeIdleTime(seconds);
    const w = this.i32;
    this.beginWrite();
    try {
      const delta = t - w[H_IDLE]!;
      if (delta === 0) return;
      for (let e = w[H_LRU_HEAD]!; e >= 0; e = w[this.eBase + e * ENTRY_WORDS + E_LNEXT]!) {
        const b = this.eBase + e * ENTRY_WORDS;
        if (w[b + E_EXPIRES] !== MAC_ENTRY_AGE_STATIC) Atomics.store(w, b + E_EXPIRES, w[b + E_EXPIRES]! + delta);
      }
      Atomics.store(w, H_IDLE, t);
    } finally {
      this.endWrite();
    }
  }

  /** OVS mac_learning_set_max_entries (clamped to the capacity; the table shrinks at the next `run()`). */
  setMaxEntries(n: number): void {
    Atomics.store(this.i32, H_MAX, Math.min(normalizeMaxEntries(n), this.capacity));
  }

  /** Entries from least to most recently used (the order `fdb/show` prints), as a snapshot. */
  entries(): SharedMacEntry[] {
    const w = this.i32, out: SharedMacEntry[] = [];
    mutexLock(w, H_LOCK);
    try {
      const now = this.nowS();
      for (let e = w[H_LRU_HEAD]!; e >= 0; e = w[this.eBase + e * ENTRY_WORDS + E_LNEXT]!) {
        const b = this.eBase + e * ENTRY_WORDS;
        out.push({ vlan: w[b + E_VLAN]!, macHi: w[b + E_HI]!, macLo: w[b + E_LO]! >>> 0, port: w[b + E_PORT]!, age: this.ageOf(w[b + E_EXPIRES]!, now) });
      }
    } finally {
      mutexUnlock(w, H_LOCK);
    }
    return out;
  }

  stats(): MacLearningStats {
    const w = this.i32;
    return {
      entries: Atomics.load(w, H_COUNT), maxEntries: Atomics.load(w, H_MAX), staticEntries: Atomics.load(w, H_NSTATIC),
      learned: Atomics.load(w, H_LEARNED), expired: Atomics.load(w, H_EXPIRED), evicted: Atomics.load(w, H_EVICTED),
      moved: Atomics.load(w, H_MOVED),
    };
  }

  /** OVS mac_learning_clear_statistics. */
  clearStats(): void {
    mutexLock(this.i32, H_LOCK);
    this.i32[H_LEARNED] = this.i32[H_EXPIRED] = this.i32[H_EVICTED] = this.i32[H_MOVED] = 0;
    mutexUnlock(this.i32, H_LOCK);
  }

  // ---- lists (under the lock) ----

  private lruUnlink(e: number): void {
    const w = this.i32, b = this.eBase + e * ENTRY_WORDS;
    const p = w[b + E_LPREV]!, n = w[b + E_LNEXT]!;
    if (p >= 0) w[this.eBase + p * ENTRY_WORDS + E_LNEXT] = n;
    else w[H_LRU_HEAD] = n;
    if (n >= 0) w[this.eBase + n * ENTRY_WORDS + E_LPREV] = p;
    else w[H_LRU_TAIL] = p;
    w[b + E_LPREV] = w[b + E_LNEXT] = -1;
  }

  private lruPushBack(e: number): void {
    const w = this.i32, b = this.eBase + e * ENTRY_WORDS;
    const t = w[H_LRU_TAIL]!;
    w[b + E_LPREV] = t;
    w[b + E_LNEXT] = -1;
    if (t >= 0) w[this.eBase + t * ENTRY_WORDS + E_LNEXT] = e;
    else w[H_LRU_HEAD] = e;
    w[H_LRU_TAIL] = e;
    const st = this.f64[F_NEXT_STAMP]! + 1;
    this.f64[F_NEXT_STAMP] = st;
    this.f64[this.sBase + e] = st;
  }

  /** The slot of `port`'s entry list (created when `create`), or -1. */
  private portSlot(port: number, create: boolean): number {
    const w = this.i32, n = this.nPortSlots;
    let s = fmix(port) % n;
    let free = -1;
    for (let i = 0; i < n; i++, s = s + 1 === n ? 0 : s + 1) {
      const p = w[this.pBase + s * PORT_SLOT_WORDS + P_PORT]!;
      if (p === port) return s;
      if (p === -1) {
        free = s;
        break;
      }
    }
    if (!create) return -1;
    if (free < 0) {
      // Every slot has been used by some port: reuse one whose list is empty.
      for (let i = 0; i < n; i++) if (w[this.pBase + i * PORT_SLOT_WORDS + P_COUNT] === 0) { free = i; break; }
      if (free < 0) throw new RangeError(`shared MAC table: more than ${n} ports hold entries`);
    }
    const b = this.pBase + free * PORT_SLOT_WORDS;
    w[b + P_PORT] = port;
    w[b + P_HEAD] = w[b + P_TAIL] = -1;
    w[b + P_COUNT] = 0;
    return free;
  }

  private portUnlink(s: number, e: number): void {
    const w = this.i32, pb = this.pBase + s * PORT_SLOT_WORDS, b = this.eBase + e * ENTRY_WORDS;
    const p = w[b + E_PPREV]!, n = w[b + E_PNEXT]!;
    if (p >= 0) w[this.eBase + p * ENTRY_WORDS + E_PNEXT] = n;
    else w[pb + P_HEAD] = n;
    if (n >= 0) w[this.eBase + n * ENTRY_WORDS + E_PPREV] = p;
    else w[pb + P_TAIL] = p;
    w[b + E_PPREV] = w[b + E_PNEXT] = -1;
    w[pb + P_COUNT]!--;
  }

  private portPushBack(s: number, e: number): void {
    const w = this.i32, pb = this.pBase + s * PORT_SLOT_WORDS, b = this.eBase + e * ENTRY_WORDS;
    const t = w[pb + P_TAIL]!;
    w[b + E_PPREV] = t;
    w[b + E_PNEXT] = -1;
    if (t >= 0) w[this.eBase + t * ENTRY_WORDS + E_PNEXT] = e;
    else w[pb + P_HEAD] = e;
    w[pb + P_TAIL] = e;
    w[pb + P_COUNT]!++;
  }

  // ---- events ----

  /** Events queued by the change in progress (only when a listener is set: learning allocates nothing otherwise). */
  private evq: MacEvent[] = [];

  private queue(type: MacEventType, vlan: number, hi: number, lo: number, port: number, oldPort: number): void {
    if (this.listener) this.evq.push({ type, vlan, macHi: hi, macLo: lo >>> 0, port, oldPort });
  }
}
