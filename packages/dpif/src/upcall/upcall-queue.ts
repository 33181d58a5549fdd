/**
 * Per-port upcall queues (see "Upcall Queuing and Ordering" in ../dpif.ts).
 *
 * A port's queue is two SpscRings of buffer ids per producer: a MISS ring and an ACTION ring.
 * Producer p < maxPmds is PMD p, producer maxPmds is the control thread (`execute`). Why not one
 * multi-producer ring: packages/shm's only multi-producer path (`pushLocked`) takes a futex lock
 * that can sleep, and a PMD must never wait for anyone. Why a separate ACTION ring: ACTION upcalls
 * (the `userspace` action, OpenFlow CONTROLLER) must not be starved by a MISS storm (OVS dpif.h
 * "Upcall Queuing and Ordering": a port scan must not crowd out other upcalls); misses fill only
 * the MISS rings, so an ACTION upcall is lost only when the ACTION ring itself is full (counted
 * apart). A ring costs 256 + 4 * size bytes and keeps every push wait-free.
 *
 * Control block (`ctl`, one SharedArrayBuffer per queue):
 * | bytes         | type    | contents                                                        |
 * |---------------|---------|-----------------------------------------------------------------|
 * | 0..63         | Int32   | [0] closed: 1 once the port is being deleted (readers stop)      |
 * | 64..127       | Int32   | [16] reader busy: 1 while a reader is inside `recv*`             |
 * | 128 + 64p ..  | Float64 | producer p's line: [0] MISS upcalls queued, [1] MISS upcalls dropped (ring full), [2] ACTION upcalls queued, [3] ACTION upcalls dropped (ring full) |
 * Producer lines have one writer each (plain stores, no atomics); readers sum them.
 */
import { FLOW_WORDS } from '@tsvs/packet';
import { F64_PER_LINE, I32_PER_LINE, isOwnerDead, OWNER_TAG, PacketPool, SpscRing } from '@tsvs/shm';
import type { DoorbellBank, PacketPoolDescriptor, SpscRingDescriptor } from '@tsvs/shm';
import type { DpifUpcall, DpifUpcallType } from '../dpif.js';
import { U_TYPE, UPCALL_WORDS, UpcallArea } from './upcall-area.js';

/** DPIF_UC_ACTION (../dpif.ts), as a record's type word holds it. */
const DPIF_UC_ACTION_TYPE = 2;

const C_CLOSED = 0;
const C_BUSY = I32_PER_LINE;
const C_PROD_F64 = 2 * F64_PER_LINE; // first producer line, in Float64 elements
const P_QUEUED = 0;
const P_DROPPED = 1;
const P_A_QUEUED = 2;
const P_A_DROPPED = 3;

/** Serializable form of a port's upcall queue: post it to a thread and `UpcallReader.attach` it. */
export interface UpcallQueueDescriptor {
  readonly portNo: number;
  /** MISS ring of producer p at index p. */
  readonly rings: readonly SpscRingDescriptor[];
  /** ACTION ring of producer p at index p. */
  readonly actionRings: readonly SpscRingDescriptor[];
  readonly ctl: SharedArrayBuffer;
  /** The datapath's upcall area (records of every buffer). */
  readonly area: SharedArrayBuffer;
  /** The datapath's packet pool. */
  readonly pool: PacketPoolDescriptor;
}

/** Counters of one queue (sums over producers), in upcalls. */
export interface UpcallQueueStats {
  /** Upcalls of both kinds queued since the queue was created. */
  readonly queued: number;
  /** Upcalls of both kinds dropped because their ring was full. */
  readonly dropped: number;
  /** Upcalls of both kinds waiting now (a snapshot). */
  readonly pending: number;
  /** The ACTION rings alone (included in the totals above). */
  readonly action: { readonly queued: number; readonly dropped: number; readonly pending: number };
}

/** A producer's handle on one queue: its two rings and its counter line. Used by one thread. */
export class UpcallProducer {
  private readonly f64: Float64Array;
  private readonly at: number;
  /** The upcall area's words, to route `pushOne` by the record's type. */
  private readonly areaI32: Int32Array;
  constructor(readonly ring: SpscRing, readonly actionRing: SpscRing, ctl: SharedArrayBuffer, producer: number, area: SharedArrayBuffer) {
    this.f64 = new Float64Array(ctl);
    this.at = C_PROD_F64 + producer * F64_PER_LINE;
    this.areaI32 = new Int32Array(area);
  }

