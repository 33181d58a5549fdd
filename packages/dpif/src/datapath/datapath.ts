/**
 * The userspace datapath (OVS lib/dpif-netdev.c dp_netdev), implementing `Dpif` (../dpif.ts) on
 * the control thread. It owns the shared structures (packet pool, flow table, doorbell bank, upcall
 * area and queues, PMD counters, rxq interval stats), the ports (this thread's netdev objects),
 * and the PMD worker threads, which it reconfigures by messages with a safe handover: an rxq is
 * released by its old PMD (which stops polling it and unbinds its doorbell) before the new PMD is
 * told to poll it, so exactly one thread consumes an rxq at any time and no received packet is
 * lost in the move.
 *
 * Reconfigurations (port add/del, PMD count) run one at a time, in call order.
 *
 * A PMD thread that dies (uncaught exception, Worker.terminate) is noticed on its Worker's 'exit'
 * event: its flow-table QSBR slot is released at once (`qsbrReleaseDead`), outside the
 * reconfiguration chain, so flow-table writers in any thread (handlers, revalidators) stop waiting
 * for a grace period it would never end; `onPmdExit` listeners (the daemon's supervisor) are told,
 * and `restartPmd(id)` starts a replacement with the same id. Until then the dead PMD's rxqs are
 * not polled (their frames wait in the rxq rings).
 */
import { CounterSet, DoorbellBank, PacketPool } from '@tsvs/shm';
import type { PacketPoolOptions } from '@tsvs/shm';
import { createNetdev, NetdevError } from '@tsvs/netdev';
import type { Netdev, NetdevStats } from '@tsvs/netdev';
import { FlowTable, QSBR_STRIDE, qsbrReleaseDead } from '../flow-table/index.js';
import type {
  FlowDump, FlowErrno, FlowInfo, FlowOp, FlowOpResult, FlowPut, FlowPutResult, FlowStats, FlowTableOptions,
} from '../flow-table/index.js';
import {
  DpifError, MAX_ODP_PORTS, ODPP_LOCAL,
  type Dpif, type DpifExecute, type DpifExecuteResult, type DpifPort, type DpifPortSpec, type DpifStats,
  type RxqAssign,
} from '../dpif.js';
import { UpcallArea } from '../upcall/upcall-area.js';
import { UpcallQueue, type UpcallProducer, type UpcallQueueDescriptor, type UpcallQueueStats } from '../upcall/upcall-queue.js';
import { PmdThread, type PmdInitBase, type PmdRequestBody } from '../pmd/pmd-thread.js';
import type { PmdLookupMode, PmdProbe } from '../pmd/pmd-messages.js';
import {
  PMD_COUNTER_NAMES, emptyPmdCounters, formatPmdRxqShow, formatPmdStatsShow,
  type PmdCounterName, type PmdRxqShow, type PmdStatsSnapshot,
} from '../pmd/pmd-stats.js';
import { PMD_INTERVAL_MAX, PMD_INTERVAL_MS, SchedStats } from '../pmd/sched-stats.js';
import { assignRxqs } from '../pmd/rxq-sched.js';
import { DpClock } from '../pmd/dp-clock.js';
import { ExecContext } from './exec-context.js';

/** Options of `Datapath.open`. Sizes are fixed for the datapath's life. */
export interface DatapathOptions {
  /** Datapath name, also the local port's name. Default "tsvs0". */
  readonly name?: string;
  /** PMD threads at start. Default 1. */
  readonly nPmds?: number;
  /** Most PMD threads ever (flow table stats slots, upcall rings per port). Default 4. */
  readonly maxPmds?: number;
  /** Packet buffer pool. Default 16384 buffers of 2048 + 64 bytes. */
  readonly pool?: PacketPoolOptions;
  /** Flow table sizing (capacity default 200000, emcInsertInvProb default 100). `maxPmds` is ours. */
  readonly flowTable?: Omit<FlowTableOptions, 'maxPmds'>;
  /** Slots of each producer's upcall ring (power of two). Default 1024. */
  readonly upcallQueueSize?: number;
  /** `pmd-rxq-assign`. Default roundrobin. */
  readonly rxqAssign?: RxqAssign;
  /** Idle polling before a PMD sleeps, µs. Default 20; 0: sleep after the first empty poll. */
  readonly idleSpinUs?: number;
  /** Longest PMD sleep without a doorbell, ms. Default 500. */
  readonly maxSleepMs?: number;
  /** pmd-rx-usecs: PMD nap between partial rx bursts of a running stream, µs (pmd/pmd-loop.ts). Default 0 (off). */
  readonly rxUsecs?: number;
  /**
   * pmd-idle-nap-usecs: nap of an idle PMD with socket rxqs after traffic, µs, IDLE_NAPS times
   * before it blocks in poll(2) (pmd/pmd-loop.ts). Default 0 (off: block at once).
   */
  readonly idleNapUs?: number;
  /** Nice value of the PMD threads (-20..19; each sets its own), or null (default) to keep the process's. */
  readonly pmdNice?: number | null;
  /**
   * EEVDF slice of a PMD thread while it sleeps and wakes for lone packets, µs (0 = the kernel's
   * default, else 100..100000; PmdLoop.setSchedLevels). Default 0. Needs Linux >= 6.12 to matter.
   */
  readonly pmdWakeSliceUs?: number;
  /** Tick period of the shared datapath clock, ms. Default 1. */
  readonly clockPeriodMs?: number;
  /** Most rxqs in the datapath. Default 1024. */
  readonly maxRxqs?: number;
  /** Log sink for flow table put failures. */
  readonly log?: (line: string) => void;
  /**
   * Netdev type of the local port (odp port 0, named after the datapath). `memory` (default): an
   * in-process port; `internal`: a TAP interface on the host (@tsvs/netdev), as OVS's internal port
   * on the netdev datapath, deleted when the datapath closes or the process ends. `internal` needs
   * CAP_NET_ADMIN: without it (or with the name taken) `open` rejects with DpifError
   * `cannot open internal port NAME: ...`.
   */
  readonly localPortType?: 'memory' | 'internal';
}

