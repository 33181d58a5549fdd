/**
 * The `pcap-file` port: receives by replaying a capture, transmits into a capture.
 *
 * Options:
 *   rx_pcap=PATH        capture to replay on rxq 0 (pcap or pcapng; Ethernet records only, others
 *                       are counted as rx errors at creation). Without it the port receives nothing.
 *   pace=fast|recorded  fast (default): as fast as the poller takes them; recorded: each frame is
 *                       released when its capture timestamp, relative to the first frame, has passed
 *                       since the first poll.
 *   loop=N              replay the capture N times (default 1; 0 = forever).
 *   tx_pcap=PATH        append transmitted frames to this capture (truncated at creation).
 *   n_txq=N             transmit queues (1..64, default 1).
 * The capture is read once, at creation, into shared memory (so any thread can replay it);
 * n_rxq is always 1.
 */
import { readCapture, LINKTYPE_ETHERNET } from '@tsvs/capture';
import { CounterSet, F64_PER_LINE, I32_PER_LINE, mutexLock, mutexUnlock } from '@tsvs/shm';
import type { CounterBlock, CounterSetDescriptor, PacketPool } from '@tsvs/shm';
import { FrameStore } from './frame-store.js';
import type { StoredFrame } from './frame-store.js';
import { NetdevError, registerNetdevProvider } from './netdev.js';
import type { Netdev, NetdevContext, NetdevDescriptor, NetdevSpec, NetdevStats, QueueStats } from './netdev.js';
import { PortOptions } from './options.js';
import { startTxCapture, TxCapture } from './tx-capture.js';

const OPTION_KEYS = ['rx_pcap', 'pace', 'loop', 'tx_pcap', 'n_txq'] as const;
const STAT_NAMES = ['packets', 'bytes', 'drops', 'errors'];
const S_PACKETS = 0, S_BYTES = 1, S_DROPS = 2, S_ERRORS = 3;

// Replay state, Float64 words of `ctl` line 0, written only by rxq 0's poller.
const R_CURSOR = 0; // next frame index
const R_LOOPS = 1; //  completed passes
const R_START = 2; //  replay clock origin, ms since the epoch (0 = not started)
const R_DONE = 3; //   1 when every pass is done

