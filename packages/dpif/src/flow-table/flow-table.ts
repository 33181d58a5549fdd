/**
 * The userspace datapath's flow table in one SharedArrayBuffer (OVS lib/dpif-netdev.c flow table,
 * dpcls and UFID map), shared by every thread of the switch.
 *
 * - Megaflows live in subtables, one per distinct mask (dpcls). Rules of all subtables share one
 *   chained hash table keyed by (subtable, hash of the masked words the mask uses). Megaflows must
 *   not overlap; there are no priorities.
 * - A UFID index maps 128-bit UFIDs to entries (used by writers only).
 * - Writers (handlers, revalidators, the control plane; any thread) serialize on a futex lock in
 *   the buffer. PMD threads never lock: they look up through `FlowTablePmd` (pmd.ts), which also
 *   holds the PMD's exact-match cache.
 * - Memory of a deleted entry, a replaced action list or an emptied subtable is reused only after
 *   every PMD has passed a quiescent point (QSBR, sync.ts). The writer that retired it waits for
 *   that grace period before the operation returns, so a delete returns the flow's final stats.
 *
 * Layout in layout.ts; memory ordering argument in packages/dpif/README.md.
 */
import { FLOW_WORDS, W_IN_PORT, hashAdd, hashFinish, hashMaskedWords } from '@tsvs/packet';
import { mutexLock, mutexUnlock } from '@tsvs/shm';
import {
  E_ACTS, E_GEN, E_HASH, E_PKEY, E_SUBTABLE, E_UFID, E_UFID_NEXT, E_ZGEN, ENTRY_WORDS, LINK_INDEX_MASK, LINK_TAG_SHIFT,
  FLOW_TABLE_LAYOUT_VERSION, FLOW_TABLE_MAGIC, H_ACT_FREE_TOP, H_ACT_SLOTS, H_ACTIONS_BYTES, H_CAPACITY,
  H_EMC_INV_PROB, H_ENTRY_FREE_TOP, H_ENTRY_HWM, H_LIMBO, H_LOCK, H_MAGIC, H_MAX_PMDS, H_MAX_SUBTABLES, H_N_FLOWS,
  H_SECRET, H_ST_COUNT, H_ST_FREE_TOP, H_ST_VERSION, H_VERSION, QSBR_STRIDE, S_BYTES, S_F64,
  S_FLAGS_I32, S_PACKETS, S_USED, S_ZGEN_I32, ST_FULLMASK, ST_MASK, ST_NUSED, ST_RULES, ST_SEED,
  ST_STATE, ST_USED, ST_WORDS, computeLayout, type FlowTableLayout, type FlowTableParams,
} from './layout.js';
import { synchronize } from './sync.js';
import {
  DPIF_FP_CREATE, DPIF_FP_MODIFY, DPIF_FP_PROBE, DPIF_FP_ZERO_STATS, zeroStats, type FlowErrno,
  type FlowInfo, type FlowOp, type FlowOpResult, type FlowPut, type FlowPutResult, type FlowStats,
  type FlowTerse,
} from './types.js';
import { UFID_WORDS, deriveUfid, formatUfid } from './ufid.js';
import { FlowTablePmd } from './pmd.js';

/** Construction options. Every size is fixed for the table's life. */
export interface FlowTableOptions {
  /** Maximum number of flows. Default 200000 (OVS's default flow-limit). */
  capacity?: number;
  /** PMD ids 0..maxPmds-1 may look up and count stats. Default 4. Each costs 32 bytes per flow. */
  maxPmds?: number;
  /** Maximum number of distinct masks at once. Default 512. */
  maxSubtables?: number;
  /** Longest action list in bytes. Default 256 (ODP_ACTIONS_MAX_BYTES of the action encoding). */
  actionsBytes?: number;
  /** Spare action slots for modifications waiting for a grace period. Default max(1024, capacity/16). */
  actionsReserve?: number;
  /** emc-insert-inv-prob: insert into an EMC with probability 1/N; 0 disables the EMC. Default 100. */
  emcInsertInvProb?: number;
  /** UFID derivation secret (32 bits). Default: random. Fixed values are for tests. */
  secret?: number;
}

/** Per-thread options of `create` and `attach`. */
export interface FlowTableThreadOptions {
  /** Receives one line per failed put (unless DPIF_FP_PROBE). Default: none. */
  log?: (line: string) => void;
  /** How long a writer waits for a PMD to pass a quiescent point before throwing. Default 10000 ms. */
  graceTimeoutMs?: number;
}

/** Outcomes of a put (see `putResult`): staged and waiting for the lock, refused before it, then the rest. */
const PUT_PENDING = 0;
const PUT_REFUSED = 11;
const PUT_CREATED = 1;
const PUT_MODIFIED = 2;
const PUT_OTHER_MATCH = 3;
const PUT_EXISTS = 4;
const PUT_EXISTS_NO_FLAGS = 5;
const PUT_NO_ACT_SLOT = 6;
const PUT_NOT_FOUND = 7;
const PUT_OVERLAP = 8;
const PUT_TABLE_FULL = 9;
const PUT_NO_SUBTABLE = 10;

const RETIRE_ENTRY = 0;
const RETIRE_ACT = 1;
const RETIRE_SUBTABLE = 2;

/** Memory waiting for a grace period, collected while the lock is held. */
interface Retired { kinds: number[]; ids: number[] }

/** Fills the defaults of `opts` (exported for sizing reports). */
export function flowTableParams(opts: FlowTableOptions = {}): FlowTableParams {
  const capacity = opts.capacity ?? 200000;
  const reserve = opts.actionsReserve ?? Math.max(1024, Math.ceil(capacity / 16));
  return {
    capacity,
    maxPmds: opts.maxPmds ?? 4,
    maxSubtables: opts.maxSubtables ?? 512,
    actionsBytes: opts.actionsBytes ?? 256,
    actSlots: capacity + reserve,
  };
}

export class FlowTable {
  /** The shared memory: postMessage it once, then `FlowTable.attach(sab)` in the worker. */
  readonly sab: SharedArrayBuffer;
  readonly layout: FlowTableLayout;
  readonly capacity: number;
  readonly maxPmds: number;
  readonly actionsBytes: number;
  /** Views over the whole buffer; `*Base` fields are element indices into them. @internal */
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** Byte view of the whole buffer; action slot bytes are read through it (`actionsOffset`). */
  readonly bytes: Uint8Array;
  readonly qsbrBase: number;
  readonly stListBase: number;
  readonly stBase: number;
  readonly dpclsBase: number;
  readonly dpclsMask: number;
  readonly dpclsNextBase: number;
  readonly ufidBase: number;
  readonly ufidMask: number;
  readonly entBase: number;
  readonly statsBase: number;
  readonly actLenBase: number;
  readonly actBytesBase: number;
  readonly entryFreeBase: number;
  readonly actFreeBase: number;
  readonly stFreeBase: number;
  readonly secret: number;