  /**
   * Queues MISS upcalls `ids[off..off+n)` (records already written) on the MISS ring; returns how
   * many were queued. The caller still owns (and must free) the rest, which are counted as dropped.
   * Never blocks.
   */
  push(ids: Uint32Array, off: number, n: number): number {
    const k = this.ring.push(ids, off, n);
    this.f64[this.at + P_QUEUED] += k;
    if (k < n) this.f64[this.at + P_DROPPED] += n - k;
    return k;
  }

  /** Queues one ACTION upcall on the ACTION ring; false (counted, caller keeps the buffer) when it is full. */
  pushAction(id: number): boolean {
    if (this.actionRing.pushOne(id)) {
      this.f64[this.at + P_A_QUEUED]++;
      return true;
    }
    this.f64[this.at + P_A_DROPPED]++;
    return false;
  }

  /**
   * Queues one upcall on the ring of its record's type (ACTION or MISS); false (counted as dropped,
   * caller keeps the buffer) when that ring is full.
   */
  pushOne(id: number): boolean {
    if (this.areaI32[id * UPCALL_WORDS + U_TYPE] === DPIF_UC_ACTION_TYPE) return this.pushAction(id);
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
  readonly actionRings: SpscRing[];
  readonly ctl: SharedArrayBuffer;
  private readonly ctlI32: Int32Array;
  private readonly ctlF64: Float64Array;

  /**
   * A queue for port `portNo` with, per producer (`nProducers`), a MISS ring of `size` slots and
   * an ACTION ring of `actionSize` slots (default `size`; powers of two). With `bank`, readers can
   * bind a doorbell and sleep until upcalls arrive (producers of both kinds ring it).
   */
  constructor(portNo: number, nProducers: number, size: number, bank: DoorbellBank | null,
    private readonly area: UpcallArea, private readonly pool: PacketPool, actionSize = size) {
    this.portNo = portNo;
    this.rings = Array.from({ length: nProducers }, () => SpscRing.create(size, bank));
    this.actionRings = Array.from({ length: nProducers }, () => SpscRing.create(actionSize, bank));
    this.ctl = new SharedArrayBuffer((C_PROD_F64 + nProducers * F64_PER_LINE) * 8);
    this.ctlI32 = new Int32Array(this.ctl);
    this.ctlF64 = new Float64Array(this.ctl);
  }

  descriptor(): UpcallQueueDescriptor {
    return {
      portNo: this.portNo, rings: this.rings.map((r) => r.descriptor()),
      actionRings: this.actionRings.map((r) => r.descriptor()), ctl: this.ctl,
      area: this.area.sab, pool: this.pool.descriptor(),
    };
  }

  /** The producer handle of producer `p` for this thread (attach it where the producer runs). */
  static producer(desc: UpcallQueueDescriptor, p: number): UpcallProducer {
    return new UpcallProducer(SpscRing.attach(desc.rings[p]!), SpscRing.attach(desc.actionRings[p]!), desc.ctl, p, desc.area);
  }

  stats(): UpcallQueueStats {
    return readQueueStats(this.ctlF64, this.rings, this.actionRings);
  }

  /**
   * Closes the queue for port deletion: readers stop taking upcalls; once no reader is inside
   * `recv`, the upcalls still queued are freed. Call after every producer stopped using it.
   * Returns how many were freed.
   */
  close(): number {
    Atomics.store(this.ctlI32, C_CLOSED, 1);
    // A reader that died inside `take` never clears the word; it holds its owner tag, so stop
    // waiting once that thread is known dead (its half-taken batch is lost with it).
    for (let b = Atomics.load(this.ctlI32, C_BUSY); b !== 0 && !isOwnerDead(b); b = Atomics.load(this.ctlI32, C_BUSY)) {
      Atomics.wait(this.ctlI32, C_BUSY, b, 1);
    }
    const ids = new Uint32Array(64);
    let n = 0;
    for (const r of [...this.actionRings, ...this.rings]) {
      for (let k = r.pop(ids, 0, 64); k > 0; k = r.pop(ids, 0, 64)) {
        this.pool.freeBatch(ids, 0, k);
        n += k;
      }
    }
    return n;
  }
}

function readQueueStats(f64: Float64Array, rings: readonly SpscRing[], actionRings: readonly SpscRing[]): UpcallQueueStats {
  let queued = 0, dropped = 0, pending = 0, aQueued = 0, aDropped = 0, aPending = 0;
  const nLines = (f64.length - C_PROD_F64) / F64_PER_LINE;
  for (let p = 0; p < nLines; p++) {
    const at = C_PROD_F64 + p * F64_PER_LINE;
    queued += f64[at + P_QUEUED]!;
    dropped += f64[at + P_DROPPED]!;
    aQueued += f64[at + P_A_QUEUED]!;
    aDropped += f64[at + P_A_DROPPED]!;
  }
  for (const r of rings) pending += r.count();
  for (const r of actionRings) aPending += r.count();
  return {
    queued: queued + aQueued, dropped: dropped + aDropped, pending: pending + aPending,
    action: { queued: aQueued, dropped: aDropped, pending: aPending },
  };
}

/**
 * A reader of one port's upcall queue (a handler thread, or a test). One reader per queue at a
 * time. The reader owns every buffer `recv*` returns: free it (`pool.free`) or hand it to the
 * datapath's `execute({ packet: { buf } })`.
 *
 * `recvActions` reads only the ACTION rings and `recvMisses` only the MISS rings, so a handler can
 * serve ACTION upcalls first every round whatever the misses do; `recv` does both, ACTION first.
 */
export class UpcallReader {
  readonly portNo: number;
  readonly area: UpcallArea;
  readonly pool: PacketPool;
  private readonly rings: SpscRing[];
  private readonly actionRings: SpscRing[];
  private readonly ctlI32: Int32Array;
  private readonly ctlF64: Float64Array;
  private next = 0;
  private nextAction = 0;

