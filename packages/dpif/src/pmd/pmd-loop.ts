/**
 * The PMD loop (OVS lib/dpif-netdev.c pmd_thread_main, dp_netdev_process_rxq_port,
 * dp_netdev_input__, emc_processing + fast_path_processing, packet_batch_per_flow), run by each
 * PMD worker thread (pmd-worker.ts). It is a class, not the worker itself, so that it can also be
 * stepped in one thread (benchmarks' heap checks).
 *
 * One iteration:
 *   1. if the control word changed: apply control messages (ports, rxqs, config, probe, quit);
 *   2. for each rxq of the poll list (one whose empty poll is a system call, while it stays empty,
 *      only every RXQ_SYSCALL_POLL_EVERY iterations): rx burst of up to 32 buffer ids → flow keys extracted in
 *      place into the key batch (32 x FLOW_WORDS words, header offsets into the packet
 *      registers) → one batched lookup for the burst (EMC for each key, then dpcls for the EMC
 *      misses: FlowTablePmd.lookupBatch) → packets grouped per flow in arrival order
 *      (packet_batch_per_flow) → misses queued as upcalls on the in_port's queue (dropped and
 *      counted when full) → per flow batch: stats once, actions read once; a single `output` sends
 *      the batch as is, other lists run per packet (OdpExecutor) → outputs batched per port →
 *      every port's tx batch flushed (netdev send on txq = pmdId);
 *   3. rx coalescing (pmd-rx-usecs): when this iteration and the one before each received a
 *      partial burst of at least RX_NAP_MIN_BURST packets (a stream is running but the PMD drains
 *      its queues faster than they fill), the PMD naps `rxUsecs` µs before polling again, like a
 *      NIC's rx-usecs interrupt coalescing. Why: with socket rxqs the kernel work of a frame (the
 *      receiving host's stack, run in the sender's context) and the hosts themselves share the
 *      CPUs with the PMD; polling again at once returns bursts of a few frames, each costing two
 *      system calls and a wake-up of the receiving application. Napping fills the bursts (OVS's
 *      main thread reaches ~22 frames per batch on veth by being slow; tsvs reached ~7) and gives
 *      the hosts the CPU. A lone packet (ping, a handshake) never naps: one of the two bursts
 *      would be below the minimum. Full bursts never nap: the PMD is behind.
 *      While a stream runs (the iteration before received at least RX_NAP_MIN_BURST), output
 *      batches are flushed at the end of the iteration instead of after each rxq, and a batch
 *      that is not full is held through naps (at most TX_HOLD_NAPS), like OVS's
 *      tx-flush-interval: it leaves fuller and later, after the hosts had the CPU. Why (the
 *      mechanism in part measured): a frame sent wakes its receiver, and the kernel puts the
 *      receiver on the waker's CPU (a sync wake-up; 92 % of the UDP receiver's wake-ups in `perf
 *      record -e sched:sched_wakeup`), where it competes with the PMD instead of using the nap.
 *      Measured
 *      (vs-ovs topology, new TCP connections, 8 in flight, 5 rounds each): 9.9-10.3k/s flushing
 *      before the nap, 10.7-12.3k/s holding; UDP 64 B delivered 118-123 and 119-125 kpps;
 *   4. the quiescent point of the flow table (QSBR); when the shared clock ticked (dp-clock.ts,
 *      1 ms): the accounting window closes (idle/busy ns, rxq ns) and due housekeeping runs
 *      (dpcls re-rank every second, 5 s usage intervals);
 *   5. after `idleSpinUs` of empty polls, while traffic was recent (IDLE_NAPS since the last packet)
 *      and some rxqs are sockets: nap `idleNapUs` µs (pmd-idle-nap-usecs) and poll again. Why:
 *      a PMD blocked in poll(2) is woken by the sender's kernel (the frame's AF_PACKET delivery,
 *      in the sending host's context): a wake-up with an IPI to the PMD's vCPU, which the hosts
 *      paid for in the vs-OVS connection test (sock_def_readable under tpacket_rcv: 4.8-6.6 % of
 *      the hosts' CPU, against 0.5 % napping and 0.65 % for OVS, whose main thread rarely blocks).
 *      A napping PMD is not on the sockets' wait queues, so a frame costs its sender nothing more
 *      than the copy into the ring; it waits at most one nap. Counter idle_naps;
 *   6. after that: go offline in the flow table, announce sleep on the
 *      doorbell, re-check every rxq (`rxqWaitHint`) and the control word, sleep until a producer
 *      rings (memory port inject, a control message) or the nearest wait hint / `maxSleepMs`.
 *      With socket rxqs (system ports) the PMD sleeps in poll(2) on their fds and its doorbell's
 *      wake eventfd instead of Atomics.wait (fd-sleep.ts): the kernel wakes it directly. With
 *      fanout=cpu rxqs it first moves to the CPU its last lone packet came from (sender-cpu.ts).
 *
 * Counters: one CounterSet block per PMD, plain stores once per burst; `recv` is added last, so a
 * reader that sees a packet received sees where it went (hit, miss, lost, malformed).
 *
 * Allocation: none per packet, per burst or per tick once compiled. Every array is preallocated;
 * the loop never calls a clock (Node's clocks allocate) except when going to sleep, waking up and
 * handling control messages; objects are created only by control messages. Times live in a
 * Float64Array and are never passed to a method (a call that is not inlined boxes a double).

 * Ownership of packet buffers: a received buffer is owned by the PMD until it is sent (netdev
 * `send` takes it), queued as an upcall (the reader takes it) or freed (dropped). A buffer that
 * must leave on several ports is copied for all but the last.
 */
import * as v8 from 'node:v8';
import { EXTRACT_OK, FLOW_WORDS, W_TCP_FLAGS, extractFlow } from '@tsvs/packet';
import { CounterSet, DoorbellBank, META_WORDS, M_IN_PORT, M_LEN, M_OFF, PacketPool } from '@tsvs/shm';
import { attachNetdev } from '@tsvs/netdev';
import type { Netdev } from '@tsvs/netdev';
import { DPCLS_OPTIMIZATION_INTERVAL_MS, FlowTable, FlowTablePmd, LOOKUP_EMC, LOOKUP_MEGAFLOW } from '../flow-table/index.js';
import {
  EXEC_FAILED, EXEC_KEEP, OdpExecutor, OdpOutputBatch, PKT_BUF, PKT_L2_5, PKT_LEN, PKT_OFF, PKT_WORDS,
} from '../actions/execute.js';
import type { OdpBufferPool, OdpUpcallSink } from '../actions/execute.js';
import { OA_COUNT, ODP_ACTIONS_HDR, ODP_OUTPUT } from '../actions/encoding.js';
import { MAX_ODP_PORTS } from '../dpif.js';
import { UpcallArea } from '../upcall/upcall-area.js';
import { UpcallQueue, UpcallProducer } from '../upcall/upcall-queue.js';
import type { PmdInit, PmdLookupMode, PmdProbe, PmdReply, PmdRequest } from './pmd-messages.js';
import {
  PMD_CYCLES_ITER_BUSY, PMD_CYCLES_ITER_IDLE, PMD_CYCLES_SLEEP, PMD_ITERATIONS, PMD_N_STATS, PMD_SLEEP_ITER,
  PMD_STAT_ACTION_LOST, PMD_STAT_ACTION_UPCALL, PMD_STAT_EXACT_HIT, PMD_STAT_LOST, PMD_STAT_MALFORMED,
  PMD_STAT_MASKED_HIT, PMD_STAT_MASKED_LOOKUP, PMD_STAT_MISS, PMD_STAT_RECV, PMD_STAT_SENT_BATCHES,
  PMD_STAT_SENT_PKTS, PMD_STAT_TX_DROPPED, PMD_RX_NAPS, PMD_TX_HELD, PMD_IDLE_NAPS,
} from './pmd-stats.js';
import { PMD_INTERVAL_MS, SCHED_CUR, SCHED_P_BUSY, SCHED_P_NOW, SCHED_SLOT, SchedStats } from './sched-stats.js';
import { CLK_AWAKE, CLK_NOW_F64 } from './dp-clock.js';
import { FdSleep } from './fd-sleep.js';
import { SENDER_CPU_MIN_SLEEP_MS, SenderCpu } from './sender-cpu.js';
import { nativeNetdev } from '@tsvs/netdev';

