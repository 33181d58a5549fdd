/**
 * Per-port upcall queues (see "Upcall Queuing and Ordering" in ../dpif.ts).
 *
 * A port's queue is one SpscRing of buffer ids per producer: producer p < maxPmds is PMD p,
 * producer maxPmds is the control thread (`execute`). The reader pops them round-robin. Why not one
 * multi-producer ring: packages/shm's only multi-producer path (`pushLocked`) takes a futex lock
 * that can sleep, and a PMD must never wait for anyone. A ring per (port, PMD id) costs
 * 256 + 4 * size bytes and keeps every push wait-free.
 *
 * Control block (`ctl`, one SharedArrayBuffer per queue):
 * | bytes         | type    | contents                                                        |
 * |---------------|---------|-----------------------------------------------------------------|
 * | 0..63         | Int32   | [0] closed: 1 once the port is being deleted (readers stop)      |
 * | 64..127       | Int32   | [16] reader busy: 1 while a reader is inside `recv`              |
 * | 128 + 64p ..  | Float64 | producer p's line: [0] upcalls queued, [1] upcalls dropped (full)|
 * Producer lines have one writer each (plain stores, no atomics); readers sum them.
 */
import { FLOW_WORDS } from '@tsvs/packet';
import { F64_PER_LINE, I32_PER_LINE, PacketPool, SpscRing } from '@tsvs/shm';
import type { DoorbellBank, PacketPoolDescriptor, SpscRingDescriptor } from '@tsvs/shm';
import type { DpifUpcall, DpifUpcallType } from '../dpif.js';
import { UpcallArea } from './upcall-area.js';

const C_CLOSED = 0;
const C_BUSY = I32_PER_LINE;
const C_PROD_F64 = 2 * F64_PER_LINE; // first producer line, in Float64 elements
const P_QUEUED = 0;
const P_DROPPED = 1;

/** Serializable form of a port's upcall queue: post it to a thread and `UpcallReader.attach` it. */
export interface UpcallQueueDescriptor {
  readonly portNo: number;
  /** Ring of producer p at index p. */
  readonly rings: readonly SpscRingDescriptor[];
  readonly ctl: SharedArrayBuffer;
  /** The datapath's upcall area (records of every buffer). */
  readonly area: SharedArrayBuffer;
  /** The datapath's packet pool. */
  readonly pool: PacketPoolDescriptor;
}

/** Counters of one queue (sums over producers). */
export interface UpcallQueueStats {
  /** Upcalls queued since the queue was created. */
  readonly queued: number;
  /** Upcalls dropped because the producer's ring was full. */
  readonly dropped: number;
  /** Upcalls waiting now (a snapshot). */
  readonly pending: number;
}

/** A producer's handle on one queue: its ring and its counter line. Used by one thread. */
export class UpcallProducer {
  private readonly f64: Float64Array;
  private readonly at: number;
  constructor(readonly ring: SpscRing, ctl: SharedArrayBuffer, producer: number) {
    this.f64 = new Float64Array(ctl);
    this.at = C_PROD_F64 + producer * F64_PER_LINE;
  }

  /**
   * Queues `ids[off..off+n)` (records already written); returns how many were queued. The caller
   * still owns (and must free) the rest, which are counted as dropped. Never blocks.
   */
  push(ids: Uint32Array, off: number, n: number): number {
    const k = this.ring.push(ids, off, n);
    this.f64[this.at + P_QUEUED] += k;
    if (k < n) this.f64[this.at + P_DROPPED] += n - k;
    return k;
  }

  /** Queues one buffer; false (counted as dropped, caller keeps the buffer) when the ring is full. */
  pushOne(id: number): boolean {
    if (this.ring.pushOne(id)) {
      this.f64[this.at + P_QUEUED]++;
      return true;
    }
    this.f64[this.at + P_DROPPED]++;
    return false;
  }
}

/** The control thread's side of a port's queue: creates the rings, hands out descriptors, closes. */
export class UpcallQueue {
  readonly portNo: number;
  readonly rings: SpscRing[];
  readonly ctl: SharedArrayBuffer;
  private readonly ctlI32: Int32Array;
  private readonly ctlF64: Float64Array;

  /**
   * A queue for port `portNo` with `nProducers` rings of `size` slots (a power of two). With
   * `bank`, readers can bind a doorbell and sleep until upcalls arrive.
   */
  constructor(portNo: number, nProducers: number, size: number, bank: DoorbellBank | null,
    private readonly area: UpcallArea, private readonly pool: PacketPool) {
    this.portNo = portNo;
    this.rings = Array.from({ length: nProducers }, () => SpscRing.create(size, bank));
    this.ctl = new SharedArrayBuffer((C_PROD_F64 + nProducers * F64_PER_LINE) * 8);
    this.ctlI32 = new Int32Array(this.ctl);
    this.ctlF64 = new Float64Array(this.ctl);
  }

  descriptor(): UpcallQueueDescriptor {
    return {
      portNo: this.portNo, rings: this.rings.map((r) => r.descriptor()), ctl: this.ctl,
      area: this.area.sab, pool: this.pool.descriptor(),
    };
  }

  /** The producer handle of producer `p` for this thread (attach it where the producer runs). */
  static producer(desc: UpcallQueueDescriptor, p: number): UpcallProducer {
    return new UpcallProducer(SpscRing.attach(desc.rings[p]!), desc.ctl, p);
  }

