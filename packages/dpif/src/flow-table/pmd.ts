/**
 * A PMD thread's handle on the shared flow table: its exact-match cache (EMC), its ranked view of
 * the dpcls subtables, its quiescent-state counter and its stats slots. One handle per PMD id, used
 * by that PMD's thread only. Every method on the lookup path allocates nothing.
 *
 * Contract (QSBR): an entry index returned by a lookup may be used (actions read, stats added)
 * until the PMD's next `quiesce()` or `offline()`. Call `quiesce()` once per loop iteration (per rx
 * burst) and `offline()` before sleeping; `online()` after waking, before the next lookup. A
 * writer's delete or modify waits until every online PMD has quiesced.
 *
 * EMC (OVS lib/dpif-netdev-private-dfc.h): EMC_ENTRIES (8192) entries in the PMD's own memory,
 * a key may sit in 2 slots: index = hash & 8191, then (hash >> 13) & 8191. An entry remembers the
 * flow entry index and its generation; a hit requires the generation to be unchanged (the flow is
 * alive and the entry was not reused) and the whole key to be equal. Insertion after a dpcls hit
 * happens with probability 1/emc-insert-inv-prob (0 = never, and then the EMC is not consulted).
 *
 * dpcls view: the PMD copies the live subtables' compiled masks into its own arrays, ordered by
 * the hits each had in the last interval; `optimize(now)` re-sorts every 1000 ms
 * (DPCLS_OPTIMIZATION_INTERVAL), as each OVS PMD does for its own dpcls.
 */
import { FLOW_WORDS, hashKeyFast } from '@tsvs/packet';
import type { FlowTable } from './flow-table.js';
import {
  E_GEN, E_HASH, E_PKEY, E_SUBTABLE, ENTRY_WORDS, H_EMC_INV_PROB, H_ST_COUNT, H_ST_VERSION, LINK_INDEX_MASK, LINK_TAG_SHIFT,
  QSBR_STRIDE, ST_MASK, ST_NUSED, ST_SEED, ST_USED, ST_WORDS,
} from './layout.js';
import { Q_CLAIMED, qsbrPublish } from './sync.js';

export const EMC_SHIFT = 13;
export const EMC_ENTRIES = 1 << EMC_SHIFT;
const EMC_MASK = EMC_ENTRIES - 1;
/**
 * EMC record (Uint32 words): hash, flow entry index + 1 (0 = empty), the entry's generation when
 * inserted, padding, then the whole key (FLOW_WORDS words). 160 bytes.
 */
const EMC_HASH = 0, EMC_ENTRY = 1, EMC_GEN = 2, EMC_KEY = 4;
export const EMC_WORDS = EMC_KEY + FLOW_WORDS;
/** OVS DPCLS_OPTIMIZATION_INTERVAL, in ms. */
export const DPCLS_OPTIMIZATION_INTERVAL_MS = 1000;

/** Where the last `lookup` found its flow. */
export const LOOKUP_MISS = 0;
export const LOOKUP_EMC = 1;
export const LOOKUP_MEGAFLOW = 2;

export class FlowTablePmd {
  readonly table: FlowTable;
  readonly pmdId: number;
  /** After `lookup`: LOOKUP_MISS, LOOKUP_EMC or LOOKUP_MEGAFLOW. */
  lastPath = LOOKUP_MISS;
  /** After a dpcls lookup: subtables searched (position of the hit + 1, or all on a miss). */
  lastSubtables = 0;
  /** After `lookup`: the EMC hash of the key. */
  lastHash = 0;
  /** After `lookupBatch`: keys found in the EMC, keys found in the dpcls. */
  lastEmcHits = 0;
  lastMegaflowHits = 0;

  private readonly i32: Int32Array;
  private readonly slot: number;
  private qsCounter = 0;
  private rng: number;
  private invProb = -1;
  private insertMin = 0;
  private nextOptimize = 0;

  // EMC (private memory): EMC_WORDS per entry, one record so that a probe touches few cache lines.
  private readonly emc = new Uint32Array(EMC_ENTRIES * EMC_WORDS);