  private readonly log: ((line: string) => void) | undefined;
  private readonly graceTimeoutMs: number;
  private readonly snap: Int32Array;
  /** PMD ids whose handle this thread holds (not waited for by this thread's grace periods). @internal */
  readonly localPmds: Uint8Array;
  /** This thread's PMD handles by id. @internal */
  readonly pmdHandles: Array<FlowTablePmd | undefined> = [];
  // Writer scratch (per thread).
  private readonly sStats: FlowStats = zeroStats();
  /** Keeps the reads of `warmPut` from being optimized away. */
  private warmSink = 0;
  private readonly sUsed = new Uint8Array(FLOW_WORDS);
  private readonly sVals = new Uint32Array(FLOW_WORDS);
  /**
   * Per-op staging of an `operate` batch, filled before the lock is taken (so the writer lock is
   * held only for the table work): for put i, its mask compiled as the words it uses
   * (`stN[i]` indices in `stUsed[i * FLOW_WORDS ..]`, values in `stVals[..]`) and its UFID
   * (`stUfid[i * 4 ..]`, given or derived). Grown as needed.
   */
  private stUsed = new Uint8Array(0);
  private stVals = new Uint32Array(0);
  private stN = new Int32Array(0);
  private stUfid = new Uint32Array(0);
  /**
   * Per-op outcome of a put, written under the lock and turned into result objects after it (no
   * allocation while other writers wait): `stOut[i]` PUT_* code, `stEntry[i]` entry, `stStats[i * 4
   * ..]` the stats before a modify, `stOther[i * 4 ..]` the UFID of the flow a refused key matches.
   */
  private stOut = new Int8Array(0);
  private stEntry = new Int32Array(0);
  private stStats = new Float64Array(0);
  private stOther = new Uint32Array(0);
  /** Action slot taken for put i before the lock and already holding its actions, or -1. */
  private stSlot = new Int32Array(0);

  private constructor(sab: SharedArrayBuffer, t: FlowTableThreadOptions) {
    const h = new Int32Array(sab, 0, 64);
    if (h[H_MAGIC] !== FLOW_TABLE_MAGIC || h[H_VERSION] !== FLOW_TABLE_LAYOUT_VERSION) {
      throw new TypeError('FlowTable.attach: buffer is not a flow table of this layout version');
    }
    const L = computeLayout({
      capacity: h[H_CAPACITY]!, maxPmds: h[H_MAX_PMDS]!, maxSubtables: h[H_MAX_SUBTABLES]!,
      actionsBytes: h[H_ACTIONS_BYTES]!, actSlots: h[H_ACT_SLOTS]!,
    });
    if (sab.byteLength < L.totalBytes) throw new TypeError('FlowTable.attach: buffer shorter than its layout');
    this.sab = sab;
    this.layout = L;
    this.capacity = L.capacity;
    this.maxPmds = L.maxPmds;
    this.actionsBytes = L.actionsBytes;
    this.i32 = new Int32Array(sab, 0, L.totalBytes >>> 2);
    this.u32 = new Uint32Array(sab, 0, L.totalBytes >>> 2);
    this.f64 = new Float64Array(sab, 0, L.totalBytes >>> 3);
    this.bytes = new Uint8Array(sab, 0, L.totalBytes);
    this.qsbrBase = L.qsbr >>> 2;
    this.stListBase = L.stList >>> 2;
    this.stBase = L.subtables >>> 2;
    this.dpclsBase = L.dpclsBuckets >>> 2;
    this.dpclsMask = L.nDpclsBuckets - 1;
    this.dpclsNextBase = L.dpclsNext >>> 2;
    this.ufidBase = L.ufidBuckets >>> 2;
    this.ufidMask = L.nUfidBuckets - 1;
    this.entBase = L.entries >>> 2;
    this.statsBase = L.stats >>> 3;
    this.actLenBase = L.actLen >>> 2;
    this.actBytesBase = L.actions;
    this.entryFreeBase = L.entryFree >>> 2;
    this.actFreeBase = L.actFree >>> 2;
    this.stFreeBase = L.stFree >>> 2;
    this.secret = h[H_SECRET]!;
    this.log = t.log;
    this.graceTimeoutMs = t.graceTimeoutMs ?? 10000;
    this.snap = new Int32Array(L.maxPmds);
    this.localPmds = new Uint8Array(L.maxPmds);
  }

  /** Creates an empty table in a new SharedArrayBuffer. Throws RangeError on bad sizes. */
  static create(opts: FlowTableOptions = {}, t: FlowTableThreadOptions = {}): FlowTable {
    const L = computeLayout(flowTableParams(opts));
    const inv = opts.emcInsertInvProb ?? 100;
    if (!Number.isInteger(inv) || inv < 0) throw new RangeError(`flow table: emcInsertInvProb ${inv} must be an integer >= 0`);
    const sab = new SharedArrayBuffer(L.totalBytes);
    const i32 = new Int32Array(sab);
    i32[H_MAGIC] = FLOW_TABLE_MAGIC;
    i32[H_VERSION] = FLOW_TABLE_LAYOUT_VERSION;
    i32[H_CAPACITY] = L.capacity;
    i32[H_MAX_PMDS] = L.maxPmds;
    i32[H_MAX_SUBTABLES] = L.maxSubtables;
    i32[H_ACTIONS_BYTES] = L.actionsBytes;
    i32[H_ACT_SLOTS] = L.actSlots;
    i32[H_SECRET] = opts.secret ?? globalThis.crypto.getRandomValues(new Int32Array(1))[0]!;
    i32[H_EMC_INV_PROB] = inv;
    i32.fill(-1, L.dpclsBuckets >>> 2, (L.dpclsBuckets >>> 2) + L.nDpclsBuckets);
    i32.fill(-1, L.ufidBuckets >>> 2, (L.ufidBuckets >>> 2) + L.nUfidBuckets);
    // Free stacks hold ascending ids with the lowest on top, so a fresh table fills entries in order.
    const push = (base: number, n: number, top: number): void => {
      for (let i = 0; i < n; i++) i32[base + i] = n - 1 - i;
      i32[top] = n;
    };
    push(L.entryFree >>> 2, L.capacity, H_ENTRY_FREE_TOP);
    push(L.actFree >>> 2, L.actSlots, H_ACT_FREE_TOP);
    push(L.stFree >>> 2, L.maxSubtables, H_ST_FREE_TOP);
    i32.fill(-1, L.dpclsNext >>> 2, (L.dpclsNext >>> 2) + L.capacity);
    for (let e = 0; e < L.capacity; e++) i32[(L.entries >>> 2) + e * ENTRY_WORDS + E_UFID_NEXT] = -1;
    return new FlowTable(sab, t);
  }

  /** Attaches to a table created in another thread. Throws TypeError if `sab` is not one. */
  static attach(sab: SharedArrayBuffer, t: FlowTableThreadOptions = {}): FlowTable {
    return new FlowTable(sab, t);
  }