  stats(): UpcallQueueStats {
    return readQueueStats(this.ctlF64, this.rings);
  }

  /**
   * Closes the queue for port deletion: readers stop taking upcalls; once no reader is inside
   * `recv`, the upcalls still queued are freed. Call after every producer stopped using it.
   * Returns how many were freed.
   */
  close(): number {
    Atomics.store(this.ctlI32, C_CLOSED, 1);
    while (Atomics.load(this.ctlI32, C_BUSY) !== 0) Atomics.wait(this.ctlI32, C_BUSY, 1, 1);
    const ids = new Uint32Array(64);
    let n = 0;
    for (const r of this.rings) {
      for (let k = r.pop(ids, 0, 64); k > 0; k = r.pop(ids, 0, 64)) {
        this.pool.freeBatch(ids, 0, k);
        n += k;
      }
    }
    return n;
  }
}

function readQueueStats(f64: Float64Array, rings: readonly SpscRing[]): UpcallQueueStats {
  let queued = 0, dropped = 0, pending = 0;
  for (let p = 0; p < rings.length; p++) {
    queued += f64[C_PROD_F64 + p * F64_PER_LINE + P_QUEUED]!;
    dropped += f64[C_PROD_F64 + p * F64_PER_LINE + P_DROPPED]!;
    pending += rings[p]!.count();
  }
  return { queued, dropped, pending };
}

/**
 * A reader of one port's upcall queue (a handler thread, or a test). One reader per queue at a
 * time. The reader owns every buffer `recv` returns: free it (`pool.free`) or hand it to the
 * datapath's `execute({ packet: { buf } })`.
 */
export class UpcallReader {
  readonly portNo: number;
  readonly area: UpcallArea;
  readonly pool: PacketPool;
  private readonly rings: SpscRing[];
  private readonly ctlI32: Int32Array;
  private readonly ctlF64: Float64Array;
  private next = 0;

  private constructor(desc: UpcallQueueDescriptor, pool: PacketPool, area: UpcallArea) {
    this.portNo = desc.portNo;
    this.rings = desc.rings.map((d) => SpscRing.attach(d));
    this.ctlI32 = new Int32Array(desc.ctl);
    this.ctlF64 = new Float64Array(desc.ctl);
    this.pool = pool;
    this.area = area;
  }

  /**
   * Attaches in any thread. Pass this thread's PacketPool and UpcallArea objects when it reads
   * several queues (one of each per thread is enough); otherwise they are attached here.
   */
  static attach(desc: UpcallQueueDescriptor, pool?: PacketPool, area?: UpcallArea): UpcallReader {
    return new UpcallReader(desc, pool ?? PacketPool.attach(desc.pool), area ?? UpcallArea.attach(desc.area));
  }

  /** True once the port is being deleted: stop reading and drop the reader. */
  get closed(): boolean {
    return Atomics.load(this.ctlI32, C_CLOSED) !== 0;
  }

  /**
   * Takes up to `max` upcalls into `out[0..n)` as buffer ids, visiting the producers' rings
   * round-robin (one ring per PMD: no PMD's upcalls starve another's). Returns n; 0 when empty or
   * closed. Allocates nothing.
   */
  recv(out: Uint32Array, max = out.length): number {
    const c = this.ctlI32;
    Atomics.store(c, C_BUSY, 1);
    if (Atomics.load(c, C_CLOSED) !== 0) {
      Atomics.store(c, C_BUSY, 0);
      return 0;
    }
    const rings = this.rings, nr = rings.length;
    let n = 0;
    // Round-robin: each pass takes a share from every ring, starting one further each call.
    for (let pass = 0; pass < 2 && n < max; pass++) {
      const share = pass === 0 ? Math.max(1, (max / nr) | 0) : max;
      for (let j = 0; j < nr && n < max; j++) {
        const r = rings[(this.next + j) % nr]!;
        const want = max - n < share ? max - n : share;
        n += r.pop(out, n, want);
      }
    }
    this.next = (this.next + 1) % nr;
    Atomics.store(c, C_BUSY, 0);
    return n;
  }

  /** True when no upcall is waiting. */
  isEmpty(): boolean {
    for (const r of this.rings) if (!r.isEmpty()) return false;
    return true;
  }

  /** Makes producers ring `slot` of the datapath's doorbell bank (-1: none). */
  bindDoorbell(slot: number): void {
    for (const r of this.rings) r.bindDoorbell(slot);
  }

  stats(): UpcallQueueStats {
    return readQueueStats(this.ctlF64, this.rings);
  }

  /** Upcall `buf` as an object with copies of its packet, key and userdata (control plane). */
  read(buf: number): DpifUpcall {
    const a = this.area, p = this.pool;
    const off = p.frameOffset(buf);
    const kb = a.keyBase(buf);
    const udLen = a.userdataLength(buf);
    const udOff = a.userdataOffset(buf);
    return {
      type: a.type(buf) as DpifUpcallType,
      inPort: a.inPort(buf),
      buf,
      packet: p.data.slice(off, off + p.frameLen(buf)),
      key: a.u32.slice(kb, kb + FLOW_WORDS),
      pid: a.pid(buf),
      userdata: udLen < 0 ? null : a.bytes.slice(udOff, udOff + udLen),
    };
  }
}