/** NETDEV_MAX_BURST: packets per rx burst and per tx batch. */
export const NETDEV_MAX_BURST = 32;
/**
 * Smallest burst (packets, summed over the poll list in one iteration) that counts as part of a
 * running stream for rx coalescing. 8: the 8 parallel handshakes of the vs-ovs connection test
 * rarely reach it, a UDP flood over veth mostly does.
 */
export const RX_NAP_MIN_BURST = 8;
/**
 * Naps a partial output batch may be held through (rx coalescing, see the file comment) before
 * it is flushed. 3: a stream's batch fills (every napping iteration brings at least
 * RX_NAP_MIN_BURST frames, 4 x 8 = 32) and what holding adds to the latency of any frame, also
 * one on a port that gets a frame now and then beside a stream on another, stays within 3 x
 * pmd-rx-usecs. Measured against 1 (4 rounds each): connections 11.1-12.5k/s against
 * 10.8-12.4k/s, UDP 64 B delivered 122-133 kpps against 117-129.
 */
export const TX_HOLD_NAPS = 3;
/**
 * An rxq whose empty poll is a system call (Netdev.rxqPollIsSyscall: the TAP local port, a
 * recvmmsg socket) is polled once in this many loop iterations while it stays empty, and every
 * iteration again once it receives; all rxqs are polled in the first iteration after a sleep, so
 * a frame that woke the PMD is read at once. Why: the local port's read() (~600 ns, EAGAIN) in
 * every iteration was about 2 % of the PMD's time in the vs-OVS connection test (perf trace:
 * 4633 failed reads a second), more than the ring rxqs' empty polls (15 ns). A local-port frame
 * that comes while the PMD is busy waits at most 7 iterations more.
 */
export const RXQ_SYSCALL_POLL_EVERY = 8;
/**
 * Idle naps (pmd-idle-nap-usecs, see the file comment) after the last received packet before the
 * PMD blocks in poll(2): each follows `spinIters` empty polls (one in the daemon, whose idle spin
 * is 0). 10: with 20 µs naps about 0.3 ms, which covers most gaps between the frames of the
 * vs-OVS connection test (8 in flight), while a ping every 10 ms or more still finds the PMD
 * blocked (and so asleep near its sender, sender-cpu.ts). Measured (vs-OVS topology, new TCP
 * connections at 8 in flight, one rxq per port, alternating runs of 2 s, medians): 12.5k/s
 * blocking at once, 13.1k/s with 20 µs naps (ahead in 9 of 10 pairs), OVS 13.0k/s; in another
 * series 13.6k/s with naps, OVS 12.6k/s (8 runs). 12, 20 and 30 µs naps and 25 naps were alike
 * within the noise (an earlier version, 6 runs each).
 */
export const IDLE_NAPS = 10;
/** Timer slack (ns) a PMD that naps asks for: the default 50 µs would stretch every nap. */
const NAP_TIMER_SLACK_NS = 1000;
/** Most rxqs one PMD polls. */
export const PMD_MAX_POLL = 256;
/** Output entries one packet's actions may produce. */
const MAX_OUTPUTS_PER_PACKET = 64;
/** Loop iterations per `iterate` call. */
const ITERATIONS_PER_CALL = 32;
const ITER_MORE = 0;
const ITER_CONTROL = 1;
const ITER_SLEEP = 2;
// Indices of PmdLoop.tf (times in datapath clock ms, except T_IDLE_ITER_NS).
const T_NOW = 0, T_LAST_TICK = 1, T_NEXT_OPT = 2, T_INTERVAL_END = 3, T_WIN_START = 4, T_WIN_END = 5, T_IDLE_ITER_NS = 6, T_LAST_SLEEP = 7;
/**
 * `iterate` calls in a row (ITERATIONS_PER_CALL iterations each) after waking, without sleeping,
 * after which the PMD wakes the clock thread: a PMD that wakes for a few packets and sleeps again
 * runs on the real time it read when it woke, and costs the clock thread nothing.
 */
const CLOCK_KICK_CALLS = 2;

/** How a PmdLoop talks to its controller. */
export interface PmdIo {
  /** The next pending control message, or undefined. */
  receive(): PmdRequest | undefined;
  /** Sends a reply to the controller. */
  reply(r: PmdReply): void;
  /** GCs seen by this thread so far (for probes). */
  gcCount(): number;
}

/** Why `run` returned. */
export type PmdRunResult = 'quit' | 'yield';

/** The shm packet pool seen through the executor's buffer interface. */
class PoolAdapter implements OdpBufferPool {
  readonly bytes: Uint8Array;
  readonly bufferSize: number;
  constructor(private readonly pool: PacketPool) {
    this.bytes = pool.data;
    this.bufferSize = pool.stride;
  }
  alloc(): number {
    return this.pool.alloc();
  }
  start(buf: number): number {
    return buf * this.bufferSize;
  }
}

export class PmdLoop implements OdpUpcallSink {
  readonly pmdId: number;
  readonly table: FlowTable;
  readonly ftp: FlowTablePmd;
  readonly pool: PacketPool;
  private readonly io: PmdIo;
  private readonly bank: DoorbellBank;
  private readonly bellSlot: number;
  private readonly ctl: Int32Array;
  private ctlSeen = 0;
  private readonly cnt: Float64Array;
  private readonly cb: number;
  private readonly sched: SchedStats;
  private readonly schedPmdBase: number;
  private readonly area: UpcallArea;
  private readonly exec: OdpExecutor;
  private readonly out = new OdpOutputBatch(MAX_OUTPUTS_PER_PACKET);
  private readonly timeOrigin = performance.timeOrigin;
  private idleSpinUs: number;
  private maxSleepMs: number;
  /** A request that needs the event loop ('probe'): `run` returned 'yield' for it. */
  private pendingYield: PmdRequest | null = null;
  private closed = false;
  private lookupMode: PmdLookupMode = 'table';
  /** The 'map' baseline's cache: packed key → flow entry. */
  private readonly baselineMap = new Map<string, number>();

  // Ports, indexed by odp port number.
  private readonly portNetdev: Array<Netdev | null> = new Array<Netdev | null>(MAX_ODP_PORTS).fill(null);
  private readonly portUpcall: Array<UpcallProducer | null> = new Array<UpcallProducer | null>(MAX_ODP_PORTS).fill(null);
  private readonly txIds: Array<Uint32Array | null> = new Array<Uint32Array | null>(MAX_ODP_PORTS).fill(null);
  private readonly txCount = new Int32Array(MAX_ODP_PORTS);
  private readonly txDirty = new Uint8Array(MAX_ODP_PORTS);
  /** Naps the port's output batch has been held through (TX_HOLD_NAPS). */
  private readonly txHeld = new Uint8Array(MAX_ODP_PORTS);
  private readonly dirtyList = new Int32Array(MAX_ODP_PORTS);
  private nDirty = 0;
  private nPorts = 0;