/** A PMD thread's exit, as `onPmdExit` listeners get it. */
export interface PmdExitEvent {
  readonly pmdId: number;
  /** The thread's id while it ran. */
  readonly threadId: number;
  readonly code: number;
  /** First line of the error it died of (uncaught exception), if any. */
  readonly error?: string;
  /** True when the datapath stopped it (fewer PMDs, close); false for a death. */
  readonly expected: boolean;
  /** Date.now() when the exit was seen. */
  readonly atMs: number;
}

interface PortRec {
  readonly name: string;
  readonly portNo: number;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly netdev: Netdev;
  readonly upcall: UpcallQueue;
  readonly upcallDesc: UpcallQueueDescriptor;
  readonly producer: UpcallProducer;
  /** SchedStats slot of each rxq. */
  readonly schedSlots: number[];
}

const rxqKey = (portNo: number, rxq: number): string => `${portNo}/${rxq}`;

export class Datapath implements Dpif {
  readonly name: string;
  readonly maxPmds: number;
  readonly pool: PacketPool;
  readonly table: FlowTable;
  readonly bank: DoorbellBank;
  readonly upcallArea: UpcallArea;
  readonly counters: CounterSet;
  readonly sched: SchedStats;
  /** The shared clock PMDs read (a clock thread ticks it while PMDs are awake). */
  readonly clock: DpClock;
  rxqAssign: RxqAssign;
  private readonly upcallQueueSize: number;
  private idleSpinUs: number;
  private rxUsecs: number;
  private idleNapUs: number;
  private readonly pmdNice: number | null;
  private readonly pmdWakeSliceUs: number;
  private maxSleepMs: number;
  private readonly ports = new Map<number, PortRec>();
  private readonly pmds = new Map<number, PmdThread>();
  private readonly rxqOwner = new Map<string, number>();
  private readonly freeSchedSlots: number[];
  /** Counter values at the last `pmdStatsClear`, per PMD id. */
  private readonly zero = new Map<number, Record<PmdCounterName, number>>();
  /** Counters of PMD threads that were stopped (kept in the datapath totals). */
  private readonly retired = emptyPmdCounters();
  private readonly execCtx: ExecContext;
  /** PMD ids the datapath is stopping (their exit is expected). */
  private readonly stopping = new Set<number>();
  /** PMD ids whose thread died and has not been replaced (still in `pmds`). */
  private readonly deadPmds = new Set<number>();
  /** Thread id of each PMD thread, kept for its exit event. */
  private readonly pmdThreadIds = new Map<number, number>();
  private readonly pmdExitListeners = new Set<(e: PmdExitEvent) => void>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(opts: DatapathOptions) {
    this.name = opts.name ?? 'tsvs0';
    this.maxPmds = opts.maxPmds ?? 4;
    if (!Number.isInteger(this.maxPmds) || this.maxPmds < 1 || this.maxPmds > 64) {
      throw new DpifError(`maxPmds ${this.maxPmds} out of range [1, 64]`);
    }
    this.pool = PacketPool.create({ maxThreads: 16 + this.maxPmds, ...opts.pool });
    this.table = FlowTable.create({ ...opts.flowTable, maxPmds: this.maxPmds }, opts.log ? { log: opts.log } : {});
    this.bank = DoorbellBank.create(128);
    this.upcallArea = UpcallArea.create(this.pool.nBufs);
    this.counters = CounterSet.create(PMD_COUNTER_NAMES, this.maxPmds);
    const maxRxqs = opts.maxRxqs ?? 1024;
    this.sched = SchedStats.create(maxRxqs, this.maxPmds);
    this.freeSchedSlots = Array.from({ length: maxRxqs }, (_, i) => maxRxqs - 1 - i);
    this.upcallQueueSize = opts.upcallQueueSize ?? 1024;
    this.rxqAssign = opts.rxqAssign ?? 'roundrobin';
    this.idleSpinUs = opts.idleSpinUs ?? 20;
    this.maxSleepMs = opts.maxSleepMs ?? 500;
    this.rxUsecs = checkNapUsecs('pmd-rx-usecs', opts.rxUsecs ?? 0);
    this.idleNapUs = checkNapUsecs('pmd-idle-nap-usecs', opts.idleNapUs ?? 0);
    this.pmdNice = opts.pmdNice ?? null;
    if (this.pmdNice !== null && !(Number.isInteger(this.pmdNice) && this.pmdNice >= -20 && this.pmdNice <= 19)) {
      throw new DpifError(`pmdNice ${this.pmdNice} must be an integer -20..19`);
    }
    this.pmdWakeSliceUs = opts.pmdWakeSliceUs ?? 0;
    if (!(Number.isInteger(this.pmdWakeSliceUs) && (this.pmdWakeSliceUs === 0 || (this.pmdWakeSliceUs >= 100 && this.pmdWakeSliceUs <= 100_000)))) {
      throw new DpifError(`pmdWakeSliceUs ${this.pmdWakeSliceUs} must be 0 or an integer 100..100000`);
    }
    this.clock = DpClock.start(opts.clockPeriodMs ?? 1);
    this.execCtx = new ExecContext(this.pool, this.upcallArea, {
      netdev: (p) => this.ports.get(p)?.netdev,
      upcallProducer: (p) => this.ports.get(p)?.producer,
      txq: this.maxPmds,
    });
  }

