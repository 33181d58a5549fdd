import { alignLine, bitsFor, I32_PER_LINE } from './layout.js';

/** Options for `PacketPool.create`. */
export interface PacketPoolOptions {
  /** Number of packet buffers (1..2^24). Default 16384. */
  readonly nBufs?: number;
  /** Bytes for frame data after the headroom. Default 2048. */
  readonly dataRoom?: number;
  /** Bytes reserved before the frame so that push_vlan / push_mpls can grow it in place. Default 64. */
  readonly headroom?: number;
  /** Buffers per magazine (the unit moved between a thread's cache and the shared stacks). Default 32. */
  readonly magSize?: number;
  /** Most threads expected to hold a cache at once (sizes the spare magazines). Default 64. */
  readonly maxThreads?: number;
}

/** Serializable form of a pool: pass it to a worker and `PacketPool.attach` it there. */
export interface PacketPoolDescriptor {
  readonly sab: SharedArrayBuffer;
}

/** Per-buffer metadata word indices (Int32, `META_WORDS` per buffer; see `PacketPool`). */
export const M_OFF = 0; //     data offset from the buffer start, bytes (headroom after alloc)
export const M_LEN = 1; //     frame length, bytes
export const M_IN_PORT = 2; // input port number (odp port in the datapath)
export const M_HASH = 3; //    packet hash (RSS / flow hash), 0 = not computed
export const M_USER0 = 4; //   free for the datapath (e.g. upcall type, batch links); 0 after alloc
export const M_USER1 = 5; //   free for the datapath; 0 after alloc
export const M_STATE = 6; //   1 allocated, 0 free (catches double frees)
export const M_LINK = 7; //    pool internal: next buffer in the overflow stack
export const META_WORDS = 8;

// Header word indices (Int32Array). Each CAS-contended word has its own 64-byte line.
const H_FULL = 0; //                 tagged top of the stack of full magazines
const H_EMPTY = I32_PER_LINE; //     tagged top of the stack of empty magazines
const H_LOOSE = 2 * I32_PER_LINE; // tagged top of the overflow stack of single buffers
const H_CFG = 3 * I32_PER_LINE; //   configuration (read-only after create)
const C_MAGIC = 0, C_NBUFS = 1, C_STRIDE = 2, C_HEADROOM = 3, C_DATAROOM = 4, C_MAGSIZE = 5, C_NMAGS = 6,
  C_MAGBITS = 7, C_BUFBITS = 8, C_OFF_MAGNEXT = 9, C_OFF_MAGCOUNT = 10, C_OFF_MAGIDS = 11, C_OFF_META = 12,
  C_OFF_DATA = 13;
const H_STATS = 4 * I32_PER_LINE; // error counters (rare paths, Atomics.add)
const S_ALLOC_FAIL = 0, S_DOUBLE_FREE = 1, S_BAD_ID = 2;
const HEADER_BYTES = 5 * I32_PER_LINE * 4;
const MAGIC = 0x706f6f6c; // "pool"