  // Poll list.
  private readonly pollNetdev: Netdev[] = [];
  private readonly pollPort = new Int32Array(PMD_MAX_POLL);
  private readonly pollRxq = new Int32Array(PMD_MAX_POLL);
  private readonly pollSched = new Int32Array(PMD_MAX_POLL);
  /** Per poll entry: iterations between polls while empty (1, or RXQ_SYSCALL_POLL_EVERY). */
  private readonly pollEvery = new Int32Array(PMD_MAX_POLL);
  /** Per poll entry: iterations still to skip. */
  private readonly pollSkip = new Int32Array(PMD_MAX_POLL);
  /** Per poll entry: Netdev.rxqCpuStride (> 0: a fanout=cpu rxq, whose frames say the sender's CPU). */
  private readonly pollStride = new Int32Array(PMD_MAX_POLL);
  /** Poll entries with a stride > 0. */
  private nStride = 0;
  /** Where the thread sleeps: near the sender of its lone packets (sender-cpu.ts). */
  private readonly senderCpu = new SenderCpu();
  private nPoll = 0;
  /** Sleeping in poll(2) on the socket rxqs of the poll list (fd-sleep.ts). */
  private readonly fdSleep: FdSleep;

  // Burst state.
  private readonly rxIds = new Uint32Array(NETDEV_MAX_BURST);
  private readonly keys = new Uint32Array(NETDEV_MAX_BURST * FLOW_WORDS);
  private readonly pkt = new Int32Array(NETDEV_MAX_BURST * PKT_WORDS);
  private readonly pktNext = new Int32Array(NETDEV_MAX_BURST);
  private readonly missIds = new Uint32Array(NETDEV_MAX_BURST);
  private readonly missPkt = new Int32Array(NETDEV_MAX_BURST);
  /** Flow entry per packed key of the burst (-1: miss). */
  private readonly found = new Int32Array(NETDEV_MAX_BURST);
  private readonly bFlow = new Int32Array(NETDEV_MAX_BURST);
  private readonly bFirst = new Int32Array(NETDEV_MAX_BURST);
  private readonly bLast = new Int32Array(NETDEV_MAX_BURST);
  private readonly bCount = new Int32Array(NETDEV_MAX_BURST);
  private readonly bBytes = new Int32Array(NETDEV_MAX_BURST);
  private readonly bFlags = new Int32Array(NETDEV_MAX_BURST);
  /** Per flow entry: the burst number in which it got a batch, and that batch's index. */
  private readonly entryBurst: Int32Array;
  private readonly entryBatch: Int32Array;
  private burst = 0;
  // Packet being executed (for ACTION upcalls).
  private curPkt = 0;
  private curInPort = 0;
  // Time (datapath clock ms; see dp-clock.ts), in a Float64Array rather than object fields so that
  // no double ever depends on the optimizer's field representation (a boxed field allocates on
  // every store). `tf[T_NOW]` = max(shared clock, last real read).
  private readonly clk: Float64Array;
  private readonly clkI32: Int32Array;
  private readonly tf = new Float64Array(8);
  // Accounting window: iterations since tf[T_WIN_START], split into busy/idle ns when it closes.
  private winBusyIters = 0;
  private winIdleIters = 0;
  private winPackets = 0;
  private readonly winRxqPkts = new Int32Array(PMD_MAX_POLL);
  // tf[T_IDLE_ITER_NS]: estimated ns of one idle iteration (learned from all-idle windows).
  /** Consecutive empty iterations before sleeping (idleSpinUs / idleIterNs). */
  private spinIters = 200;
  private emptyRun = 0;
  /** pmd-rx-usecs (0 = no rx coalescing) and what the addon gives for napping (null: no addon). */
  private rxUsecs = 0;
  /** pmd-idle-nap-usecs (0 = block in poll(2) at once), and idle naps left before blocking. */
  private idleNapUs = 0;
  private idleNapsLeft = 0;
  private napper: { nap(us: number): void } | null = null;
  /**
   * Scheduling of this thread (see `setSchedLevels`): `wake` (nice, EEVDF slice) while the PMD
   * sleeps and wakes for lone packets, `stream` while it naps in a stream; `schedStream` whether
   * the stream one is set. `schedSwitch` false: no switching.
   */
  private niceWake = 0;
  private sliceWakeNs = 0;
  private niceStream = 0;
  private schedStream = false;
  private schedSwitch = false;
  private schedSetter: { threadSched(nice: number, sliceNs: number): number } | null = null;
  /** Packets of the previous iteration (rx coalescing). */
  private prevRx = 0;
  /** ns napped in the current accounting window (not iteration time). */
  private winNapNs = 0;
  /** `iterate` calls since waking that ran to their end (CLOCK_KICK_CALLS). */
  private moreCalls = 0;

  constructor(init: PmdInit, io: PmdIo) {
    this.pmdId = init.pmdId;
    this.io = io;
    this.pool = PacketPool.attach(init.pool);
    this.table = FlowTable.attach(init.flowTable);
    this.ftp = this.table.openPmd(init.pmdId);
    this.bank = DoorbellBank.attach(init.bank);
    this.bellSlot = init.bellSlot;
    this.fdSleep = new FdSleep(this.bank, this.bellSlot);
    this.ctl = new Int32Array(init.ctl);
    const cs = CounterSet.attach(init.counters);
    this.cnt = cs.f64;
    this.cb = cs.block(init.pmdId).base;
    this.cnt.fill(0, this.cb, this.cb + PMD_N_STATS);
    this.sched = new SchedStats(init.sched, init.maxRxqs);
    this.schedPmdBase = this.sched.pmdBase(init.pmdId);
    this.area = UpcallArea.attach(init.upcallArea);
    this.exec = new OdpExecutor(new PoolAdapter(this.pool), this);
    this.idleSpinUs = init.idleSpinUs;
    this.setRxUsecs(init.rxUsecs);
    this.setIdleNapUs(init.idleNapUs);
    this.clk = new Float64Array(init.clock);
    this.clkI32 = new Int32Array(init.clock);
    this.maxSleepMs = init.maxSleepMs;
    this.entryBurst = new Int32Array(this.table.capacity);
    this.entryBatch = new Int32Array(this.table.capacity);
    this.tf[T_IDLE_ITER_NS] = 100;
    this.tf[T_NOW] = this.timeOrigin + performance.now();
    this.sched.pmdStart(this.pmdId, this.tf[T_NOW]!);
    // The first re-rank and interval rotation come early, so that the loop has run them before
    // TurboFan compiles it: a branch first taken in optimized code deoptimizes it, and until it
    // is compiled again the interpreted loop boxes doubles (allocates).
    this.tf[T_INTERVAL_END] = this.tf[T_NOW]! + 20;
    this.tf[T_NEXT_OPT] = this.tf[T_NOW]! + 10;
    this.tf[T_WIN_START] = this.tf[T_NOW]!;
    this.respin();
  }