  // dpcls view: per position p, subtable id, seed, word count, used words and mask values, hits.
  private viewVersion = -1;
  private vCount = 0;
  private readonly vId: Int32Array;
  private readonly vSeed: Int32Array;
  private readonly vN: Int32Array;
  private readonly vUsed: Uint8Array;
  private readonly vMask: Uint32Array;
  private readonly vHits: Float64Array;
  // Scratch for rebuild/sort.
  private readonly tIds: Int32Array;
  private readonly tHits: Float64Array;
  private readonly tOrder: Int32Array;
  private readonly tUsed: Uint8Array;
  private readonly tMask: Uint32Array;
  private readonly tSeed: Int32Array;
  private readonly tN: Int32Array;
  private readonly stamp: Int32Array;
  private stampNow = 0;
  private readonly bHash = new Int32Array(32);
  private readonly bLink = new Int32Array(32);
  /** Sink for the warming loads of dpclsLookupBatch (keeps them from being optimized away). @internal */
  warm = 0;
  private readonly bKeyHash = new Uint32Array(32);

  /**
   * Claims PMD id `pmdId` of `table` for the calling thread and goes online. Throws RangeError for an
   * id out of range, Error if another handle holds the id (release it with `close()`).
   */
  constructor(table: FlowTable, pmdId: number) {
    if (!Number.isInteger(pmdId) || pmdId < 0 || pmdId >= table.maxPmds) {
      throw new RangeError(`flow table: pmd id ${pmdId} out of range [0, ${table.maxPmds - 1}]`);
    }
    this.table = table;
    this.pmdId = pmdId;
    this.i32 = table.i32;
    this.slot = table.qsbrBase + pmdId * QSBR_STRIDE;
    if (Atomics.compareExchange(this.i32, this.slot + Q_CLAIMED, 0, 1) !== 0) {
      throw new Error(`flow table: pmd id ${pmdId} is already in use`);
    }
    this.rng = (globalThis.crypto.getRandomValues(new Int32Array(1))[0]! | 1);
    const n = table.layout.maxSubtables;
    this.vId = new Int32Array(n);
    this.vSeed = new Int32Array(n);
    this.vN = new Int32Array(n);
    this.vUsed = new Uint8Array(n * FLOW_WORDS);
    this.vMask = new Uint32Array(n * FLOW_WORDS);
    this.vHits = new Float64Array(n);
    this.tIds = new Int32Array(n);
    this.tHits = new Float64Array(n);
    this.tOrder = new Int32Array(n);
    this.tUsed = new Uint8Array(n * FLOW_WORDS);
    this.tMask = new Uint32Array(n * FLOW_WORDS);
    this.tSeed = new Int32Array(n);
    this.tN = new Int32Array(n);
    this.stamp = new Int32Array(n);
    table.localPmds[pmdId] = 1;
    table.pmdHandles[pmdId] = this;
    this.online();
  }

  // ---- QSBR ----

  /** A quiescent point: the PMD holds no entry index from before this call. Once per burst. */
  quiesce(): void {
    let c = this.qsCounter + 1;
    if (c > 0x3fffffff) c = 1;
    this.qsCounter = c;
    qsbrPublish(this.i32, this.slot, c);
    // emc-insert-inv-prob is re-read here, once per burst, as OVS PMDs refresh it per iteration.
    const inv = Atomics.load(this.i32, H_EMC_INV_PROB);
    if (inv !== this.invProb) {
      this.invProb = inv;
      this.insertMin = inv === 0 ? 0 : Math.floor(0xffffffff / inv);
    }
  }

  /** Before sleeping: the PMD holds no entry index until `online()`. Writers stop waiting for it. */
  offline(): void {
    qsbrPublish(this.i32, this.slot, 0);
  }

  /** After waking, before the next lookup. */
  online(): void {
    this.quiesce();
  }

  /** Goes offline for good and releases the PMD id. The handle must not be used afterwards. */
  close(): void {
    this.offline();
    this.table.localPmds[this.pmdId] = 0;
    this.table.pmdHandles[this.pmdId] = undefined;
    Atomics.store(this.i32, this.slot + Q_CLAIMED, 0);
  }

  // ---- lookup ----

