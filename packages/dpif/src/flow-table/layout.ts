/**
 * Byte layout of the shared flow table: one SharedArrayBuffer, regions aligned to 64-byte lines,
 * offsets derived from the five sizing parameters kept in the header (so `attach` recomputes them).
 *
 * | region        | type    | size                               | contents                              |
 * |---------------|---------|------------------------------------|---------------------------------------|
 * | header        | Int32   | 64 words                           | H_* below                             |
 * | qsbr          | Int32   | maxPmds lines (16 words each)      | word 0 of line p: PMD p's quiescent   |
 * |               |         |                                    | counter, 0 = offline                  |
 * | stList        | Int32   | maxSubtables                       | live subtable ids, H_ST_COUNT of them |
 * | subtables     | Uint32  | maxSubtables * ST_WORDS            | ST_* below                            |
 * | dpclsBuckets  | Int32   | nDpclsBuckets (pow2 >= 2*capacity) | head link of the rule chain (LINK_*)  |
 * | ufidBuckets   | Int32   | nUfidBuckets (pow2 >= capacity)    | head entry of the UFID chain, -1 none |
 * | dpclsNext     | Int32   | capacity                           | next link of each entry's rule chain  |
 * | entries       | Int32   | capacity * ENTRY_WORDS             | E_* below                             |
 * | stats         | Float64 | maxPmds * capacity * 4             | per PMD, per entry: S_* below         |
 * | actLen        | Int32   | nActSlots                          | length in bytes of each action slot   |
 * | actions       | Uint8   | nActSlots * actionsBytes           | action blobs, slot i at i*actionsBytes|
 * | entryFree     | Int32   | capacity                           | free entry stack                      |
 * | actFree       | Int32   | nActSlots                          | free action slot stack                |
 * | stFree        | Int32   | maxSubtables                       | free subtable stack                   |
 */
import { FLOW_WORDS } from '@tsvs/packet';
import { CACHE_LINE, I32_PER_LINE, nextPow2 } from '@tsvs/shm';

export const FLOW_TABLE_MAGIC = 0x666c7462; // "fltb"
export const FLOW_TABLE_LAYOUT_VERSION = 2;

// Header words. Line 0: constants. Line 1: writer state (under the writer lock). Line 2: the
// subtable list version PMDs poll, alone on its line so writer traffic does not bounce it.
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_CAPACITY = 2;
export const H_MAX_PMDS = 3;
export const H_MAX_SUBTABLES = 4;
export const H_ACTIONS_BYTES = 5;
export const H_ACT_SLOTS = 6;
export const H_SECRET = 7;
/** emc-insert-inv-prob (mutable, any thread; PMDs read it at each probabilistic insert). */
export const H_EMC_INV_PROB = 8;
export const H_LOCK = 16;
export const H_N_FLOWS = 17;
export const H_ENTRY_FREE_TOP = 18;
export const H_ACT_FREE_TOP = 19;
export const H_ST_FREE_TOP = 20;
export const H_ST_COUNT = 21;
/** Entries deleted but not yet back on the free stack (waiting for a grace period). */
export const H_LIMBO = 22;
/**
 * Entry high-water mark: 1 + the highest entry id ever taken from the free stack. Every live entry
 * is below it. The stack hands out ids lowest first and takes them back LIFO, so it stays near the
 * most flows ever live at once, and whole-table walks (dump, flush) stop there instead of at
 * `capacity` (200000 by default: a revalidator's terse dump of a few flows walked all of them,
 * holding the writer lock, twice a second).
 */
export const H_ENTRY_HWM = 23;
/** Seqlock over stList/H_ST_COUNT: odd while a writer changes the list. */
export const H_ST_VERSION = 32;
export const HEADER_WORDS = 64;

/** Words per qsbr slot: one cache line per PMD. */
export const QSBR_STRIDE = I32_PER_LINE;

// Subtable record (Uint32 words).
export const ST_STATE = 0; // 0 free, 1 live (in stList), 2 retired (off the list, waiting for grace)
export const ST_NUSED = 1; // number of mask words in use
export const ST_RULES = 2; // number of live rules
export const ST_SEED = 3; // hash basis of this subtable
export const ST_USED = 4; // FLOW_WORDS word indices, ST_NUSED valid
export const ST_MASK = ST_USED + FLOW_WORDS; // FLOW_WORDS mask values in ST_USED order
export const ST_FULLMASK = ST_MASK + FLOW_WORDS; // the whole mask, FLOW_WORDS words
export const ST_WORDS = ST_FULLMASK + FLOW_WORDS;