  /**
   * Runs the loop until a `quit` request ('quit') or a request that needs the event loop
   * ('yield': answer `takeYieldRequest()` from a later macrotask, then `run` again).
   */
  run(): PmdRunResult {
    this.wake();
    for (;;) {
      const r = this.iterate(ITERATIONS_PER_CALL);
      if (r === ITER_CONTROL) {
        this.closeWindowReal();
        const c = this.control();
        if (c !== null) {
          this.asleep();
          return c;
        }
        this.tf[T_WIN_START] = this.tf[T_NOW]!;
      } else if (r === ITER_SLEEP) {
        this.sleep();
        this.emptyRun = 0;
      } else if (++this.moreCalls === CLOCK_KICK_CALLS) {
        Atomics.notify(this.clkI32, CLK_AWAKE); // awake for a while: the shared clock must tick
      }
    }
  }

  /**
   * Up to `max` loop iterations. Returns ITER_CONTROL when a control message waits, ITER_SLEEP
   * after `spinIters` empty polls in a row, ITER_MORE otherwise. A separate method, not the body
   * of `run`, so that it is compiled as a whole function: `run` is re-entered after a 'yield' and
   * would otherwise run interpreted (allocating) until on-stack replacement.
   */
  private iterate(max: number): number {
    const cnt = this.cnt, cb = this.cb, ctl = this.ctl;
    for (let k = 0; k < max; k++) {
      if (Atomics.load(ctl, 0) !== this.ctlSeen) {
        this.flushTx();
        return ITER_CONTROL;
      }
      // In a stream, output batches fill across the rxqs of the iteration (and one nap).
      const perRxq = this.prevRx < RX_NAP_MIN_BURST || this.rxUsecs === 0;
      let rx = 0;
      const skip = this.pollSkip;
      for (let p = 0; p < this.nPoll; p++) {
        if (skip[p]! > 0) {
          skip[p]!--;
          continue;
        }
        const n = this.pollOnce(p, perRxq);
        if (n === 0) skip[p] = this.pollEvery[p]! - 1;
        rx += n;
      }
      if (rx >= RX_NAP_MIN_BURST && rx < NETDEV_MAX_BURST && this.prevRx >= RX_NAP_MIN_BURST && this.rxUsecs > 0) {
        this.holdTx();
        this.nap();
      } else if (this.nDirty > 0) this.flushTx();
      this.prevRx = rx;
      if (rx > 0) {
        this.winBusyIters++;
        this.winPackets += rx;
        this.emptyRun = 0;
        this.idleNapsLeft = IDLE_NAPS;
      } else {
        this.winIdleIters++;
        this.emptyRun++;
      }
      cnt[cb + PMD_ITERATIONS]++;
      this.ftp.quiesce();
      this.clockTick();
      if (this.emptyRun >= this.spinIters) {
        if (this.idleNapsLeft === 0 || this.idleNapUs === 0 || !this.fdSleep.active) return ITER_SLEEP;
        this.idleNap();
      }
    }
    return ITER_MORE;
  }

  /** Rx coalescing: gives the CPU away for pmd-rx-usecs (see the file comment). */
  private nap(): void {
    if (!this.schedStream && this.schedSwitch) this.setSched(true);
    this.napper!.nap(this.rxUsecs);
    this.cnt[this.cb + PMD_RX_NAPS]++;
    // Nominal time: reading a clock here would allocate. The nap is taken out of the iteration
    // time (idle/busy) and counted as sleep when the window closes.
    this.winNapNs += this.rxUsecs * 1000;
  }

  /**
   * Two scheduling levels for this thread, which already runs at the wake level (PmdInit.nice and
   * wakeSliceUs, applied by the worker at start). `wake` whenever it goes to sleep, so that the
   * kernel runs it at once when a lone packet wakes it (latency): nice `wakeNice` and a short EEVDF
   * slice `wakeSliceNs`, with which its wake-up preempts a thread that is still within a longer
   * slice (1.4 ms by default here); nice alone does not. `stream` (nice `streamNice`, the thread's
   * before, normally the process's; the default slice) from its first nap in a stream on, so that
   * the receivers of that stream, which share the CPUs, are not starved by it. Measured (iperf3 UDP
   * 64 B on veth, 2 vCPUs, before the system ports had RX rings): delivered 105-111 kpps with the
   * PMD at -20 throughout, 121-127 at 0 or -5; with the rings no difference (158-167 kpps at -20
   * throughout, 154-166 switching). Nice ranks threads only within their task group (sched(7)):
   * under autogroup it does not rank the PMD above processes of other sessions, the slice does.
   * A transition is one sched_setattr(2); none happen per packet. If one fails (going back to
   * `wake` needs CAP_SYS_NICE), switching stops and the thread keeps what it has.
   */
  setSchedLevels(wakeNice: number, wakeSliceNs: number, streamNice: number, setter: { threadSched(nice: number, sliceNs: number): number }): void {
    this.schedSetter = setter;
    this.niceWake = wakeNice;
    this.sliceWakeNs = wakeSliceNs;
    this.niceStream = streamNice;
    this.schedStream = false;
    this.schedSwitch = wakeNice !== streamNice || wakeSliceNs !== 0;
  }

  private setSched(stream: boolean): void {
    const r = stream ? this.schedSetter!.threadSched(this.niceStream, 0) : this.schedSetter!.threadSched(this.niceWake, this.sliceWakeNs);
    if (r === 0) this.schedStream = stream;
    else this.schedSwitch = false; // stay where we are, for good
  }

  /**
   * An idle nap (see the file comment). The PMD stays online in the flow table (a grace period
   * waits one nap at most) and on its doorbell (a producer does not ring it: the PMD polls again
   * after the nap), but counts as asleep for the clock thread, and reads the clock itself after
   * the nap (a clock read allocates, as when waking: a nap replaces a sleep). The kick count
   * restarts, so that a PMD that only naps between lone packets leaves the clock thread asleep,
   * as one that blocks does.
   */
  private idleNap(): void {
    this.idleNapsLeft--;
    this.emptyRun = 0;
    // As before a sleep. Without the wake level a PMD that napped in a stream stayed at the
    // stream's level for as long as it did not block (most of the connection test); without
    // sender-cpu a PMD pinned after a lone packet stayed pinned through a storm it naps through,
    // next to one sender, which is what the 1 ms gate is for.
    this.settleForSleep();
    Atomics.sub(this.clkI32, CLK_AWAKE, 1);
    this.napper!.nap(this.idleNapUs);
    Atomics.add(this.clkI32, CLK_AWAKE, 1);
    this.tf[T_LAST_SLEEP] = this.idleNapUs / 1000;
    this.cnt[this.cb + PMD_IDLE_NAPS]++;
    this.winNapNs += this.idleNapUs * 1000;
    this.moreCalls = 0;
    this.readRealTime();
  }

  /**
   * What the PMD does before any sleep or idle nap: it takes the wake scheduling level back (it
   * must run as soon as it is woken or its timer fires) and, with fanout=cpu rxqs, moves next to
   * the sender of a lone packet or takes its own affinity back (sender-cpu.ts; a frame that came
   * after a nap was not lone).
   */
  private settleForSleep(): void {
    if (this.nStride > 0) this.senderCpu.beforeSleep(this.tf[T_LAST_SLEEP]! >= SENDER_CPU_MIN_SLEEP_MS);
    if (this.schedStream && this.schedSwitch) this.setSched(false);
  }