  /**
   * Full lookup of the key at `keys[keyBase..+FLOW_WORDS)`: EMC (if enabled), then dpcls, then a
   * probabilistic EMC insert on a dpcls hit. Returns the flow entry index or -1 (miss → upcall).
   * emc-insert-inv-prob changes take effect at the next `quiesce()`.
   * Sets `lastPath`, `lastSubtables`, `lastHash`.
   */
  lookup(keys: Uint32Array, keyBase: number): number {
    const emcOn = this.insertMin !== 0;
    let h = 0;
    if (emcOn) {
      h = hashKeyFast(keys, keyBase);
      this.lastHash = h;
      const e = this.emcLookup(keys, keyBase, h);
      if (e >= 0) {
        this.lastPath = LOOKUP_EMC;
        return e;
      }
    }
    const e = this.dpclsLookup(keys, keyBase);
    if (e < 0) {
      this.lastPath = LOOKUP_MISS;
      return -1;
    }
    this.lastPath = LOOKUP_MEGAFLOW;
    if (emcOn) this.emcProbabilisticInsert(keys, keyBase, h, e);
    return e;
  }

  /**
   * Batch lookup of n <= 32 keys at `keyBase + i * FLOW_WORDS`, as an OVS PMD processes an rx
   * burst: EMC for each key (if enabled), one `dpclsLookupBatch` for the EMC misses, probabilistic
   * EMC inserts for the dpcls hits. Writes entry indices (-1 = miss) to `out[0..n)`, returns the
   * number found; sets `lastEmcHits`, `lastMegaflowHits` and `lastSubtables` (sum of subtable
   * positions over the megaflow hits). Allocates nothing.
   */
  lookupBatch(keys: Uint32Array, keyBase: number, n: number, out: Int32Array): number {
    const emcOn = this.insertMin !== 0, hashes = this.bKeyHash;
    let missMap = 0, emcHits = 0;
    for (let i = 0; i < n; i++) {
      let e = -1;
      if (emcOn) {
        const h = hashKeyFast(keys, keyBase + i * FLOW_WORDS);
        hashes[i] = h;
        e = this.emcLookup(keys, keyBase + i * FLOW_WORDS, h);
      }
      if (e >= 0) {
        out[i] = e;
        emcHits++;
      } else missMap |= 1 << i;
    }
    let mf = 0;
    this.lastSubtables = 0;
    if (missMap !== 0) {
      mf = this.dpclsLookupBatch(keys, keyBase, n, out, 0, missMap);
      if (emcOn && mf > 0) {
        for (let m = missMap; m !== 0; m &= m - 1) {
          const i = 31 - Math.clz32(m & -m), e = out[i]!;
          if (e >= 0) this.emcProbabilisticInsert(keys, keyBase + i * FLOW_WORDS, hashes[i]!, e);
        }
      }
    }
    this.lastEmcHits = emcHits;
    this.lastMegaflowHits = mf;
    return emcHits + mf;
  }

  /** EMC lookup with the key's EMC hash (`hashKeyFast`); entry index or -1. */
  emcLookup(keys: Uint32Array, keyBase: number, hash: number): number {
    const i32 = this.i32, ent = this.table.entBase, emc = this.emc;
    let idx = hash & EMC_MASK;
    for (let seg = 0; seg < 2; seg++) {
      const r = idx * EMC_WORDS;
      if (emc[r + EMC_HASH] === hash) {
        const e = emc[r + EMC_ENTRY]! - 1;
        if (e >= 0 && (Atomics.load(i32, ent + e * ENTRY_WORDS + E_GEN) >>> 0) === emc[r + EMC_GEN] && this.emcKeyEqual(r, keys, keyBase)) {
          return e;
        }
      }
      idx = (hash >>> EMC_SHIFT) & EMC_MASK;
    }
    return -1;
  }

  /** Inserts with probability 1/emc-insert-inv-prob (OVS emc_probabilistic_insert). */
  emcProbabilisticInsert(keys: Uint32Array, keyBase: number, hash: number, entry: number): void {
    if (this.insertMin === 0) return;
    let x = this.rng;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.rng = x;
    if ((x >>> 0) <= this.insertMin) this.emcInsert(keys, keyBase, hash, entry);
  }