  /**
   * Creates a datapath with its local port (port 0, named after the datapath, of type
   * `localPortType`) and `nPmds` PMD threads. Throws DpifError on bad options and when the local
   * port cannot be created (nothing is left running then).
   */
  static async open(opts: DatapathOptions = {}): Promise<Datapath> {
    const dp = new Datapath(opts);
    const n = opts.nPmds ?? 1;
    try {
      if (!Number.isInteger(n) || n < 1 || n > dp.maxPmds) throw new DpifError(`nPmds ${n} out of range [1, ${dp.maxPmds}]`);
      const localType = opts.localPortType ?? 'memory';
      if (localType !== 'memory' && localType !== 'internal') throw new DpifError(`local port type '${String(localType)}' must be memory or internal`);
      await dp.startPmds(n);
      await dp.portAddNow({ name: dp.name, type: localType, portNo: ODPP_LOCAL });
    } catch (e) {
      await dp.close();
      throw e;
    }
    return dp;
  }

  /** Runs reconfigurations one at a time. */
  private serialize<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DpifError(`datapath ${this.name} is closed`));
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  // ---- ports ----

  portAdd(spec: DpifPortSpec): Promise<number> {
    return this.serialize(() => this.portAddNow(spec));
  }

  private async portAddNow(spec: DpifPortSpec): Promise<number> {
    if (typeof spec.name !== 'string' || spec.name === '') throw new DpifError('port name must be a non-empty string');
    for (const p of this.ports.values()) {
      if (p.name === spec.name) throw new DpifError(`port name '${spec.name}' is in use (port ${p.portNo})`, 'EEXIST');
    }
    let portNo = spec.portNo;
    if (portNo === undefined) {
      portNo = 1;
      while (this.ports.has(portNo)) portNo++;
    }
    if (!Number.isInteger(portNo) || portNo < 0 || portNo >= MAX_ODP_PORTS) {
      throw new DpifError(`port number ${portNo} out of range [0, ${MAX_ODP_PORTS - 1}]`, 'EFBIG');
    }
    if (this.ports.has(portNo)) throw new DpifError(`port number ${portNo} is in use`, 'EEXIST');
    let netdev: Netdev;
    try {
      netdev = createNetdev({ name: spec.name, type: spec.type, options: spec.options ?? {} }, { pool: this.pool, bank: this.bank });
    } catch (e) {
      if (e instanceof NetdevError) throw new DpifError(e.message);
      throw e;
    }
    if (netdev.nRxq > this.freeSchedSlots.length) {
      releaseNetdev(netdev);
      throw new DpifError(`${spec.name}: ${netdev.nRxq} rxqs exceed the datapath's free rxq slots (${this.freeSchedSlots.length})`);
    }
    const schedSlots = Array.from({ length: netdev.nRxq }, () => this.freeSchedSlots.pop()!);
    for (const s of schedSlots) this.sched.rxqReset(s);
    const upcall = new UpcallQueue(portNo, this.maxPmds + 1, this.upcallQueueSize, this.bank, this.upcallArea, this.pool);
    const upcallDesc = upcall.descriptor();
    const rec: PortRec = {
      name: spec.name, portNo, type: netdev.type, options: { ...(spec.options ?? {}) }, netdev, upcall, upcallDesc,
      producer: UpcallQueue.producer(upcallDesc, this.maxPmds), schedSlots,
    };
    this.ports.set(portNo, rec);
    const desc = netdev.descriptor();
    await Promise.all([...this.pmds.values()].map((t) => t.request({ op: 'addPort', portNo, netdev: desc, upcall: upcallDesc })));
    await this.reassign([...this.pmds.keys()]);
    return portNo;
  }

  portDel(portNo: number): Promise<void> {
    return this.serialize(async () => {
      if (portNo === ODPP_LOCAL) throw new DpifError(`cannot delete the local port ${this.name} (port 0)`, 'EINVAL');
      const rec = this.ports.get(portNo);
      if (!rec) throw new DpifError(`no port ${portNo}`, 'ENOENT');
      await this.releaseRxqs(rec);
      await Promise.all([...this.pmds.values()].map((t) => t.request({ op: 'delPort', portNo })));
      this.ports.delete(portNo);
      rec.upcall.close();
      releaseNetdev(rec.netdev);
      for (const s of rec.schedSlots) this.freeSchedSlots.push(s);
    });
  }

  private async releaseRxqs(rec: PortRec): Promise<void> {
    const byPmd = new Map<number, PmdRequestBody[]>();
    for (let q = 0; q < rec.netdev.nRxq; q++) {
      const owner = this.rxqOwner.get(rxqKey(rec.portNo, q));
      if (owner === undefined) continue;
      if (!byPmd.has(owner)) byPmd.set(owner, []);
      byPmd.get(owner)!.push({ op: 'delRxq', portNo: rec.portNo, rxq: q });
    }
    await Promise.all([...byPmd].map(([id, reqs]) => this.pmds.get(id)!.requestMany(reqs)));
    for (let q = 0; q < rec.netdev.nRxq; q++) this.rxqOwner.delete(rxqKey(rec.portNo, q));
  }

  portQueryByNumber(portNo: number): DpifPort | null {
    const r = this.ports.get(portNo);
    return r ? portInfo(r) : null;
  }

  portQueryByName(name: string): DpifPort | null {
    for (const r of this.ports.values()) if (r.name === name) return portInfo(r);
    return null;
  }

  portList(): DpifPort[] {
    return [...this.ports.values()].sort((a, b) => a.portNo - b.portNo).map(portInfo);
  }

  portStats(portNo: number): NetdevStats {
    return this.port(portNo).netdev.stats();
  }

  /**
   * This thread's netdev object of a port (e.g. a MemoryNetdev, to inject frames or drain what it
   * transmitted). Throws DpifError for an unknown port.
   */
  netdev(portNo: number): Netdev {
    return this.port(portNo).netdev;
  }

  private port(portNo: number): PortRec {
    const r = this.ports.get(portNo);
    if (!r) throw new DpifError(`no port ${portNo}`, 'ENOENT');
    return r;
  }

  // ---- flows ----

  flowPut(put: FlowPut): FlowPutResult {
    return this.table.put(put);
  }

  flowGet(ufid: Uint32Array): { error: 0 | FlowErrno; flow: FlowInfo | null } {
    return this.table.get(ufid);
  }

  flowDel(ufid: Uint32Array): { error: 0 | FlowErrno; stats: FlowStats } {
    return this.table.del(ufid);
  }

  flowFlush(): number {
    return this.table.flush();
  }

  flowDump(opts: { terse?: boolean } = {}): FlowDump {
    return this.table.dump(opts);
  }

  operate(ops: readonly FlowOp[]): FlowOpResult[] {
    return this.table.operate(ops);
  }

  // ---- packets, upcalls ----

  execute(req: DpifExecute): DpifExecuteResult {
    return this.execCtx.execute(req);
  }

  upcallQueue(portNo: number): UpcallQueueDescriptor {
    return this.port(portNo).upcallDesc;
  }

  /** Counters of a port's upcall queue. */
  upcallStats(portNo: number): UpcallQueueStats {
    return this.port(portNo).upcall.stats();
  }

  // ---- PMD threads ----

  get pmdCount(): number {
    return this.pmds.size;
  }

  /** Ids of the running PMD threads, ascending. */
  pmdIds(): number[] {
    return [...this.pmds.keys()].sort((a, b) => a - b);
  }

  setPmdCount(n: number): Promise<void> {
    return this.serialize(async () => {
      if (!Number.isInteger(n) || n < 1 || n > this.maxPmds) throw new DpifError(`PMD count ${n} out of range [1, ${this.maxPmds}]`);
      if (n > this.pmds.size) {
        const added = await this.startPmds(n - this.pmds.size);
        for (const t of added) {
          await t.requestMany([...this.ports.values()].map((r) => ({
            op: 'addPort' as const, portNo: r.portNo, netdev: r.netdev.descriptor(), upcall: r.upcallDesc,
          })));
        }
        await this.reassign([...this.pmds.keys()]);
      } else if (n < this.pmds.size) {
        const ids = this.pmdIds();
        const keep = ids.slice(0, n), doomed = ids.slice(n);
        await this.reassign(keep);
        for (const id of doomed) await this.stopPmd(id);
      }
    });
  }

  /** Changes `pmd-rxq-assign` and reassigns the rxqs. */
  setRxqAssign(algo: RxqAssign): Promise<void> {
    return this.serialize(async () => {
      if (algo !== 'roundrobin' && algo !== 'cycles' && algo !== 'group') throw new DpifError(`unknown pmd-rxq-assign '${String(algo)}'`);
      this.rxqAssign = algo;
      await this.reassign([...this.pmds.keys()]);
    });
  }

  /** Changes the PMDs' idle spin (µs) and longest sleep (ms). */
  setPmdSleep(idleSpinUs: number, maxSleepMs: number): Promise<void> {
    return this.serialize(async () => {
      this.idleSpinUs = idleSpinUs;
      this.maxSleepMs = maxSleepMs;
      await this.configPmds({ op: 'config', idleSpinUs, maxSleepMs });
    });
  }

  /**
   * Changes pmd-rx-usecs (µs, 0..1000; 0 turns rx coalescing off) on every PMD, also those started
   * later. Throws DpifError for a value outside that range.
   */
  setPmdRxUsecs(us: number): Promise<void> {
    const v = checkNapUsecs('pmd-rx-usecs', us);
    return this.serialize(async () => {
      this.rxUsecs = v;
      await this.configPmds({ op: 'config', rxUsecs: v });
    });
  }

  /** pmd-rx-usecs in effect (µs). */
  get pmdRxUsecs(): number {
    return this.rxUsecs;
  }

  /**
   * Changes pmd-idle-nap-usecs (µs, 0..1000; 0 turns idle naps off) on every PMD, also those
   * started later. Throws DpifError for a value outside that range.
   */
  setPmdIdleNapUs(us: number): Promise<void> {
    const v = checkNapUsecs('pmd-idle-nap-usecs', us);
    return this.serialize(async () => {
      this.idleNapUs = v;
      await this.configPmds({ op: 'config', idleNapUs: v });
    });
  }

  /** pmd-idle-nap-usecs in effect (µs). */
  get pmdIdleNapUs(): number {
    return this.idleNapUs;
  }

  /** Benchmarks only: switches every PMD's lookup between the datapath ('table') and the Map baseline ('map'). */
  setPmdLookup(mode: PmdLookupMode): Promise<void> {
    return this.serialize(async () => {
      await this.configPmds({ op: 'config', lookup: mode });
    });
  }

  /** Sends one config message to every running PMD (those started later get the fields in PmdInit). */
  private async configPmds(body: PmdRequestBody & { op: 'config' }): Promise<void> {
    await Promise.all([...this.pmds.values()].map((t) => t.request(body)));
  }

  /** Which PMD polls each rxq: `portNo/rxq` → PMD id. */
  rxqAssignment(): Map<string, number> {
    return new Map(this.rxqOwner);
  }

  /** Asks PMD `pmdId` for its heap and GC figures (it yields to its event loop once). */
  async probe(pmdId: number): Promise<PmdProbe> {
    const t = this.pmds.get(pmdId);
    if (!t) throw new DpifError(`no PMD ${pmdId}`, 'ENOENT');
    return (await t.request({ op: 'probe' })).probe!;
  }

  /**
   * Listens for PMD thread exits (deaths and the datapath's own stops; see PmdExitEvent). Called
   * from the Worker's 'exit' event, after the PMD's flow-table slot was released. Returns the
   * unsubscribe function.
   */
  onPmdExit(fn: (e: PmdExitEvent) => void): () => void {
    this.pmdExitListeners.add(fn);
    return () => this.pmdExitListeners.delete(fn);
  }

  /**
   * Every PMD by id (ascending): its current thread's id, whether that thread died (not restarted
   * yet), and why it could not take `pmdNice` (errno name, e.g. EACCES without CAP_SYS_NICE) or null.
   */
  pmdThreads(): Array<{ pmdId: number; threadId: number; dead: boolean; niceErrno: string | null }> {
    return this.pmdIds().map((pmdId) => ({
      pmdId, threadId: this.pmdThreadIds.get(pmdId) ?? -1, dead: this.deadPmds.has(pmdId), niceErrno: this.pmds.get(pmdId)?.niceErrno ?? null,
    }));
  }

  /** Ids of PMDs whose thread died and was not restarted yet (ascending). */
  deadPmdIds(): number[] {
    return [...this.deadPmds].sort((a, b) => a - b);
  }

  /**
   * Fault injection: kills PMD `pmdId`'s thread (`terminate`: Worker.terminate() wherever it is;
   * `throw`: a malformed control message makes its loop throw). Returns its thread id. Throws
   * DpifError (ENOENT) when no such PMD runs.
   */
  crashPmd(pmdId: number, how: 'terminate' | 'throw' = 'terminate'): number {
    const t = this.pmds.get(pmdId);
    if (!t || this.deadPmds.has(pmdId)) throw new DpifError(`no running PMD ${pmdId}`, 'ENOENT');
    const threadId = this.pmdThreadIds.get(pmdId) ?? -1;
    t.crash(how);
    return threadId;
  }

  /**
   * Marks PMD `pmdId`'s flow-table slot offline for good and unclaims it (`qsbrReleaseDead`), for
   * a caller that learned of the thread's death by other means. The datapath already does this on
   * the thread's 'exit' event; calling it again is harmless. Throws DpifError (EBUSY) while the
   * PMD's thread is running: releasing a live PMD's slot would break QSBR.
   */
  releaseDeadPmd(pmdId: number): void {
    if (!Number.isInteger(pmdId) || pmdId < 0 || pmdId >= this.maxPmds) throw new DpifError(`PMD id ${pmdId} out of range [0, ${this.maxPmds - 1}]`);
    if (this.pmds.has(pmdId) && !this.deadPmds.has(pmdId)) throw new DpifError(`PMD ${pmdId} is running`, 'EBUSY');
    qsbrReleaseDead(this.table.i32, this.table.qsbrBase, QSBR_STRIDE, pmdId);
  }

  /**
   * Replaces dead PMD `pmdId` (see `deadPmdIds`) by a new thread with the same id (same txq,
   * upcall rings and stats slots), all ports and a new rxq assignment over every PMD. Its counters
   * so far are kept in the totals of stopped PMDs. Frames waiting in its rxqs are read by their
   * new owner; the burst the dead thread held is lost with its buffers. Runs in the
   * reconfiguration chain. Throws DpifError (EINVAL) if the PMD is not dead.
   */
  restartPmd(pmdId: number): Promise<void> {
    return this.serialize(async () => {
      const dead = this.pmds.get(pmdId);
      if (!dead || !this.deadPmds.has(pmdId)) throw new DpifError(`PMD ${pmdId} is not a dead PMD`, 'EINVAL');
      this.releaseDeadPmd(pmdId);
      const c = this.counters.readBlock(pmdId) as Record<PmdCounterName, number>;
      for (const n of PMD_COUNTER_NAMES) this.retired[n] += c[n];
      this.zero.delete(pmdId);
      for (const [k, owner] of [...this.rxqOwner]) if (owner === pmdId) this.rxqOwner.delete(k);
      this.pmds.delete(pmdId);
      this.deadPmds.delete(pmdId);
      this.bank.freeSlot(dead.bellSlot);
      await dead.stop();
      const [t] = await this.startPmds(1, pmdId);
      await t!.requestMany([...this.ports.values()].map((r) => ({
        op: 'addPort' as const, portNo: r.portNo, netdev: r.netdev.descriptor(), upcall: r.upcallDesc,
      })));
      await this.reassign([...this.pmds.keys()]);
    });
  }

  /** A PMD thread stopped (Worker 'exit'): release its flow-table slot at once, then tell the listeners. */
  private pmdExited(pmdId: number, code: number, error: Error | null): void {
    // The thread has stopped: it holds no entry index, and writers must not wait for it.
    qsbrReleaseDead(this.table.i32, this.table.qsbrBase, QSBR_STRIDE, pmdId);
    const expected = this.stopping.has(pmdId) || this.closed;
    if (!expected && this.pmds.has(pmdId)) this.deadPmds.add(pmdId);
    const e: PmdExitEvent = {
      pmdId, threadId: this.pmdThreadIds.get(pmdId) ?? -1, code, expected, atMs: Date.now(),
      ...(error ? { error: (error.message ?? String(error)).split('\n')[0]! } : {}),
    };
    for (const f of this.pmdExitListeners) {
      try {
        f(e);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Starts `count` PMD threads at the lowest free ids (or with id `wantId` when count is 1). */
  private async startPmds(count: number, wantId?: number): Promise<PmdThread[]> {
    const started: PmdThread[] = [];
    for (let k = 0; k < count; k++) {
      let id = 0;
      while (this.pmds.has(id)) id++;
      if (wantId !== undefined && !this.pmds.has(wantId)) id = wantId;
      const slot = this.bank.allocSlot();
      if (slot < 0) throw new DpifError('no free doorbell slot for a PMD thread');
      const base: PmdInitBase = {
        pmdId: id, dpName: this.name, flowTable: this.table.sab, pool: this.pool.descriptor(), bank: this.bank.sab,
        counters: this.counters.descriptor(), sched: this.sched.sab, maxRxqs: this.sched.maxRxqs,
        upcallArea: this.upcallArea.sab, clock: this.clock.sab, idleSpinUs: this.idleSpinUs, maxSleepMs: this.maxSleepMs,
        rxUsecs: this.rxUsecs, idleNapUs: this.idleNapUs, nice: this.pmdNice, wakeSliceUs: this.pmdWakeSliceUs,
      };
      let t: PmdThread;
      try {
        t = await PmdThread.start(base, this.bank, slot, (code, err) => this.pmdExited(id, code, err));
      } catch (e) {
        this.bank.freeSlot(slot);
        throw e;
      }
      this.pmds.set(id, t);
      this.pmdThreadIds.set(id, t.threadId);
      this.deadPmds.delete(id);
      this.stopping.delete(id);
      this.zero.delete(id);
      started.push(t);
    }
    return started;
  }

  private async stopPmd(id: number): Promise<void> {
    const t = this.pmds.get(id)!;
    for (const [k, owner] of this.rxqOwner) if (owner === id) this.rxqOwner.delete(k);
    this.stopping.add(id);
    await t.stop();
    this.stopping.delete(id);
    this.deadPmds.delete(id);
    this.pmds.delete(id);
    this.bank.freeSlot(t.bellSlot);
    const c = this.counters.readBlock(id) as Record<PmdCounterName, number>;
    for (const n of PMD_COUNTER_NAMES) this.retired[n] += c[n];
    this.zero.delete(id);
  }

  /**
   * Assigns every rxq to one of `pmdIds` (this.rxqAssign) and moves those whose owner changes:
   * all releases first (each old PMD stops polling and acknowledges), then all adds.
   */
  private async reassign(pmdIds: number[]): Promise<void> {
    const rxqs: Array<{ portNo: number; rxq: number; procNs: number; slot: number }> = [];
    for (const r of [...this.ports.values()].sort((a, b) => a.portNo - b.portNo)) {
      for (let q = 0; q < r.netdev.nRxq; q++) {
        rxqs.push({ portNo: r.portNo, rxq: q, procNs: this.sched.rxqIntervals(r.schedSlots[q]!), slot: r.schedSlots[q]! });
      }
    }
    if (rxqs.length === 0 || pmdIds.length === 0) return;
    const target = assignRxqs(rxqs, pmdIds, this.rxqAssign);
    const releases = new Map<number, PmdRequestBody[]>();
    const adds = new Map<number, PmdRequestBody[]>();
    const push = (m: Map<number, PmdRequestBody[]>, id: number, b: PmdRequestBody): void => {
      if (!m.has(id)) m.set(id, []);
      m.get(id)!.push(b);
    };
    rxqs.forEach((q, i) => {
      const cur = this.rxqOwner.get(rxqKey(q.portNo, q.rxq));
      const to = target[i]!;
      if (cur === to) return;
      if (cur !== undefined) push(releases, cur, { op: 'delRxq', portNo: q.portNo, rxq: q.rxq });
      push(adds, to, { op: 'addRxq', portNo: q.portNo, rxq: q.rxq, schedSlot: q.slot });
    });
    await Promise.all([...releases].map(([id, reqs]) => this.pmds.get(id)!.requestMany(reqs)));
    for (const reqs of releases.values()) {
      for (const b of reqs) if (b.op === 'delRxq') this.rxqOwner.delete(rxqKey(b.portNo, b.rxq));
    }
    await Promise.all([...adds].map(([id, reqs]) => this.pmds.get(id)!.requestMany(reqs)));
    for (const [id, reqs] of adds) {
      for (const b of reqs) if (b.op === 'addRxq') this.rxqOwner.set(rxqKey(b.portNo, b.rxq), id);
    }
  }

  // ---- statistics ----

  /** Counters of PMD `id` since it started or since the last `pmdStatsClear`. */
  private pmdCounters(id: number): Record<PmdCounterName, number> {
    const c = this.counters.readBlock(id) as Record<PmdCounterName, number>;
    const z = this.zero.get(id);
    if (z) for (const n of PMD_COUNTER_NAMES) c[n] -= z[n];
    return c;
  }

  /** Per-thread counters: every PMD by id, then the main thread (whose counters stay 0: it polls nothing). */
  pmdStats(): PmdStatsSnapshot[] {
    const out: PmdStatsSnapshot[] = this.pmdIds().map((id) => ({ pmdId: id, numaId: 0, counters: this.pmdCounters(id) }));
    out.push({ pmdId: -1, numaId: 0, counters: emptyPmdCounters() });
    return out;
  }

  /** `ovs-appctl dpif-netdev/pmd-stats-show` text. */
  pmdStatsShow(): string {
    return formatPmdStatsShow(this.pmdStats());
  }

  /** `ovs-appctl dpif-netdev/pmd-stats-clear`: later reads count from now (the PMDs are not disturbed). */
  pmdStatsClear(): void {
    for (const id of this.pmds.keys()) this.zero.set(id, this.counters.readBlock(id) as Record<PmdCounterName, number>);
  }

  /** `ovs-appctl dpif-netdev/pmd-rxq-show [-secs N]` text (N rounded up to 5 s, at most 60). */
  pmdRxqShow(secs = PMD_INTERVAL_MAX * (PMD_INTERVAL_MS / 1000)): string {
    const max = PMD_INTERVAL_MAX * (PMD_INTERVAL_MS / 1000);
    const step = PMD_INTERVAL_MS / 1000;
    const s = !Number.isFinite(secs) || secs <= 0 || secs > max ? max : Math.ceil(secs / step) * step;
    const intervals = s / step;
    const pmds: PmdRxqShow[] = this.pmdIds().map((id) => {
      const { totalNs, busyNs } = this.sched.pmdIntervals(id, intervals);
      const rxqs = [];
      for (const [k, owner] of this.rxqOwner) {
        if (owner !== id) continue;
        const [portNo, q] = k.split('/').map(Number) as [number, number];
        const r = this.ports.get(portNo);
        if (!r) continue;
        rxqs.push({ port: r.name, queueId: q, enabled: true, procNs: this.sched.rxqIntervals(r.schedSlots[q]!, intervals) });
      }
      return { pmdId: id, numaId: 0, isolated: false, totalNs, busyNs, rxqs };
    });
    return formatPmdRxqShow(pmds, s);
  }

  /**
   * Datapath totals (OVS `dpctl/show` lookups and flows): sums over running PMDs and those already
   * stopped; not affected by `pmdStatsClear`.
   */
  stats(): DpifStats {
    const t = this.totals();
    return { hit: t.emc_hit + t.masked_hit, missed: t.miss, lost: t.lost, flows: this.table.flowCount, malformed: t.malformed };
  }

  /** Every PMD counter summed over running and stopped PMDs (not affected by clear). */
  totals(): Record<PmdCounterName, number> {
    const t = { ...this.retired };
    for (const id of this.pmds.keys()) {
      const c = this.counters.readBlock(id) as Record<PmdCounterName, number>;
      for (const n of PMD_COUNTER_NAMES) t[n] += c[n];
    }
    return t;
  }

  // ---- life cycle ----

  /** Stops the PMD threads and releases the ports. The datapath cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    for (const id of this.pmdIds()) await this.stopPmd(id);
    for (const r of this.ports.values()) {
      r.upcall.close();
      releaseNetdev(r.netdev);
    }
    this.ports.clear();
    await this.clock.stop();
  }
}

/**
 * The owner's last step for a port no thread polls or sends on any more: `close` (this thread's
 * buffers back to the pool), then `destroy` for fd-backed ports (system, internal: closes the
 * sockets; an internal port's TAP interface disappears).
 */
function releaseNetdev(netdev: Netdev): void {
  netdev.close();
  const d = netdev as Netdev & { destroy?: () => void };
  if (typeof d.destroy === 'function') d.destroy();
}

function portInfo(r: PortRec): DpifPort {
  return { name: r.name, portNo: r.portNo, type: r.type, options: r.options, nRxq: r.netdev.nRxq, nTxq: r.netdev.nTxq };
}

/**
 * Largest pmd-rx-usecs and pmd-idle-nap-usecs (µs): a frame that comes during a nap waits for its
 * end, so longer naps would only add latency.
 */
export const MAX_NAP_USECS = 1000;

/** A PMD nap length (`name`: the tunable, for the message); DpifError outside 0..MAX_NAP_USECS. */
function checkNapUsecs(name: string, us: number): number {
  if (!Number.isInteger(us) || us < 0 || us > MAX_NAP_USECS) throw new DpifError(`${name} ${us} must be an integer 0..${MAX_NAP_USECS}`);
  return us;
}