  /** T_NOW from the real clock (allocates: waking and naps only). */
  private readRealTime(): void {
    const t = this.timeOrigin + performance.now();
    if (t > this.tf[T_NOW]!) this.tf[T_NOW] = t;
  }

  /** Sets pmd-rx-usecs (µs); 0, or no addon in this thread, turns rx coalescing off. */
  private setRxUsecs(us: number): void {
    this.rxUsecs = 0;
    if (!(us > 0) || !this.ensureNapper()) return;
    this.rxUsecs = Math.min(Math.floor(us), 1_000_000);
  }

  /** Sets pmd-idle-nap-usecs (µs); 0, or no addon in this thread, turns idle naps off. */
  private setIdleNapUs(us: number): void {
    this.idleNapUs = 0;
    this.idleNapsLeft = 0;
    if (!(us > 0) || !this.ensureNapper()) return;
    this.idleNapUs = Math.min(Math.floor(us), 1_000_000);
  }

  /** Whether the addon's nap is there (memory and pcap ports work without the addon: no naps). */
  private ensureNapper(): boolean {
    if (this.napper !== null) return true;
    try {
      const a = nativeNetdev();
      a.timerSlack(NAP_TIMER_SLACK_NS);
      this.napper = a;
      return true;
    } catch {
      return false;
    }
  }

  /** After a 'yield': the request that needed the event loop (the worker answers it), once. */
  takeYieldRequest(): PmdRequest | null {
    const r = this.pendingYield;
    this.pendingYield = null;
    return r;
  }

  /** The figures of a 'probe' reply (call from the event loop, after a 'yield'). */
  probe(gcCount: number): PmdProbe {
    return { usedHeap: v8.getHeapStatistics().used_heap_size, gcCount, rxqs: this.nPoll, ports: this.nPorts };
  }

  // ---- the fast path ----

  /**
   * Polls rxq `p` of the poll list once and processes what came; transmits it at once if `flush`
   * (else the output stays batched, see `iterate`). Returns packets received.
   */
  private pollOnce(p: number, flush: boolean): number {
    const n = this.pollNetdev[p]!.rxqRecv(this.pollRxq[p]!, this.rxIds, NETDEV_MAX_BURST);
    if (n === 0) return 0;
    this.senderCpu.seen(this.pollRxq[p]!, this.pollStride[p]!);
    this.processBurst(n, this.pollPort[p]!);
    if (flush) this.flushTx();
    this.winRxqPkts[p]! += n;
    return n;
  }

  /**
   * dp_netdev_input__ for `n` packets in `rxIds` received on `inPort`. Split in two methods so
   * that each stays small enough for TurboFan to inline its callees (a call that is not inlined
   * boxes every non-Smi number it passes: an allocation).
   */
  private processBurst(n: number, inPort: number): void {
    const nb = this.classify(n, inPort);
    if (nb > 0) this.executeBatches(nb, inPort);
  }

  /**
   * Extract, look up, group per flow (emc_processing + fast_path_processing +
   * dp_netdev_queue_batches); queues the misses. Returns the number of flow batches.
   */
  private classify(n: number, inPort: number): number {
    const pool = this.pool, data = pool.data, meta = pool.meta, stride = pool.stride;
    const keys = this.keys, pkt = this.pkt, ftp = this.ftp, rxIds = this.rxIds;
    const pktNext = this.pktNext, entryBurst = this.entryBurst, entryBatch = this.entryBatch;
    const bFlow = this.bFlow, bFirst = this.bFirst, bLast = this.bLast, bCount = this.bCount;
    const bBytes = this.bBytes, bFlags = this.bFlags;
    let burst = this.burst + 1;
    if (burst > 0x3fffffff) {
      entryBurst.fill(0);
      burst = 1;
    }
    this.burst = burst;
    // miniflow_extract for the whole burst: keys (and packet registers) of the frames that parse
    // are packed at 0..nv-1; the others are dropped and counted.
    let nv = 0, malformed = 0;
    for (let i = 0; i < n; i++) {
      const id = rxIds[i]!;
      const m = id * META_WORDS;
      const off = id * stride + meta[m + M_OFF]!;
      const len = meta[m + M_LEN]!;
      const pb = nv * PKT_WORDS;
      pkt[pb + PKT_BUF] = id;
      pkt[pb + PKT_OFF] = off;
      pkt[pb + PKT_LEN] = len;
      if (extractFlow(data, off, len, inPort, keys, nv * FLOW_WORDS, pkt, pb + PKT_L2_5) !== EXTRACT_OK) {
        pool.free(id);
        malformed++;
        continue;
      }
      nv++;
    }
    // emc_processing + fast_path_processing (dpcls_lookup) for the burst at once.
    const found = this.found;
    let emc: number, masked: number, lookups: number;
    if (this.lookupMode === 'table') {
      ftp.lookupBatch(keys, 0, nv, found);
      emc = ftp.lastEmcHits;
      masked = ftp.lastMegaflowHits;
      lookups = ftp.lastSubtables;
    } else {
      emc = 0;
      masked = 0;
      lookups = 0;
      for (let i = 0; i < nv; i++) {
        const e = this.baselineLookup(keys, i * FLOW_WORDS);
        found[i] = e;
        if (e >= 0 && ftp.lastPath === LOOKUP_EMC) emc++;
        else if (e >= 0) masked++;
      }
    }
    // dp_netdev_queue_batches: group the hits per flow in arrival order; queue the misses.
    let nb = 0, nMiss = 0;
    for (let i = 0; i < nv; i++) {
      const e = found[i]!;
      if (e < 0) {
        this.missIds[nMiss] = pkt[i * PKT_WORDS + PKT_BUF]!;
        this.missPkt[nMiss] = i;
        nMiss++;
        continue;
      }
      let b: number;
      if (entryBurst[e] === burst) {
        b = entryBatch[e]!;
        pktNext[bLast[b]!] = i;
      } else {
        b = nb++;
        entryBurst[e] = burst;
        entryBatch[e] = b;
        bFlow[b] = e;
        bFirst[b] = i;
        bCount[b] = 0;
        bBytes[b] = 0;
        bFlags[b] = 0;
      }
      bLast[b] = i;
      pktNext[i] = -1;
      bCount[b]!++;
      bBytes[b]! += pkt[i * PKT_WORDS + PKT_LEN]!;
      bFlags[b]! |= keys[i * FLOW_WORDS + W_TCP_FLAGS]! & 0xfff;
    }
    const cnt = this.cnt, cb = this.cb;
    cnt[cb + PMD_STAT_EXACT_HIT] += emc;
    cnt[cb + PMD_STAT_MASKED_HIT] += masked;
    cnt[cb + PMD_STAT_MASKED_LOOKUP] += lookups;
    if (malformed > 0) cnt[cb + PMD_STAT_MALFORMED] += malformed;
    if (nMiss > 0) this.upcallMisses(nMiss, inPort);
    // Last: a reader that sees `recv` include these packets sees where each of them went.
    cnt[cb + PMD_STAT_RECV] += n;
    return nb;
  }

