/**
 * Open-addressing hash maps keyed by unsigned 32-bit hashes, for the classifier's indices.
 * Linear probing over power-of-two tables, deletion by backward shift (no tombstones), so a
 * lookup allocates nothing and probes a short run of a typed array.
 *
 * - `U32CountMap`: hash -> count (OVS `ccmap`, the staged-lookup indices).
 * - `U32ObjMap<T>`: hash -> one object (OVS `cmap` of rule lists, heads only; collisions between
 *   different keys with the same hash are chained by the caller).
 *
 * Keys are 32-bit hash values kept as int32 (`hash | 0`: V8 holds int32 values unboxed, uint32
 * values above 2^31 not). The slot is the top bits of `key * 0x9e3779b1` (Fibonacci hashing), so
 * keys need not be finalized hashes: a running murmur state is spread well enough.
 */

const PHI = 0x9e3779b1 | 0;

export class U32CountMap {
  private keys: Int32Array;
  private counts: Int32Array;
  private capMask: number;
  private shift: number;
  /** Number of distinct keys. */
  size = 0;

  constructor(initialCapacity = 8) {
    let cap = 8;
    while (cap < initialCapacity * 2) cap <<= 1;
    this.keys = new Int32Array(cap);
    this.counts = new Int32Array(cap);
    this.capMask = cap - 1;
    this.shift = Math.clz32(cap) + 1;
  }

  /** Count for `hash` (0 if absent). */
  get(hash: number): number {
    const keys = this.keys;
    const counts = this.counts;
    const m = this.capMask;
    let i = Math.imul(hash, PHI) >>> this.shift;
    for (;;) {
      const c = counts[i]!;
      if (c === 0) return 0;
      if (keys[i] === hash) return c;
      i = (i + 1) & m;
    }
  }

  /** Adds one to the count of `hash`. */
  inc(hash: number): void {
    hash |= 0;
    if ((this.size + 1) * 2 > this.capMask + 1) this.grow();
    const m = this.capMask;
    let i = Math.imul(hash, PHI) >>> this.shift;
    for (;;) {
      const c = this.counts[i]!;
      if (c === 0) {
        this.keys[i] = hash;
        this.counts[i] = 1;
        this.size++;
        return;
      }
      if (this.keys[i] === hash) {
        this.counts[i] = c + 1;
        return;
      }
      i = (i + 1) & m;
    }
  }

  /** Subtracts one from the count of `hash`; removes it at zero. No-op if absent. */
  dec(hash: number): void {
    hash |= 0;
    const m = this.capMask;
    let i = Math.imul(hash, PHI) >>> this.shift;
    for (;;) {
      const c = this.counts[i]!;
      if (c === 0) return;
      if (this.keys[i] === hash) {
        if (c > 1) this.counts[i] = c - 1;
        else this.removeAt(i);
        return;
      }
      i = (i + 1) & m;
    }
  }

  private removeAt(i: number): void {
    const m = this.capMask;
    this.counts[i] = 0;
    this.size--;
    let j = i;
    for (;;) {
      j = (j + 1) & m;
      if (this.counts[j] === 0) return;
      const home = Math.imul(this.keys[j]!, PHI) >>> this.shift;
      // Move j back to i if i lies cyclically in [home, j).
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        this.keys[i] = this.keys[j]!;
        this.counts[i] = this.counts[j]!;
        this.counts[j] = 0;
        i = j;
      }
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    const cap = (this.capMask + 1) * 2;
    this.keys = new Int32Array(cap);
    this.counts = new Int32Array(cap);
    this.capMask = cap - 1;
    this.shift = Math.clz32(cap) + 1;
    for (let s = 0; s < oldKeys.length; s++) {
      const c = oldCounts[s]!;
      if (c === 0) continue;
      let i = Math.imul(oldKeys[s]!, PHI) >>> this.shift;
      while (this.counts[i] !== 0) i = (i + 1) & this.capMask;
      this.keys[i] = oldKeys[s]!;
      this.counts[i] = c;
    }
  }
}

export class U32ObjMap<T> {
  private keys: Int32Array;
  private vals: (T | undefined)[];
  private capMask: number;
  private shift: number;
  /** Number of keys. */
  size = 0;

  constructor(initialCapacity = 8) {
    let cap = 8;
    while (cap < initialCapacity * 2) cap <<= 1;
    this.keys = new Int32Array(cap);
    this.vals = new Array<T | undefined>(cap).fill(undefined);
    this.capMask = cap - 1;
    this.shift = Math.clz32(cap) + 1;
  }

  /** The object stored under `hash`, or undefined. */
  get(hash: number): T | undefined {
    const keys = this.keys;
    const vals = this.vals;
    const m = this.capMask;
    let i = Math.imul(hash, PHI) >>> this.shift;
    for (;;) {
      const v = vals[i];
      if (v === undefined) return undefined;
      if (keys[i] === hash) return v;
      i = (i + 1) & m;
    }
  }

  /** Stores `val` under `hash` (replacing any previous value). */
  set(hash: number, val: T): void {
    hash |= 0;
    if ((this.size + 1) * 2 > this.capMask + 1) this.grow();
    const m = this.capMask;
    let i = Math.imul(hash, PHI) >>> this.shift;
    for (;;) {
      if (this.vals[i] === undefined) {
        this.keys[i] = hash;
        this.vals[i] = val;
        this.size++;
        return;
      }
      if (this.keys[i] === hash) {
        this.vals[i] = val;
        return;
      }
      i = (i + 1) & m;
    }
  }

  /** Removes `hash`. No-op if absent. */
  delete(hash: number): void {
    hash |= 0;
    const m = this.capMask;
    let i = Math.imul(hash, PHI) >>> this.shift;
    for (;;) {
      if (this.vals[i] === undefined) return;
      if (this.keys[i] === hash) break;
      i = (i + 1) & m;
    }
    this.vals[i] = undefined;
    this.size--;
    let j = i;
    for (;;) {
      j = (j + 1) & m;
      if (this.vals[j] === undefined) return;
      const home = Math.imul(this.keys[j]!, PHI) >>> this.shift;
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        this.keys[i] = this.keys[j]!;
        this.vals[i] = this.vals[j];
        this.vals[j] = undefined;
        i = j;
      }
    }
  }

  /** Every stored value (order unspecified). Allocates; for control paths. */
  values(): T[] {
    const out: T[] = [];
    for (const v of this.vals) if (v !== undefined) out.push(v);
    return out;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = (this.capMask + 1) * 2;
    this.keys = new Int32Array(cap);
    this.vals = new Array<T | undefined>(cap).fill(undefined);
    this.capMask = cap - 1;
    this.shift = Math.clz32(cap) + 1;
    for (let s = 0; s < oldKeys.length; s++) {
      const v = oldVals[s];
      if (v === undefined) continue;
      let i = Math.imul(oldKeys[s]!, PHI) >>> this.shift;
      while (this.vals[i] !== undefined) i = (i + 1) & this.capMask;
      this.keys[i] = oldKeys[s]!;
      this.vals[i] = v;
    }
  }
}
