/**
 * The runtime shared by `system` (AF_PACKET sockets on a live interface) and `internal` (a TAP
 * device) ports: ports whose queues are file descriptors owned by the kernel. Creation differs
 * (system.ts, internal.ts); receiving, sending, counters and doorbells are here.
 *
 * Peek (rxq sockets with a PACKET_RX_RING): a poll of an empty rxq is one load of the head frame's
 * tp_status through a view of the ring (addon rxRingView), with no native call: the N-API call
 * and its argument checks cost more than the rest of an empty poll (perf of the PMD in the vs-OVS
 * connection test: 9 % of its time in rxqRecv, 0.6 % of it reading the ring). The head index is
 * read from the addon's own copy (a view too), never kept here: the rxq moves between PMDs, and a
 * PMD terminated between a recv and its own bookkeeping would leave a copy behind.
 *
 * Receive (rxqRecv, the rxq's one poller): each thread's object keeps a stash of up to 64 pool
 * buffers per rxq; one native call (copies from the rxq socket's PACKET_RX_RING, recvmmsg, or a
 * read() loop for a TAP) fills as many as there are frames, in the pool's SharedArrayBuffer; the filled ones get M_LEN / M_OFF and are
 * handed out, the rest stay stashed for the next call (an idle poll allocates and frees nothing).
 * A frame longer than a buffer's data room is an rx error (its buffer goes back to the pool).
 *
 * Transmit (send, any thread; a txq's senders are serialized by its lock, taken once per call):
 * one native call per 64 frames (one send() through the txq socket's PACKET_TX_RING, sendmmsg, or
 * a write() loop); the kernel refusing a frame (longer than the MTU allows: EMSGSIZE; interface
 * down) is a tx error, a full device queue (ENOBUFS) or a TX ring with every frame in flight
 * drops the rest of the batch. Every buffer is freed afterwards.
 *
 * Shared memory:
 *   ctl   Int32Array, 64-byte lines: line q (q < nRxq): [0] doorbell slot bound to rxq q (-1 none),
 *         [1] lock of rxq q's kernel counters, [2] last errno of a failed recv on rxq q;
 *         line 0 word 3: 1 once the owner destroyed the port (fds closed);
 *         line nRxq + t: [0] send lock of txq t
 *   kst   Float64Array: rxq q's kernel counters at q * 8: [0] tp_packets, [1] tp_drops
 *         (PACKET_STATISTICS, accumulated: the kernel resets them on every read)
 *   counters: CounterSets as the memory port's, one block per rxq / per txq:
 *         packets, bytes (Ethernet frames, no FCS), drops, errors
 *
 * Sleeping: a PMD sleeps in poll(2) on `rxqFd(q)` itself (packages/dpif src/pmd/fd-sleep.ts).
 * The fallback is the doorbell (watcher.ts): with one bound, `rxqWaitHint` arms the rxq's fd and answers
 * Infinity (the watcher rings when a frame comes); without a watcher (port created without a bank)
 * it polls the fd: 0 if a frame is waiting, else FALLBACK_POLL_MS.
 */
import { CounterSet, F64_PER_LINE, I32_PER_LINE, META_WORDS, M_LEN, M_OFF, mutexLock, mutexUnlock } from '@tsvs/shm';
import type { CounterBlock, CounterSetDescriptor, PacketPool } from '@tsvs/shm';
import type { Netdev, NetdevDescriptor, NetdevStats, QueueStats } from '../netdev.js';
import { NATIVE_MAX_BATCH, nativeNetdev } from './addon.js';
import type { NativeNetdev } from './addon.js';
import { armRxqFd, unwatchRxqFd } from './watcher.js';

export const STAT_NAMES = ['packets', 'bytes', 'drops', 'errors'];
const S_PACKETS = 0, S_BYTES = 1, S_DROPS = 2, S_ERRORS = 3;

const DESTROYED_WORD = 3;
/** tp_status bit of a ring frame that holds a frame for us (linux/if_packet.h). */
const TP_STATUS_USER = 1;
const NO_VIEW = new Int32Array(0);

/** Milliseconds between polls of an rxq fd that no watcher watches. */
export const FALLBACK_POLL_MS = 1;

/** The provider-specific part of a descriptor of an fd-backed port. */
export interface FdShared {
  /** 'packet': AF_PACKET sockets (system port); 'tap': a TAP fd (internal port). */
  kind: 'packet' | 'tap';
  ifindex: number;
  rxFds: number[];
  /** One fd per txq (a TAP port repeats its one fd). */
  txFds: number[];
  /** Watcher registration per rxq (-1: not watched) and the watcher's epoll fd (-1: none). */
  tokens: number[];
  epfd: number;
  /** PACKET_FANOUT group id of the rxq sockets (0: none). */
  fanoutGroup: number;
  /** The group is in PACKET_FANOUT_CPU mode (system option fanout=cpu): rxq q holds what the kernel
   * received on CPUs c with c % nRxq === q. */
  cpuFanout: boolean;
  ctl: SharedArrayBuffer;
  kst: SharedArrayBuffer;
  rxCounters: CounterSetDescriptor;
  txCounters: CounterSetDescriptor;
}