  /** packet_batch_per_flow_execute for each batch: stats once per flow, actions read once per flow. */
  private executeBatches(nb: number, inPort: number): void {
    const table = this.table, tbytes = table.bytes, exec = this.exec, out = this.out, pool = this.pool;
    const pkt = this.pkt, pktNext = this.pktNext, bFlow = this.bFlow, bFirst = this.bFirst;
    const nowMs = this.tf[T_NOW]!;
    this.curInPort = inPort;
    for (let b = 0; b < nb; b++) {
      const e = bFlow[b]!;
      table.statsAdd(e, this.pmdId, this.bCount[b]!, this.bBytes[b]!, this.bFlags[b]!, nowMs);
      const aoff = table.actionsOffset(table.flowActions(e));
      // The most common list, a single output: the whole batch goes to the port's tx batch as
      // received (OVS executes an output for a whole packet batch too); no per-packet executor.
      if (tbytes[aoff + OA_COUNT] === 1 && tbytes[aoff + ODP_ACTIONS_HDR] === ODP_OUTPUT && tbytes[aoff + ODP_ACTIONS_HDR + 1] === 6) {
        const q = aoff + ODP_ACTIONS_HDR + 2;
        this.outputBatch(b, ((tbytes[q]! << 24) | (tbytes[q + 1]! << 16) | (tbytes[q + 2]! << 8) | tbytes[q + 3]!) >>> 0);
        continue;
      }
      for (let i = bFirst[b]!; i >= 0; i = pktNext[i]!) {
        const pb = i * PKT_WORDS;
        this.curPkt = i;
        const r = exec.execute(tbytes, aoff, pkt, pb, out);
        if (out.count > 0) this.emitOutputs();
        if ((r & EXEC_KEEP) === 0) pool.free(pkt[pb + PKT_BUF]!);
        if ((r & EXEC_FAILED) !== 0) this.cnt[this.cb + PMD_STAT_TX_DROPPED]++;
      }
    }
  }

  /** Sends every packet of flow batch `b`, unchanged, to odp port `port` (or drops them if it is gone). */
  private outputBatch(b: number, port: number): void {
    const pkt = this.pkt, pktNext = this.pktNext;
    const nd = port < MAX_ODP_PORTS ? this.portNetdev[port] : null;
    if (nd === null || nd === undefined) {
      for (let i = this.bFirst[b]!; i >= 0; i = pktNext[i]!) this.pool.free(pkt[i * PKT_WORDS + PKT_BUF]!);
      this.cnt[this.cb + PMD_STAT_TX_DROPPED] += this.bCount[b]!;
      return;
    }
    const ids = this.txIds[port]!;
    if (this.txDirty[port] === 0) {
      this.txDirty[port] = 1;
      this.dirtyList[this.nDirty++] = port;
    }
    let t = this.txCount[port]!;
    for (let i = this.bFirst[b]!; i >= 0; i = pktNext[i]!) {
      ids[t++] = pkt[i * PKT_WORDS + PKT_BUF]!;
      if (t === NETDEV_MAX_BURST) {
        this.txCount[port] = t;
        this.flushPort(port);
        t = 0;
      }
    }
    this.txCount[port] = t;
  }

  /**
   * The 'map' benchmark baseline (see PmdLookupMode): a Map from the packed key to the entry,
   * filled from dpcls on a miss, checked for liveness by the entry's generation (odd = alive).
   */
  private baselineLookup(keys: Uint32Array, kb: number): number {
    let s = '';
    for (let i = 0; i < FLOW_WORDS; i++) {
      const w = keys[kb + i]!;
      s += String.fromCharCode(w & 0xffff, w >>> 16);
    }
    const hit = this.baselineMap.get(s);
    if (hit !== undefined && (this.table.entryGen(hit) & 1) === 1) {
      this.ftp.lastPath = LOOKUP_EMC;
      return hit;
    }
    const e = this.ftp.dpclsLookup(keys, kb);
    if (e >= 0) {
      this.baselineMap.set(s, e);
      this.ftp.lastPath = LOOKUP_MEGAFLOW;
    }
    return e;
  }

  /**
   * handle_packet_upcall, queue side: records (stamped with the loop time tf[T_NOW], ms), then one
   * push on the in_port's MISS ring.
   */
  private upcallMisses(nMiss: number, inPort: number): void {
    const area = this.area, meta = this.pool.meta, ids = this.missIds, keys = this.keys;
    for (let j = 0; j < nMiss; j++) {
      const id = ids[j]!;
      area.writeMiss(id, inPort, keys, this.missPkt[j]! * FLOW_WORDS, this.tf, T_NOW);
      meta[id * META_WORDS + M_IN_PORT] = inPort;
    }
    const up = this.portUpcall[inPort];
    const k = up !== null && up !== undefined ? up.push(ids, 0, nMiss) : 0;
    for (let j = k; j < nMiss; j++) this.pool.free(ids[j]!);
    this.cnt[this.cb + PMD_STAT_MISS] += k;
    if (k < nMiss) this.cnt[this.cb + PMD_STAT_LOST] += nMiss - k;
  }

  /** OdpUpcallSink: a `userspace` action. Copies the packet into its own buffer and queues it. */
  actionUpcall(bytes: Uint8Array, off: number, len: number, pid: number, actions: Uint8Array, udOff: number, udLen: number): boolean {
    const inPort = this.curInPort;
    const up = this.portUpcall[inPort];
    const pool = this.pool;
    const nb = up !== null && up !== undefined ? pool.alloc() : -1;
    if (nb < 0 || pool.headroom + len > pool.stride) {
      if (nb >= 0) pool.free(nb);
      this.cnt[this.cb + PMD_STAT_ACTION_LOST]++;
      return false;
    }
    const dst = nb * pool.stride + pool.headroom;
    bytes.copyWithin(dst, off, off + len);
    const m = nb * META_WORDS;
    pool.meta[m + M_LEN] = len;
    pool.meta[m + M_IN_PORT] = inPort;
    this.area.writeAction(nb, inPort, this.keys, this.curPkt * FLOW_WORDS, pid, actions, udOff, udLen, this.tf, T_NOW);
    // The port's ACTION ring: a MISS storm filling the MISS ring cannot crowd it out.
    if (up!.pushAction(nb)) {
      this.cnt[this.cb + PMD_STAT_ACTION_UPCALL]++;
      return true;
    }
    pool.free(nb);
    this.cnt[this.cb + PMD_STAT_ACTION_LOST]++;
    return false;
  }

  /**
   * Moves one packet's output entries to the per-port tx batches. Entries of one packet that share
   * a buffer get copies (all but the last), so that each tx entry owns its buffer.
   */
  private emitOutputs(): void {
    const out = this.out, c = out.count, pool = this.pool, meta = pool.meta, stride = pool.stride;
    for (let j = 0; j < c; j++) {
      let buf = out.buf[j]!;
      let off = out.off[j]!;
      const len = out.len[j]!;
      const port = out.port[j]!;
      let shared = false;
      for (let k = j + 1; k < c; k++) {
        if (out.buf[k] === buf) {
          shared = true;
          break;
        }
      }
      const nd = port < MAX_ODP_PORTS ? this.portNetdev[port] : null;
      if (nd === null || nd === undefined) {
        if (!shared) pool.free(buf);
        this.cnt[this.cb + PMD_STAT_TX_DROPPED]++;
        continue;
      }
      if (shared) {
        const nb = pool.alloc();
        if (nb < 0) {
          this.cnt[this.cb + PMD_STAT_TX_DROPPED]++;
          continue;
        }
        const head = pool.headroom + len <= stride ? pool.headroom : 0;
        const dst = nb * stride + head;
        pool.data.copyWithin(dst, off, off + len);
        buf = nb;
        off = dst;
      }
      const m = buf * META_WORDS;
      meta[m + M_OFF] = off - buf * stride;
      meta[m + M_LEN] = len;
      const ids = this.txIds[port]!;
      const t = this.txCount[port]!;
      ids[t] = buf;
      this.txCount[port] = t + 1;
      if (this.txDirty[port] === 0) {
        this.txDirty[port] = 1;
        this.dirtyList[this.nDirty++] = port;
      }
      if (t + 1 === NETDEV_MAX_BURST) this.flushPort(port);
    }
    out.count = 0;
  }