/**
 * The packet buffer pool: fixed-size buffers in one SharedArrayBuffer, named by a 32-bit buffer id,
 * that any thread can allocate and free without locks.
 *
 * Byte layout of the SharedArrayBuffer (offsets also stored in the header, line 3):
 *   0     header: 5 lines of 64 bytes: full-stack top, empty-stack top, overflow-stack top (each alone
 *         on its line), configuration, error counters (alloc failures, double frees, bad ids)
 *   ...   magNext  Int32[nMags]            next magazine in whichever stack holds it
 *   ...   magCount Int32[nMags]            buffers held by a magazine
 *   ...   magIds   Uint32[nMags * magSize] buffer ids held by each magazine
 *   ...   meta     Int32[nBufs * 8]        per-buffer metadata, words M_OFF..M_LINK (32 bytes/buffer)
 *   ...   data     Uint8[nBufs * stride]   buffer i at i * stride, stride = headroom + dataRoom
 *                                          rounded up to 64; its frame is at i * stride + meta[M_OFF]
 * Every region starts on a 64-byte boundary.
 *
 * Free list: magazines (Bonwick's slab magazines, DPDK's mempool cache). Each thread's `PacketPool`
 * object keeps a private cache of up to 2 × magSize ids. When it runs dry it pops a full magazine
 * from a shared lock-free stack (one CAS for magSize buffers) and pushes the emptied magazine to a
 * second stack; when its cache overflows it pops an empty magazine, fills it and pushes it full. The
 * stacks are Treiber stacks whose top word packs the magazine index with an ABA tag in the remaining
 * bits (bumped by every successful CAS); since they move whole magazines, a tag wraps only after
 * 2^tagBits batch operations during a single preempted CAS (2^21 with default sizes). There are
 * nBufs/magSize + maxThreads + 1 magazines, so an empty one is always there for a thread with a full
 * cache; the overflow stack (single buffers, linked through M_LINK) takes partial caches on `flush`
 * and is the last resort before reporting exhaustion.
 *
 * Ownership: a buffer id belongs to exactly one thread at a time; passing it through an `SpscRing`
 * passes ownership (and makes the bytes and metadata written before the push visible to the popper).
 * Buffers in a thread's cache are lost if the thread dies without `flush()`.
 */
export class PacketPool {
  readonly sab: SharedArrayBuffer;
  /** Number of buffers. */
  readonly nBufs: number;
  /** Bytes from one buffer's start to the next. */
  readonly stride: number;
  /** Initial M_OFF of a freshly allocated buffer. */
  readonly headroom: number;
  /** Bytes available for a frame at the initial offset (stride - headroom). */
  readonly dataRoom: number;
  /** Frame bytes of all buffers: buffer `id` starts at `id * stride`. */
  readonly data: Uint8Array;
  /** Metadata of all buffers: buffer `id` owns words `id * META_WORDS .. + META_WORDS - 1`. */
  readonly meta: Int32Array;

