/**
 * Byte layout of the ukey table's SharedArrayBuffer (see ukey-table.ts for the contract).
 *
 * Regions, each aligned to 64 bytes, sizes from the header so `attach` recomputes them:
 *
 * | region     | type    | elements               | contents                                               |
 * |------------|---------|------------------------|--------------------------------------------------------|
 * | header     | Int32   | 128                    | see H_* below                                          |
 * | umaps      | Int32   | N_UMAPS (512) * 16     | one 64-byte line per umap: word 0 its futex mutex (0   |
 * |            |         |                        | free, 1 held, 2 contended), word 1 its ukey count      |
 * | buckets    | Int32   | nBuckets (pow2 >= max(capacity, 512)) | head record of each chain, -1 = empty   |
 * | records    | Int32   | capacity * RECORD_WORDS| one ukey each (U_* below); Float64 view for F_*       |
 * | freeStack  | Int32   | capacity               | free record indices                                    |
 * | masks      | Uint32  | maxMasks * MASK_WORDS  | interned masks: 36 mask words, M_* below               |
 * | maskBuckets| Int32   | nMaskBuckets           | head mask of each chain, -1 = empty                    |
 * | maskFree   | Int32   | maxMasks               | free mask ids                                          |
 * | heap       | Int32   | heapWords              | blobs: packed key, actions, rule ids (see below)       |
 *
 * A bucket b belongs to umap `b & (N_UMAPS - 1)` (nBuckets is a multiple of N_UMAPS), so the umap
 * lock of a UFID's umap guards its whole chain. Each umap has its own cache line (lock and count
 * together), so two handlers installing into different umaps never write the same line; the table
 * keeps no global ukey count for the same reason (`count` sums the umaps).
 *
 * Blob of a ukey (Int32 words, in the heap, size class = ceil(words / 8) blocks of 8 words):
 *   [0, kn)           the masked key's words where the mask is nonzero, in word order (kn = mask's nUsed)
 *   [kn, kn + aw)     the datapath actions bytes, aw = ceil(actLen / 4) words (little-endian bytes)
 *   [kn + aw, +nr)    rule ids (OfRule.id) the translation touched, deduplicated, at most MAX_UKEY_RULES
 * A free block keeps the next free block's word offset in its word 0 (-1 = end).
 */

export const UKEY_TABLE_MAGIC = 0x756b6579; // "ukey"
export const UKEY_LAYOUT_VERSION = 2;
/** OVS N_UMAPS: ukeys are spread over this many maps, each with its own lock. */
export const N_UMAPS = 512;
/** Int32 words per umap (one cache line): [0] lock, [1] count. */
export const UMAP_STRIDE = 16;

// Header words.
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_CAPACITY = 2;
export const H_NBUCKETS = 3;
export const H_HEAP_WORDS = 4;
export const H_MAX_MASKS = 5;
export const H_NMASK_BUCKETS = 6;
/** Allocator lock (records, masks, heap). */
export const H_ALLOC_LOCK = 16;
export const H_FREE_TOP = 17;
/** Unused since layout 2 (was the global ukey count; see `UkeyTable.count`). */
export const H_COUNT = 18;
export const H_HEAP_TOP = 19;
export const H_MASK_FREE_TOP = 20;
export const H_MASK_COUNT = 21;
/** Refused state transitions (each is a bug somewhere; OVS logs or aborts). */
export const H_BAD_TRANSITIONS = 22;
/** Installs refused for want of a record, a mask slot or heap space. */
export const H_ENOSPC = 23;
/** udpif cells (line 2): read by handlers and revalidators. */
export const H_FLOW_LIMIT = 32;
export const H_REVAL_SEQ = 33;
export const H_DUMP_SEQ = 34;
export const H_DUMP_DURATION = 35;
/** Shared flow dump cursor (own line): revalidators pull batches of one dump through it. */
export const H_DUMP_CURSOR = 48;
/** Heap free-list heads, one per size class (64 + class). */
export const H_HEAP_FREE = 64;
export const HEADER_WORDS = 128;