  /** dp_netdev_pmd_flush_output_on_port. */
  private flushPort(port: number): void {
    const n = this.txCount[port]!;
    if (n === 0) return;
    this.txCount[port] = 0;
    this.portNetdev[port]!.send(this.pmdId, this.txIds[port]!, n);
    this.cnt[this.cb + PMD_STAT_SENT_PKTS] += n;
    this.cnt[this.cb + PMD_STAT_SENT_BATCHES]++;
  }

  /** dp_netdev_pmd_flush_output_packets(force). */
  private flushTx(): void {
    const list = this.dirtyList;
    for (let i = 0; i < this.nDirty; i++) {
      const port = list[i]!;
      this.txDirty[port] = 0;
      this.txHeld[port] = 0;
      this.flushPort(port);
    }
    this.nDirty = 0;
  }

  /** Before a nap: flushes the output batches held through TX_HOLD_NAPS naps already, keeps the others. */
  private holdTx(): void {
    const list = this.dirtyList;
    let k = 0;
    for (let i = 0; i < this.nDirty; i++) {
      const port = list[i]!;
      if (this.txHeld[port]! >= TX_HOLD_NAPS || this.txCount[port] === 0) {
        this.txDirty[port] = 0;
        this.txHeld[port] = 0;
        this.flushPort(port);
      } else {
        this.txHeld[port]!++;
        list[k++] = port;
      }
    }
    this.cnt[this.cb + PMD_TX_HELD] += k;
    this.nDirty = k;
  }

  // ---- idle, housekeeping ----

  /**
   * Called every iteration; acts when the shared clock ticked (1 ms): advances tf[T_NOW], closes
   * the accounting window, runs the housekeeping that is due. Called every iteration (not only on
   * ticks) so that it is hot and compiled early: code that runs only a thousand times a second
   * stays interpreted for seconds, and interpreted code boxes every double it touches.
   */
  private clockTick(): void {
    const c = this.clk[CLK_NOW_F64]!;
    if (c === this.tf[T_LAST_TICK]) return;
    this.tf[T_LAST_TICK] = c;
    if (c <= this.tf[T_WIN_START]!) return; // the clock thread has not caught up with our last real read
    if (c > this.tf[T_NOW]!) this.tf[T_NOW] = c;
    this.tf[T_WIN_END] = c;
    this.closeWindow();
    if (c >= this.tf[T_NEXT_OPT]!) {
      // Our own schedule and a Smi argument: passing the time would box it.
      this.tf[T_NEXT_OPT] = c + DPCLS_OPTIMIZATION_INTERVAL_MS;
      this.ftp.optimize(0, true);
    }
    if (c >= this.tf[T_INTERVAL_END]!) {
      this.sched.f64[this.schedPmdBase + SCHED_P_NOW] = c;
      this.sched.rotate(this.pmdId, this.pollSched, this.nPoll);
      this.tf[T_INTERVAL_END] = c + PMD_INTERVAL_MS;
    }
  }

  /**
   * Splits the window [T_WIN_START, T_WIN_END) into idle and busy ns: idle iterations cost
   * T_IDLE_ITER_NS each (learned from windows without packets), the rest is busy, and busy time
   * goes to the rxqs in proportion to the packets each gave. Allocates nothing.
   *
   * Written without data-dependent branches around property accesses, calls or arithmetic:
   * every operation runs on every call, so its type feedback exists from the first calls and the
   * optimized code never meets an operation it has no feedback for (that deoptimizes it, and until
   * it is compiled again, seconds for a function called a thousand times a second, interpreted
   * code boxes every double: allocations). Values are chosen with conditional expressions instead.
   */
  private closeWindow(): void {
    const tf = this.tf, cnt = this.cnt, cb = this.cb, f = this.sched.f64;
    const rxqPkts = this.winRxqPkts, slots = this.pollSched, nPoll = this.nPoll;
    const busyIters = this.winBusyIters, idleIters = this.winIdleIters, pkts = this.winPackets;
    this.winBusyIters = 0;
    this.winIdleIters = 0;
    this.winPackets = 0;
    const napNs = this.winNapNs;
    this.winNapNs = 0;
    cnt[cb + PMD_CYCLES_SLEEP] += napNs;
    const end = tf[T_WIN_END]!;
    const span = (end - tf[T_WIN_START]!) * 1e6 - napNs;
    tf[T_WIN_START] = end;
    const ns = span > 0 ? span : 0;
    const allIdle = busyIters === 0;
    const idleGuess = idleIters * tf[T_IDLE_ITER_NS]!;
    const idle = allIdle || idleGuess > ns ? ns : idleGuess;
    const busy = ns - idle;
    cnt[cb + PMD_CYCLES_ITER_IDLE] += idle;
    cnt[cb + PMD_CYCLES_ITER_BUSY] += busy;
    f[this.schedPmdBase + SCHED_P_BUSY] += busy;
    const perPkt = busy / (pkts > 0 ? pkts : 1);
    for (let p = 0; p < nPoll; p++) {
      f[slots[p]! * SCHED_SLOT + SCHED_CUR] += rxqPkts[p]! * perPkt;
      rxqPkts[p] = 0;
    }
    // Learn the cost of an idle iteration from windows without packets (EWMA), and the spin.
    const learned = 0.75 * tf[T_IDLE_ITER_NS]! + 0.25 * (ns / (idleIters > 0 ? idleIters : 1));
    tf[T_IDLE_ITER_NS] = allIdle && idleIters > 16 && ns > 0 ? learned : tf[T_IDLE_ITER_NS]!;
    this.respin();
  }

  /** Closes the window at a real clock reading (allocates: sleep, wake and control paths only). */
  private closeWindowReal(): void {
    const t = this.timeOrigin + performance.now();
    if (t > this.tf[T_NOW]!) this.tf[T_NOW] = t;
    this.tf[T_WIN_END] = t;
    this.closeWindow();
  }

  /** Empty iterations before sleeping: idleSpinUs worth (at least 16), or 1 for idleSpinUs 0. */
  private respin(): void {
    if (!(this.idleSpinUs > 0)) {
      this.spinIters = 1;
      return;
    }
    const n = Math.round((this.idleSpinUs * 1000) / this.tf[T_IDLE_ITER_NS]!);
    this.spinIters = n < 16 ? 16 : n;
  }

  /**
   * Becomes awake: counted by the clock thread (which ticks while any PMD is awake, once one of
   * them has kicked it: CLOCK_KICK_CALLS), online, real time.
   */
  private wake(): void {
    Atomics.add(this.clkI32, CLK_AWAKE, 1);
    this.pollSkip.fill(0, 0, this.nPoll);
    this.moreCalls = 0;
    this.ftp.online();
    this.readRealTime();
    this.tf[T_WIN_START] = this.tf[T_NOW]!;
  }

  /** Stops being awake (before sleeping or returning from `run`). */
  private asleep(): void {
    if (!this.closed) this.ftp.offline();
    Atomics.sub(this.clkI32, CLK_AWAKE, 1);
  }