  private readonly h: Int32Array;
  private readonly magNext: Int32Array;
  private readonly magCount: Int32Array;
  private readonly magIds: Uint32Array;
  private readonly magSize: number;
  private readonly magBits: number;
  private readonly magNil: number;
  private readonly bufBits: number;
  private readonly bufNil: number;
  private readonly cache: Uint32Array;
  private cached = 0;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.h = new Int32Array(sab, 0, HEADER_BYTES / 4);
    const c = H_CFG;
    if (this.h[c + C_MAGIC] !== MAGIC) throw new TypeError('PacketPool.attach: not a packet pool');
    this.nBufs = this.h[c + C_NBUFS]!;
    this.stride = this.h[c + C_STRIDE]!;
    this.headroom = this.h[c + C_HEADROOM]!;
    this.dataRoom = this.h[c + C_DATAROOM]!;
    this.magSize = this.h[c + C_MAGSIZE]!;
    const nMags = this.h[c + C_NMAGS]!;
    this.magBits = this.h[c + C_MAGBITS]!;
    this.magNil = 2 ** this.magBits - 1;
    this.bufBits = this.h[c + C_BUFBITS]!;
    this.bufNil = 2 ** this.bufBits - 1;
    this.magNext = new Int32Array(sab, this.h[c + C_OFF_MAGNEXT]!, nMags);
    this.magCount = new Int32Array(sab, this.h[c + C_OFF_MAGCOUNT]!, nMags);
    this.magIds = new Uint32Array(sab, this.h[c + C_OFF_MAGIDS]!, nMags * this.magSize);
    this.meta = new Int32Array(sab, this.h[c + C_OFF_META]!, this.nBufs * META_WORDS);
    this.data = new Uint8Array(sab, this.h[c + C_OFF_DATA]!, this.nBufs * this.stride);
    this.cache = new Uint32Array(2 * this.magSize);
  }

  /** A new pool with every buffer free. Throws RangeError on out-of-range options. */
  static create(opts: PacketPoolOptions = {}): PacketPool {
    const nBufs = opts.nBufs ?? 16384;
    const dataRoom = opts.dataRoom ?? 2048;
    const headroom = opts.headroom ?? 64;
    const magSize = opts.magSize ?? 32;
    const maxThreads = opts.maxThreads ?? 64;
    const check = (name: string, v: number, lo: number, hi: number): void => {
      if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`PacketPool: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    };
    check('nBufs', nBufs, 1, 2 ** 24);
    check('dataRoom', dataRoom, 64, 2 ** 20);
    check('headroom', headroom, 0, 4096);
    check('magSize', magSize, 1, 1024);
    check('maxThreads', maxThreads, 1, 4096);
    const stride = alignLine(headroom + dataRoom);
    const nFull = Math.ceil(nBufs / magSize);
    const nMags = nFull + maxThreads + 1;
    const magBits = bitsFor(nMags); // index nMags..2^bits-1 unused; all ones = nil
    const bufBits = bitsFor(nBufs);
    const offMagNext = HEADER_BYTES;
    const offMagCount = offMagNext + alignLine(nMags * 4);
    const offMagIds = offMagCount + alignLine(nMags * 4);
    const offMeta = offMagIds + alignLine(nMags * magSize * 4);
    const offData = offMeta + alignLine(nBufs * META_WORDS * 4);
    const total = offData + nBufs * stride;
    const sab = new SharedArrayBuffer(total);
    const h = new Int32Array(sab, 0, HEADER_BYTES / 4);
    const c = H_CFG;
    h[c + C_MAGIC] = MAGIC;
    h[c + C_NBUFS] = nBufs;
    h[c + C_STRIDE] = stride;
    h[c + C_HEADROOM] = headroom;
    h[c + C_DATAROOM] = stride - headroom;
    h[c + C_MAGSIZE] = magSize;
    h[c + C_NMAGS] = nMags;
    h[c + C_MAGBITS] = magBits;
    h[c + C_BUFBITS] = bufBits;
    h[c + C_OFF_MAGNEXT] = offMagNext;
    h[c + C_OFF_MAGCOUNT] = offMagCount;
    h[c + C_OFF_MAGIDS] = offMagIds;
    h[c + C_OFF_META] = offMeta;
    h[c + C_OFF_DATA] = offData;
    const magNil = 2 ** magBits - 1;
    const bufNil = 2 ** bufBits - 1;
    const magNext = new Int32Array(sab, offMagNext, nMags);
    const magCount = new Int32Array(sab, offMagCount, nMags);
    const magIds = new Uint32Array(sab, offMagIds, nMags * magSize);
    // Full magazines 0..nFull-1 hold every buffer in order (the last one may be partial),
    // chained 0 -> 1 -> ... so that the first allocations get the lowest ids.
    for (let m = 0; m < nFull; m++) {
      const first = m * magSize;
      const n = Math.min(magSize, nBufs - first);
      for (let i = 0; i < n; i++) magIds[m * magSize + i] = first + i;
      magCount[m] = n;
      magNext[m] = m + 1 < nFull ? m + 1 : magNil;
    }
    for (let m = nFull; m < nMags; m++) magNext[m] = m + 1 < nMags ? m + 1 : magNil;
    h[H_FULL] = nFull > 0 ? 0 : magNil;
    h[H_EMPTY] = nFull < nMags ? nFull : magNil;
    h[H_LOOSE] = bufNil;
    return new PacketPool(sab);
  }

  /**
   * Attaches to a pool made by `create`, from any thread; each attached object has its own cache,
   * so attach once per thread and share the object among that thread's ports.
   * Throws TypeError if `desc.sab` is not a pool.
   */
  static attach(desc: PacketPoolDescriptor): PacketPool {
    return new PacketPool(desc.sab);
  }

  /** The serializable descriptor of this pool. */
  descriptor(): PacketPoolDescriptor {
    return { sab: this.sab };
  }

  /**
   * Allocates one buffer and resets its metadata (M_OFF = headroom, others 0, M_STATE = 1).
   * Returns its id, or -1 when the pool is exhausted (counted in `stats().allocFailures`).
   */
  alloc(): number {
    if (this.cached === 0 && !this.refill()) {
      Atomics.add(this.h, H_STATS + S_ALLOC_FAIL, 1);
      return -1;
    }
    const id = this.cache[--this.cached]!;
    this.reset(id);
    return id;
  }

  /**
   * Allocates up to `n` buffers into `out[off..off+n)`, metadata reset as by `alloc`; returns how
   * many (fewer only when the pool is exhausted; each missing buffer counts as an alloc failure).
   */
  allocBatch(out: Uint32Array, off: number, n: number): number {
    let k = 0;
    while (k < n) {
      if (this.cached === 0 && !this.refill()) {
        Atomics.add(this.h, H_STATS + S_ALLOC_FAIL, n - k);
        break;
      }
      const id = this.cache[--this.cached]!;
      this.reset(id);
      out[off + k++] = id;
    }
    return k;
  }

  /**
   * Returns a buffer to the pool. A bad id or a buffer that is already free is counted
   * (`stats().badIds`, `stats().doubleFrees`) and ignored, so a bug cannot corrupt the free list.
   */
  free(id: number): void {
    if (!(id >= 0 && id < this.nBufs)) {
      Atomics.add(this.h, H_STATS + S_BAD_ID, 1);
      return;
    }
    const st = id * META_WORDS + M_STATE;
    if (this.meta[st] !== 1) {
      Atomics.add(this.h, H_STATS + S_DOUBLE_FREE, 1);
      return;
    }
    this.meta[st] = 0;
    if (this.cached === this.cache.length) this.spill();
    this.cache[this.cached++] = id;
  }

  /** Frees `n` buffers from `ids[off..off+n)` (as `free` each). */
  freeBatch(ids: Uint32Array, off: number, n: number): void {
    for (let i = 0; i < n; i++) this.free(ids[off + i]!);
  }

  /** Returns every buffer in this thread's cache to the shared stacks (call before a thread exits). */
  flush(): void {
    while (this.cached >= this.magSize) this.spill();
    while (this.cached > 0) this.pushLoose(this.cache[--this.cached]!);
  }

  /** Byte offset of buffer `id`'s frame in `data` (buffer start + M_OFF). */
  frameOffset(id: number): number {
    return id * this.stride + this.meta[id * META_WORDS + M_OFF]!;
  }

  /** Frame length of buffer `id` in bytes (M_LEN). */
  frameLen(id: number): number {
    return this.meta[id * META_WORDS + M_LEN]!;
  }

  /**
   * Copies `len` bytes of `src` from `srcOff` into buffer `id` at its current offset and sets M_LEN.
   * Returns false (copying nothing) if the frame does not fit after the offset.
   */
  write(id: number, src: Uint8Array, srcOff: number, len: number): boolean {
    const m = id * META_WORDS;
    const o = this.meta[m + M_OFF]!;
    if (o + len > this.stride) return false;
    const d = id * this.stride + o;
    if (srcOff === 0 && len === src.length) this.data.set(src, d);
    else for (let i = 0; i < len; i++) this.data[d + i] = src[srcOff + i]!;
    this.meta[m + M_LEN] = len;
    return true;
  }

  /** Error counters of the whole pool (all threads). */
  stats(): { allocFailures: number; doubleFrees: number; badIds: number } {
    return {
      allocFailures: Atomics.load(this.h, H_STATS + S_ALLOC_FAIL),
      doubleFrees: Atomics.load(this.h, H_STATS + S_DOUBLE_FREE),
      badIds: Atomics.load(this.h, H_STATS + S_BAD_ID),
    };
  }

  /** Buffers in this thread's private cache. */
  cachedCount(): number {
    return this.cached;
  }

  /**
   * Free buffers in the shared stacks (not in any thread's cache). Walks the stacks: exact only when
   * no thread is allocating or freeing (tests, diagnostics).
   */
  sharedFreeCount(): number {
    let n = 0;
    for (let m = Atomics.load(this.h, H_FULL) & this.magNil; m !== this.magNil; m = this.magNext[m]! & this.magNil) {
      n += this.magCount[m]!;
    }
    for (let b = Atomics.load(this.h, H_LOOSE) & this.bufNil; b !== this.bufNil;
      b = this.meta[b * META_WORDS + M_LINK]! & this.bufNil) n++;
    return n;
  }

  private reset(id: number): void {
    const m = id * META_WORDS;
    const meta = this.meta;
    meta[m + M_OFF] = this.headroom;
    meta[m + M_LEN] = 0;
    meta[m + M_IN_PORT] = 0;
    meta[m + M_HASH] = 0;
    meta[m + M_USER0] = 0;
    meta[m + M_USER1] = 0;
    meta[m + M_STATE] = 1;
  }

  /** Fills the empty cache from a full magazine, else from the overflow stack. False if none. */
  private refill(): boolean {
    const m = this.popMag(H_FULL);
    if (m !== this.magNil) {
      const n = this.magCount[m]!;
      const base = m * this.magSize;
      for (let i = 0; i < n; i++) this.cache[i] = this.magIds[base + i]!;
      this.cached = n;
      this.pushMag(H_EMPTY, m);
      return n > 0;
    }
    while (this.cached < this.magSize) {
      const b = this.popLoose();
      if (b < 0) break;
      this.cache[this.cached++] = b;
    }
    return this.cached > 0;
  }

  /** Moves magSize ids from the top of the cache into an empty magazine pushed full. */
  private spill(): void {
    const m = this.popMag(H_EMPTY);
    if (m === this.magNil) {
      // Cannot happen within maxThreads; stay correct anyway.
      for (let i = 0; i < this.magSize; i++) this.pushLoose(this.cache[--this.cached]!);
      return;
    }
    const base = m * this.magSize;
    for (let i = 0; i < this.magSize; i++) this.magIds[base + i] = this.cache[--this.cached]!;
    this.magCount[m] = this.magSize;
    this.pushMag(H_FULL, m);
  }

  // Treiber stacks. Top word = (tag << bits) | index; nil index = all ones. The tag grows on every
  // successful CAS, so a top that was popped and pushed back in between does not compare equal.
  private popMag(top: number): number {
    const bits = this.magBits, nil = this.magNil;
    for (;;) {
      const old = Atomics.load(this.h, top);
      const m = old & nil;
      if (m === nil) return nil;
      const next = Atomics.load(this.magNext, m) & nil;
      const neu = (((old >>> bits) + 1) << bits) | next;
      if (Atomics.compareExchange(this.h, top, old, neu) === old) return m;
    }
  }

  private pushMag(top: number, m: number): void {
    const bits = this.magBits, nil = this.magNil;
    for (;;) {
      const old = Atomics.load(this.h, top);
      Atomics.store(this.magNext, m, old & nil);
      const neu = (((old >>> bits) + 1) << bits) | m;
      if (Atomics.compareExchange(this.h, top, old, neu) === old) return;
    }
  }

  private popLoose(): number {
    const bits = this.bufBits, nil = this.bufNil;
    for (;;) {
      const old = Atomics.load(this.h, H_LOOSE);
      const b = old & nil;
      if (b === nil) return -1;
      const next = Atomics.load(this.meta, b * META_WORDS + M_LINK) & nil;
      const neu = (((old >>> bits) + 1) << bits) | next;
      if (Atomics.compareExchange(this.h, H_LOOSE, old, neu) === old) return b;
    }
  }

  private pushLoose(b: number): void {
    const bits = this.bufBits, nil = this.bufNil;
    for (;;) {
      const old = Atomics.load(this.h, H_LOOSE);
      Atomics.store(this.meta, b * META_WORDS + M_LINK, old & nil);
      const neu = (((old >>> bits) + 1) << bits) | b;
      if (Atomics.compareExchange(this.h, H_LOOSE, old, neu) === old) return;
    }
  }
}
