/**
 * The `memory` port: in-process queues in shared memory (the role of OVS's netdev-dummy).
 *
 * Receive side: rxq i is an SpscRing of buffer ids. Frames arrive by `inject` (from any thread:
 * tests, `tsvs inject`; like ovs-appctl netdev-dummy/receive) or from the generator, which fills
 * empty rx bursts from a template set at full speed (no allocation per packet).
 * Transmit side: sent frames are counted, appended to `tx_pcap` if set, and either kept in txq's
 * ring for the owner to drain (`tx_ring=true`) or freed at once.
 *
 * Options (all optional):
 *   n_rxq=N (1..64, default 1)        n_txq=N (1..64, default 1)
 *   rxq_size=N, txq_size=N            ring sizes, powers of two (default 1024)
 *   tx_ring=true|false                keep transmitted buffers for txDrain (default false)
 *   tx_pcap=PATH                      append transmitted frames to this capture (truncated at creation)
 *   gen_pcap=PATH                     generator templates: the Ethernet frames of this capture
 *   gen=N|inf                         start the generator: N packets per rxq (default 0 = stopped)
 */
import { readCapture, LINKTYPE_ETHERNET } from '@tsvs/capture';
import {
  CounterSet, mutexLock, mutexUnlock, SpscRing, I32_PER_LINE, F64_PER_LINE,
} from '@tsvs/shm';
import type { CounterBlock, CounterSetDescriptor, PacketPool, SpscRingDescriptor } from '@tsvs/shm';
import { FrameStore } from './frame-store.js';
import {
  NetdevError, registerNetdevProvider,
} from './netdev.js';
import type { Netdev, NetdevContext, NetdevDescriptor, NetdevSpec, NetdevStats, QueueStats } from './netdev.js';
import { PortOptions } from './options.js';
import { startTxCapture, TxCapture } from './tx-capture.js';

const OPTION_KEYS = ['n_rxq', 'n_txq', 'rxq_size', 'txq_size', 'tx_ring', 'tx_pcap', 'gen_pcap', 'gen'] as const;
const STAT_NAMES = ['packets', 'bytes', 'drops', 'errors'];
const S_PACKETS = 0, S_BYTES = 1, S_DROPS = 2, S_ERRORS = 3;

/** Extra inputs for `createMemoryNetdev` that do not fit in string options. */
export interface MemoryNetdevExtra {
  /** Generator templates (copied). Takes precedence over gen_pcap. */
  readonly genFrames?: readonly Uint8Array[];
}

interface MemoryShared {
  rx: SpscRingDescriptor[];
  tx: SpscRingDescriptor[];
  rxCounters: CounterSetDescriptor;
  txCounters: CounterSetDescriptor;
  /** Int32: txq i's send lock at word i * 16. Float64 (same buffer): see GEN_* below. */
  ctl: SharedArrayBuffer;
  frames: SharedArrayBuffer | null;
  txRing: boolean;
  txPcap: string | null;
}

// ctl layout: lines 0..nTxq-1: txq locks (Int32 word 0 of each line); then per rxq two lines of
// Float64: [genLimit] written by the controller, [genDone] written by the rxq's poller.
function genLimitIndex(nTxq: number, rxq: number): number {
  return (nTxq + 2 * rxq) * F64_PER_LINE;
}

export class MemoryNetdev implements Netdev {
  readonly type = 'memory';
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
  readonly nRxq: number;
  readonly nTxq: number;
  readonly pool: PacketPool;
  private readonly bankSab: SharedArrayBuffer | null;
  private readonly shared: MemoryShared;
  private readonly rx: SpscRing[];
  private readonly tx: SpscRing[];
  private readonly rxCounters: CounterSet;
  private readonly txCounters: CounterSet;
  private readonly rxPoll: CounterBlock[]; //   block 2i: written by rxq i's poller
  private readonly rxInject: CounterBlock[]; // block 2i+1: written by injectors under the ring's producer lock
  private readonly txBlk: CounterBlock[]; //    block i: written by txq i's senders under the txq lock
  private readonly locks: Int32Array;
  private readonly gen: Float64Array;
  private readonly frames: FrameStore | null;
  private readonly genCursor: Int32Array;
  private readonly capture: TxCapture | null;
  private readonly scratch = new Uint32Array(32);