/** Word index in ctl of rxq q's doorbell slot. */
export function rxqSlotWord(q: number): number {
  return q * I32_PER_LINE;
}

/** Shared memory for an fd-backed port with nRxq / nTxq queues. */
export function fdSharedMemory(nRxq: number, nTxq: number): Pick<FdShared, 'ctl' | 'kst' | 'rxCounters' | 'txCounters'> {
  const ctl = new SharedArrayBuffer((nRxq + nTxq) * I32_PER_LINE * 4);
  const w = new Int32Array(ctl);
  for (let q = 0; q < nRxq; q++) w[rxqSlotWord(q)] = -1;
  return {
    ctl,
    kst: new SharedArrayBuffer(nRxq * F64_PER_LINE * 8),
    rxCounters: CounterSet.create(STAT_NAMES, nRxq).descriptor(),
    txCounters: CounterSet.create(STAT_NAMES, nTxq).descriptor(),
  };
}

export abstract class FdNetdev implements Netdev {
  abstract readonly type: string;
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
  readonly nRxq: number;
  readonly nTxq: number;
  readonly pool: PacketPool;
  protected readonly desc: NetdevDescriptor;
  protected readonly shared: FdShared;
  private readonly a: NativeNetdev;
  private readonly tap: boolean;
  private readonly ctl: Int32Array;
  private readonly kst: Float64Array[];
  private readonly rxCounters: CounterSet;
  private readonly txCounters: CounterSet;
  private readonly rxBlk: CounterBlock[];
  private readonly txBlk: CounterBlock[];
  private readonly stash: Uint32Array[];
  private readonly stashN: Int32Array;
  private readonly offs = new Int32Array(NATIVE_MAX_BATCH);
  private readonly lens = new Int32Array(NATIVE_MAX_BATCH);
  private readonly res = new Int32Array(4);
  /** Per rxq: frame size in 32-bit words of its RX ring view; 0 not looked up yet, -1 none. */
  private readonly peekWords: Int32Array;
  private readonly views: Int32Array[];
  private readonly heads: Int32Array[];
  private readonly pollFd = new Int32Array(1);
  private readonly pollRev = new Int32Array(1);
  private destroyed = false;

  protected constructor(desc: NetdevDescriptor, pool: PacketPool) {
    this.desc = desc;
    this.name = desc.name;
    this.options = desc.options;
    this.nRxq = desc.nRxq;
    this.nTxq = desc.nTxq;
    this.pool = pool;
    this.shared = desc.shared as unknown as FdShared;
    this.a = nativeNetdev();
    this.tap = this.shared.kind === 'tap';
    this.ctl = new Int32Array(this.shared.ctl);
    this.kst = Array.from({ length: this.nRxq }, (_, q) => new Float64Array(this.shared.kst, q * F64_PER_LINE * 8, 2));
    this.rxCounters = CounterSet.attach(this.shared.rxCounters);
    this.txCounters = CounterSet.attach(this.shared.txCounters);
    this.rxBlk = Array.from({ length: this.nRxq }, (_, q) => this.rxCounters.block(q));
    this.txBlk = Array.from({ length: this.nTxq }, (_, t) => this.txCounters.block(t));
    this.stash = Array.from({ length: this.nRxq }, () => new Uint32Array(NATIVE_MAX_BATCH));
    this.stashN = new Int32Array(this.nRxq);
    this.peekWords = new Int32Array(this.nRxq);
    this.views = new Array<Int32Array>(this.nRxq).fill(NO_VIEW);
    this.heads = new Array<Int32Array>(this.nRxq).fill(NO_VIEW);
  }

  /** First poll of rxq q by this thread: its RX ring and a view of it, if it has them. */
  private openPeek(q: number): void {
    this.peekWords[q] = -1;
    if (this.tap) return;
    const fd = this.shared.rxFds[q]!;
    const frames = this.a.rxRing(fd);
    if (frames === 0) return;
    const v = this.a.rxRingView(fd);
    if (v === null || v[0].byteLength % (frames * 4) !== 0) return;
    this.views[q] = new Int32Array(v[0]);
    this.heads[q] = new Int32Array(v[1]);
    this.peekWords[q] = v[0].byteLength / (frames * 4);
  }

  descriptor(): NetdevDescriptor {
    return this.desc;
  }

