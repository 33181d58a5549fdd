/**
 * The ukeys ("udpif keys", OVS ofproto/ofproto-dpif-upcall.c `struct udpif_key`): one per installed
 * datapath flow, keyed by its 128-bit UFID, in one SharedArrayBuffer that every handler and
 * revalidator thread attaches to (`UkeyTable.attach(sab)`).
 *
 * A ukey holds what the revalidators need and the datapath does not give back in a terse dump:
 * the flow's masked key and mask (the mask interned, the key packed to the words the mask uses),
 * the datapath actions as translated, the rule ids the translation touched (to credit stats), the
 * table version and revalidation sequence it was translated at, the stats last pushed to those
 * rules, its state (ukey-state.ts), the dump sequence it was last seen in and how many dumps in a
 * row missed it.
 *
 * Concurrency (mirrors OVS's 512 umaps, each a cmap with a mutex, and a mutex per ukey):
 * - umap lock (one per umap, N_UMAPS = 512; a UFID's umap is its hash & 511): guards the chain
 *   links of the umap's buckets and insert/remove. Lookups take it too (no lock-free chains).
 * - ukey lock (a word in the record): guards the record's mutable fields. Taken with a trylock
 *   by revalidators (a busy ukey is skipped, as OVS does) and blocking by handlers/removers.
 * - allocator lock: records, interned masks, heap blobs.
 * - Lock order: umap, then ukey, then allocator. No thread takes a umap lock while holding a ukey
 *   lock or the allocator lock.
 * - A record index stays valid while its ukey lock is held (removal needs it). Holders of an index
 *   without the lock (handlers between install and finish, sweep snapshots) also hold the
 *   record's generation, which changes when the record is freed: `installFinish` and sweeps
 *   check it.
 * - udpif cells in the header (flow limit, reval seq, dump seq, dump duration, dump cursor) are
 *   read and written with Atomics.
 *
 * Nothing here throws for bad input from another thread: installs answer with a status. Sizing
 * errors at creation throw RangeError.
 */
import { FLOW_WORDS, hashWords } from '@tsvs/packet';
import { mutexLock, mutexTryLock, mutexUnlock } from '@tsvs/shm';
import {
  BLOB_GRAIN, F_BYTES, F_CREATED, F_PACKETS, F_USED, H_ALLOC_LOCK, H_BAD_TRANSITIONS, H_CAPACITY,
  H_DUMP_CURSOR, H_DUMP_DURATION, H_DUMP_SEQ, H_ENOSPC, H_FLOW_LIMIT, H_FREE_TOP, H_HEAP_FREE, H_HEAP_TOP,
  H_HEAP_WORDS, H_MAGIC, H_MASK_COUNT, H_MASK_FREE_TOP, H_MAX_MASKS, H_REVAL_SEQ, H_VERSION, MASK_WORDS,
  MAX_BLOB_CLASS, MAX_UKEY_RULES, M_HASH, M_NEXT, M_NUSED, M_REFS, N_UMAPS, RECORD_WORDS, UKEY_LAYOUT_VERSION,
  UKEY_TABLE_MAGIC, U_ACT_LEN, U_BLOB, U_BLOB_CLASS, U_DUMP_SEQ, U_FLAGS, U_GEN, U_HASH, U_KEY_WORDS, U_LOCK,
  U_MASK, U_MISSED, U_NEXT, U_N_RULES, U_REVAL_SEQ, U_STATE, U_TCP_FLAGS, U_UFID, U_VERSION, UMAP_STRIDE,
  computeUkeyLayout, type UkeyLayout,
} from './ukey-layout.js';
import {
  UKEY_CREATED, UKEY_DELETED, UKEY_EVICTED, UKEY_OPERATIONAL, UKEY_VISIBLE, ukeyTransitionOk,
} from './ukey-state.js';

export interface UkeyTableOptions {
  /** Most ukeys at once. Default 200000 (OVS's flow-limit default). */
  capacity?: number;
  /** Heap for keys, actions and rule ids, in 32-bit words. Default max(capacity * 32, 4096) (128 bytes per ukey). */
  heapWords?: number;
  /** Distinct masks at once. Default 1024. */
  maxMasks?: number;
}

/** What a handler (or a revalidator adopting a flow) gives `install`. */
export interface UkeyInstall {
  ufid: Uint32Array;
  /** Flow key (FLOW_WORDS words from keyBase), as put into the datapath (odp in_port); masked here. */
  key: Uint32Array;
  keyBase?: number;
  /** The megaflow mask put into the datapath. */
  mask: Uint32Array;
  maskBase?: number;
  /** Encoded datapath actions as put. */
  actions: Uint8Array;
  /** Ids of the rules the translation touched (credited with the flow's stats). */
  rules: ArrayLike<number>;
  /** OpenFlow tables version the translation read. */
  version: number;
  /** Revalidation sequence read BEFORE translating (`table.revalSeq`), as OVS upcall->reval_seq. */
  revalSeq: number;
  /** Creation time (ms, datapath clock): idle time of a never-hit flow counts from it. */
  nowMs: number;
  /** U_FLAGS bits (UKEY_F_ADOPTED). Default 0. */
  flags?: number;
}

/**
 * Outcome of `install` (OVS ukey_install):
 * - installed: new ukey, VISIBLE; put the flow, then call `installFinish`.
 * - replaced: an EVICTED ukey of the same flow was replaced (OVS try_ukey_replace); as installed.
 * - exists: a live ukey of the same flow exists (a duplicate upcall): do not put the flow.
 * - conflict: the UFID has a ukey with another key or mask (logged by OVS): do not put.
 * - ENOSPC: no free record, mask slot or heap space: do not put.
 * - EINVAL: malformed arguments.
 */
export type UkeyInstallStatus = 'installed' | 'replaced' | 'exists' | 'conflict' | 'ENOSPC' | 'EINVAL';

export interface UkeyInstallResult {
  status: UkeyInstallStatus;
  /** True for installed/replaced: the caller owns the flow install (OVS ukey_install's return). */
  ok: boolean;
  /** Record index and generation (the handle for installFinish); -1 when not ok. */
  ukey: number;
  gen: number;
}