  private sleep(): void {
    const bank = this.bank, slot = this.bellSlot;
    this.closeWindowReal();
    this.housekeeping();
    this.asleep();
    const viaFd = this.fdSleep.active;
    const seq = bank.prepareSleep(slot, viaFd);
    let timeout = this.maxSleepMs;
    for (let p = 0; p < this.nPoll && timeout > 0; p++) {
      if (viaFd && this.fdSleep.watches(p)) continue; // poll(2) watches its fd
      const h = this.pollNetdev[p]!.rxqWaitHint(this.pollRxq[p]!);
      if (h < timeout) timeout = h;
    }
    const due = this.tf[T_INTERVAL_END]! - this.tf[T_NOW]!;
    if (due < timeout) timeout = due > 0 ? due : 0;
    if (Atomics.load(this.ctl, 0) !== this.ctlSeen) timeout = 0;
    const before = this.tf[T_NOW]!;
    if (timeout > 0) {
      this.settleForSleep();
      this.cnt[this.cb + PMD_SLEEP_ITER]++;
      if (viaFd) {
        this.fdSleep.sleep(timeout);
        bank.endSleep(slot);
      } else bank.sleep(slot, seq, timeout);
    } else bank.endSleep(slot);
    this.wake();
    this.tf[T_LAST_SLEEP] = this.tf[T_NOW]! - before;
    this.cnt[this.cb + PMD_CYCLES_SLEEP] += this.tf[T_LAST_SLEEP]! * 1e6;
  }

  /**
   * Housekeeping before sleeping (the running loop does the same inline on clock ticks): dpcls
   * re-rank once a second (FlowTablePmd.optimize), usage interval rotation every 5 s.
   */
  private housekeeping(): void {
    const now = this.tf[T_NOW]!;
    if (now >= this.tf[T_NEXT_OPT]!) {
      // Our own schedule and a Smi argument: passing the time would box it.
      this.tf[T_NEXT_OPT] = now + DPCLS_OPTIMIZATION_INTERVAL_MS;
      this.ftp.optimize(0, true);
    }
    if (now >= this.tf[T_INTERVAL_END]!) {
      this.sched.f64[this.schedPmdBase + SCHED_P_NOW] = now;
      this.sched.rotate(this.pmdId, this.pollSched, this.nPoll);
      this.tf[T_INTERVAL_END] = now + PMD_INTERVAL_MS;
    }
  }

  // ---- control ----

  /** Applies pending control messages. Returns non-null when `run` must return. */
  private control(): PmdRunResult | null {
    this.ctlSeen = Atomics.load(this.ctl, 0);
    for (let msg = this.io.receive(); msg !== undefined; msg = this.io.receive()) {
      try {
        switch (msg.op) {
          case 'addPort': {
            if (this.portNetdev[msg.portNo] !== null) throw new Error(`port ${msg.portNo} already attached`);
            this.portNetdev[msg.portNo] = attachNetdev(msg.netdev, this.pool);
            this.portUpcall[msg.portNo] = UpcallQueue.producer(msg.upcall, this.pmdId);
            this.txIds[msg.portNo] = new Uint32Array(NETDEV_MAX_BURST);
            this.txCount[msg.portNo] = 0;
            this.nPorts++;
            break;
          }
          case 'delPort':
            this.detachPort(msg.portNo);
            break;
          case 'addRxq': {
            const nd = this.portNetdev[msg.portNo];
            if (!nd) throw new Error(`rxq of unknown port ${msg.portNo}`);
            if (this.nPoll >= PMD_MAX_POLL) throw new Error(`more than ${PMD_MAX_POLL} rxqs`);
            const p = this.nPoll++;
            this.pollNetdev[p] = nd;
            this.pollPort[p] = msg.portNo;
            this.pollRxq[p] = msg.rxq;
            this.pollSched[p] = msg.schedSlot;
            this.pollEvery[p] = nd.rxqPollIsSyscall?.(msg.rxq) === true ? RXQ_SYSCALL_POLL_EVERY : 1;
            this.pollSkip[p] = 0;
            this.pollStride[p] = nd.rxqCpuStride?.(msg.rxq) ?? 0;
            if (this.pollStride[p]! > 0) this.nStride++;
            nd.rxqBindDoorbell(msg.rxq, this.bellSlot);
            this.fdSleep.rebuild(this.pollNetdev, this.pollRxq, this.nPoll);
            break;
          }
          case 'delRxq':
            this.removeRxq(msg.portNo, msg.rxq);
            break;
          case 'config':
            if (msg.rxUsecs !== undefined) this.setRxUsecs(msg.rxUsecs);
            if (msg.idleNapUs !== undefined) this.setIdleNapUs(msg.idleNapUs);
            if (msg.idleSpinUs !== undefined) {
              this.idleSpinUs = msg.idleSpinUs;
              this.respin();
            }
            if (msg.maxSleepMs !== undefined) this.maxSleepMs = msg.maxSleepMs;
            if (msg.lookup !== undefined) {
              this.lookupMode = msg.lookup;
              this.baselineMap.clear();
            }
            break;
          case 'probe':
            // `run` returns: offline while the thread is in its event loop (writers do not wait).
            this.pendingYield = msg;
            this.ctlSeen = (this.ctlSeen - 1) | 0; // look at the port again after resuming
            return 'yield';
          case 'quit':
            this.shutdown();
            this.io.reply({ seq: msg.seq });
            return 'quit';
        }
        this.io.reply({ seq: msg.seq });
      } catch (e) {
        this.io.reply({ seq: msg.seq, error: (e as Error).message });
      }
    }
    return null;
  }

  private removeRxq(portNo: number, rxq: number): boolean {
    for (let p = 0; p < this.nPoll; p++) {
      if (this.pollPort[p] !== portNo || this.pollRxq[p] !== rxq) continue;
      this.pollNetdev[p]!.rxqBindDoorbell(rxq, -1);
      if (this.pollStride[p]! > 0 && --this.nStride === 0) this.senderCpu.release();
      const last = --this.nPoll;
      for (let q = p; q < last; q++) {
        this.pollNetdev[q] = this.pollNetdev[q + 1]!;
        this.pollPort[q] = this.pollPort[q + 1]!;
        this.pollRxq[q] = this.pollRxq[q + 1]!;
        this.pollSched[q] = this.pollSched[q + 1]!;
        this.pollEvery[q] = this.pollEvery[q + 1]!;
        this.pollSkip[q] = this.pollSkip[q + 1]!;
        this.pollStride[q] = this.pollStride[q + 1]!;
      }
      this.pollNetdev.length = last;
      this.fdSleep.rebuild(this.pollNetdev, this.pollRxq, this.nPoll);
      return true;
    }
    return false;
  }

  private detachPort(portNo: number): void {
    const nd = this.portNetdev[portNo];
    if (!nd) return;
    for (let p = this.nPoll - 1; p >= 0; p--) if (this.pollPort[p] === portNo) this.removeRxq(portNo, this.pollRxq[p]!);
    this.flushTx();
    nd.close();
    this.portNetdev[portNo] = null;
    this.portUpcall[portNo] = null;
    this.txIds[portNo] = null;
    this.nPorts--;
  }

  private shutdown(): void {
    this.flushTx();
    for (let port = 0; port < MAX_ODP_PORTS; port++) if (this.portNetdev[port]) this.detachPort(port);
    this.ftp.close();
    this.closed = true;
    this.pool.flush();
  }
}
