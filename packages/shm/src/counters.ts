import { F64_PER_LINE } from './layout.js';

/** Serializable form of a counter set: pass it to a worker and `CounterSet.attach` it there. */
export interface CounterSetDescriptor {
  readonly sab: SharedArrayBuffer;
  readonly names: readonly string[];
  readonly nBlocks: number;
}

/**
 * Named counters with one block per writer thread, summed by readers.
 *
 * Layout: a Float64Array over one SharedArrayBuffer; block b starts at element `b * stride`, where
 * stride = names.length rounded up to a whole 64-byte line (8 doubles), so writers never share a
 * line. Counter i of block b is element `b * stride + i`; names[i] names it. Values are plain
 * doubles: integers stay exact up to 2^53 (packets, bytes, nanoseconds of cycles all fit for years).
 *
 * Each block has exactly one writer, which updates it with plain loads and stores (no atomics, no
 * allocation). Readers in other threads sum the blocks; an aligned 8-byte store is not torn on
 * x86-64/arm64, so a reader sees every counter either before or after an update, never a mix, but
 * the sum over several counters is not a consistent snapshot.
 */
export class CounterSet {
  readonly sab: SharedArrayBuffer;
  readonly names: readonly string[];
  readonly nBlocks: number;
  /** Elements from one block to the next. */
  readonly stride: number;
  /** All blocks: counter i of block b is `f64[b * stride + i]`. */
  readonly f64: Float64Array;
  private readonly index: Map<string, number>;

  private constructor(desc: CounterSetDescriptor) {
    this.sab = desc.sab;
    this.names = desc.names;
    this.nBlocks = desc.nBlocks;
    this.stride = Math.max(1, Math.ceil(desc.names.length / F64_PER_LINE)) * F64_PER_LINE;
    this.f64 = new Float64Array(desc.sab);
    if (this.f64.length < this.stride * this.nBlocks) throw new TypeError('CounterSet.attach: buffer too small');
    this.index = new Map(desc.names.map((n, i) => [n, i]));
  }

  /** A new set of `names` counters (all 0) in `nBlocks` writer blocks. Throws RangeError on bad sizes or duplicate names. */
  static create(names: readonly string[], nBlocks: number): CounterSet {
    if (!Number.isInteger(nBlocks) || nBlocks < 1) throw new RangeError(`CounterSet: bad block count ${nBlocks}`);
    if (new Set(names).size !== names.length) throw new RangeError('CounterSet: duplicate counter name');
    const stride = Math.max(1, Math.ceil(names.length / F64_PER_LINE)) * F64_PER_LINE;
    return new CounterSet({ sab: new SharedArrayBuffer(stride * nBlocks * 8), names: [...names], nBlocks });
  }

  /** Attaches to a set made by `create` in any thread. */
  static attach(desc: CounterSetDescriptor): CounterSet {
    return new CounterSet(desc);
  }

  descriptor(): CounterSetDescriptor {
    return { sab: this.sab, names: this.names, nBlocks: this.nBlocks };
  }

  /** Index of counter `name`; throws RangeError naming it if unknown. Resolve once, not per packet. */
  id(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new RangeError(`CounterSet: unknown counter '${name}'`);
    return i;
  }

  /** The writer handle of block `b` (0 <= b < nBlocks). */
  block(b: number): CounterBlock {
    if (!Number.isInteger(b) || b < 0 || b >= this.nBlocks) throw new RangeError(`CounterSet: no block ${b}`);
    return new CounterBlock(this.f64, b * this.stride);
  }

  /** Sum of counter `i` over all blocks. */
  sum(i: number): number {
    let s = 0;
    for (let b = 0; b < this.nBlocks; b++) s += this.f64[b * this.stride + i]!;
    return s;
  }

  /** Value of counter `i` in block `b`. */
  get(b: number, i: number): number {
    return this.f64[b * this.stride + i]!;
  }

  /** All counters summed over blocks, by name (allocates: for readers, not the fast path). */
  read(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) out[this.names[i]!] = this.sum(i);
    return out;
  }

  /** One block's counters by name. */
  readBlock(b: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) out[this.names[i]!] = this.get(b, i);
    return out;
  }
}

/** A writer's view of its own block: plain non-atomic updates, called by one thread only. */
export class CounterBlock {
  constructor(readonly f64: Float64Array, readonly base: number) {}

  /** Adds `n` to counter `i`. */
  add(i: number, n: number): void {
    this.f64[this.base + i] += n;
  }

  /** Adds 1 to counter `i`. */
  inc(i: number): void {
    this.f64[this.base + i] += 1;
  }

  /** Sets counter `i` (e.g. a gauge, or a running maximum). */
  set(i: number, v: number): void {
    this.f64[this.base + i] = v;
  }

  get(i: number): number {
    return this.f64[this.base + i]!;
  }

  /** Zeroes every counter of the block (by its writer only). */
  clear(n: number): void {
    this.f64.fill(0, this.base, this.base + n);
  }
}
