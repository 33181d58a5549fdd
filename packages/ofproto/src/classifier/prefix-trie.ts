/**
 * Binary prefix trie with per-prefix rule counts, answering OVS's trie questions (lib/classifier.c
 * `trie_lookup_value`, `trie_insert_prefix`, `trie_remove_prefix`) for prefix tracking.
 *
 * A prefix is the leading `plen` bits of a value of 1..4 big-endian 32-bit words (bit 0 is the most
 * significant bit of the first word, e.g. 10.0.0.0/8 has its bits in word 0's top byte).
 *
 * OVS stores a path-compressed trie; this one is uncompressed (one node per bit, pruned when a
 * subtree holds no rule), which answers `lookup` identically: the number of leading bits of the
 * value that must be un-wildcarded to prove no other prefix matches (the longest common prefix with
 * the stored prefixes, plus the first differing bit when a longer prefix branches off there), and
 * which prefix lengths along the value's path hold rules. Nodes live in typed arrays (no objects);
 * `lookup` allocates nothing.
 */

const NONE = -1;

export class PrefixTrie {
  private child0: Int32Array;
  private child1: Int32Array;
  /** Rules whose prefix ends exactly at this node. */
  private nRules: Int32Array;
  /** Rules in this node's subtree, itself included. */
  private nSub: Int32Array;
  private free: number[] = [];
  private used = 1;

  /** Value width in bits (32 or 128). */
  constructor(readonly nBits: number) {
    const cap = 64;
    this.child0 = new Int32Array(cap).fill(NONE);
    this.child1 = new Int32Array(cap).fill(NONE);
    this.nRules = new Int32Array(cap);
    this.nSub = new Int32Array(cap);
  }

  /** True if no prefix is stored. */
  get empty(): boolean {
    return this.nSub[0] === 0;
  }

  private alloc(): number {
    const n = this.free.pop();
    if (n !== undefined) return n;
    if (this.used === this.child0.length) {
      const cap = this.used * 2;
      const g = (a: Int32Array, fill: number): Int32Array => {
        const b = new Int32Array(cap).fill(fill);
        b.set(a);
        return b;
      };
      this.child0 = g(this.child0, NONE);
      this.child1 = g(this.child1, NONE);
      this.nRules = g(this.nRules, 0);
      this.nSub = g(this.nSub, 0);
    }
    return this.used++;
  }

  /** Adds one rule with prefix `plen` (1..nBits) of `value[base..]`. */
  insert(value: ArrayLike<number>, base: number, plen: number): void {
    let node = 0;
    this.nSub[0]!++;
    for (let d = 0; d < plen; d++) {
      const bit = (value[base + (d >>> 5)]! >>> (31 - (d & 31))) & 1;
      const arr = bit ? this.child1 : this.child0;
      let c = arr[node]!;
      if (c === NONE) {
        c = this.alloc();
        this.child0[c] = NONE;
        this.child1[c] = NONE;
        this.nRules[c] = 0;
        this.nSub[c] = 0;
        (bit ? this.child1 : this.child0)[node] = c;
      }
      node = c;
      this.nSub[node]!++;
    }
    this.nRules[node]!++;
  }

  /** Removes one rule with prefix `plen` of `value[base..]` (no-op if absent). Prunes empty nodes. */
  remove(value: ArrayLike<number>, base: number, plen: number): void {
    // Verify presence first so that counts stay consistent on a bad call.
    let node = 0;
    for (let d = 0; d < plen; d++) {
      const bit = (value[base + (d >>> 5)]! >>> (31 - (d & 31))) & 1;
      node = (bit ? this.child1 : this.child0)[node]!;
      if (node === NONE) return;
    }
    if (this.nRules[node] === 0) return;
    this.nRules[node]!--;
    node = 0;
    this.nSub[0]!--;
    for (let d = 0; d < plen; d++) {
      const bit = (value[base + (d >>> 5)]! >>> (31 - (d & 31))) & 1;
      const arr = bit ? this.child1 : this.child0;
      const c = arr[node]!;
      this.nSub[c]!--;
      if (this.nSub[c] === 0) {
        arr[node] = NONE;
        this.freeSubtree(c);
        return;
      }
      node = c;
    }
  }

  private freeSubtree(n: number): void {
    // An empty subtree is a single chain at most (every node had nSub 0), free it iteratively.
    const stack = [n];
    while (stack.length) {
      const x = stack.pop()!;
      if (this.child0[x] !== NONE) stack.push(this.child0[x]!);
      if (this.child1[x] !== NONE) stack.push(this.child1[x]!);
      this.child0[x] = NONE;
      this.child1[x] = NONE;
      this.free.push(x);
    }
  }

  /**
   * OVS `trie_lookup_value`: walks the value's bits. Sets bit (plen - 1) of `plens` (a Uint32Array
   * bitset, bit i = word i>>5, bit i&31 counted from the least significant) for every prefix
   * length along the path that has rules, and returns how many leading bits of the value a
   * megaflow must match to rule out all other stored prefixes (0..nBits). `plens` must be cleared
   * by the caller. Allocates nothing.
   */
  lookup(value: ArrayLike<number>, base: number, nBits: number, plens: Uint32Array | null, plensBase = 0): number {
    if (this.nSub[0] === 0) return 0;
    let node = 0;
    let d = 0;
    for (;;) {
      if (d > 0 && this.nRules[node]! > 0 && plens) {
        const i = d - 1;
        const w = plensBase + (i >>> 5);
        plens[w] = (plens[w]! | (1 << (i & 31))) >>> 0;
      }
      if (d >= nBits) return nBits;
      const bit = (value[base + (d >>> 5)]! >>> (31 - (d & 31))) & 1;
      const c = bit ? this.child1[node]! : this.child0[node]!;
      if (c === NONE) {
        const other = bit ? this.child0[node]! : this.child1[node]!;
        return other === NONE ? d : d + 1;
      }
      node = c;
      d++;
    }
  }
}

/** Tests bit (plen - 1) of a `plens` bitset (at `plens[base..]`) filled by `PrefixTrie.lookup`. */
export function plensHas(plens: Uint32Array, plen: number, base = 0): boolean {
  const i = plen - 1;
  return ((plens[base + (i >>> 5)]! >>> (i & 31)) & 1) === 1;
}