  private constructor(desc: NetdevDescriptor, pool: PacketPool) {
    this.name = desc.name;
    this.options = desc.options;
    this.nRxq = desc.nRxq;
    this.nTxq = desc.nTxq;
    this.pool = pool;
    this.bankSab = desc.bank;
    this.shared = desc.shared as unknown as MemoryShared;
    this.rx = this.shared.rx.map((d) => SpscRing.attach(d));
    this.tx = this.shared.tx.map((d) => SpscRing.attach(d));
    this.rxCounters = CounterSet.attach(this.shared.rxCounters);
    this.txCounters = CounterSet.attach(this.shared.txCounters);
    this.rxPoll = this.rx.map((_, i) => this.rxCounters.block(2 * i));
    this.rxInject = this.rx.map((_, i) => this.rxCounters.block(2 * i + 1));
    this.txBlk = this.tx.map((_, i) => this.txCounters.block(i));
    this.locks = new Int32Array(this.shared.ctl);
    this.gen = new Float64Array(this.shared.ctl);
    this.frames = this.shared.frames ? FrameStore.attach(this.shared.frames) : null;
    // Each rxq starts the template cycle at a different place so that rxqs do not send in lockstep.
    this.genCursor = Int32Array.from({ length: this.nRxq }, (_, i) => (this.frames ? Math.floor((i * this.frames.count) / this.nRxq) : 0));
    this.capture = this.shared.txPcap ? new TxCapture(this.shared.txPcap) : null;
  }

  /** Creates a memory port (see the module comment for options). Throws NetdevError on bad options. */
  static create(spec: NetdevSpec, ctx: NetdevContext, extra: MemoryNetdevExtra = {}): MemoryNetdev {
    const opts = spec.options ?? {};
    const o = new PortOptions(spec.name, 'memory', opts, OPTION_KEYS);
    const nRxq = o.int('n_rxq', 1, 1, 64);
    const nTxq = o.int('n_txq', 1, 1, 64);
    const rxqSize = o.pow2('rxq_size', 1024, 2, 1 << 20);
    const txqSize = o.pow2('txq_size', 1024, 2, 1 << 20);
    const txRing = o.bool('tx_ring', false);
    const txPcap = o.str('tx_pcap') ?? null;
    const genPcap = o.str('gen_pcap');
    const genOpt = opts['gen'];
    let genCount = 0;
    if (genOpt !== undefined) genCount = genOpt === 'inf' ? Infinity : o.int('gen', 0, 0, Number.MAX_SAFE_INTEGER);
    let frames: FrameStore | null = null;
    if (extra.genFrames && extra.genFrames.length > 0) frames = FrameStore.create(extra.genFrames.map((data) => ({ data })));
    else if (genPcap !== undefined) frames = FrameStore.create(loadEthernetFrames(spec.name, genPcap, 'gen_pcap').map((data) => ({ data })));
    if (genCount > 0 && !frames) throw new NetdevError(`${spec.name}: option gen needs templates (gen_pcap=PATH or frames from the API)`);
    if (txPcap) startTxCapture(spec.name, txPcap);
    const bank = ctx.bank ?? null;
    const ctl = new SharedArrayBuffer((nTxq + 2 * nRxq) * F64_PER_LINE * 8);
    const shared: MemoryShared = {
      rx: Array.from({ length: nRxq }, () => SpscRing.create(rxqSize, bank).descriptor()),
      tx: Array.from({ length: nTxq }, () => SpscRing.create(txqSize, bank).descriptor()),
      rxCounters: CounterSet.create(STAT_NAMES, 2 * nRxq).descriptor(),
      txCounters: CounterSet.create(STAT_NAMES, nTxq).descriptor(),
      ctl,
      frames: frames ? frames.sab : null,
      txRing,
      txPcap,
    };
    const port = new MemoryNetdev({
      name: spec.name, type: 'memory', options: { ...opts }, nRxq, nTxq,
      pool: ctx.pool.descriptor(), bank: bank ? bank.sab : null, shared: shared as unknown as Record<string, unknown>,
    }, ctx.pool);
    if (genCount > 0) port.generate(genCount);
    return port;
  }

  /** Attaches to a memory port from its descriptor (any thread). */
  static attach(desc: NetdevDescriptor, pool: PacketPool): MemoryNetdev {
    if (desc.type !== 'memory') throw new NetdevError(`${desc.name}: not a memory port (type '${desc.type}')`);
    return new MemoryNetdev(desc, pool);
  }

  descriptor(): NetdevDescriptor {
    return {
      name: this.name, type: this.type, options: this.options, nRxq: this.nRxq, nTxq: this.nTxq,
      pool: this.pool.descriptor(), bank: this.bankSab, shared: this.shared as unknown as Record<string, unknown>,
    };
  }