  /** Bytes of shared memory per flow of capacity (the whole buffer / capacity). */
  get bytesPerFlow(): number {
    return this.layout.totalBytes / this.capacity;
  }

  /** Number of live flows. */
  get flowCount(): number {
    return Atomics.load(this.i32, H_N_FLOWS);
  }

  /** Number of live subtables (distinct masks). */
  get subtableCount(): number {
    return Atomics.load(this.i32, H_ST_COUNT);
  }

  /** emc-insert-inv-prob, shared by all PMDs: insert with probability 1/N, 0 = EMC off. */
  get emcInsertInvProb(): number {
    return Atomics.load(this.i32, H_EMC_INV_PROB);
  }

  set emcInsertInvProb(n: number) {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`emc-insert-inv-prob ${n} must be an integer >= 0`);
    Atomics.store(this.i32, H_EMC_INV_PROB, n);
  }

  /**
   * Full PMD lookup (EMC, dpcls, probabilistic EMC insert) of the key at `keys[keyBase..]` through
   * this thread's handle for `pmdId` (see `openPmd`, FlowTablePmd.lookup). Returns the flow entry
   * index or -1. Allocates nothing. Throws Error if this thread has no open handle for `pmdId`.
   */
  lookup(keys: Uint32Array, keyBase: number, pmdId: number): number {
    const h = this.pmdHandles[pmdId];
    if (h === undefined) throw new Error(`flow table: pmd id ${pmdId} is not open in this thread`);
    return h.lookup(keys, keyBase);
  }

  // ---- Entry accessors (any thread; the PMD may call them on entries it looked up) ----

  /** Current action slot of a flow entry: pass it to `actionsOffset`/`actionsLength` (read it once per use). */
  flowActions(entry: number): number {
    return Atomics.load(this.i32, this.entBase + entry * ENTRY_WORDS + E_ACTS);
  }

  /** Byte offset of action slot `slot` in `bytes`. */
  actionsOffset(slot: number): number {
    return this.actBytesBase + slot * this.actionsBytes;
  }

  /** Length in bytes of the action list in slot `slot`. */
  actionsLength(slot: number): number {
    return this.i32[this.actLenBase + slot]!;
  }

  /** Generation of an entry: odd while the flow is alive, even once deleted or free. */
  entryGen(entry: number): number {
    return Atomics.load(this.i32, this.entBase + entry * ENTRY_WORDS + E_GEN);
  }

  /**
   * Writes the entry's masked key (FLOW_WORDS words) to `out[outBase..]`, unpacking the words its
   * subtable's mask uses. Allocates nothing. Valid for an entry the caller may read (see pmd.ts).
   */
  entryKey(entry: number, out: Uint32Array, outBase = 0): void {
    const eb = this.entBase + entry * ENTRY_WORDS;
    const sb = this.stBase + this.i32[eb + E_SUBTABLE]! * ST_WORDS;
    const n = this.u32[sb + ST_NUSED]!;
    out.fill(0, outBase, outBase + FLOW_WORDS);
    for (let j = 0; j < n; j++) out[outBase + this.u32[sb + ST_USED + j]!] = this.u32[eb + E_PKEY + j]!;
  }

  /** One word of the entry's masked key (0 for words its mask does not use). */
  entryKeyWord(entry: number, word: number): number {
    const eb = this.entBase + entry * ENTRY_WORDS;
    const sb = this.stBase + this.i32[eb + E_SUBTABLE]! * ST_WORDS;
    const n = this.u32[sb + ST_NUSED]!;
    for (let j = 0; j < n; j++) if (this.u32[sb + ST_USED + j] === word) return this.u32[eb + E_PKEY + j]!;
    return 0;
  }

  /** Index into `u32` of the entry's UFID (4 words). */
  entryUfidBase(entry: number): number {
    return this.entBase + entry * ENTRY_WORDS + E_UFID;
  }

  /**
   * Adds to PMD `pmdId`'s stats slot of `entry` without any lock: `packets`, `bytes` added,
   * `used` = max(used, nowMs), tcp_flags |= tcpFlags. Only PMD `pmdId`'s thread may call it, on an
   * entry it looked up since its last quiescent point. Allocates nothing.
   */
  statsAdd(entry: number, pmdId: number, packets: number, bytes: number, tcpFlags: number, nowMs: number): void {
    const zg = this.i32[this.entBase + entry * ENTRY_WORDS + E_ZGEN]!;
    const s = this.statsBase + (pmdId * this.capacity + entry) * S_F64;
    const f = this.f64, w = this.i32, si = s * 2;
    if (w[si + S_ZGEN_I32] !== zg) {
      // First stats of this flow incarnation (or since ZERO_STATS) from this PMD: restart the slot.
      f[s + S_PACKETS] = 0;
      f[s + S_BYTES] = 0;
      f[s + S_USED] = 0;
      w[si + S_FLAGS_I32] = 0;
      w[si + S_ZGEN_I32] = zg;
    }
    f[s + S_PACKETS] += packets;
    f[s + S_BYTES] += bytes;
    if (nowMs > f[s + S_USED]!) f[s + S_USED] = nowMs;
    w[si + S_FLAGS_I32] |= tcpFlags;
  }

  /** `readStats` into `out[at..at+3]`: packets, bytes, used, tcp_flags. */
  private readStatsInto(entry: number, out: Float64Array, at: number): void {
    const s = this.readStats(entry, this.sStats);
    out[at] = s.packets;
    out[at + 1] = s.bytes;
    out[at + 2] = s.used;
    out[at + 3] = s.tcpFlags;
  }

  /** Sums the per-PMD stats of an entry into `out` (slots of an older stats generation count as zero). */
  readStats(entry: number, out: FlowStats = zeroStats()): FlowStats {
    const zg = Atomics.load(this.i32, this.entBase + entry * ENTRY_WORDS + E_ZGEN);
    let packets = 0, bytes = 0, used = 0, flags = 0;
    for (let p = 0; p < this.maxPmds; p++) {
      const s = this.statsBase + (p * this.capacity + entry) * S_F64;
      if (this.i32[s * 2 + S_ZGEN_I32] !== zg) continue;
      packets += this.f64[s + S_PACKETS]!;
      bytes += this.f64[s + S_BYTES]!;
      const u = this.f64[s + S_USED]!;
      if (u > used) used = u;
      flags |= this.i32[s * 2 + S_FLAGS_I32]!;
    }
    out.packets = packets;
    out.bytes = bytes;
    out.used = used;
    out.tcpFlags = flags & 0xfff;
    return out;
  }

  // ---- Writer operations (any thread; serialized by the writer lock) ----

  /**
   * Puts a flow (OVS dpif_flow_put): creates it (CREATE) or replaces its actions in place (MODIFY),
   * keeping its stats unless ZERO_STATS. Never throws for bad input: errors come back in `error`.
   * May wait for a grace period (a modify retires the old action list).
   */
  put(p: FlowPut): FlowPutResult {
    const r = this.operate([{ type: 'put', ...p }])[0]! as FlowPutResult;
    return { error: r.error, ufid: r.ufid, stats: r.stats, entry: r.entry, created: r.created };
  }

  /** Deletes a flow by UFID and returns its final stats (after every PMD let go of it). */
  del(ufid: Uint32Array): { error: 0 | FlowErrno; stats: FlowStats } {
    const r = this.operate([{ type: 'del', ufid }])[0]! as { error: 0 | FlowErrno; stats: FlowStats };
    return { error: r.error, stats: r.stats };
  }

  /** Gets a flow by UFID: key (masked), mask, actions, stats; or ENOENT. */
  get(ufid: Uint32Array): { error: 0 | FlowErrno; flow: FlowInfo | null } {
    const r = this.operate([{ type: 'get', ufid }])[0]! as { error: 0 | FlowErrno; flow: FlowInfo | null };
    return { error: r.error, flow: r.flow };
  }

  /**
   * Executes a batch (OVS dpif_operate): ops run in order under one hold of the writer lock, then
   * one grace period covers every retired entry/action list, then deletes read their final stats.
   * Returns one result per op, in order. Never throws for bad input. What needs no lock is done
   * outside it (checks, mask compilation, UFIDs, cache warm-up, results); the puts' action slots
   * are taken in one short hold before and filled in between (slots a put does not use go back).
   */
  operate(ops: readonly FlowOp[]): FlowOpResult[] {
    const results: FlowOpResult[] = new Array(ops.length);
    this.operateInto(ops, results, null);
    return results;
  }

  /**
   * `operate` for callers that need only each op's error (a handler's batch of puts): the same
   * semantics and log lines, `errors[i]` = 0 or op i's errno; no result object is made, so a batch
   * of successful puts allocates nothing per put. `errors` is grown to `ops.length` if shorter.
   */
  operateErrors(ops: readonly FlowOp[], errors: Array<0 | FlowErrno>): void {
    this.operateInto(ops, null, errors);
  }

  private operateInto(ops: readonly FlowOp[], results: FlowOpResult[] | null, errors: Array<0 | FlowErrno> | null): void {
    const n = ops.length;
    const retired: Retired = { kinds: [], ids: [] };
    const delEntries: number[] = [];
    // Outside the lock: validate puts, compile their masks, copy or derive their UFIDs.
    if (this.stN.length < n) this.growStage(n);
    const out = this.stOut;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if (op.type !== 'put') continue;
      const bad = this.stagePut(op, i);
      if (bad === null) out[i] = PUT_PENDING;
      else {
        out[i] = PUT_REFUSED;
        if (results) results[i] = bad;
        if (errors) errors[i] = (bad as FlowPutResult).error;
      }
    }
    this.prefillActionSlots(ops);
    mutexLock(this.i32, H_LOCK);
    try {
      for (let i = 0; i < n; i++) {
        const op = ops[i]!;
        if (op.type === 'put') {
          if (out[i] === PUT_PENDING) {
            this.putLocked(op, i, retired);
            // A put that did not need its prefilled slot gives it back at once (a later op may need it).
            const slot = this.stSlot[i]!;
            if (slot >= 0) {
              this.stSlot[i] = -1;
              this.pushFree(this.actFreeBase, H_ACT_FREE_TOP, slot);
            }
          }
        } else if (op.type === 'del') {
          const e = this.delLocked(op.ufid, retired);
          if (results) results[i] = { type: 'del', error: e < 0 ? 'ENOENT' : 0, stats: zeroStats() };
          if (errors) errors[i] = e < 0 ? 'ENOENT' : 0;
          delEntries[i] = e;
        } else {
          const e = this.findUfid(op.ufid);
          if (results) results[i] = e < 0 ? { type: 'get', error: 'ENOENT', flow: null } : { type: 'get', error: 0, flow: this.flowInfo(e) };
          if (errors) errors[i] = e < 0 ? 'ENOENT' : 0;
        }
      }
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if (op.type !== 'put' || out[i] === PUT_REFUSED) continue;
      if (results) results[i] = this.putResult(op, i);
      else if (out[i] === PUT_CREATED || out[i] === PUT_MODIFIED) errors![i] = 0;
      else errors![i] = (this.putResult(op, i) as FlowPutResult).error;
    }
    if (retired.ids.length > 0) this.reclaim(retired, results === null ? null : () => {
      for (let i = 0; i < ops.length; i++) {
        const e = delEntries[i];
        if (e !== undefined && e >= 0) this.readStats(e, (results[i] as { stats: FlowStats }).stats);
      }
    });
  }

  /** 1 + the highest entry id ever used (H_ENTRY_HWM): every live flow's entry is below it. */
  get entryHighWater(): number {
    return Atomics.load(this.i32, H_ENTRY_HWM);
  }

  /** Deletes every flow (OVS dpif_flow_flush). Returns how many were deleted. */
  flush(): number {
    const retired: Retired = { kinds: [], ids: [] };
    let n = 0;
    mutexLock(this.i32, H_LOCK);
    try {
      const end = this.i32[H_ENTRY_HWM]!;
      for (let e = 0; e < end; e++) {
        const eb = this.entBase + e * ENTRY_WORDS;
        if ((this.i32[eb + E_GEN]! & 1) === 0) continue;
        this.unlinkLocked(e, retired);
        n++;
      }
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
    if (n > 0) this.reclaim(retired, null);
    return n;
  }

  /**
   * Writer-side classification: the live flow whose megaflow matches `key`, or -1. Takes the lock;
   * for the control plane and tests (PMDs use FlowTablePmd.lookup).
   */
  classify(key: Uint32Array, keyBase = 0): number {
    mutexLock(this.i32, H_LOCK);
    try {
      return this.classifyLocked(key, keyBase);
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
  }

  /**
   * One dump batch (OVS dpif_flow_dump_next): up to `max` live flows from entry index
   * `cursor[at]` on, in entry order, under the writer lock; advances `cursor[at]` past them
   * (`capacity` = done). A flow present for the whole dump is met exactly once because entries
   * never move while alive. `cursor` may live in a SharedArrayBuffer so that several threads pull
   * batches of one dump (as OVS revalidators share a dump). Terse flows carry UFID and stats only.
   */
  dumpNext(cursor: Int32Array, at: number, max: number, terse: boolean): Array<FlowInfo | FlowTerse> {
    const flows: Array<FlowInfo | FlowTerse> = [];
    mutexLock(this.i32, H_LOCK);
    try {
      let e = Math.max(0, cursor[at]!);
      const end = this.i32[H_ENTRY_HWM]!;
      for (; e < end && flows.length < max; e++) {
        if ((this.i32[this.entBase + e * ENTRY_WORDS + E_GEN]! & 1) === 0) continue;
        flows.push(terse ? { ufid: this.ufidOf(e), stats: this.readStats(e), entry: e } : this.flowInfo(e));
      }
      // Nothing lives at or above the high-water mark: past it, the dump is done.
      Atomics.store(cursor, at, e >= end ? this.capacity : e);
      return flows;
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
  }

  /** Starts a dump (OVS dpif_flow_dump_create); see FlowDump. */
  dump(opts: { terse?: boolean; cursor?: Int32Array; cursorIndex?: number } = {}): FlowDump {
    return new FlowDump(this, opts.terse ?? false, opts.cursor ?? new Int32Array(1), opts.cursorIndex ?? 0);
  }

  /**
   * The handle through which PMD `pmdId` looks up flows (claims the id; see FlowTablePmd). If the
   * same thread also writes, its writes do not wait for its own PMDs: a write is a quiescent point
   * for them (entry indices and action slots obtained before it must not be used after it).
   */
  openPmd(pmdId: number): FlowTablePmd {
    return new FlowTablePmd(this, pmdId);
  }

  // ---- internals (lock held unless noted) ----

  private logFail(flags: number, what: string): void {
    if (this.log && (flags & DPIF_FP_PROBE) === 0) {
      const kind = flags & DPIF_FP_CREATE ? 'create' : flags & DPIF_FP_MODIFY ? 'modify' : 'zero';
      this.log(`failed to put[${kind}] flow: ${what}`);
    }
  }

  private growStage(n: number): void {
    const c = Math.max(n, 64, this.stN.length * 2);
    this.stUsed = new Uint8Array(c * FLOW_WORDS);
    this.stVals = new Uint32Array(c * FLOW_WORDS);
    this.stN = new Int32Array(c);
    this.stUfid = new Uint32Array(c * UFID_WORDS);
    this.stOut = new Int8Array(c);
    this.stEntry = new Int32Array(c);
    this.stStats = new Float64Array(c * 4);
    this.stOther = new Uint32Array(c * UFID_WORDS);
    this.stSlot = new Int32Array(c).fill(-1);
  }

  private putFail(p: FlowPut, err: FlowErrno, why: string, ufid: Uint32Array): FlowOpResult {
    this.logFail(p.flags, `${err}: ${why}`);
    return { type: 'put', error: err, ufid, stats: zeroStats(), entry: -1, created: false };
  }

  /**
   * Lock NOT held. Checks put `p` (op `i` of a batch) and stages its compiled mask and UFID; on bad
   * input stores the failed result in `results[i]` (nothing of the table is read).
   */
  private stagePut(p: FlowPut, i: number): FlowOpResult | null {
    const kb = p.keyBase ?? 0, mb = p.maskBase ?? 0;
    if (!(p.key instanceof Uint32Array) || !(p.mask instanceof Uint32Array)
      || !Number.isInteger(kb) || !Number.isInteger(mb) || kb < 0 || mb < 0
      || p.key.length < kb + FLOW_WORDS || p.mask.length < mb + FLOW_WORDS) {
      return this.putFail(p, 'EINVAL', `key and mask must be ${FLOW_WORDS} words`, new Uint32Array(UFID_WORDS));
    }
    if (!(p.actions instanceof Uint8Array)) {
      return this.putFail(p, 'EINVAL', 'actions must be a Uint8Array', new Uint32Array(UFID_WORDS));
    }
    if (p.actions.length > this.actionsBytes) {
      return this.putFail(p, 'E2BIG', `actions of ${p.actions.length} bytes exceed ${this.actionsBytes}`, new Uint32Array(UFID_WORDS));
    }
    if (p.mask[mb + W_IN_PORT] !== 0xffffffff) {
      return this.putFail(p, 'EINVAL', 'in_port is not an exact match', new Uint32Array(UFID_WORDS));
    }
    const u = p.ufid;
    if (u !== undefined && (!(u instanceof Uint32Array) || u.length !== UFID_WORDS)) {
      return this.putFail(p, 'EINVAL', 'ufid must be 4 words', new Uint32Array(UFID_WORDS));
    }
    const m = p.mask, used = this.stUsed, vals = this.stVals, b = i * FLOW_WORDS;
    let n = 0;
    for (let w = 0; w < FLOW_WORDS; w++) {
      const v = m[mb + w]!;
      if (v !== 0) {
        used[b + n] = w;
        vals[b + n] = v;
        n++;
      }
    }
    this.stN[i] = n;
    const ub = i * UFID_WORDS, su = this.stUfid;
    if (u !== undefined) {
      su[ub] = u[0]!;
      su[ub + 1] = u[1]!;
      su[ub + 2] = u[2]!;
      su[ub + 3] = u[3]!;
    } else {
      deriveUfid(p.key, kb, m, mb, this.secret, su, ub);
    }
    this.warmPut(p.key, kb, su[ub]!);
    return null;
  }

  /**
   * Lock NOT held. Reads (without the lock: the values are only a hint) the table words a put of
   * this key and UFID will read under the lock: the UFID bucket and the entry it leads to, the
   * dpcls bucket of the key in each of the first 8 subtables. Random reads into a large table miss
   * the CPU caches; taking those misses here keeps them out of the time other writers wait.
   */
  private warmPut(key: Uint32Array, kb: number, u0: number): void {
    const i32 = this.i32, u32 = this.u32;
    let x = 0;
    const e = i32[this.ufidBase + (u0 & this.ufidMask)]!;
    if (e >= 0 && e < this.capacity) x ^= i32[this.entBase + e * ENTRY_WORDS + E_UFID]!;
    const n = Math.min(Atomics.load(i32, H_ST_COUNT), 8);
    for (let i = 0; i < n; i++) {
      const st = i32[this.stListBase + i]!;
      if (!(st >= 0 && st < this.layout.maxSubtables)) continue;
      const sb = this.stBase + st * ST_WORDS;
      const nUsed = Math.min(u32[sb + ST_NUSED]!, FLOW_WORDS);
      let h = u32[sb + ST_SEED]! | 0;
      for (let j = 0; j < nUsed; j++) h = hashAdd(h, key[kb + (u32[sb + ST_USED + j]! % FLOW_WORDS)]! & u32[sb + ST_MASK + j]!);
      h = hashFinish(h, nUsed * 4) | 0;
      x ^= i32[this.dpclsBase + (h & this.dpclsMask)]!;
    }
    this.warmSink ^= x;
  }

  /**
   * Lock NOT held. Takes an action slot for each staged put that may create or modify (one short
   * hold of the lock) and writes its actions there with the lock released: the first use of fresh
   * shared memory faults (the kernel maps and zeroes a page), and that should not happen while other
   * writers wait. Slots not used go back under the lock of the batch.
   */
  private prefillActionSlots(ops: readonly FlowOp[]): void {
    const n = ops.length, ss = this.stSlot, out = this.stOut;
    let want = 0;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if (op.type === 'put' && out[i] === PUT_PENDING && (op.flags & (DPIF_FP_CREATE | DPIF_FP_MODIFY)) !== 0) want++;
    }
    if (want === 0) return;
    mutexLock(this.i32, H_LOCK);
    try {
      for (let i = 0; i < n && want > 0; i++) {
        const op = ops[i]!;
        if (op.type !== 'put' || out[i] !== PUT_PENDING || (op.flags & (DPIF_FP_CREATE | DPIF_FP_MODIFY)) === 0) continue;
        if (Atomics.load(this.i32, H_ACT_FREE_TOP) === 0) break;
        ss[i] = this.popFree(this.actFreeBase, H_ACT_FREE_TOP);
        want--;
      }
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
    for (let i = 0; i < n; i++) {
      const slot = ss[i]!;
      if (slot >= 0) this.writeActions(slot, (ops[i] as FlowPut).actions);
    }
  }

  /** The action slot for put `i`: its prefilled one, else a free one filled now; -1 if none is free (lock held). */
  private takeActionSlot(p: FlowPut, i: number): number {
    let slot = this.stSlot[i]!;
    if (slot >= 0) {
      this.stSlot[i] = -1;
      return slot;
    }
    if (Atomics.load(this.i32, H_ACT_FREE_TOP) === 0) return -1;
    slot = this.popFree(this.actFreeBase, H_ACT_FREE_TOP);
    this.writeActions(slot, p.actions);
    return slot;
  }

  /**
   * Put `p`, staged as op `i` by `stagePut` (lock held). Writes its outcome to the staging arrays
   * (`putResult` makes the result object once the lock is released).
   */
  private putLocked(p: FlowPut, i: number, retired: Retired): void {
    const su = this.stUfid, ub = i * UFID_WORDS;
    const kb = p.keyBase ?? 0;
    const key = p.key, used = this.stUsed, vals = this.stVals, sb0 = i * FLOW_WORDS, nUsed = this.stN[i]!;
    this.stEntry[i] = -1;

    const e = this.findUfidAt(su, ub);
    if (e >= 0) {
      if (!this.sameMatch(e, key, kb, sb0, nUsed)) return void (this.stOut[i] = PUT_OTHER_MATCH);
      if ((p.flags & DPIF_FP_MODIFY) === 0) return void (this.stOut[i] = (p.flags & DPIF_FP_CREATE) !== 0 ? PUT_EXISTS : PUT_EXISTS_NO_FLAGS);
      const slot = this.takeActionSlot(p, i);
      if (slot < 0) return void (this.stOut[i] = PUT_NO_ACT_SLOT);
      this.readStatsInto(e, this.stStats, i * 4);
      const eb = this.entBase + e * ENTRY_WORDS;
      const old = this.i32[eb + E_ACTS]!;
      Atomics.store(this.i32, eb + E_ACTS, slot);
      retired.kinds.push(RETIRE_ACT);
      retired.ids.push(old);
      if ((p.flags & DPIF_FP_ZERO_STATS) !== 0) Atomics.store(this.i32, eb + E_ZGEN, (this.i32[eb + E_ZGEN]! + 1) | 0);
      this.stEntry[i] = e;
      this.stOut[i] = PUT_MODIFIED;
      return;
    }
    if ((p.flags & DPIF_FP_CREATE) === 0) return void (this.stOut[i] = PUT_NOT_FOUND);
    const other = this.classifyLocked(key, kb);
    if (other >= 0) {
      const ob = this.entBase + other * ENTRY_WORDS + E_UFID, so = this.stOther;
      for (let w = 0; w < UFID_WORDS; w++) so[ub + w] = this.u32[ob + w]!;
      this.stOut[i] = PUT_OVERLAP;
      return;
    }
    let st = this.findSubtable(sb0, nUsed);
    if (Atomics.load(this.i32, H_ENTRY_FREE_TOP) === 0) return void (this.stOut[i] = PUT_TABLE_FULL);
    if (this.stSlot[i]! < 0 && Atomics.load(this.i32, H_ACT_FREE_TOP) === 0) return void (this.stOut[i] = PUT_NO_ACT_SLOT);
    if (st < 0) {
      if (Atomics.load(this.i32, H_ST_FREE_TOP) === 0) return void (this.stOut[i] = PUT_NO_SUBTABLE);
      st = this.createSubtable(sb0, nUsed);
    }
    const ne = this.popFree(this.entryFreeBase, H_ENTRY_FREE_TOP);
    if (ne >= this.i32[H_ENTRY_HWM]!) Atomics.store(this.i32, H_ENTRY_HWM, ne + 1);
    const slot = this.takeActionSlot(p, i);
    const i32 = this.i32, u32 = this.u32, eb = this.entBase + ne * ENTRY_WORDS, sb = this.stBase + st * ST_WORDS;
    // The subtable hash (hashMaskedWords over the used words, as the PMDs compute it) and the packed key.
    let h = u32[sb + ST_SEED]! | 0;
    for (let j = 0; j < nUsed; j++) {
      const v = key[kb + used[sb0 + j]!]! & vals[sb0 + j]!;
      u32[eb + E_PKEY + j] = v;
      h = hashAdd(h, v);
    }
    h = hashFinish(h, nUsed * 4) | 0;
    i32[eb + E_SUBTABLE] = st;
    i32[eb + E_HASH] = h;
    i32[eb + E_ACTS] = slot;
    i32[eb + E_ZGEN] = (i32[eb + E_ZGEN]! + 1) | 0;
    const u0 = su[ub]!;
    u32[eb + E_UFID] = u0;
    u32[eb + E_UFID + 1] = su[ub + 1]!;
    u32[eb + E_UFID + 2] = su[ub + 2]!;
    u32[eb + E_UFID + 3] = su[ub + 3]!;
    Atomics.store(i32, eb + E_GEN, (i32[eb + E_GEN]! + 1) | 0); // odd: alive
    // UFID chain (writers only).
    const ufb = this.ufidBase + (u0 & this.ufidMask);
    i32[eb + E_UFID_NEXT] = i32[ufb]!;
    i32[ufb] = ne;
    // dpcls chain: the entry and its next link are complete before this store publishes it to PMDs.
    const db = this.dpclsBase + (h & this.dpclsMask);
    i32[this.dpclsNextBase + ne] = i32[db]!;
    Atomics.store(i32, db, ((h >>> 25) << LINK_TAG_SHIFT) | ne);
    u32[sb + ST_RULES] = u32[sb + ST_RULES]! + 1;
    Atomics.add(i32, H_N_FLOWS, 1);
    this.stEntry[i] = ne;
    this.stOut[i] = PUT_CREATED;
  }

  /** Lock NOT held: the result of put `i` from its staged outcome (and its log line if it failed). */
  private putResult(p: FlowPut, i: number): FlowOpResult {
    const ub = i * UFID_WORDS, su = this.stUfid;
    const ufid = new Uint32Array(UFID_WORDS);
    ufid[0] = su[ub]!;
    ufid[1] = su[ub + 1]!;
    ufid[2] = su[ub + 2]!;
    ufid[3] = su[ub + 3]!;
    const code = this.stOut[i]!;
    if (code === PUT_CREATED) return { type: 'put', error: 0, ufid, stats: zeroStats(), entry: this.stEntry[i]!, created: true };
    if (code === PUT_MODIFIED) {
      const st = this.stStats, b = i * 4;
      const stats: FlowStats = { packets: st[b]!, bytes: st[b + 1]!, used: st[b + 2]!, tcpFlags: st[b + 3]! };
      return { type: 'put', error: 0, ufid, stats, entry: this.stEntry[i]!, created: false };
    }
    switch (code) {
      case PUT_OTHER_MATCH: return this.putFail(p, 'EINVAL', `${formatUfid(ufid)} names a flow with another match`, ufid);
      case PUT_EXISTS: return this.putFail(p, 'EEXIST', `${formatUfid(ufid)} exists`, ufid);
      case PUT_EXISTS_NO_FLAGS: return this.putFail(p, 'EINVAL', `${formatUfid(ufid)} exists`, ufid);
      case PUT_NO_ACT_SLOT: return this.putFail(p, 'ENOSPC', 'no free action slot', ufid);
      case PUT_NOT_FOUND: return this.putFail(p, 'ENOENT', `${formatUfid(ufid)} not found`, ufid);
      case PUT_OVERLAP: return this.putFail(p, 'EEXIST', `key already matches flow ${formatUfid(this.stOther, ub)}`, ufid);
      case PUT_TABLE_FULL: return this.putFail(p, 'ENOSPC', `flow table full (${this.capacity} flows)`, ufid);
      default: return this.putFail(p, 'ENOSPC', `too many masks (${this.layout.maxSubtables})`, ufid);
    }
  }

  /** Unlinks the flow `ufid` and retires it; returns its entry or -1. */
  private delLocked(ufid: Uint32Array, retired: Retired): number {
    if (!(ufid instanceof Uint32Array) || ufid.length !== UFID_WORDS) return -1;
    const e = this.findUfid(ufid);
    if (e < 0) return -1;
    this.unlinkLocked(e, retired);
    return e;
  }

  private unlinkLocked(e: number, retired: Retired): void {
    const i32 = this.i32, eb = this.entBase + e * ENTRY_WORDS;
    // UFID chain.
    let at = this.ufidBase + (this.u32[eb + E_UFID]! & this.ufidMask);
    while (i32[at] !== e) at = this.entBase + i32[at]! * ENTRY_WORDS + E_UFID_NEXT;
    i32[at] = i32[eb + E_UFID_NEXT]!;
    i32[eb + E_UFID_NEXT] = -1;
    // dpcls chain: readers standing on `e` keep following its next link, which stays intact until reuse.
    at = this.dpclsBase + (i32[eb + E_HASH]! & this.dpclsMask);
    while ((i32[at]! & LINK_INDEX_MASK) !== e) at = this.dpclsNextBase + (i32[at]! & LINK_INDEX_MASK);
    Atomics.store(i32, at, i32[this.dpclsNextBase + e]!);
    Atomics.store(i32, eb + E_GEN, (i32[eb + E_GEN]! + 1) | 0); // even: dead
    const st = i32[eb + E_SUBTABLE]!, sb = this.stBase + st * ST_WORDS;
    const rules = this.u32[sb + ST_RULES]! - 1;
    this.u32[sb + ST_RULES] = rules;
    if (rules === 0) {
      this.removeSubtableFromList(st);
      retired.kinds.push(RETIRE_SUBTABLE);
      retired.ids.push(st);
    }
    Atomics.sub(i32, H_N_FLOWS, 1);
    Atomics.add(i32, H_LIMBO, 1);
    retired.kinds.push(RETIRE_ENTRY);
    retired.ids.push(e);
    retired.kinds.push(RETIRE_ACT);
    retired.ids.push(i32[eb + E_ACTS]!);
  }

  /** Lock NOT held: waits for a grace period, runs `afterGrace`, then frees the retired memory. */
  private reclaim(retired: Retired, afterGrace: (() => void) | null): void {
    synchronize(this.i32, this.qsbrBase, QSBR_STRIDE, this.maxPmds, this.snap, this.graceTimeoutMs, this.localPmds);
    if (afterGrace) afterGrace();
    mutexLock(this.i32, H_LOCK);
    try {
      for (let i = 0; i < retired.ids.length; i++) {
        const id = retired.ids[i]!;
        switch (retired.kinds[i]) {
          case RETIRE_ENTRY:
            this.pushFree(this.entryFreeBase, H_ENTRY_FREE_TOP, id);
            Atomics.sub(this.i32, H_LIMBO, 1);
            break;
          case RETIRE_ACT:
            this.pushFree(this.actFreeBase, H_ACT_FREE_TOP, id);
            break;
          default:
            this.u32[this.stBase + id * ST_WORDS + ST_STATE] = 0;
            this.pushFree(this.stFreeBase, H_ST_FREE_TOP, id);
        }
      }
    } finally {
      mutexUnlock(this.i32, H_LOCK);
    }
  }

  private popFree(base: number, topAt: number): number {
    const top = this.i32[topAt]! - 1;
    Atomics.store(this.i32, topAt, top);
    return this.i32[base + top]!;
  }

  private pushFree(base: number, topAt: number, id: number): void {
    const top = this.i32[topAt]!;
    this.i32[base + top] = id;
    Atomics.store(this.i32, topAt, top + 1);
  }

  private writeActions(slot: number, actions: Uint8Array): void {
    const at = this.actBytesBase + slot * this.actionsBytes, n = actions.length;
    // TypedArray.prototype.set costs more than a short copy loop (most action lists are a few outputs).
    if (n <= 64) {
      const b = this.bytes;
      for (let k = 0; k < n; k++) b[at + k] = actions[k]!;
    } else {
      this.bytes.set(actions, at);
    }
    this.i32[this.actLenBase + slot] = n;
  }

  /** Entry with this UFID, or -1. */
  private findUfid(u: Uint32Array): number {
    if (!(u instanceof Uint32Array) || u.length !== UFID_WORDS) return -1;
    return this.findUfidAt(u, 0);
  }

  /** Entry with the UFID at `u[b..b+3]`, or -1. */
  private findUfidAt(u: Uint32Array, b: number): number {
    const u0 = u[b]!, u1 = u[b + 1]!, u2 = u[b + 2]!, u3 = u[b + 3]!;
    const i32 = this.i32, u32 = this.u32;
    let e = i32[this.ufidBase + (u0 & this.ufidMask)]!;
    while (e >= 0) {
      const eb = this.entBase + e * ENTRY_WORDS;
      if (u32[eb + E_UFID] === u0 && u32[eb + E_UFID + 1] === u1 && u32[eb + E_UFID + 2] === u2 && u32[eb + E_UFID + 3] === u3) return e;
      e = i32[eb + E_UFID_NEXT]!;
    }
    return -1;
  }

  /** True when the compiled mask staged at `sb0` (n words) equals subtable `st`'s mask. */
  private stagedMaskIs(st: number, sb0: number, n: number): boolean {
    const u32 = this.u32, sb = this.stBase + st * ST_WORDS;
    if (u32[sb + ST_NUSED] !== n) return false;
    const used = this.stUsed, vals = this.stVals;
    for (let j = 0; j < n; j++) {
      if (u32[sb + ST_USED + j] !== used[sb0 + j] || u32[sb + ST_MASK + j] !== vals[sb0 + j]) return false;
    }
    return true;
  }

  /** Entry `e` has the staged mask (at `sb0`, n words) and the same masked key. */
  private sameMatch(e: number, key: Uint32Array, kb: number, sb0: number, n: number): boolean {
    const eb = this.entBase + e * ENTRY_WORDS;
    if (!this.stagedMaskIs(this.i32[eb + E_SUBTABLE]!, sb0, n)) return false;
    const used = this.stUsed, vals = this.stVals;
    for (let j = 0; j < n; j++) if (this.u32[eb + E_PKEY + j] !== ((key[kb + used[sb0 + j]!]! & vals[sb0 + j]!) >>> 0)) return false;
    return true;
  }

  /** Copies subtable `st`'s compiled mask into the writer scratch; returns the word count. */
  private loadSubtableMask(st: number): number {
    const sb = this.stBase + st * ST_WORDS;
    const n = this.u32[sb + ST_NUSED]!;
    for (let j = 0; j < n; j++) {
      this.sUsed[j] = this.u32[sb + ST_USED + j]!;
      this.sVals[j] = this.u32[sb + ST_MASK + j]!;
    }
    return n;
  }

  private classifyLocked(key: Uint32Array, kb: number): number {
    const n = this.i32[H_ST_COUNT]!;
    for (let i = 0; i < n; i++) {
      const st = this.i32[this.stListBase + i]!;
      const nUsed = this.loadSubtableMask(st);
      const h = hashMaskedWords(key, kb, this.sUsed, this.sVals, 0, nUsed, this.u32[this.stBase + st * ST_WORDS + ST_SEED]!) | 0;
      const tag = h >>> 25;
      let link = this.i32[this.dpclsBase + (h & this.dpclsMask)]!;
      while (link >= 0) {
        const e = link & LINK_INDEX_MASK, eb = this.entBase + e * ENTRY_WORDS;
        // The link's tag (top 7 hash bits) rules most foreign entries out without touching them.
        if (link >>> LINK_TAG_SHIFT === tag && this.i32[eb + E_HASH] === h && this.i32[eb + E_SUBTABLE] === st) {
          let j = 0;
          for (; j < nUsed; j++) {
            if ((key[kb + this.sUsed[j]!]! & this.sVals[j]!) !== this.i32[eb + E_PKEY + j]) break;
          }
          if (j === nUsed) return e;
        }
        link = this.i32[this.dpclsNextBase + e]!;
      }
    }
    return -1;
  }

  /** The live subtable whose mask is the one staged at `sb0` (n words), or -1. */
  private findSubtable(sb0: number, n: number): number {
    const cnt = this.i32[H_ST_COUNT]!;
    for (let i = 0; i < cnt; i++) {
      const st = this.i32[this.stListBase + i]!;
      if (this.stagedMaskIs(st, sb0, n)) return st;
    }
    return -1;
  }

  /** A new subtable for the mask staged at `sb0` (n words). */
  private createSubtable(sb0: number, n: number): number {
    const st = this.popFree(this.stFreeBase, H_ST_FREE_TOP);
    const sb = this.stBase + st * ST_WORDS;
    const u = this.u32, used = this.stUsed, vals = this.stVals;
    u.fill(0, sb + ST_FULLMASK, sb + ST_FULLMASK + FLOW_WORDS);
    for (let j = 0; j < n; j++) {
      const w = used[sb0 + j]!, m = vals[sb0 + j]!;
      u[sb + ST_FULLMASK + w] = m;
      u[sb + ST_USED + j] = w;
      u[sb + ST_MASK + j] = m;
    }
    u[sb + ST_NUSED] = n;
    u[sb + ST_RULES] = 0;
    u[sb + ST_SEED] = Math.imul(st + 1, 0x9e3779b1) >>> 0;
    u[sb + ST_STATE] = 1;
    // Publish: seqlock write section around the list change (PMDs copy the list and masks).
    const i32 = this.i32;
    Atomics.add(i32, H_ST_VERSION, 1);
    const count = i32[H_ST_COUNT]!;
    Atomics.store(i32, this.stListBase + count, st);
    Atomics.store(i32, H_ST_COUNT, count + 1);
    Atomics.add(i32, H_ST_VERSION, 1);
    return st;
  }

  private removeSubtableFromList(st: number): void {
    const i32 = this.i32;
    Atomics.add(i32, H_ST_VERSION, 1);
    const count = i32[H_ST_COUNT]!;
    let i = 0;
    while (i32[this.stListBase + i] !== st) i++;
    for (; i < count - 1; i++) Atomics.store(i32, this.stListBase + i, i32[this.stListBase + i + 1]!);
    Atomics.store(i32, H_ST_COUNT, count - 1);
    Atomics.add(i32, H_ST_VERSION, 1);
    this.u32[this.stBase + st * ST_WORDS + ST_STATE] = 2;
  }

  private ufidOf(e: number): Uint32Array {
    const b = this.entBase + e * ENTRY_WORDS + E_UFID;
    return this.u32.slice(b, b + UFID_WORDS);
  }

  private flowInfo(e: number): FlowInfo {
    const eb = this.entBase + e * ENTRY_WORDS;
    const sb = this.stBase + this.i32[eb + E_SUBTABLE]! * ST_WORDS;
    const slot = this.i32[eb + E_ACTS]!;
    const off = this.actionsOffset(slot);
    const key = new Uint32Array(FLOW_WORDS);
    this.entryKey(e, key);
    return {
      ufid: this.ufidOf(e),
      key,
      mask: this.u32.slice(sb + ST_FULLMASK, sb + ST_FULLMASK + FLOW_WORDS),
      actions: this.bytes.slice(off, off + this.actionsLength(slot)),
      stats: this.readStats(e),
      entry: e,
    };
  }
}

/**
 * A flow dump in batches (OVS dpif_flow_dump): `next(50)` returns the next batch, [] once done.
 * Consistent while flows change: a flow alive for the whole dump appears exactly once; flows added
 * or deleted meanwhile may or may not appear. Cursor semantics: see `FlowTable.dumpNext`.
 */
export class FlowDump {
  constructor(
    readonly table: FlowTable, readonly terse: boolean,
    private readonly cursor: Int32Array, private readonly at: number,
  ) {}

  /** True once the whole table has been walked. */
  get done(): boolean {
    return Atomics.load(this.cursor, this.at) >= this.table.capacity;
  }

  /** Next batch of up to `max` flows (REVALIDATE_MAX_BATCH is 50). */
  next(max = 50): Array<FlowInfo | FlowTerse> {
    if (this.done) return [];
    return this.table.dumpNext(this.cursor, this.at, max, this.terse);
  }
}