// Flow entry record (Int32 words). The fields a PMD reads on a hit come first, then the masked
// key packed in the subtable's word order (only the words its mask uses: the other words of the
// masked key are 0), so that a probe of a typical mask (<= 10 words) touches one 64-byte line.
export const E_HASH = 0; // subtable hash of the masked key
export const E_SUBTABLE = 1; // subtable id
/** Generation: odd = alive, even = dead or free. +1 at allocation, +1 at deletion. */
export const E_GEN = 2;
export const E_ACTS = 3; // current action slot
/** Stats generation: bumped at allocation and by ZERO_STATS; PMD stat slots of another generation count as zero. */
export const E_ZGEN = 4;
export const E_PKEY = 6; // packed masked key: word j = key[ST_USED[j]] & ST_MASK[j], ST_NUSED of them
export const E_UFID = E_PKEY + FLOW_WORDS; // 4 words
export const E_UFID_NEXT = E_UFID + 4; // next entry in the UFID bucket chain, -1 = end (writers only)
export const ENTRY_WORDS = 48; // 192 bytes, 3 cache lines

/**
 * dpcls chain links (bucket heads and the dpclsNext array): -1 = none, else
 * `(tag << LINK_TAG_SHIFT) | entry` where tag = the entry's hash >>> 25 (7 bits). A reader skips an
 * entry whose tag differs without touching it; the next link lives in dpclsNext, a compact array.
 */
export const LINK_TAG_SHIFT = 24;
export const LINK_INDEX_MASK = (1 << LINK_TAG_SHIFT) - 1;

// Per-PMD stats slot (Float64 words; S_FLAGS_I32/S_ZGEN_I32 are Int32 word offsets in the same slot).
export const S_PACKETS = 0;
export const S_BYTES = 1;
export const S_USED = 2;
export const S_F64 = 4; // slot = 32 bytes
export const S_FLAGS_I32 = 6;
export const S_ZGEN_I32 = 7;

/** Sizing of a flow table. */
export interface FlowTableParams {
  /** Maximum number of flows (entries). */
  capacity: number;
  /** Maximum number of PMD ids (0..maxPmds-1) that look up and count stats. */
  maxPmds: number;
  /** Maximum number of distinct masks alive at once. */
  maxSubtables: number;
  /** Size of an action slot: the longest action list a flow can hold, in bytes. */
  actionsBytes: number;
  /** Number of action slots: capacity plus a reserve for modifications waiting for a grace period. */
  actSlots: number;
}

/** Offsets (in bytes) and element counts of every region. */
export interface FlowTableLayout extends FlowTableParams {
  nDpclsBuckets: number;
  nUfidBuckets: number;
  qsbr: number;
  stList: number;
  subtables: number;
  dpclsBuckets: number;
  ufidBuckets: number;
  dpclsNext: number;
  entries: number;
  stats: number;
  actLen: number;
  actions: number;
  entryFree: number;
  actFree: number;
  stFree: number;
  totalBytes: number;
}

const align = (n: number): number => Math.ceil(n / CACHE_LINE) * CACHE_LINE;

/** Computes the layout. Pure; throws RangeError on parameters out of range. */
export function computeLayout(p: FlowTableParams): FlowTableLayout {
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`flow table: ${name} ${v} out of range [${min}, ${max}]`);
  };
  int('capacity', p.capacity, 1, (1 << 24) - 1);
  int('maxPmds', p.maxPmds, 1, 256);
  int('maxSubtables', p.maxSubtables, 1, 1 << 16);
  int('actionsBytes', p.actionsBytes, 8, 1 << 16);
  int('actSlots', p.actSlots, p.capacity, 1 << 26);
  const nDpclsBuckets = nextPow2(2 * p.capacity);
  const nUfidBuckets = nextPow2(p.capacity);
  let off = 0;
  const take = (bytes: number): number => { const at = off; off = align(off + bytes); return at; };
  take(HEADER_WORDS * 4);
  const qsbr = take(p.maxPmds * QSBR_STRIDE * 4);
  const stList = take(p.maxSubtables * 4);
  const subtables = take(p.maxSubtables * ST_WORDS * 4);
  const dpclsBuckets = take(nDpclsBuckets * 4);
  const ufidBuckets = take(nUfidBuckets * 4);
  const dpclsNext = take(p.capacity * 4);
  const entries = take(p.capacity * ENTRY_WORDS * 4);
  const stats = take(p.maxPmds * p.capacity * S_F64 * 8);
  const actLen = take(p.actSlots * 4);
  const actions = take(p.actSlots * p.actionsBytes);
  const entryFree = take(p.capacity * 4);
  const actFree = take(p.actSlots * 4);
  const stFree = take(p.maxSubtables * 4);
  return {
    ...p, nDpclsBuckets, nUfidBuckets, qsbr, stList, subtables, dpclsBuckets, ufidBuckets, dpclsNext, entries, stats,
    actLen, actions, entryFree, actFree, stFree, totalBytes: off,
  };
}