  private constructor(desc: UpcallQueueDescriptor, pool: PacketPool, area: UpcallArea) {
    this.portNo = desc.portNo;
    this.rings = desc.rings.map((d) => SpscRing.attach(d));
    this.actionRings = desc.actionRings.map((d) => SpscRing.attach(d));
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
   * Takes up to `max` upcalls of both kinds into `out[0..n)` as buffer ids: ACTION upcalls first
   * (`recvActions`), then MISS upcalls (`recvMisses`). Returns n; 0 when empty or closed.
   * Allocates nothing.
   */
  recv(out: Uint32Array, max = out.length): number {
    const n = this.recvActions(out, max);
    return n < max ? n + this.recvMisses(out, max - n, n) : n;
  }

  /**
   * Takes up to `max` ACTION upcalls into `out[off..off+n)`, visiting the producers' ACTION rings
   * round-robin. Returns n; 0 when none or closed. Allocates nothing.
   */
  recvActions(out: Uint32Array, max = out.length, off = 0): number {
    const n = this.take(this.actionRings, this.nextAction, out, off, max);
    this.nextAction = (this.nextAction + 1) % this.actionRings.length;
    return n;
  }

  /**
   * Takes up to `max` MISS upcalls into `out[off..off+n)`, visiting the producers' MISS rings
   * round-robin (one ring per PMD: no PMD's upcalls starve another's). Returns n; 0 when none or
   * closed. Allocates nothing.
   */
  recvMisses(out: Uint32Array, max = out.length, off = 0): number {
    const n = this.take(this.rings, this.next, out, off, max);
    this.next = (this.next + 1) % this.rings.length;
    return n;
  }

  private take(rings: readonly SpscRing[], start: number, out: Uint32Array, off: number, max: number): number {
    if (max > out.length - off) max = out.length - off;
    const c = this.ctlI32;
    Atomics.store(c, C_BUSY, OWNER_TAG);
    if (Atomics.load(c, C_CLOSED) !== 0 || max <= 0) {
      Atomics.store(c, C_BUSY, 0);
      return 0;
    }
    const nr = rings.length;
    let n = 0;
    // Round-robin: each pass takes a share from every ring, starting one further each call.
    for (let pass = 0; pass < 2 && n < max; pass++) {
      const share = pass === 0 ? Math.max(1, (max / nr) | 0) : max;
      for (let j = 0; j < nr && n < max; j++) {
        const r = rings[(start + j) % nr]!;
        const want = max - n < share ? max - n : share;
        n += r.pop(out, off + n, want);
      }
    }
    Atomics.store(c, C_BUSY, 0);
    return n;
  }

  /** True when no upcall of either kind is waiting. */
  isEmpty(): boolean {
    for (const r of this.actionRings) if (!r.isEmpty()) return false;
    for (const r of this.rings) if (!r.isEmpty()) return false;
    return true;
  }

  /** Makes producers ring `slot` of the datapath's doorbell bank (-1: none). */
  bindDoorbell(slot: number): void {
    for (const r of this.actionRings) r.bindDoorbell(slot);
    for (const r of this.rings) r.bindDoorbell(slot);
  }

  stats(): UpcallQueueStats {
    return readQueueStats(this.ctlF64, this.rings, this.actionRings);
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