  /**
   * Inserts unconditionally (OVS emc_insert): an entry with the same key is repointed; otherwise
   * the new key replaces a dead candidate, else the one with the lower hash. A flow that is no
   * longer alive is not inserted.
   */
  emcInsert(keys: Uint32Array, keyBase: number, hash: number, entry: number): void {
    const emc = this.emc;
    const gen = Atomics.load(this.i32, this.table.entBase + entry * ENTRY_WORDS + E_GEN) >>> 0;
    // A flow deleted since the dpcls found it has an even generation. Recording that generation
    // would make the record "match" the dead entry forever, after its memory is reused: skip it.
    if ((gen & 1) === 0) return;
    let victim = -1;
    let idx = hash & EMC_MASK;
    for (let seg = 0; seg < 2; seg++) {
      const r = idx * EMC_WORDS;
      if (emc[r + EMC_HASH] === hash && this.emcKeyEqual(r, keys, keyBase)) {
        emc[r + EMC_ENTRY] = entry + 1;
        emc[r + EMC_GEN] = gen;
        return;
      }
      if (victim < 0 || (this.emcAlive(victim) && !this.emcAlive(idx))
        || emc[r + EMC_HASH]! < emc[victim * EMC_WORDS + EMC_HASH]!) victim = idx;
      idx = (hash >>> EMC_SHIFT) & EMC_MASK;
    }
    const r = victim * EMC_WORDS;
    for (let i = 0; i < FLOW_WORDS; i++) emc[r + EMC_KEY + i] = keys[keyBase + i]!;
    emc[r + EMC_HASH] = hash;
    emc[r + EMC_ENTRY] = entry + 1;
    emc[r + EMC_GEN] = gen;
  }

  /** Empties the EMC (e.g. after emc-insert-inv-prob changes to 0). */
  emcClear(): void {
    for (let i = 0; i < EMC_ENTRIES; i++) this.emc[i * EMC_WORDS + EMC_ENTRY] = 0;
  }

  private emcAlive(idx: number): boolean {
    const r = idx * EMC_WORDS, e = this.emc[r + EMC_ENTRY]! - 1;
    return e >= 0 && (Atomics.load(this.i32, this.table.entBase + e * ENTRY_WORDS + E_GEN) >>> 0) === this.emc[r + EMC_GEN];
  }

  private emcKeyEqual(r: number, keys: Uint32Array, keyBase: number): boolean {
    const emc = this.emc, b = r + EMC_KEY;
    for (let i = 0; i < FLOW_WORDS; i++) if (emc[b + i] !== keys[keyBase + i]) return false;
    return true;
  }

