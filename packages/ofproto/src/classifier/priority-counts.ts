/**
 * A multiset of rule priorities that knows its maximum: a subtable's `max_priority` (OVS
 * lib/classifier.c keeps max_priority/max_count and rescans the whole subtable when the last rule
 * at the maximum goes, O(rules) per removal; removing a subtable's rules from the highest priority
 * down was O(rules²)).
 *
 * Counts per priority in a Map, distinct priorities in a binary max-heap with lazy deletion: a
 * priority whose count drops to 0 stays in the heap until it reaches the top. `add` and `delete`
 * are O(log distinct priorities) amortized; the heap is rebuilt when stale entries outnumber live
 * ones, so it stays O(distinct priorities) in size.
 */
export class PriorityCounts {
  private readonly counts = new Map<number, number>();
  private heap: number[] = [];
  /** Highest priority with a count, -Infinity when empty. */
  max = -Infinity;

  /** Number of entries at `p`. */
  count(p: number): number {
    return this.counts.get(p) ?? 0;
  }

  /** Number of distinct priorities present. */
  get distinct(): number {
    return this.counts.size;
  }

  /** Adds one entry at priority `p`. Returns true if the maximum changed. */
  add(p: number): boolean {
    const c = this.counts.get(p) ?? 0;
    this.counts.set(p, c + 1);
    if (c === 0) this.push(p);
    if (p > this.max) {
      this.max = p;
      return true;
    }
    return false;
  }

  /** Removes one entry at priority `p` (no-op if none). Returns true if the maximum changed. */
  delete(p: number): boolean {
    const c = this.counts.get(p);
    if (c === undefined) return false;
    if (c > 1) {
      this.counts.set(p, c - 1);
      return false;
    }
    this.counts.delete(p);
    if (this.heap.length > 2 * this.counts.size + 16) this.rebuild();
    if (p !== this.max) return false;
    const heap = this.heap;
    while (heap.length > 0 && !this.counts.has(heap[0]!)) this.pop();
    this.max = heap.length > 0 ? heap[0]! : -Infinity;
    return true;
  }

  private push(p: number): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(p);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! >= p) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = p;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]! > heap[l]! ? r : l;
      if (heap[c]! <= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }

  private rebuild(): void {
    this.heap = [];
    for (const p of this.counts.keys()) this.push(p);
  }
}