  /** The interface's ifindex (at creation). */
  get ifindex(): number {
    return this.shared.ifindex;
  }

  /** The PACKET_FANOUT group of the rxq sockets (0: none, n_rxq=1 or a TAP). */
  get fanoutGroup(): number {
    return this.shared.fanoutGroup;
  }

  /** The interface's MTU now (ioctl SIOCGIFMTU). Throws NativeError (ENODEV) if it is gone. */
  mtu(): number {
    return this.a.ifInfo(this.name)[1];
  }

  /** Frames of rxq `rxq`'s PACKET_RX_RING; 0 when it is read with recvmmsg (n_rxq_desc=0, a kernel
   * without rings) or is a TAP. */
  rxqRing(rxq: number): number {
    return this.tap ? 0 : this.a.rxRing(this.shared.rxFds[rxq]!);
  }

  /** Frames of txq `txq`'s PACKET_TX_RING; 0 when it sends with sendmmsg (n_txq_desc=0, a kernel
   * without rings) or is a TAP. */
  txqRing(txq: number): number {
    return this.tap ? 0 : this.a.txRing(this.shared.txFds[txq % this.nTxq]!);
  }

  /** rxq `rxq`'s file descriptor (a PMD that sleeps in poll(2) itself; tests). */
  rxqFd(rxq: number): number {
    return this.shared.rxFds[rxq]!;
  }

  rxqRecv(rxq: number, out: Uint32Array, max = 32): number {
    const words = this.peekWords[rxq]!;
    if (words > 0) {
      const head = Atomics.load(this.heads[rxq]!, 0);
      if ((Atomics.load(this.views[rxq]!, head * words) & TP_STATUS_USER) === 0) return 0;
    } else if (words === 0) {
      this.openPeek(rxq);
    }
    const pool = this.pool;
    if (max > NATIVE_MAX_BATCH) max = NATIVE_MAX_BATCH;
    if (max > out.length) max = out.length;
    const stash = this.stash[rxq]!;
    let have = this.stashN[rxq]!;
    if (have < max) {
      have += pool.allocBatch(stash, have, max - have);
      this.stashN[rxq] = have;
    }
    if (have === 0) return 0; // pool exhausted: frames wait in the socket (the kernel drops and counts the excess)
    const k = have < max ? have : max;
    const offs = this.offs, lens = this.lens, stride = pool.stride, headroom = pool.headroom, cap = pool.dataRoom;
    for (let i = 0; i < k; i++) offs[i] = stash[i]! * stride + headroom;
    const fd = this.shared.rxFds[rxq]!;
    const r = this.tap ? this.a.tapRecv(fd, pool.data, offs, lens, k, cap) : this.a.recv(fd, pool.data, offs, lens, k, cap);
    const blk = this.rxBlk[rxq]!;
    if (r <= 0) {
      if (r < 0) {
        blk.inc(S_ERRORS);
        this.ctl[rxqSlotWord(rxq) + 2] = -r;
      }
      return 0;
    }
    const meta = pool.meta;
    let n = 0, bytes = 0, errors = 0;
    for (let i = 0; i < r; i++) {
      const id = stash[i]!;
      const len = lens[i]!;
      if (len > cap || len < 14) {
        pool.free(id);
        errors++;
        continue;
      }
      const m = id * META_WORDS;
      meta[m + M_LEN] = len;
      meta[m + M_OFF] = offs[i]! - id * stride; // headroom, or 4 less after a VLAN tag was put back
      out[n++] = id;
      bytes += len;
    }
    if (r < have) stash.copyWithin(0, r, have);
    this.stashN[rxq] = have - r;
    blk.add(S_PACKETS, n);
    blk.add(S_BYTES, bytes);
    if (errors) blk.add(S_ERRORS, errors);
    return n;
  }

  send(txq: number, ids: Uint32Array, n: number): number {
    const q = txq % this.nTxq;
    const pool = this.pool;
    const fd = this.shared.txFds[q]!;
    const offs = this.offs, lens = this.lens, res = this.res;
    const lock = (this.nRxq + q) * I32_PER_LINE;
    let sent = 0, bytes = 0, drops = 0, errors = 0;
    mutexLock(this.ctl, lock);
    try {
      for (let off = 0; off < n; off += NATIVE_MAX_BATCH) {
        const k = n - off < NATIVE_MAX_BATCH ? n - off : NATIVE_MAX_BATCH;
        for (let i = 0; i < k; i++) {
          const id = ids[off + i]!;
          offs[i] = pool.frameOffset(id);
          lens[i] = pool.frameLen(id);
        }
        sent += this.tap ? this.a.tapSend(fd, pool.data, offs, lens, k, res) : this.a.send(fd, pool.data, offs, lens, k, res);
        errors += res[0]!;
        drops += res[1]!;
        bytes += res[3]!;
      }
      const blk = this.txBlk[q]!;
      blk.add(S_PACKETS, sent);
      blk.add(S_BYTES, bytes);
      if (drops) blk.add(S_DROPS, drops);
      if (errors) blk.add(S_ERRORS, errors);
    } finally {
      mutexUnlock(this.ctl, lock);
    }
    pool.freeBatch(ids, 0, n);
    return sent;
  }