  /**
   * dpcls lookup: subtables in this PMD's rank order; in each, hash the masked words the mask uses,
   * walk the bucket chain, compare those words. Megaflows do not overlap, so the first match wins.
   * Returns the entry index or -1. Sets `lastSubtables`.
   */
  dpclsLookup(keys: Uint32Array, keyBase: number): number {
    const i32 = this.i32;
    if (Atomics.load(i32, H_ST_VERSION) !== this.viewVersion) this.rebuildView();
    const n = this.vCount, vUsed = this.vUsed, vMask = this.vMask, vN = this.vN, vSeed = this.vSeed, vId = this.vId;
    const t = this.table, ent = t.entBase, dBase = t.dpclsBase, dMask = t.dpclsMask, nBase = t.dpclsNextBase;
    for (let p = 0; p < n; p++) {
      const nu = vN[p]!, off = p * FLOW_WORDS;
      // hashMaskedWords (OVS hash_add per word + hash_finish), inlined for the hot loop.
      let h = vSeed[p]!;
      for (let j = 0; j < nu; j++) {
        let d = keys[keyBase + vUsed[off + j]!]! & vMask[off + j]!;
        if (d !== 0) {
          d = Math.imul(d, 0xcc9e2d51);
          d = (d << 15) | (d >>> 17);
          h ^= Math.imul(d, 0x1b873593);
        }
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      h ^= nu * 4;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      const b = dBase + (h & dMask);
      // A plain read of an empty bucket is a miss either way; a non-empty head is re-read with
      // Atomics.load so that the entry it publishes is seen initialized.
      if (i32[b]! < 0) continue;
      let link = Atomics.load(i32, b);
      const id = vId[p]!, tag = h >>> 25;
      while (link >= 0) {
        const e = link & LINK_INDEX_MASK;
        if (link >>> LINK_TAG_SHIFT === tag) {
          const eb = ent + e * ENTRY_WORDS;
          if (i32[eb + E_HASH] === h && i32[eb + E_SUBTABLE] === id) {
            const kb = eb + E_PKEY;
            let j = 0;
            for (; j < nu; j++) {
              if ((keys[keyBase + vUsed[off + j]!]! & vMask[off + j]!) !== i32[kb + j]) break;
            }
            if (j === nu) {
              this.vHits[p]!++;
              this.lastSubtables = p + 1;
              return e;
            }
          }
        }
        link = Atomics.load(i32, nBase + e);
      }
    }
    this.lastSubtables = n;
    return -1;
  }

  /**
   * Batch dpcls lookup, as OVS dpcls_lookup(): the keys at `keyBase + i * FLOW_WORDS` for i < n
   * (n <= 32) whose bit is set in `keysMap` (default: all). Each subtable in rank order hashes every
   * still-unmatched key first, then probes them all, so the memory accesses of different keys
   * overlap. Writes the entry index or -1 to `out[outBase + i]` for those keys (others untouched);
   * returns the number found. Sets `lastSubtables` to the sum over the found keys of the position
   * (1-based) of the subtable that matched (OVS "lookups_match"). Allocates nothing.
   */
  dpclsLookupBatch(keys: Uint32Array, keyBase: number, n: number, out: Int32Array, outBase = 0, keysMap = -1): number {
    const i32 = this.i32;
    if (Atomics.load(i32, H_ST_VERSION) !== this.viewVersion) this.rebuildView();
    const cnt = this.vCount, vUsed = this.vUsed, vMask = this.vMask, vN = this.vN, vSeed = this.vSeed, vId = this.vId;
    const t = this.table, ent = t.entBase, dBase = t.dpclsBase, dMask = t.dpclsMask, nBase = t.dpclsNextBase;
    const hashes = this.bHash;
    let left = (n >= 32 ? -1 : (1 << n) - 1) & keysMap;
    let found = 0, lookups = 0;
    for (let m = left; m !== 0; m &= m - 1) out[outBase + 31 - Math.clz32(m & -m)] = -1;
    for (let p = 0; p < cnt && left !== 0; p++) {
      const nu = vN[p]!, off = p * FLOW_WORDS, seed = vSeed[p]!;
      for (let m = left; m !== 0; m &= m - 1) {
        const i = 31 - Math.clz32(m & -m), kb = keyBase + i * FLOW_WORDS;
        let h = seed;
        for (let j = 0; j < nu; j++) {
          let d = keys[kb + vUsed[off + j]!]! & vMask[off + j]!;
          if (d !== 0) {
            d = Math.imul(d, 0xcc9e2d51);
            d = (d << 15) | (d >>> 17);
            h ^= Math.imul(d, 0x1b873593);
          }
          h = (h << 13) | (h >>> 19);
          h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        }
        h ^= nu * 4;
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
        hashes[i] = h;
      }
      // Top-ranked subtable (most of the hits): first load every key's bucket head and the first
      // word of a head entry whose tag matches; these loads do not depend on one another, so their
      // cache misses overlap (measured: +15-20% with 100k flows in one subtable). For the other
      // subtables, mostly misses, the extra pass costs more than it saves.
      const pre = p === 0, links = this.bLink;
      if (pre) {
        let warm = 0;
        for (let m = left; m !== 0; m &= m - 1) {
          const i = 31 - Math.clz32(m & -m), h = hashes[i]!, b = dBase + (h & dMask);
          let link = i32[b]!;
          if (link >= 0) {
            link = Atomics.load(i32, b);
            if (link >>> LINK_TAG_SHIFT === h >>> 25) warm ^= i32[ent + (link & LINK_INDEX_MASK) * ENTRY_WORDS + E_HASH]!;
          }
          links[i] = link;
        }
        this.warm = warm;
      }
      const id = vId[p]!;
      for (let m = left; m !== 0; m &= m - 1) {
        const i = 31 - Math.clz32(m & -m), h = hashes[i]!;
        let link: number;
        if (pre) link = links[i]!;
        else {
          const b = dBase + (h & dMask);
          // A plain read of an empty bucket is a miss either way (see dpclsLookup).
          if (i32[b]! < 0) continue;
          link = Atomics.load(i32, b);
        }
        const tag = h >>> 25, kb = keyBase + i * FLOW_WORDS;
        while (link >= 0) {
          const e = link & LINK_INDEX_MASK;
          if (link >>> LINK_TAG_SHIFT === tag) {
            const eb = ent + e * ENTRY_WORDS;
            if (i32[eb + E_HASH] === h && i32[eb + E_SUBTABLE] === id) {
              const pk = eb + E_PKEY;
              let j = 0;
              for (; j < nu; j++) {
                if ((keys[kb + vUsed[off + j]!]! & vMask[off + j]!) !== i32[pk + j]) break;
              }
              if (j === nu) {
                out[outBase + i] = e;
                left &= ~(1 << i);
                found++;
                lookups += p + 1;
                this.vHits[p]!++;
                break;
              }
            }
          }
          link = Atomics.load(i32, nBase + e);
        }
      }
    }
    this.lastSubtables = lookups;
    return found;
  }

  /** Number of subtables in this PMD's view. */
  get subtableCount(): number {
    return this.vCount;
  }

  /** Subtable id at rank `p` of this PMD's view (diagnostics, tests). */
  subtableAt(p: number): number {
    return this.vId[p]!;
  }

  /**
   * Re-ranks the subtables by their hits since the last re-rank, at most once per
   * DPCLS_OPTIMIZATION_INTERVAL_MS of `nowMs` (or always with `force`). Allocates nothing.
   */
  optimize(nowMs: number, force = false): void {
    if (!force && nowMs < this.nextOptimize) return;
    this.nextOptimize = nowMs + DPCLS_OPTIMIZATION_INTERVAL_MS;
    if (Atomics.load(this.i32, H_ST_VERSION) !== this.viewVersion) this.rebuildView();
    const n = this.vCount, order = this.tOrder, hits = this.vHits;
    // Stable insertion sort of positions by hits, descending.
    for (let i = 0; i < n; i++) {
      let j = i;
      while (j > 0 && hits[order[j - 1]!]! < hits[i]!) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    for (let i = 0; i < n; i++) {
      const p = order[i]!;
      this.tIds[i] = this.vId[p]!;
      this.tSeed[i] = this.vSeed[p]!;
      this.tN[i] = this.vN[p]!;
      for (let j = 0; j < FLOW_WORDS; j++) {
        this.tUsed[i * FLOW_WORDS + j] = this.vUsed[p * FLOW_WORDS + j]!;
        this.tMask[i * FLOW_WORDS + j] = this.vMask[p * FLOW_WORDS + j]!;
      }
    }
    for (let i = 0; i < n; i++) {
      this.vId[i] = this.tIds[i]!;
      this.vSeed[i] = this.tSeed[i]!;
      this.vN[i] = this.tN[i]!;
      this.vHits[i] = 0;
    }
    this.vUsed.set(this.tUsed.subarray(0, n * FLOW_WORDS));
    this.vMask.set(this.tMask.subarray(0, n * FLOW_WORDS));
  }

  /** Re-reads the live subtable list (seqlock) and keeps the current rank of subtables still live. */
  private rebuildView(): void {
    const i32 = this.i32, t = this.table;
    let v = 0, n = 0;
    for (;;) {
      v = Atomics.load(i32, H_ST_VERSION);
      if ((v & 1) !== 0) continue;
      n = Atomics.load(i32, H_ST_COUNT);
      for (let i = 0; i < n; i++) this.tIds[i] = Atomics.load(i32, t.stListBase + i);
      if (Atomics.load(i32, H_ST_VERSION) === v) break;
    }
    const live = ++this.stampNow;
    for (let i = 0; i < n; i++) this.stamp[this.tIds[i]!] = live;
    // Old positions first, in rank order, if still live; then the new subtables.
    let m = 0;
    for (let p = 0; p < this.vCount; p++) {
      const id = this.vId[p]!;
      if (this.stamp[id] === live) {
        this.tOrder[m] = id;
        this.tHits[m] = this.vHits[p]!;
        this.stamp[id] = -live; // placed
        m++;
      }
    }
    for (let i = 0; i < n; i++) {
      const id = this.tIds[i]!;
      if (this.stamp[id] === live) {
        this.tOrder[m] = id;
        this.tHits[m] = 0;
        m++;
      }
    }
    const u32 = t.u32;
    for (let p = 0; p < m; p++) {
      const id = this.tOrder[p]!, sb = t.stBase + id * ST_WORDS;
      const nu = u32[sb + ST_NUSED]!;
      this.vId[p] = id;
      this.vHits[p] = this.tHits[p]!;
      this.vSeed[p] = u32[sb + ST_SEED]! | 0;
      this.vN[p] = nu;
      for (let j = 0; j < nu; j++) {
        this.vUsed[p * FLOW_WORDS + j] = u32[sb + ST_USED + j]!;
        this.vMask[p * FLOW_WORDS + j] = u32[sb + ST_MASK + j]!;
      }
    }
    this.vCount = m;
    this.viewVersion = v;
    if (this.stampNow > 0x3fffffff) {
      this.stamp.fill(0);
      this.stampNow = 0;
    }
  }
}
