/**
 * Byte layout of the shared MAC learning table (./shared-mac-table.ts): one SharedArrayBuffer,
 * regions aligned to 64 bytes. `computeFdbLayout` derives the offsets from the sizes kept in the
 * header, so `attach` recomputes them.
 *
 * | region    | type    | elements            | contents                                                    |
 * |-----------|---------|---------------------|-------------------------------------------------------------|
 * | header    | Int32   | 256 (1 KiB)         | see H_* below; Float64 view: [F_NEXT_STAMP], [F_BASE_MS]     |
 * | buckets   | Int32   | nBuckets (pow2 ≥ 2·capacity) | first entry of the chain, -1 = empty               |
 * | entries   | Int32   | 16 per entry        | see E_* below                                               |
 * | stamps    | Float64 | 1 per entry         | LRU stamp: larger = used more recently (ties of fair eviction) |
 * | portSlots | Int32   | 4 per slot          | per-port entry lists: [ofport (-1 = free slot), head, tail, count] |
 *
 * Header words: [0] magic "fdbs", [1] layout version, [2] capacity, [3] nBuckets, [4] nPortSlots;
 * line 1: [16] writer mutex (packages/shm mutex); line 2: [32] seqlock (odd while a writer
 * changes the table); line 3: [48] entries, [49] static entries, [50] mac-table-size, [51]
 * mac-aging-time (s), [52] LRU head (least recent), [53] LRU tail, [54] free list head, [55]
 * learned, [56] expired, [57] evicted, [58] moved; line 4: [64] need-revalidate flag, [65] port
 * changes (monotonic: every learned/moved/removed mapping), [66] kick requested (a handler asked the
 * control thread to kick the revalidators). Float64 [64] next LRU stamp, [65] clock base (ms).
 *
 * Entry words: [0] VLAN, [1] MAC bytes 0..1, [2] MAC bytes 2..5 (as the flow key holds them),
 * [3] OpenFlow port (-1 none), [4] expiry (s since the clock base, or MAC_ENTRY_AGE_STATIC),
 * [5] gratuitous-ARP lock until (s), [6] next in hash chain, [7]/[8] LRU prev/next, [9]/[10] port
 * list prev/next, [11] in use (1) or free (0). Free entries are chained through [8].
 */
export const FDB_MAGIC = 0x66646273; // "fdbs"
export const FDB_LAYOUT_VERSION = 1;

export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_CAPACITY = 2;
export const H_NBUCKETS = 3;
export const H_NPORTSLOTS = 4;
export const H_LOCK = 16;
export const H_SEQ = 32;
export const H_COUNT = 48;
export const H_NSTATIC = 49;
export const H_MAX = 50;
export const H_IDLE = 51;
export const H_LRU_HEAD = 52;
export const H_LRU_TAIL = 53;
export const H_FREE = 54;
export const H_LEARNED = 55;
export const H_EXPIRED = 56;
export const H_EVICTED = 57;
export const H_MOVED = 58;
export const H_NEED_REVAL = 64;
export const H_CHANGES = 65;
export const H_KICK = 66;
export const HEADER_WORDS = 256;
/** Float64 indices in the header. */
export const F_NEXT_STAMP = 64;
export const F_BASE_MS = 65;

export const E_VLAN = 0;
export const E_HI = 1;
export const E_LO = 2;
export const E_PORT = 3;
export const E_EXPIRES = 4;
export const E_GRAT = 5;
export const E_HNEXT = 6;
export const E_LPREV = 7;
export const E_LNEXT = 8;
export const E_PPREV = 9;
export const E_PNEXT = 10;
export const E_INUSE = 11;
export const ENTRY_WORDS = 16;

export const P_PORT = 0;
export const P_HEAD = 1;
export const P_TAIL = 2;
export const P_COUNT = 3;
export const PORT_SLOT_WORDS = 4;

export interface FdbLayout {
  capacity: number;
  nBuckets: number;
  nPortSlots: number;
  /** Byte offsets. */
  buckets: number;
  entries: number;
  stamps: number;
  portSlots: number;
  totalBytes: number;
}

const align = (n: number): number => (n + 63) & ~63;

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function computeFdbLayout(capacity: number, nPortSlots: number): FdbLayout {
  const nBuckets = nextPow2(Math.max(16, 2 * capacity));
  const buckets = HEADER_WORDS * 4;
  const entries = align(buckets + nBuckets * 4);
  const stamps = align(entries + capacity * ENTRY_WORDS * 4);
  const portSlots = align(stamps + capacity * 8);
  const totalBytes = align(portSlots + nPortSlots * PORT_SLOT_WORDS * 4);
  return { capacity, nBuckets, nPortSlots, buckets, entries, stamps, portSlots, totalBytes };
}