// Record words (Int32); F_* are Float64 indices relative to the record's Float64 base (rec * RECORD_WORDS / 2).
export const RECORD_WORDS = 32;
export const U_UFID = 0; // 4 words
export const U_NEXT = 4;
export const U_STATE = 5;
export const U_LOCK = 6;
export const U_GEN = 7;
export const U_DUMP_SEQ = 8;
export const U_REVAL_SEQ = 9;
export const U_VERSION = 10;
export const U_MISSED = 11;
export const U_MASK = 12;
export const U_BLOB = 13;
export const U_BLOB_CLASS = 14;
export const U_KEY_WORDS = 15;
export const U_ACT_LEN = 16;
export const U_N_RULES = 17;
export const U_TCP_FLAGS = 18;
export const U_FLAGS = 19;
export const U_HASH = 20;
export const F_CREATED = 12;
export const F_PACKETS = 13;
export const F_BYTES = 14;
export const F_USED = 15;

/** U_FLAGS bit: the ukey was made by a revalidator for a dumped flow that had none (OVS ukey_create_from_dpif_flow). */
export const UKEY_F_ADOPTED = 1;

// Mask entry words.
export const MASK_WORDS = 40;
export const M_NUSED = 36;
export const M_REFS = 37;
export const M_HASH = 38;
export const M_NEXT = 39;

/** Blob size classes: class c holds c * BLOB_GRAIN words. */
export const BLOB_GRAIN = 8;
/** Most rule ids one ukey keeps (a longer resubmit chain credits its first 64 distinct rules). */
export const MAX_UKEY_RULES = 64;
export const MAX_BLOB_WORDS = 36 + 64 + MAX_UKEY_RULES;
export const MAX_BLOB_CLASS = Math.ceil(MAX_BLOB_WORDS / BLOB_GRAIN);

export interface UkeyLayoutParams {
  capacity: number;
  heapWords: number;
  maxMasks: number;
}

export interface UkeyLayout extends UkeyLayoutParams {
  nBuckets: number;
  nMaskBuckets: number;
  /** Byte offset of the umap lines (lock of umap u at Int32 index umapLock/4 + u * UMAP_STRIDE). */
  umapLock: number;
  /** Byte offset of umap 0's count (Int32 index umapCount/4 + u * UMAP_STRIDE). */
  umapCount: number;
  buckets: number;
  records: number;
  freeStack: number;
  masks: number;
  maskBuckets: number;
  maskFree: number;
  heap: number;
  totalBytes: number;
}

const align = (n: number): number => (n + 63) & ~63;

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Computes region offsets (bytes). Throws RangeError on sizes out of range. */
export function computeUkeyLayout(p: UkeyLayoutParams): UkeyLayout {
  if (!Number.isInteger(p.capacity) || p.capacity < 1 || p.capacity > 1 << 24) throw new RangeError(`ukey table: capacity ${p.capacity} must be 1..16777216`);
  if (!Number.isInteger(p.heapWords) || p.heapWords < MAX_BLOB_CLASS * BLOB_GRAIN || p.heapWords > 0x7fffffff / 4) throw new RangeError(`ukey table: heapWords ${p.heapWords} out of range`);
  if (!Number.isInteger(p.maxMasks) || p.maxMasks < 1 || p.maxMasks > 1 << 20) throw new RangeError(`ukey table: maxMasks ${p.maxMasks} must be 1..1048576`);
  const nBuckets = pow2AtLeast(Math.max(p.capacity, N_UMAPS));
  const nMaskBuckets = pow2AtLeast(p.maxMasks * 2);
  let at = align(HEADER_WORDS * 4);
  const umapLock = at, umapCount = at + 4; at = align(at + N_UMAPS * UMAP_STRIDE * 4);
  const buckets = at; at = align(at + nBuckets * 4);
  const records = at; at = align(at + p.capacity * RECORD_WORDS * 4);
  const freeStack = at; at = align(at + p.capacity * 4);
  const masks = at; at = align(at + p.maxMasks * MASK_WORDS * 4);
  const maskBuckets = at; at = align(at + nMaskBuckets * 4);
  const maskFree = at; at = align(at + p.maxMasks * 4);
  const heap = at; at = align(at + p.heapWords * 4);
  return {
    ...p, nBuckets, nMaskBuckets, umapLock, umapCount, buckets, records, freeStack, masks, maskBuckets, maskFree, heap,
    totalBytes: at,
  };
}