interface PcapFileShared {
  frames: SharedArrayBuffer | null;
  /** Float64 line 0: replay state; Int32 lines 1..nTxq: txq send locks. */
  ctl: SharedArrayBuffer;
  rxCounters: CounterSetDescriptor;
  txCounters: CounterSetDescriptor;
  recorded: boolean;
  loop: number;
  /** Loop period at recorded pace, ms. */
  periodMs: number;
  txPcap: string | null;
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class PcapFileNetdev implements Netdev {
  readonly type = 'pcap-file';
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
  readonly nRxq = 1;
  readonly nTxq: number;
  readonly pool: PacketPool;
  private readonly bankSab: SharedArrayBuffer | null;
  private readonly shared: PcapFileShared;
  private readonly frames: FrameStore | null;
  private readonly r: Float64Array;
  private readonly locks: Int32Array;
  private readonly rxCounters: CounterSet;
  private readonly txCounters: CounterSet;
  private readonly rxBlk: CounterBlock;
  private readonly txBlk: CounterBlock[];
  private readonly capture: TxCapture | null;

  private constructor(desc: NetdevDescriptor, pool: PacketPool) {
    this.name = desc.name;
    this.options = desc.options;
    this.nTxq = desc.nTxq;
    this.pool = pool;
    this.bankSab = desc.bank;
    this.shared = desc.shared as unknown as PcapFileShared;
    this.frames = this.shared.frames ? FrameStore.attach(this.shared.frames) : null;
    this.r = new Float64Array(this.shared.ctl, 0, F64_PER_LINE);
    this.locks = new Int32Array(this.shared.ctl);
    this.rxCounters = CounterSet.attach(this.shared.rxCounters);
    this.txCounters = CounterSet.attach(this.shared.txCounters);
    this.rxBlk = this.rxCounters.block(0);
    this.txBlk = Array.from({ length: this.nTxq }, (_, i) => this.txCounters.block(i));
    this.capture = this.shared.txPcap ? new TxCapture(this.shared.txPcap) : null;
  }

  /** Creates a pcap-file port. Throws NetdevError on bad options or an unreadable rx_pcap. */
  static create(spec: NetdevSpec, ctx: NetdevContext): PcapFileNetdev {
    const opts = spec.options ?? {};
    const o = new PortOptions(spec.name, 'pcap-file', opts, OPTION_KEYS);
    const rxPcap = o.str('rx_pcap');
    const recorded = o.choice('pace', 'fast', ['fast', 'recorded'] as const) === 'recorded';
    const loop = o.int('loop', 1, 0, Number.MAX_SAFE_INTEGER);
    const txPcap = o.str('tx_pcap') ?? null;
    const nTxq = o.int('n_txq', 1, 1, 64);
    const rxCounters = CounterSet.create(STAT_NAMES, 1);
    let frames: FrameStore | null = null;
    let periodMs = 0;
    if (rxPcap !== undefined) {
      let cap;
      try {
        cap = readCapture(rxPcap);
      } catch (e) {
        throw new NetdevError(`${spec.name}: cannot read rx_pcap '${rxPcap}': ${(e as Error).message}`);
      }
      const list: StoredFrame[] = [];
      let t0 = NaN, skipped = 0;
      const x = cap.index;
      for (let i = 0; i < cap.count; i++) {
        if (x.linktype[i] !== LINKTYPE_ETHERNET) { skipped++; continue; }
        const t = x.tsSec[i]! * 1e9 + x.tsNsec[i]!;
        if (Number.isNaN(t0)) t0 = t;
        list.push({ data: cap.record(i).data, tsNs: Math.max(0, t - t0) });
      }
      // A damaged tail: the intact records replay, the damage counts as one error.
      if (cap.error) skipped++;
      rxCounters.block(0).add(S_ERRORS, skipped);
      frames = FrameStore.create(list);
      if (list.length > 0) {
        const last = list[list.length - 1]!.tsNs! / 1e6;
        periodMs = last + (list.length > 1 ? last / (list.length - 1) : 0);
      }
    }
    if (txPcap) startTxCapture(spec.name, txPcap);
    const shared: PcapFileShared = {
      frames: frames ? frames.sab : null,
      ctl: new SharedArrayBuffer((1 + nTxq) * F64_PER_LINE * 8),
      rxCounters: rxCounters.descriptor(),
      txCounters: CounterSet.create(STAT_NAMES, nTxq).descriptor(),
      recorded, loop, periodMs, txPcap,
    };
    const bank = ctx.bank ?? null;
    return new PcapFileNetdev({
      name: spec.name, type: 'pcap-file', options: { ...opts }, nRxq: 1, nTxq,
      pool: ctx.pool.descriptor(), bank: bank ? bank.sab : null, shared: shared as unknown as Record<string, unknown>,
    }, ctx.pool);
  }

  static attach(desc: NetdevDescriptor, pool: PacketPool): PcapFileNetdev {
    if (desc.type !== 'pcap-file') throw new NetdevError(`${desc.name}: not a pcap-file port (type '${desc.type}')`);
    return new PcapFileNetdev(desc, pool);
  }

  descriptor(): NetdevDescriptor {
    return {
      name: this.name, type: this.type, options: this.options, nRxq: 1, nTxq: this.nTxq,
      pool: this.pool.descriptor(), bank: this.bankSab, shared: this.shared as unknown as Record<string, unknown>,
    };
  }

  /** Frames in the replayed capture (Ethernet records of rx_pcap), 0 without rx_pcap. */
  frameCount(): number {
    return this.frames ? this.frames.count : 0;
  }

  /** True when every requested pass of the replay has been received (never with loop=0). */
  replayDone(): boolean {
    return this.r[R_DONE] === 1;
  }

  rxqRecv(_rxq: number, out: Uint32Array, max = 32): number {
    const frames = this.frames;
    const r = this.r;
    if (frames === null || frames.count === 0 || r[R_DONE] === 1) return 0;
    const recorded = this.shared.recorded;
    let now = 0;
    if (recorded) {
      now = nowMs();
      if (r[R_START] === 0) r[R_START] = now;
    }
    let cur = r[R_CURSOR]!;
    let n = 0, bytes = 0;
    while (n < max) {
      if (recorded && r[R_START]! + r[R_LOOPS]! * this.shared.periodMs + frames.ts[cur]! / 1e6 > now) break;
      const id = this.pool.alloc();
      if (id < 0) break; // pool exhausted: the replay waits, nothing is lost
      if (frames.copyTo(cur, this.pool, id)) {
        out[n++] = id;
        bytes += frames.len[cur]!;
      } else {
        this.pool.free(id);
        this.rxBlk.inc(S_ERRORS);
      }
      if (++cur === frames.count) {
        cur = 0;
        r[R_LOOPS] = r[R_LOOPS]! + 1;
        if (this.shared.loop !== 0 && r[R_LOOPS]! >= this.shared.loop) {
          r[R_DONE] = 1;
          break;
        }
      }
    }
    r[R_CURSOR] = cur;
    if (n > 0) {
      this.rxBlk.add(S_PACKETS, n);
      this.rxBlk.add(S_BYTES, bytes);
    }
    return n;
  }

  send(txq: number, ids: Uint32Array, n: number): number {
    const q = txq % this.nTxq;
    const lockAt = (1 + q) * I32_PER_LINE; // ctl line 0 is the Float64 replay state
    const blk = this.txBlk[q]!;
    mutexLock(this.locks, lockAt);
    try {
      const errors = this.capture ? this.capture.writeBatch(this.pool, ids, n) : 0;
      let bytes = 0;
      for (let i = 0; i < n; i++) bytes += this.pool.frameLen(ids[i]!);
      blk.add(S_PACKETS, n - errors);
      blk.add(S_BYTES, bytes);
      if (errors) blk.add(S_ERRORS, errors);
      for (let i = 0; i < n; i++) this.pool.free(ids[i]!);
      return n - errors;
    } finally {
      mutexUnlock(this.locks, lockAt);
    }
  }

  rxqBindDoorbell(_rxq: number, _slot: number): void {
    // Nobody produces into a replay: the poller itself reads the capture.
  }

  rxqWaitHint(_rxq = 0): number {
    const frames = this.frames, r = this.r;
    if (frames === null || frames.count === 0 || r[R_DONE] === 1) return Infinity;
    if (!this.shared.recorded || r[R_START] === 0) return 0;
    const due = r[R_START]! + r[R_LOOPS]! * this.shared.periodMs + frames.ts[r[R_CURSOR]!]! / 1e6;
    return Math.max(0, due - nowMs());
  }

  rxqStats(_rxq = 0): QueueStats {
    return this.queueStats(this.rxCounters, 0);
  }

  txqStats(txq: number): QueueStats {
    return this.queueStats(this.txCounters, txq);
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

  private queueStats(cs: CounterSet, b: number): QueueStats {
    return { packets: cs.get(b, S_PACKETS), bytes: cs.get(b, S_BYTES), drops: cs.get(b, S_DROPS), errors: cs.get(b, S_ERRORS) };
  }
}

registerNetdevProvider({
  type: 'pcap-file',
  create: (spec, ctx) => PcapFileNetdev.create(spec, ctx),
  attach: (desc, pool) => PcapFileNetdev.attach(desc, pool),
});