/** Stats last pushed to the rules (OVS ukey->stats). */
export interface UkeyStats {
  packets: number;
  bytes: number;
  used: number;
  tcpFlags: number;
}

/** The failed outcome of an install. */
function installFailed(status: UkeyInstallStatus): UkeyInstallResult {
  return { status, ok: false, ukey: -1, gen: 0 };
}

/** The hash that places a mask among the interned ones. */
function maskHash(mask: Uint32Array): number {
  return hashWords(mask, 0, FLOW_WORDS, 0x6d61736b);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash that places a UFID (its umap is `hash & (N_UMAPS - 1)`): mixes all 4 words, so client-chosen UFIDs spread too. */
export function ukeyHash(ufid: Uint32Array, base = 0): number {
  return fmix32((ufid[base]! ^ Math.imul(ufid[base + 1]!, 0x9e3779b1) ^ Math.imul(ufid[base + 2]!, 0x85ebca77) ^ ufid[base + 3]!) >>> 0);
}

export class UkeyTable {
  readonly sab: SharedArrayBuffer;
  readonly layout: UkeyLayout;
  readonly capacity: number;
  /** Whole-buffer views; *Base fields index them. @internal */
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  private readonly lockBase: number;
  private readonly countBase: number;
  private readonly bucketBase: number;
  private readonly bucketMask: number;
  private readonly recBase: number;
  private readonly freeBase: number;
  private readonly maskBase: number;
  private readonly maskBucketBase: number;
  private readonly maskBucketMask: number;
  private readonly maskFreeBase: number;
  private readonly heapBase: number;
  private readonly heapWords: number;
  // Per-thread scratch.
  private readonly sPacked = new Uint32Array(FLOW_WORDS);
  private readonly sMask = new Uint32Array(FLOW_WORDS);
  private readonly sRules = new Int32Array(MAX_UKEY_RULES);
  /** The mask of this thread's previous install, its interning hash and id (most installs repeat a mask). */
  private readonly lastMask = new Uint32Array(FLOW_WORDS);
  private lastMaskHash = -1;
  private lastMaskId = -1;
  /** Blob size class of this thread's previous install. */
  private lastCls = 0;
  /**
   * This thread's reserve (see `reserve`): free records, blobs of class `resCls`, and references
   * to interned mask `resMaskId` (valid while `resMaskIsLast`: the reserved mask is `lastMask`).
   */
  private resRecs = new Int32Array(0);
  private nResRecs = 0;
  private resBlobs = new Int32Array(0);
  private nResBlobs = 0;
  private resCls = 0;
  private resMaskId = -1;
  private resMaskRefs = 0;
  private resMaskIsLast = false;

  private constructor(sab: SharedArrayBuffer) {
    const h = new Int32Array(sab, 0, 64);
    if (h[H_MAGIC] !== UKEY_TABLE_MAGIC || h[H_VERSION] !== UKEY_LAYOUT_VERSION) {
      throw new TypeError('UkeyTable.attach: buffer is not a ukey table of this layout version');
    }
    const L = computeUkeyLayout({ capacity: h[H_CAPACITY]!, heapWords: h[H_HEAP_WORDS]!, maxMasks: h[H_MAX_MASKS]! });
    if (sab.byteLength < L.totalBytes) throw new TypeError('UkeyTable.attach: buffer shorter than its layout');
    this.sab = sab;
    this.layout = L;
    this.capacity = L.capacity;
    this.i32 = new Int32Array(sab, 0, L.totalBytes >>> 2);
    this.u32 = new Uint32Array(sab, 0, L.totalBytes >>> 2);
    this.f64 = new Float64Array(sab, 0, L.totalBytes >>> 3);
    this.u8 = new Uint8Array(sab, 0, L.totalBytes);
    this.lockBase = L.umapLock >>> 2;
    this.countBase = L.umapCount >>> 2;
    this.bucketBase = L.buckets >>> 2;
    this.bucketMask = L.nBuckets - 1;
    this.recBase = L.records >>> 2;
    this.freeBase = L.freeStack >>> 2;
    this.maskBase = L.masks >>> 2;
    this.maskBucketBase = L.maskBuckets >>> 2;
    this.maskBucketMask = L.nMaskBuckets - 1;
    this.maskFreeBase = L.maskFree >>> 2;
    this.heapBase = L.heap >>> 2;
    this.heapWords = L.heapWords;
  }

  /** Creates an empty table in a new SharedArrayBuffer. Throws RangeError on bad sizes. */
  static create(opts: UkeyTableOptions = {}): UkeyTable {
    const capacity = opts.capacity ?? 200000;
    const L = computeUkeyLayout({ capacity, heapWords: opts.heapWords ?? Math.max(capacity * 32, 4096), maxMasks: opts.maxMasks ?? 1024 });
    const sab = new SharedArrayBuffer(L.totalBytes);
    const i32 = new Int32Array(sab);
    i32[H_MAGIC] = UKEY_TABLE_MAGIC;
    i32[H_VERSION] = UKEY_LAYOUT_VERSION;
    i32[H_CAPACITY] = L.capacity;
    i32[3] = L.nBuckets;
    i32[H_HEAP_WORDS] = L.heapWords;
    i32[H_MAX_MASKS] = L.maxMasks;
    i32[6] = L.nMaskBuckets;
    i32.fill(-1, L.buckets >>> 2, (L.buckets >>> 2) + L.nBuckets);
    i32.fill(-1, L.maskBuckets >>> 2, (L.maskBuckets >>> 2) + L.nMaskBuckets);
    i32.fill(-1, H_HEAP_FREE, H_HEAP_FREE + MAX_BLOB_CLASS + 1);
    // Free stacks with the lowest index on top.
    const fb = L.freeStack >>> 2;
    for (let i = 0; i < capacity; i++) i32[fb + i] = capacity - 1 - i;
    i32[H_FREE_TOP] = capacity;
    const mf = L.maskFree >>> 2;
    for (let i = 0; i < L.maxMasks; i++) i32[mf + i] = L.maxMasks - 1 - i;
    i32[H_MASK_FREE_TOP] = L.maxMasks;
    // Record words other than zero at rest: state DELETED (free).
    const rb = L.records >>> 2;
    for (let r = 0; r < capacity; r++) i32[rb + r * RECORD_WORDS + U_STATE] = UKEY_DELETED;
    i32[H_FLOW_LIMIT] = 10000;
    i32[H_REVAL_SEQ] = 1;
    i32[H_DUMP_SEQ] = 1;
    return new UkeyTable(sab);
  }

  /** Attaches to a table created in another thread. Throws TypeError if `sab` is not one. */
  static attach(sab: SharedArrayBuffer): UkeyTable {
    return new UkeyTable(sab);
  }

  // ---- udpif cells ----

  /** The dynamic flow limit (OVS udpif->flow_limit): handlers install no flow while the datapath holds this many. */
  get flowLimit(): number {
    return Atomics.load(this.i32, H_FLOW_LIMIT);
  }

  set flowLimit(n: number) {
    Atomics.store(this.i32, H_FLOW_LIMIT, n | 0);
  }

  /** The cell of the flow limit, for threads that read it often: `Atomics.load(cell.array, cell.index)`. */
  get flowLimitCell(): { array: Int32Array; index: number } {
    return { array: this.i32, index: H_FLOW_LIMIT };
  }

  /** Revalidation sequence (OVS udpif->reval_seq): bumped on every table, MAC-learning or port change. */
  get revalSeq(): number {
    return Atomics.load(this.i32, H_REVAL_SEQ);
  }

  /** Bumps the revalidation sequence (OVS udpif_revalidate); returns the new value. */
  bumpRevalSeq(): number {
    return Atomics.add(this.i32, H_REVAL_SEQ, 1) + 1;
  }

  /** Dump sequence (OVS udpif->dump_seq): changes after every round. */
  get dumpSeq(): number {
    return Atomics.load(this.i32, H_DUMP_SEQ);
  }

  bumpDumpSeq(): number {
    return Atomics.add(this.i32, H_DUMP_SEQ, 1) + 1;
  }

  /** Duration of the last round, ms (OVS udpif->dump_duration). */
  get dumpDuration(): number {
    return Atomics.load(this.i32, H_DUMP_DURATION);
  }

  set dumpDuration(ms: number) {
    Atomics.store(this.i32, H_DUMP_DURATION, ms | 0);
  }

  /** The shared dump cursor (pass to FlowTable.dumpNext as `cursor`, `cursorIndex`). */
  get dumpCursor(): { array: Int32Array; index: number } {
    return { array: this.i32, index: H_DUMP_CURSOR };
  }

  // ---- counts ----

  /** ukeys in umaps (all states but DELETED): the sum of the umaps' counts. */
  get count(): number {
    let n = 0;
    for (let u = 0; u < N_UMAPS; u++) n += Atomics.load(this.i32, this.countBase + u * UMAP_STRIDE);
    return n;
  }

  /** ukeys in umap `u`. */
  umapCount(u: number): number {
    return Atomics.load(this.i32, this.countBase + u * UMAP_STRIDE);
  }

  /** ukeys in the umaps revalidator `r` of `n` sweeps (umaps r, r+n, ...), as upcall/show counts "keys". */
  keysOfRevalidator(r: number, n: number): number {
    let s = 0;
    for (let u = r; u < N_UMAPS; u += n) s += this.umapCount(u);
    return s;
  }

  /** Interned masks in use. */
  get maskCount(): number {
    return Atomics.load(this.i32, H_MASK_COUNT);
  }

  /** Heap words handed out so far (high-water mark; freed blocks are reused by size class). */
  get heapUsedWords(): number {
    return Atomics.load(this.i32, H_HEAP_TOP);
  }

  /** Refused state transitions so far. */
  get badTransitions(): number {
    return Atomics.load(this.i32, H_BAD_TRANSITIONS);
  }

  /** Installs refused for want of space so far. */
  get enospc(): number {
    return Atomics.load(this.i32, H_ENOSPC);
  }

  // ---- install (handlers) ----

  /**
   * Installs a ukey for a flow about to be put (OVS ukey_create_from_upcall + ukey_install). See
   * UkeyInstallStatus. On ok, the ukey is VISIBLE and the caller must call `installFinish(ukey,
   * gen, putOk)` after its put. Never throws.
   */
  install(u: UkeyInstall): UkeyInstallResult {
    const kb = u.keyBase ?? 0, mb = u.maskBase ?? 0;
    if (!(u.ufid instanceof Uint32Array) || u.ufid.length !== 4 || !(u.key instanceof Uint32Array) || !(u.mask instanceof Uint32Array)
      || !(u.actions instanceof Uint8Array) || u.key.length < kb + FLOW_WORDS || u.mask.length < mb + FLOW_WORDS
      || u.actions.length > 256 || !u.rules || typeof u.rules.length !== 'number') {
      return installFailed('EINVAL');
    }
    // Dedupe the rule ids, keep order, cap.
    const rules = this.sRules;
    let nr = 0;
    for (let i = 0; i < u.rules.length && nr < MAX_UKEY_RULES; i++) {
      const id = u.rules[i]! | 0;
      let dup = false;
      for (let j = 0; j < nr; j++) if (rules[j] === id) { dup = true; break; }
      if (!dup) rules[nr++] = id;
    }
    const mask = this.sMask, packed = this.sPacked, last = this.lastMask;
    let kn = 0, same = this.lastMaskHash >= 0;
    for (let i = 0; i < FLOW_WORDS; i++) {
      const m = u.mask[mb + i]!;
      mask[i] = m;
      if (m !== last[i]) same = false;
      if (m !== 0) packed[kn++] = (u.key[kb + i]! & m) >>> 0;
    }
    // The interning hash, outside the allocator lock (and not recomputed for a repeated mask).
    if (!same) {
      last.set(mask);
      this.lastMaskHash = maskHash(mask);
      this.resMaskIsLast = false;
    }
    const mh = this.lastMaskHash;
    const words = kn + ((u.actions.length + 3) >>> 2) + nr;
    // Allocate record, mask, blob: from this thread's reserve when it has them, else under the allocator lock.
    let rec = -1, maskId = -1, blob = -1;
    const cls = Math.max(1, Math.ceil(words / BLOB_GRAIN));
    if (this.nResRecs > 0) rec = this.resRecs[--this.nResRecs]!;
    if (this.resMaskRefs > 0 && this.resMaskIsLast) {
      maskId = this.resMaskId;
      this.resMaskRefs--;
    }
    if (this.nResBlobs > 0 && cls === this.resCls) blob = this.resBlobs[--this.nResBlobs]!;
    if (rec < 0 || maskId < 0 || blob < 0) {
      mutexLock(this.i32, H_ALLOC_LOCK);
      try {
        if (rec < 0) rec = this.popRecord();
        if (rec >= 0 && maskId < 0) maskId = this.internMask(mask, kn, mh);
        if (maskId >= 0 && blob < 0) blob = this.allocBlob(cls);
        if (blob < 0) {
          if (maskId >= 0) this.releaseMask(maskId);
          if (rec >= 0) this.pushRecord(rec);
          Atomics.add(this.i32, H_ENOSPC, 1);
          return installFailed('ENOSPC');
        }
      } finally {
        mutexUnlock(this.i32, H_ALLOC_LOCK);
      }
    }
    this.lastMaskId = maskId;
    this.lastCls = cls;
    const i32 = this.i32, rb = this.recBase + rec * RECORD_WORDS, fb = rb >>> 1;
    const hash = ukeyHash(u.ufid);
    i32[rb + U_UFID] = u.ufid[0]! | 0;
    i32[rb + U_UFID + 1] = u.ufid[1]! | 0;
    i32[rb + U_UFID + 2] = u.ufid[2]! | 0;
    i32[rb + U_UFID + 3] = u.ufid[3]! | 0;
    i32[rb + U_HASH] = hash | 0;
    i32[rb + U_STATE] = UKEY_CREATED;
    i32[rb + U_DUMP_SEQ] = 0;
    i32[rb + U_REVAL_SEQ] = u.revalSeq | 0;
    i32[rb + U_VERSION] = u.version | 0;
    i32[rb + U_MISSED] = 0;
    i32[rb + U_MASK] = maskId;
    i32[rb + U_BLOB] = blob;
    i32[rb + U_BLOB_CLASS] = cls;
    i32[rb + U_KEY_WORDS] = kn;
    i32[rb + U_TCP_FLAGS] = 0;
    i32[rb + U_FLAGS] = u.flags ?? 0;
    this.f64[fb + F_CREATED] = u.nowMs;
    this.f64[fb + F_PACKETS] = 0;
    this.f64[fb + F_BYTES] = 0;
    this.f64[fb + F_USED] = 0;
    const hb = this.heapBase + blob;
    for (let j = 0; j < kn; j++) this.u32[hb + j] = packed[j]!;
    this.writeActionsAndRules(rec, hb + kn, u.actions, rules, nr);
    const gen = i32[rb + U_GEN]!;

    // Insert into the umap (OVS ukey_install__).
    const lk = this.lockBase + (hash & (N_UMAPS - 1)) * UMAP_STRIDE;
    let status: UkeyInstallStatus = 'installed';
    mutexLock(i32, lk);
    try {
      const old = this.findLocked(u.ufid, 0, hash);
      if (old >= 0) {
        if (!this.sameFlow(old, rec)) status = 'conflict';
        else {
          const ob = this.recBase + old * RECORD_WORDS;
          if (!mutexTryLock(i32, ob + U_LOCK)) status = 'exists'; // contention
          else {
            if (i32[ob + U_STATE] === UKEY_EVICTED) {
              // The flow was deleted this round but its ukey waits for the sweep: take its place.
              status = 'replaced';
              i32[rb + U_DUMP_SEQ] = i32[ob + U_DUMP_SEQ]!;
              this.unlinkLocked(old);
              this.freeLocked(old);
              this.linkLocked(rec, hash);
            } else {
              status = 'exists';
            }
            mutexUnlock(i32, ob + U_LOCK);
          }
        }
      } else {
        this.linkLocked(rec, hash);
      }
      if (status === 'installed' || status === 'replaced') {
        i32[rb + U_STATE] = UKEY_VISIBLE;
      } else {
        mutexLock(i32, H_ALLOC_LOCK);
        try {
          this.releaseRecordMemory(rec);
          this.pushRecord(rec);
        } finally {
          mutexUnlock(i32, H_ALLOC_LOCK);
        }
      }
    } finally {
      mutexUnlock(i32, lk);
    }
    if (status !== 'installed' && status !== 'replaced') return installFailed(status);
    return { status, ok: true, ukey: rec, gen };
  }

  /**
   * Takes, under one hold of the allocator lock, what about `n` installs of this thread will need,
   * so that they do not take that lock each (two handlers installing at once contended on it):
   * up to `n` free records, up to `n` heap blobs of the size class of this thread's previous
   * install, and `n` references to its mask if that mask is still interned. Installs use them
   * first; `unreserve()` gives back what is left. While reserved they are unavailable to other
   * threads (another thread may then see ENOSPC near capacity), so keep the window short: a
   * handler reserves for one batch of upcalls and unreserves right after its installs. At most
   * 4096. Never throws.
   */
  reserve(n: number): void {
    if (this.nResRecs > 0 || this.nResBlobs > 0 || this.resMaskRefs > 0) this.unreserve();
    n = Math.min(Math.max(0, n | 0), 4096);
    if (n === 0) return;
    if (this.resRecs.length < n) {
      this.resRecs = new Int32Array(n);
      this.resBlobs = new Int32Array(n);
    }
    const i32 = this.i32, cls = this.lastCls, mid = this.lastMaskId;
    mutexLock(i32, H_ALLOC_LOCK);
    try {
      let r = 0;
      while (r < n) {
        const rec = this.popRecord();
        if (rec < 0) break;
        // Reserved records are handed out in the order the free stack would have handed them out.
        this.resRecs[n - 1 - r] = rec;
        r++;
      }
      if (r < n) this.resRecs.copyWithin(0, n - r, n);
      this.nResRecs = r;
      if (cls > 0) {
        let b = 0;
        while (b < r) {
          const blob = this.allocBlob(cls);
          if (blob < 0) break;
          this.resBlobs[r - 1 - b] = blob;
          b++;
        }
        if (b < r) this.resBlobs.copyWithin(0, r - b, r);
        this.nResBlobs = b;
        this.resCls = cls;
      }
      // The previous install's mask, if it is still interned as this thread last saw it.
      if (mid >= 0 && r > 0 && this.lastMaskHash >= 0) {
        const mb = this.maskBase + mid * MASK_WORDS;
        let j = 0;
        if (i32[mb + M_REFS]! > 0) while (j < FLOW_WORDS && this.u32[mb + j] === this.lastMask[j]) j++;
        if (j === FLOW_WORDS) {
          i32[mb + M_REFS] = i32[mb + M_REFS]! + r;
          this.resMaskId = mid;
          this.resMaskRefs = r;
          this.resMaskIsLast = true;
        }
      }
    } finally {
      mutexUnlock(i32, H_ALLOC_LOCK);
    }
  }

  /** Gives back what `reserve` took and installs did not use. Never throws. */
  unreserve(): void {
    if (this.nResRecs === 0 && this.nResBlobs === 0 && this.resMaskRefs === 0) return;
    const i32 = this.i32;
    mutexLock(i32, H_ALLOC_LOCK);
    try {
      // Back in reverse order: the free stack ends as it was (minus what was used).
      for (let k = 0; k < this.nResRecs; k++) this.pushRecord(this.resRecs[k]!);
      for (let k = 0; k < this.nResBlobs; k++) this.freeBlob(this.resBlobs[k]!, this.resCls);
      if (this.resMaskRefs > 0) {
        const mb = this.maskBase + this.resMaskId * MASK_WORDS;
        i32[mb + M_REFS] = i32[mb + M_REFS]! - (this.resMaskRefs - 1);
        this.releaseMask(this.resMaskId);
      }
    } finally {
      this.nResRecs = 0;
      this.nResBlobs = 0;
      this.resMaskRefs = 0;
      this.resMaskIsLast = false;
      mutexUnlock(i32, H_ALLOC_LOCK);
    }
  }

  /** Records, blobs and mask references this thread holds in reserve (tests, diagnostics). */
  get reserved(): { records: number; blobs: number; maskRefs: number } {
    return { records: this.nResRecs, blobs: this.nResBlobs, maskRefs: this.resMaskRefs };
  }

  /**
   * After the put of an installed ukey's flow (OVS handle_upcalls): `putOk` → OPERATIONAL (if not
   * already further), else EVICTED (the sweep removes it). Returns false if the ukey is gone
   * (purged meanwhile: generation changed).
   */
  installFinish(ukey: number, gen: number, putOk: boolean): boolean {
    if (!(ukey >= 0 && ukey < this.capacity)) return false;
    const rb = this.recBase + ukey * RECORD_WORDS;
    mutexLock(this.i32, rb + U_LOCK);
    try {
      if (this.i32[rb + U_GEN] !== gen || this.i32[rb + U_STATE] === UKEY_DELETED) return false;
      if (!putOk) this.transition(ukey, UKEY_EVICTED);
      else if (this.i32[rb + U_STATE]! < UKEY_OPERATIONAL) this.transition(ukey, UKEY_OPERATIONAL);
      return true;
    } finally {
      mutexUnlock(this.i32, rb + U_LOCK);
    }
  }

  // ---- lookup and locking ----

  /**
   * Finds the ukey of `ufid` and trylocks it (OVS ukey_lookup + ovs_mutex_trylock): the record
   * index (locked: call `unlock`), -1 if there is none, -2 if another thread holds it.
   */
  lookupLock(ufid: Uint32Array, base = 0): number {
    const hash = ukeyHash(ufid, base);
    const lk = this.lockBase + (hash & (N_UMAPS - 1)) * UMAP_STRIDE;
    mutexLock(this.i32, lk);
    try {
      const r = this.findLocked(ufid, base, hash);
      if (r < 0) return -1;
      return mutexTryLock(this.i32, this.recBase + r * RECORD_WORDS + U_LOCK) ? r : -2;
    } finally {
      mutexUnlock(this.i32, lk);
    }
  }

  /** The ukey index of `ufid` or -1, without locking it (diagnostics and tests). */
  find(ufid: Uint32Array, base = 0): number {
    const hash = ukeyHash(ufid, base);
    const lk = this.lockBase + (hash & (N_UMAPS - 1)) * UMAP_STRIDE;
    mutexLock(this.i32, lk);
    try {
      return this.findLocked(ufid, base, hash);
    } finally {
      mutexUnlock(this.i32, lk);
    }
  }

  /** Trylocks a ukey by index (sweep); true if now held. */
  tryLock(ukey: number): boolean {
    return mutexTryLock(this.i32, this.recBase + ukey * RECORD_WORDS + U_LOCK);
  }

  /** Locks a ukey by index, waiting if needed. */
  lock(ukey: number): void {
    mutexLock(this.i32, this.recBase + ukey * RECORD_WORDS + U_LOCK);
  }

  unlock(ukey: number): void {
    mutexUnlock(this.i32, this.recBase + ukey * RECORD_WORDS + U_LOCK);
  }

  /**
   * Snapshot of umap `u`'s ukeys: record indices and generations into the arrays (grown as
   * needed). Returns the count. The sweep trylocks each and checks the generation.
   */
  umapSnapshot(u: number, out: { idx: Int32Array; gen: Int32Array }): number {
    const lk = this.lockBase + u * UMAP_STRIDE;
    mutexLock(this.i32, lk);
    try {
      const n = this.i32[this.countBase + u * UMAP_STRIDE]!;
      if (out.idx.length < n) {
        out.idx = new Int32Array(n * 2);
        out.gen = new Int32Array(n * 2);
      }
      let k = 0;
      for (let b = u; b <= this.bucketMask; b += N_UMAPS) {
        let r = this.i32[this.bucketBase + b]!;
        while (r >= 0) {
          out.idx[k] = r;
          out.gen[k] = this.i32[this.recBase + r * RECORD_WORDS + U_GEN]!;
          k++;
          r = this.i32[this.recBase + r * RECORD_WORDS + U_NEXT]!;
        }
      }
      return k;
    } finally {
      mutexUnlock(this.i32, lk);
    }
  }

  /**
   * Removes a ukey from its umap and frees it (OVS ukey_delete). Takes the umap lock, then the
   * ukey lock (waiting). No-op (false) if the generation changed or it is already DELETED.
   * The caller must not hold the ukey's lock.
   */
  remove(ukey: number, gen: number): boolean {
    const rb = this.recBase + ukey * RECORD_WORDS;
    const hash = this.i32[rb + U_HASH]!;
    const lk = this.lockBase + (hash & (N_UMAPS - 1)) * UMAP_STRIDE;
    mutexLock(this.i32, lk);
    try {
      mutexLock(this.i32, rb + U_LOCK);
      try {
        if (this.i32[rb + U_GEN] !== gen || this.i32[rb + U_STATE] === UKEY_DELETED) return false;
        this.unlinkLocked(ukey);
        this.freeLocked(ukey);
        return true;
      } finally {
        mutexUnlock(this.i32, rb + U_LOCK);
      }
    } finally {
      mutexUnlock(this.i32, lk);
    }
  }

  // ---- fields (the caller holds the ukey lock) ----

  gen(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_GEN]!;
  }

  state(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_STATE]!;
  }

  /**
   * Moves the ukey to `to` if legal (ukeyTransitionOk); an illegal step is refused and counted
   * (`badTransitions`). Returns whether the state is now `to`.
   */
  transition(ukey: number, to: number): boolean {
    const at = this.recBase + ukey * RECORD_WORDS + U_STATE;
    const from = this.i32[at]!;
    if (!ukeyTransitionOk(from, to)) {
      Atomics.add(this.i32, H_BAD_TRANSITIONS, 1);
      return false;
    }
    this.i32[at] = to;
    return true;
  }

  ufidInto(ukey: number, out: Uint32Array, base = 0): void {
    const rb = this.recBase + ukey * RECORD_WORDS + U_UFID;
    for (let i = 0; i < 4; i++) out[base + i] = this.u32[rb + i]!;
  }

  dumpSeqOf(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_DUMP_SEQ]!;
  }

  setDumpSeq(ukey: number, seq: number): void {
    this.i32[this.recBase + ukey * RECORD_WORDS + U_DUMP_SEQ] = seq;
  }

  revalSeqOf(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_REVAL_SEQ]!;
  }

  versionOf(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_VERSION]!;
  }

  /** Records that the ukey's translation is current as of (`revalSeq`, `version`). */
  setValidated(ukey: number, revalSeq: number, version: number): void {
    const rb = this.recBase + ukey * RECORD_WORDS;
    this.i32[rb + U_REVAL_SEQ] = revalSeq;
    this.i32[rb + U_VERSION] = version;
  }

  missedOf(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_MISSED]!;
  }

  setMissed(ukey: number, n: number): void {
    this.i32[this.recBase + ukey * RECORD_WORDS + U_MISSED] = n;
  }

  flagsOf(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_FLAGS]!;
  }

  createdOf(ukey: number): number {
    return this.f64[((this.recBase + ukey * RECORD_WORDS) >>> 1) + F_CREATED]!;
  }

  /** Stats last pushed (OVS ukey->stats). */
  statsOf(ukey: number, out: UkeyStats = { packets: 0, bytes: 0, used: 0, tcpFlags: 0 }): UkeyStats {
    const rb = this.recBase + ukey * RECORD_WORDS, fb = rb >>> 1;
    out.packets = this.f64[fb + F_PACKETS]!;
    out.bytes = this.f64[fb + F_BYTES]!;
    out.used = this.f64[fb + F_USED]!;
    out.tcpFlags = this.i32[rb + U_TCP_FLAGS]!;
    return out;
  }

  pushedPackets(ukey: number): number {
    return this.f64[((this.recBase + ukey * RECORD_WORDS) >>> 1) + F_PACKETS]!;
  }

  pushedBytes(ukey: number): number {
    return this.f64[((this.recBase + ukey * RECORD_WORDS) >>> 1) + F_BYTES]!;
  }

  pushedUsed(ukey: number): number {
    return this.f64[((this.recBase + ukey * RECORD_WORDS) >>> 1) + F_USED]!;
  }

  setStats(ukey: number, packets: number, bytes: number, used: number, tcpFlags: number): void {
    const rb = this.recBase + ukey * RECORD_WORDS, fb = rb >>> 1;
    this.f64[fb + F_PACKETS] = packets;
    this.f64[fb + F_BYTES] = bytes;
    this.f64[fb + F_USED] = used;
    this.i32[rb + U_TCP_FLAGS] = tcpFlags;
  }

  /** Writes the ukey's masked key (FLOW_WORDS words) to `out[ob..]`. */
  keyInto(ukey: number, out: Uint32Array, ob = 0): void {
    const rb = this.recBase + ukey * RECORD_WORDS;
    const mb = this.maskBase + this.i32[rb + U_MASK]! * MASK_WORDS;
    const hb = this.heapBase + this.i32[rb + U_BLOB]!;
    let j = 0;
    for (let i = 0; i < FLOW_WORDS; i++) out[ob + i] = this.u32[mb + i] !== 0 ? this.u32[hb + j++]! : 0;
  }

  /** Writes the ukey's mask (FLOW_WORDS words) to `out[ob..]`. */
  maskInto(ukey: number, out: Uint32Array, ob = 0): void {
    const mb = this.maskBase + this.i32[this.recBase + ukey * RECORD_WORDS + U_MASK]! * MASK_WORDS;
    for (let i = 0; i < FLOW_WORDS; i++) out[ob + i] = this.u32[mb + i]!;
  }

  /** True if mask `m[mb..]` has a bit the ukey's mask lacks (OVS flow_wildcards_has_extra(ukey mask, m)). */
  maskNarrowerThan(ukey: number, m: Uint32Array, mb = 0): boolean {
    const b = this.maskBase + this.i32[this.recBase + ukey * RECORD_WORDS + U_MASK]! * MASK_WORDS;
    for (let i = 0; i < FLOW_WORDS; i++) if ((m[mb + i]! & ~this.u32[b + i]!) !== 0) return true;
    return false;
  }

  actionsLength(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_ACT_LEN]!;
  }

  /** A copy of the ukey's datapath actions. */
  actions(ukey: number): Uint8Array {
    const rb = this.recBase + ukey * RECORD_WORDS;
    const off = (this.heapBase + this.i32[rb + U_BLOB]! + this.i32[rb + U_KEY_WORDS]!) * 4;
    return this.u8.slice(off, off + this.i32[rb + U_ACT_LEN]!);
  }

  /** True if the ukey's actions equal `a` byte for byte. */
  actionsEqual(ukey: number, a: Uint8Array): boolean {
    const rb = this.recBase + ukey * RECORD_WORDS;
    const n = this.i32[rb + U_ACT_LEN]!;
    if (n !== a.length) return false;
    const off = (this.heapBase + this.i32[rb + U_BLOB]! + this.i32[rb + U_KEY_WORDS]!) * 4;
    for (let i = 0; i < n; i++) if (this.u8[off + i] !== a[i]) return false;
    return true;
  }

  /** Number of rule ids the ukey credits. */
  nRules(ukey: number): number {
    return this.i32[this.recBase + ukey * RECORD_WORDS + U_N_RULES]!;
  }

  /** Rule id `j` (< nRules). */
  rule(ukey: number, j: number): number {
    const rb = this.recBase + ukey * RECORD_WORDS;
    const aw = (this.i32[rb + U_ACT_LEN]! + 3) >>> 2;
    return this.i32[this.heapBase + this.i32[rb + U_BLOB]! + this.i32[rb + U_KEY_WORDS]! + aw + j]!;
  }

  /** The ukey's rule ids (a copy). */
  rules(ukey: number): number[] {
    const n = this.nRules(ukey);
    const out: number[] = [];
    for (let j = 0; j < n; j++) out.push(this.rule(ukey, j));
    return out;
  }

  /**
   * Replaces the ukey's actions and rule ids after a re-translation (OVS ukey_set_actions and the
   * new xcache). Moves the blob to another size class if needed. Returns false (nothing changed)
   * if the heap has no room.
   */
  setTranslation(ukey: number, actions: Uint8Array, rules: ArrayLike<number>): boolean {
    const nr0 = Math.min(rules.length, MAX_UKEY_RULES);
    const sr = this.sRules;
    let nr = 0;
    for (let i = 0; i < rules.length && nr < nr0; i++) {
      const id = rules[i]! | 0;
      let dup = false;
      for (let j = 0; j < nr; j++) if (sr[j] === id) { dup = true; break; }
      if (!dup) sr[nr++] = id;
    }
    if (actions.length > 256) return false;
    const rb = this.recBase + ukey * RECORD_WORDS;
    const kn = this.i32[rb + U_KEY_WORDS]!;
    const words = kn + ((actions.length + 3) >>> 2) + nr;
    const cls = Math.max(1, Math.ceil(words / BLOB_GRAIN));
    const oldCls = this.i32[rb + U_BLOB_CLASS]!;
    if (cls !== oldCls) {
      mutexLock(this.i32, H_ALLOC_LOCK);
      try {
        const nb = this.allocBlob(cls);
        if (nb < 0) {
          Atomics.add(this.i32, H_ENOSPC, 1);
          return false;
        }
        const ob = this.i32[rb + U_BLOB]!;
        this.i32.copyWithin(this.heapBase + nb, this.heapBase + ob, this.heapBase + ob + kn);
        this.freeBlob(ob, oldCls);
        this.i32[rb + U_BLOB] = nb;
        this.i32[rb + U_BLOB_CLASS] = cls;
      } finally {
        mutexUnlock(this.i32, H_ALLOC_LOCK);
      }
    }
    this.writeActionsAndRules(ukey, this.heapBase + this.i32[rb + U_BLOB]! + kn, actions, sr, nr);
    return true;
  }

  // ---- internals ----

  private writeActionsAndRules(ukey: number, at: number, actions: Uint8Array, rules: Int32Array, nr: number): void {
    const rb = this.recBase + ukey * RECORD_WORDS;
    const n = actions.length, aw = (n + 3) >>> 2;
    // Byte loops: TypedArray fill/set cost more than the copy for a few dozen bytes.
    const u8 = this.u8, b = at * 4;
    for (let k = 0; k < n; k++) u8[b + k] = actions[k]!;
    for (let k = n; k < aw * 4; k++) u8[b + k] = 0;
    this.i32[rb + U_ACT_LEN] = n;
    for (let j = 0; j < nr; j++) this.i32[at + aw + j] = rules[j]!;
    this.i32[rb + U_N_RULES] = nr;
  }

  /** Record with this UFID in its chain, or -1 (umap lock held). */
  private findLocked(ufid: Uint32Array, base: number, hash: number): number {
    const u0 = ufid[base]! | 0, u1 = ufid[base + 1]! | 0, u2 = ufid[base + 2]! | 0, u3 = ufid[base + 3]! | 0;
    let r = this.i32[this.bucketBase + (hash & this.bucketMask)]!;
    while (r >= 0) {
      const rb = this.recBase + r * RECORD_WORDS;
      if (this.i32[rb] === u0 && this.i32[rb + 1] === u1 && this.i32[rb + 2] === u2 && this.i32[rb + 3] === u3) return r;
      r = this.i32[rb + U_NEXT]!;
    }
    return -1;
  }

  /** Same masked key and mask (OVS compares the keys of two ukeys of one UFID). */
  private sameFlow(a: number, b: number): boolean {
    const ab = this.recBase + a * RECORD_WORDS, bb = this.recBase + b * RECORD_WORDS;
    if (this.i32[ab + U_MASK] !== this.i32[bb + U_MASK]) return false;
    const kn = this.i32[ab + U_KEY_WORDS]!;
    const ha = this.heapBase + this.i32[ab + U_BLOB]!, hb = this.heapBase + this.i32[bb + U_BLOB]!;
    for (let j = 0; j < kn; j++) if (this.i32[ha + j] !== this.i32[hb + j]) return false;
    return true;
  }

  private linkLocked(rec: number, hash: number): void {
    const b = this.bucketBase + (hash & this.bucketMask);
    this.i32[this.recBase + rec * RECORD_WORDS + U_NEXT] = this.i32[b]!;
    this.i32[b] = rec;
    Atomics.add(this.i32, this.countBase + (hash & (N_UMAPS - 1)) * UMAP_STRIDE, 1);
  }

  private unlinkLocked(rec: number): void {
    const rb = this.recBase + rec * RECORD_WORDS;
    const hash = this.i32[rb + U_HASH]!;
    let at = this.bucketBase + (hash & this.bucketMask);
    while (this.i32[at] !== rec) at = this.recBase + this.i32[at]! * RECORD_WORDS + U_NEXT;
    this.i32[at] = this.i32[rb + U_NEXT]!;
    this.i32[rb + U_NEXT] = -1;
    Atomics.sub(this.i32, this.countBase + (hash & (N_UMAPS - 1)) * UMAP_STRIDE, 1);
  }

  /** Marks DELETED, bumps the generation, returns memory (umap lock and, if shared, ukey lock held). */
  private freeLocked(rec: number): void {
    const rb = this.recBase + rec * RECORD_WORDS;
    this.i32[rb + U_STATE] = UKEY_DELETED;
    mutexLock(this.i32, H_ALLOC_LOCK);
    try {
      this.releaseRecordMemory(rec);
      this.pushRecord(rec);
    } finally {
      mutexUnlock(this.i32, H_ALLOC_LOCK);
    }
  }

  /** Frees blob and mask reference, bumps the generation (allocator lock held). */
  private releaseRecordMemory(rec: number): void {
    const rb = this.recBase + rec * RECORD_WORDS;
    this.freeBlob(this.i32[rb + U_BLOB]!, this.i32[rb + U_BLOB_CLASS]!);
    this.releaseMask(this.i32[rb + U_MASK]!);
    this.i32[rb + U_BLOB] = -1;
    this.i32[rb + U_MASK] = -1;
    this.i32[rb + U_STATE] = UKEY_DELETED;
    this.i32[rb + U_GEN] = (this.i32[rb + U_GEN]! + 1) | 0;
  }

  private popRecord(): number {
    const top = this.i32[H_FREE_TOP]!;
    if (top === 0) return -1;
    Atomics.store(this.i32, H_FREE_TOP, top - 1);
    return this.i32[this.freeBase + top - 1]!;
  }

  private pushRecord(rec: number): void {
    const top = this.i32[H_FREE_TOP]!;
    this.i32[this.freeBase + top] = rec;
    Atomics.store(this.i32, H_FREE_TOP, top + 1);
  }

  private allocBlob(cls: number): number {
    const head = this.i32[H_HEAP_FREE + cls]!;
    if (head >= 0) {
      this.i32[H_HEAP_FREE + cls] = this.i32[this.heapBase + head]!;
      return head;
    }
    const top = this.i32[H_HEAP_TOP]!;
    const size = cls * BLOB_GRAIN;
    if (top + size > this.heapWords) return -1;
    Atomics.store(this.i32, H_HEAP_TOP, top + size);
    return top;
  }

  private freeBlob(at: number, cls: number): void {
    if (at < 0) return;
    this.i32[this.heapBase + at] = this.i32[H_HEAP_FREE + cls]!;
    this.i32[H_HEAP_FREE + cls] = at;
  }

  /** Interned id of `mask` (hash `h` = maskHash(mask); refcount + 1), or -1 if the mask table is full (allocator lock held). */
  private internMask(mask: Uint32Array, nUsed: number, h: number): number {
    const b = this.maskBucketBase + (h & this.maskBucketMask);
    let id = this.i32[b]!;
    while (id >= 0) {
      const mb = this.maskBase + id * MASK_WORDS;
      if (this.u32[mb + M_HASH] === h) {
        let j = 0;
        while (j < FLOW_WORDS && this.u32[mb + j] === mask[j]) j++;
        if (j === FLOW_WORDS) {
          this.i32[mb + M_REFS]!++;
          return id;
        }
      }
      id = this.i32[mb + M_NEXT]!;
    }
    const top = this.i32[H_MASK_FREE_TOP]!;
    if (top === 0) return -1;
    this.i32[H_MASK_FREE_TOP] = top - 1;
    id = this.i32[this.maskFreeBase + top - 1]!;
    const mb = this.maskBase + id * MASK_WORDS;
    for (let j = 0; j < FLOW_WORDS; j++) this.u32[mb + j] = mask[j]!;
    this.i32[mb + M_NUSED] = nUsed;
    this.i32[mb + M_REFS] = 1;
    this.u32[mb + M_HASH] = h;
    this.i32[mb + M_NEXT] = this.i32[b]!;
    this.i32[b] = id;
    Atomics.add(this.i32, H_MASK_COUNT, 1);
    return id;
  }

  private releaseMask(id: number): void {
    if (id < 0) return;
    const mb = this.maskBase + id * MASK_WORDS;
    if (--this.i32[mb + M_REFS]! > 0) return;
    let at = this.maskBucketBase + (this.u32[mb + M_HASH]! & this.maskBucketMask);
    while (this.i32[at] !== id) at = this.maskBase + this.i32[at]! * MASK_WORDS + M_NEXT;
    this.i32[at] = this.i32[mb + M_NEXT]!;
    const top = this.i32[H_MASK_FREE_TOP]!;
    this.i32[this.maskFreeBase + top] = id;
    this.i32[H_MASK_FREE_TOP] = top + 1;
    Atomics.sub(this.i32, H_MASK_COUNT, 1);
  }
}