  /**
   * Receives frames on rxq `rxq` as if from the wire: each is copied into a fresh buffer and queued.
   * Any thread; concurrent injectors of one rxq are serialized by the ring's producer lock. Returns
   * how many were queued; the others are counted as rx drops (queue full, no buffer) or rx errors
   * (frame larger than a buffer). Throws RangeError for an rxq out of range.
   */
  inject(frames: Uint8Array | readonly Uint8Array[], rxq = 0): number {
    if (!Number.isInteger(rxq) || rxq < 0 || rxq >= this.nRxq) throw new RangeError(`${this.name}: no rxq ${rxq} (n_rxq=${this.nRxq})`);
    const list = frames instanceof Uint8Array ? [frames] : frames;
    const ring = this.rx[rxq]!;
    const blk = this.rxInject[rxq]!;
    const ids = new Uint32Array(32);
    let queued = 0;
    ring.lockProducer();
    try {
      let k = 0;
      const flush = (): void => {
        const pushed = ring.push(ids, 0, k);
        for (let i = pushed; i < k; i++) this.pool.free(ids[i]!);
        blk.add(S_DROPS, k - pushed);
        queued += pushed;
        k = 0;
      };
      for (const f of list) {
        const id = this.pool.alloc();
        if (id < 0) { blk.inc(S_DROPS); continue; }
        if (!this.pool.write(id, f, 0, f.length)) { this.pool.free(id); blk.inc(S_ERRORS); continue; }
        ids[k++] = id;
        if (k === 32) flush();
      }
      if (k > 0) flush();
    } finally {
      ring.unlockProducer();
    }
    return queued;
  }

  /**
   * Starts (or extends) the generator: rxq bursts are topped up from the templates until `count`
   * more packets per rxq (Infinity: until `stopGenerator`). Any thread. Throws NetdevError when the
   * port has no templates.
   */
  generate(count: number): void {
    if (!this.frames || this.frames.count === 0) throw new NetdevError(`${this.name}: generator has no templates`);
    for (let q = 0; q < this.nRxq; q++) {
      const i = genLimitIndex(this.nTxq, q);
      this.gen[i] = this.gen[i + F64_PER_LINE]! + count;
    }
  }

  /** Stops the generator on every rxq (takes effect at the poller's next burst). */
  stopGenerator(): void {
    for (let q = 0; q < this.nRxq; q++) this.gen[genLimitIndex(this.nTxq, q)] = 0;
  }

  /** Packets generated so far on rxq `rxq`. */
  generated(rxq: number): number {
    return this.gen[genLimitIndex(this.nTxq, rxq) + F64_PER_LINE]!;
  }

  rxqRecv(rxq: number, out: Uint32Array, max = 32): number {
    let n = this.rx[rxq]!.pop(out, 0, max);
    const gi = genLimitIndex(this.nTxq, rxq);
    if (n < max && this.gen[gi]! > this.gen[gi + F64_PER_LINE]!) n += this.generateInto(rxq, out, n, max - n);
    if (n > 0) {
      let bytes = 0;
      for (let i = 0; i < n; i++) bytes += this.pool.frameLen(out[i]!);
      const blk = this.rxPoll[rxq]!;
      blk.add(S_PACKETS, n);
      blk.add(S_BYTES, bytes);
    }
    return n;
  }

  private generateInto(rxq: number, out: Uint32Array, off: number, want: number): number {
    const frames = this.frames!;
    const gi = genLimitIndex(this.nTxq, rxq);
    const left = this.gen[gi]! - this.gen[gi + F64_PER_LINE]!;
    const k = this.pool.allocBatch(out, off, want < left ? want : left);
    let cur = this.genCursor[rxq]!;
    let made = 0;
    for (let i = 0; i < k; i++) {
      const id = out[off + i]!;
      if (!frames.copyTo(cur, this.pool, id)) {
        this.pool.free(id);
        this.rxPoll[rxq]!.inc(S_ERRORS);
      } else out[off + made++] = id;
      cur = cur + 1 === frames.count ? 0 : cur + 1;
    }
    this.genCursor[rxq] = cur;
    this.gen[gi + F64_PER_LINE] = this.gen[gi + F64_PER_LINE]! + k;
    return made;
  }