  rxqBindDoorbell(rxq: number, slot: number): void {
    Atomics.store(this.ctl, rxqSlotWord(rxq), slot);
  }

  rxqWaitHint(rxq: number): number {
    const fd = this.shared.rxFds[rxq]!;
    const token = this.shared.tokens[rxq]!;
    if (token >= 0 && Atomics.load(this.ctl, rxqSlotWord(rxq)) >= 0 && armRxqFd(this.shared.epfd, fd, token)) return Infinity;
    this.pollFd[0] = fd;
    return this.a.poll(this.pollFd, 1, 0, this.pollRev) > 0 ? 0 : FALLBACK_POLL_MS;
  }

  /** n_rxq when the rxqs are in PACKET_FANOUT_CPU mode (fanout=cpu), else 0: see Netdev. */
  rxqCpuStride(_rxq: number): number {
    return this.shared.cpuFanout ? this.nRxq : 0;
  }

  /** True for a TAP and for an rxq without an RX ring view (recvmmsg): see Netdev. */
  rxqPollIsSyscall(rxq: number): boolean {
    if (this.peekWords[rxq] === 0) this.openPeek(rxq);
    return this.peekWords[rxq]! < 0;
  }

  rxqStats(rxq: number): QueueStats {
    const k = this.kernelStats(rxq);
    const c = this.rxCounters;
    return {
      packets: c.get(rxq, S_PACKETS), bytes: c.get(rxq, S_BYTES),
      drops: c.get(rxq, S_DROPS) + k[1]!, errors: c.get(rxq, S_ERRORS),
    };
  }

  txqStats(txq: number): QueueStats {
    const c = this.txCounters;
    return { packets: c.get(txq, S_PACKETS), bytes: c.get(txq, S_BYTES), drops: c.get(txq, S_DROPS), errors: c.get(txq, S_ERRORS) };
  }

  stats(): NetdevStats {
    let kdrops = 0;
    for (let q = 0; q < this.nRxq; q++) kdrops += this.kernelStats(q)[1]!;
    const r = this.rxCounters, t = this.txCounters;
    return {
      rx_packets: r.sum(S_PACKETS), rx_bytes: r.sum(S_BYTES), rx_dropped: r.sum(S_DROPS) + kdrops, rx_errors: r.sum(S_ERRORS),
      tx_packets: t.sum(S_PACKETS), tx_bytes: t.sum(S_BYTES), tx_dropped: t.sum(S_DROPS), tx_errors: t.sum(S_ERRORS),
    };
  }

  /** Returns this thread's stashed buffers to the pool. */
  close(): void {
    for (let q = 0; q < this.nRxq; q++) {
      this.pool.freeBatch(this.stash[q]!, 0, this.stashN[q]!);
      this.stashN[q] = 0;
    }
    this.pool.flush();
  }

  /**
   * Owner only, once no thread polls or sends on the port any more (the datapath's reconfiguration
   * barrier): stops watching the rxq fds and closes every fd (for an `internal` port this deletes
   * the TAP interface). Idempotent. Other threads' objects must not be used afterwards.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.close();
    for (let q = 0; q < this.nRxq; q++) this.kernelStats(q); // keep the last kernel counts
    this.destroyed = true;
    Atomics.store(this.ctl, DESTROYED_WORD, 1);
    const sh = this.shared;
    for (let q = 0; q < this.nRxq; q++) if (sh.tokens[q]! >= 0) unwatchRxqFd(sh.epfd, sh.rxFds[q]!, sh.tokens[q]!);
    for (const fd of new Set([...sh.rxFds, ...sh.txFds])) {
      try {
        this.a.close(fd);
      } catch {
        // Closing can only fail for a bad fd; nothing to release then.
      }
    }
  }

  /** Harvests rxq q's PACKET_STATISTICS into the shared totals (under the rxq's stats lock); returns them. */
  private kernelStats(q: number): Float64Array {
    const k = this.kst[q]!;
    if (this.tap || Atomics.load(this.ctl, DESTROYED_WORD) !== 0) return k;
    const lock = rxqSlotWord(q) + 1;
    mutexLock(this.ctl, lock);
    try {
      this.a.stats(this.shared.rxFds[q]!, k);
    } catch {
      // A closed socket has no more counts to give.
    } finally {
      mutexUnlock(this.ctl, lock);
    }
    return k;
  }
}