  send(txq: number, ids: Uint32Array, n: number): number {
    const q = txq % this.nTxq;
    const lockAt = q * I32_PER_LINE;
    const blk = this.txBlk[q]!;
    mutexLock(this.locks, lockAt);
    try {
      let errors = 0;
      if (this.capture) errors = this.capture.writeBatch(this.pool, ids, n);
      let sent = n;
      if (this.shared.txRing) sent = this.tx[q]!.push(ids, 0, n);
      let bytes = 0;
      for (let i = 0; i < sent; i++) bytes += this.pool.frameLen(ids[i]!);
      blk.add(S_PACKETS, sent);
      blk.add(S_BYTES, bytes);
      blk.add(S_DROPS, n - sent);
      if (errors) blk.add(S_ERRORS, errors);
      const firstFree = this.shared.txRing ? sent : 0;
      for (let i = firstFree; i < n; i++) this.pool.free(ids[i]!);
      return sent;
    } finally {
      mutexUnlock(this.locks, lockAt);
    }
  }

  /**
   * Takes up to `max` transmitted buffers of txq `txq` (tx_ring=true) into `out`; the caller owns
   * and must free them. One drainer per txq at a time.
   */
  txDrain(txq: number, out: Uint32Array, max = out.length): number {
    return this.tx[txq]!.pop(out, 0, max);
  }

  /** Drains every txq, copying the frames out and freeing the buffers (tests, `tsvs`). */
  txDrainFrames(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (let q = 0; q < this.nTxq; q++) {
      let k: number;
      while ((k = this.tx[q]!.pop(this.scratch, 0, 32)) > 0) {
        for (let i = 0; i < k; i++) {
          const id = this.scratch[i]!;
          const o = this.pool.frameOffset(id);
          frames.push(this.pool.data.slice(o, o + this.pool.frameLen(id)));
          this.pool.free(id);
        }
      }
    }
    return frames;
  }

  /** The tx ring of txq `txq` (to bind a doorbell and sleep until frames are sent). */
  txRing(txq: number): SpscRing {
    return this.tx[txq]!;
  }

  rxqBindDoorbell(rxq: number, slot: number): void {
    if (this.bankSab) this.rx[rxq]!.bindDoorbell(slot);
  }

  rxqWaitHint(rxq: number): number {
    if (!this.rx[rxq]!.isEmpty()) return 0;
    const gi = genLimitIndex(this.nTxq, rxq);
    return this.gen[gi]! > this.gen[gi + F64_PER_LINE]! ? 0 : Infinity;
  }

  rxqStats(rxq: number): QueueStats {
    return this.queueStats(this.rxCounters, 2 * rxq, 2);
  }

  txqStats(txq: number): QueueStats {
    return this.queueStats(this.txCounters, txq, 1);
  }

  stats(): NetdevStats {
    const r = this.rxCounters, t = this.txCounters;
    return {
      rx_packets: r.sum(S_PACKETS), rx_bytes: r.sum(S_BYTES), rx_dropped: r.sum(S_DROPS), rx_errors: r.sum(S_ERRORS),
      tx_packets: t.sum(S_PACKETS), tx_bytes: t.sum(S_BYTES), tx_dropped: t.sum(S_DROPS), tx_errors: t.sum(S_ERRORS),
    };
  }

  close(): void {
    this.capture?.close();
    this.pool.flush();
  }

  private queueStats(cs: CounterSet, first: number, nBlocks: number): QueueStats {
    const s = { packets: 0, bytes: 0, drops: 0, errors: 0 };
    for (let b = first; b < first + nBlocks; b++) {
      s.packets += cs.get(b, S_PACKETS);
      s.bytes += cs.get(b, S_BYTES);
      s.drops += cs.get(b, S_DROPS);
      s.errors += cs.get(b, S_ERRORS);
    }
    return s;
  }
}

/** The Ethernet frames of a capture, for templates. Throws NetdevError naming the option and path. */
export function loadEthernetFrames(port: string, path: string, option: string): Uint8Array[] {
  let cap;
  try {
    cap = readCapture(path);
  } catch (e) {
    throw new NetdevError(`${port}: cannot read ${option} '${path}': ${(e as Error).message}`);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < cap.count; i++) {
    if (cap.index.linktype[i] === LINKTYPE_ETHERNET) out.push(cap.record(i).data.slice());
  }
  if (out.length === 0) throw new NetdevError(`${port}: ${option} '${path}' has no Ethernet frames`);
  return out;
}

/** Creates a memory port with API-only extras (generator templates). */
export function createMemoryNetdev(spec: Omit<NetdevSpec, 'type'>, ctx: NetdevContext, extra: MemoryNetdevExtra = {}): MemoryNetdev {
  return MemoryNetdev.create({ ...spec, type: 'memory' }, ctx, extra);
}

registerNetdevProvider({
  type: 'memory',
  create: (spec, ctx) => MemoryNetdev.create(spec, ctx),
  attach: (desc, pool) => MemoryNetdev.attach(desc, pool),
});
