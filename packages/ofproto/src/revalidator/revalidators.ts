/**
 * The revalidators of a datapath, run from the control plane thread (OVS struct udpif's
 * revalidation half: udpif_revalidator's leader role, udpif_set_threads, upcall/* and
 * revalidator/* commands).
 *
 * - K revalidator threads (worker_threads, ./worker.ts), each with its own translator. The ukeys
 *   live in a SharedArrayBuffer (UkeyTable) that handlers and revalidators share, so the thread
 *   count can change at any time without moving ukeys (`setThreads` replaces the threads).
 * - A round: the cursor of the shared terse dump is reset and every thread pulls batches of 50
 *   from it (dump phase); once all are done, thread i sweeps umaps i, i+K, ... (sweep phase).
 *   Then the dump sequence moves on, the round's duration is recorded and the flow limit adapted
 *   (flow-limit.ts). Stats credits arrive with each phase's answer and go to `onCredits` (the
 *   control plane credits its OfTables) before the round counts as done.
 * - Rounds start every min(max-idle, max-revalidator) ms after the previous start, or at once
 *   (at least 5 ms after the previous start, as OVS) on `kick` (a table change, MAC move or port
 *   change: the revalidation sequence moves) or `update` (broadcast to the translators, then kick).
 * - `pause`/`resume`, `purge` (every flow with a ukey deleted, stats pushed; OVS revalidator/purge),
 *   `wait` (resolves after a round that started after the call has finished; OVS revalidator/wait
 *   waits for the current dump only), `setFlowLimit` (OVS upcall/set-flow-limit: sets the dynamic
 *   limit, clamped at the next round's end), `show` (upcall/show data).
 *
 * Worker failures never take the control plane down: a thread that dies (uncaught exception,
 * terminate()) is replaced at once, in the same slot (same umap slice), between rounds (paused or
 * not); a round it was part of finishes without it (counted in `failedRounds`). Each death and
 * replacement is reported once through `onThreadEvent`; `crash(slot, how)` injects such a death.
 */
import { Worker } from 'node:worker_threads';
import { watchWorker } from '@tsvs/shm';
import type { FlowTable } from '@tsvs/dpif';
import { adaptFlowLimit, initialFlowLimit } from './flow-limit.js';
import { DEFAULT_REVAL_CONFIG, type RevalConfig } from './revalidate.js';
import {
  DEL_REASONS, addCounters, delReasonGroup, newCounters, type RevalCounters, type StatsCredits,
} from './reval-stats.js';
import type { TranslatorSpec } from './translator.js';
import { UkeyTable } from './ukey-table.js';
import type { RevalWorkerData } from './worker.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** The tunables revalidators follow (names as OVS other_config; ms, flows, packets/s). */
export interface RevalTunables {
  'max-idle': number;
  'flow-limit': number;
  'max-revalidator': number;
  'min-revalidate-pps': number;
}

export const DEFAULT_REVAL_TUNABLES: RevalTunables = {
  'max-idle': 10000, 'flow-limit': 200000, 'max-revalidator': 500, 'min-revalidate-pps': 5,
};

export interface RevalidatorsOptions {
  /** The datapath's flow table (its SharedArrayBuffer is shared with the threads). */
  flowTable: FlowTable;
  /** The ukey table handlers install into. Default: a new one sized like the flow table. */
  ukeys?: UkeyTable;
  /** Revalidator threads. Default 1 (OVS on 2 cores: n_cores / 4 + 1). */
  nThreads?: number;
  translator: TranslatorSpec;
  tunables?: Partial<RevalTunables>;
  /** Receives stats credits for OpenFlow rules (call OfTables.creditStats for each). */
  onCredits?: (c: StatsCredits) => void;
  /** Datapath name for upcall/show (OVS dpif_name). Default "netdev@ovs-netdev". */
  dpName?: string;
  /** Start timed rounds at once. Default true; false: rounds only on kick/wait. */
  timer?: boolean;
  /** One line per problem (worker failures). */
  log?: (line: string) => void;
  /** Test hook: each thread sleeps this long at the start of each dump phase. */
  dumpDelayMs?: number;
  /** A revalidator thread died unasked, or its replacement is running (same slot). */
  onThreadEvent?: (e: RevalidatorThreadEvent) => void;
}

/**
 * Life events of revalidator threads (for a supervisor). `id` is the slot (0..nThreads-1, the
 * thread's umap slice); `threadId` the worker's; `atMs` Date.now(). A `died` is followed by one
 * `restarted` for the same slot unless the slot goes away first (fewer threads, stop).
 */
export type RevalidatorThreadEvent =
  | { type: 'died'; id: number; threadId: number; why: string; atMs: number }
  | { type: 'restarted'; id: number; threadId: number; atMs: number };

/** `upcall show` data (OVS upcall/show fields, then tsvs additions). */
export interface UpcallShowData {
  dpName: string;
  flows: { current: number; avg: number; max: number; limit: number };
  /** Duration of the last round (OVS "dump duration"), ms. */
  dumpDurationMs: number;
  ufidEnabled: boolean;
  /**
   * One per thread: its id (worker threadId, as OVS prints its thread id), ukeys in its umaps, and
   * (tsvs) flows it took from dumps and ukeys it swept since it started.
   */
  revalidators: Array<{ id: number; keys: number; dumped: number; swept: number }>;
  rounds: number;
  /** Deleted flows by group (idle, revalidation, flow limit, purge). */
  deleted: { idle: number; revalidation: number; flow_limit: number; purge: number };
  /** Deleted flows by OVS reason. */
  deletedByReason: Record<string, number>;
  modified: number;
  kept: number;
  lastRoundMs: number;
  maxRoundMs: number;
  /** Everything counted since start. */
  counters: RevalCounters;
  flowLimitMax: number;
  ukeys: number;
  paused: boolean;
  failedRounds: number;
}

interface Slot {
  worker: Worker;
  threadId: number;
  ready: Promise<void>;
  /** The worker posted 'ready' (a death before that is a failed start, not reported as died). */
  started: boolean;
  dead: boolean;
  stopping: boolean;
  /** Replacements of this slot so far (carried over to the replacement). */
  restarts: number;
  dumped: number;
  swept: number;
  pending: { type: string; resolve: (m: PhaseAnswer | null) => void } | null;
}

interface PhaseAnswer {
  type: 'dumped' | 'swept';
  round: number;
  counters: RevalCounters;
  credits: StatsCredits;
}

export class Revalidators {
  readonly flowTable: FlowTable;
  readonly ukeys: UkeyTable;
  readonly dpName: string;
  private tun: RevalTunables;
  private cfg: RevalConfig;
  private readonly spec: TranslatorSpec;
  private readonly onCredits: ((c: StatsCredits) => void) | undefined;
  private readonly log: (line: string) => void;
  private readonly onThreadEvent: ((e: RevalidatorThreadEvent) => void) | undefined;
  private slots: Slot[] = [];
  /** Threads started by `spawn` and not yet in `slots`: they get updates too (their init is older). */
  private starting: Slot[] = [];
  private readonly useTimer: boolean;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private running = false;
  private kickPending = false;
  private paused = false;
  private stopped = false;
  private lastStart = -Infinity;
  private roundsStarted = 0;
  private roundsDone = 0;
  private waiters: Array<{ target: number; resolve: () => void }> = [];
  private avgFlows = 0;
  private maxFlows = 0;
  private lastRoundMs = 0;
  private maxRoundMs = 0;
  private failedRounds = 0;
  private readonly totals = newCounters();

  private constructor(o: RevalidatorsOptions) {
    this.flowTable = o.flowTable;
    this.ukeys = o.ukeys ?? UkeyTable.create({ capacity: o.flowTable.capacity });
    this.dpName = o.dpName ?? 'netdev@ovs-netdev';
    this.tun = { ...DEFAULT_REVAL_TUNABLES, ...o.tunables };
    this.cfg = this.configFrom(this.tun, o.dumpDelayMs ?? 0);
    this.spec = o.translator;
    this.onCredits = o.onCredits;
    this.log = o.log ?? (() => undefined);
    this.onThreadEvent = o.onThreadEvent;
    this.useTimer = o.timer ?? true;
    this.ukeys.flowLimit = initialFlowLimit(this.tun['flow-limit']);
  }

  /** Starts K threads (waits until each has its translator) and, unless `timer: false`, the round timer. */
  static async start(o: RevalidatorsOptions): Promise<Revalidators> {
    const r = new Revalidators(o);
    await r.spawn(o.nThreads ?? 1);
    if (r.useTimer) r.schedule(r.interval());
    return r;
  }

  get nThreads(): number {
    return this.slots.length;
  }

  get tunables(): Readonly<RevalTunables> {
    return this.tun;
  }

  /** Rounds finished so far. */
  get rounds(): number {
    return this.roundsDone;
  }

  /** Counters summed over all rounds so far (a copy). */
  get counters(): RevalCounters {
    const c = newCounters();
    addCounters(c, this.totals);
    return c;
  }

  private configFrom(t: RevalTunables, dumpDelayMs: number): RevalConfig {
    return {
      ...DEFAULT_REVAL_CONFIG,
      maxIdleMs: t['max-idle'], maxRevalidatorMs: t['max-revalidator'], minRevalidatePps: t['min-revalidate-pps'], dumpDelayMs,
    };
  }

  private interval(): number {
    return Math.min(this.tun['max-idle'], this.tun['max-revalidator']);
  }

  // ---- threads ----

  private translatorInit(): unknown {
    const init = this.spec.init;
    return typeof init === 'function' ? (init as () => unknown)() : init;
  }

  private startSlot(restarts = 0): Slot {
    const data: RevalWorkerData = {
      flowTableSab: this.flowTable.sab,
      ukeySab: this.ukeys.sab,
      translator: { module: this.spec.module, ...(this.spec.export ? { export: this.spec.export } : {}), init: this.translatorInit() },
      cfg: this.cfg,
    };
    const worker = watchWorker(new Worker(WORKER_URL, { workerData: data }));
    let readyResolve!: () => void, readyReject!: (e: Error) => void;
    const slot: Slot = {
      worker, threadId: worker.threadId, started: false, dead: false, stopping: false, restarts, dumped: 0, swept: 0, pending: null,
      ready: new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; }),
    };
    const fail = (why: string): void => {
      if (slot.dead) return;
      slot.dead = true;
      readyReject(new Error(why));
      if (!slot.stopping) this.log(`revalidator thread ${slot.threadId}: ${why}`);
      const p = slot.pending;
      slot.pending = null;
      if (p) p.resolve(null);
      this.died(slot, why);
    };
    slot.ready.catch(() => undefined);
    worker.on('message', (m: { type: string; [k: string]: unknown }) => {
      if (m.type === 'ready') {
        slot.started = true;
        readyResolve();
      }
      else if (m.type === 'fatal') fail(`failed to start: ${String(m.error)}`);
      else if (m.type === 'failed') this.log(`revalidator thread ${slot.threadId}: round ${String(m.round)}: ${String(m.error)}`);
      else if (m.type === 'dumped' || m.type === 'swept') {
        const p = slot.pending;
        if (p && p.type === m.type) {
          slot.pending = null;
          p.resolve(m as unknown as PhaseAnswer);
        }
      }
    });
    worker.on('error', (e) => fail(`error: ${e instanceof Error ? e.message : String(e)}`));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
    return slot;
  }

  private async spawn(k: number): Promise<void> {
    if (!Number.isInteger(k) || k < 1 || k > 64) throw new RangeError(`revalidator threads must be 1..64, got ${k}`);
    const fresh: Slot[] = [];
    for (let i = 0; i < k; i++) fresh.push(this.startSlot());
    this.starting = fresh;
    try {
      await Promise.all(fresh.map((s) => s.ready));
    } catch (e) {
      await this.stopSlots(fresh);
      throw e;
    } finally {
      this.starting = [];
    }
    this.slots = fresh;
  }

  private async stopSlots(slots: Slot[]): Promise<void> {
    await Promise.all(slots.map(async (s) => {
      if (s.dead) return;
      const exited = new Promise<void>((res) => s.worker.once('exit', () => res()));
      s.stopping = true;
      s.worker.postMessage({ type: 'stop' });
      const t = setTimeout(() => void s.worker.terminate(), 5000);
      await exited;
      clearTimeout(t);
    }));
  }

  /**
   * A thread of the current set died unasked after it started: report it and replace it now
   * (between rounds; `heal` also runs before every round, for a replacement that failed to start).
   */
  private died(slot: Slot, why: string): void {
    if (slot.stopping || this.stopped || !slot.started) return;
    const id = this.slots.indexOf(slot);
    if (id < 0) return;
    this.emit({ type: 'died', id, threadId: slot.threadId, why, atMs: Date.now() });
    void this.exclusive(() => this.heal()).catch((e) => this.log(`revalidator ${id}: restart failed: ${String(e)}`));
  }

  private emit(e: RevalidatorThreadEvent): void {
    try {
      this.onThreadEvent?.(e);
    } catch (err) {
      this.log(`revalidator thread event listener: ${String(err)}`);
    }
  }

  /** Replaces dead threads in their slots (their ukeys are in shared memory: nothing is lost). */
  private async heal(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) {
      const dead = this.slots[i]!;
      if (!dead.dead || this.stopped) continue;
      const s = this.startSlot(dead.restarts + 1);
      this.slots[i] = s;
      try {
        await s.ready;
      } catch {
        continue; // logged by the slot; the next round (or heal) tries again
      }
      if (this.slots[i] === s && !s.dead) this.emit({ type: 'restarted', id: i, threadId: s.threadId, atMs: Date.now() });
    }
  }

  /** Threads by slot: worker threadId (null while dead, until replaced) and replacements so far. */
  threads(): Array<{ id: number; threadId: number | null; restarts: number }> {
    return this.slots.map((s, i) => ({ id: i, threadId: s.dead || !s.started ? null : s.threadId, restarts: s.restarts }));
  }

  /**
   * Fault injection (tests, `tsvs debug crash`): makes revalidator `id` die — 'throw': an uncaught
   * exception in the thread (a `crash` message it throws on); 'terminate': Worker.terminate(). It is
   * replaced like any dead revalidator (at once, between rounds). Returns the threadId that was
   * crashed. Throws RangeError for a slot that is not running.
   */
  crash(id: number, how: 'throw' | 'terminate'): number {
    const s = this.slots[id];
    if (!s || s.dead || !s.started || this.stopped) throw new RangeError(`revalidator ${id} is not running`);
    if (how === 'terminate') void s.worker.terminate();
    else s.worker.postMessage({ type: 'crash' });
    return s.threadId;
  }

  /** Changes the number of threads (OVS udpif_set_threads): waits for the round in progress, then replaces them. */
  async setThreads(k: number): Promise<void> {
    if (!Number.isInteger(k) || k < 1 || k > 64) throw new RangeError(`revalidator threads must be 1..64, got ${k}`);
    await this.exclusive(async () => {
      const old = this.slots;
      await this.spawn(k);
      await this.stopSlots(old);
    });
  }

  // ---- rounds ----

  /** Runs `f` when no round, purge or resize is running (rounds are serialized through this). */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.busy.then(f);
    this.busy = run.then(() => undefined, () => undefined);
    return run;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.paused) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(delayMs, this.lastStart + 5 - performance.now(), 0);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.exclusive(() => this.round(false)).catch((e) => this.log(`revalidation round: ${String(e)}`));
    }, wait);
  }

  /**
   * Tables changed (OVS udpif_revalidate): bumps the revalidation sequence and starts a round as
   * soon as possible (after the one in progress, if any).
   */
  kick(): void {
    this.ukeys.bumpRevalSeq();
    if (this.running) this.kickPending = true;
    else this.schedule(0);
  }

  /**
   * Broadcasts an update to every thread's translator (in order with rounds), then kicks. Threads
   * still starting get it too: their translator was made from the state before it.
   */
  update(msg: unknown): void {
    for (const s of this.slots) if (!s.dead) s.worker.postMessage({ type: 'update', msg });
    for (const s of this.starting) if (!s.dead) s.worker.postMessage({ type: 'update', msg });
    this.kick();
  }

  private phase(slot: Slot, cmd: Record<string, unknown>, answer: 'dumped' | 'swept'): Promise<PhaseAnswer | null> {
    if (slot.dead) return Promise.resolve(null);
    return new Promise((resolve) => {
      slot.pending = { type: answer, resolve };
      slot.worker.postMessage(cmd);
    });
  }

  private absorb(slots: Slot[], answers: Array<PhaseAnswer | null>): boolean {
    let ok = true;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      if (!a) { ok = false; continue; }
      addCounters(this.totals, a.counters);
      slots[i]!.dumped += a.counters.dumped;
      slots[i]!.swept += a.counters.swept;
      if (a.credits.ids.length > 0 && this.onCredits) {
        try {
          this.onCredits(a.credits);
        } catch (e) {
          this.log(`onCredits: ${String(e)}`);
        }
      }
    }
    return ok;
  }

  private async round(purgeOnly: boolean): Promise<void> {
    if (this.stopped) return;
    await this.heal();
    const slots = this.slots;
    this.running = true;
    this.kickPending = false;
    const start = performance.now();
    this.lastStart = start;
    if (!purgeOnly) this.roundsStarted++;
    const round = this.roundsStarted;
    let ok = true;
    try {
      const nFlows = this.flowTable.flowCount;
      if (!purgeOnly) {
        this.maxFlows = Math.max(this.maxFlows, nFlows);
        this.avgFlows = Math.floor((this.avgFlows + nFlows) / 2);
        const cur = this.ukeys.dumpCursor;
        Atomics.store(cur.array, cur.index, 0);
        // The sequence goes with the command: the threads have applied every update posted before it.
        const revalSeq = this.ukeys.revalSeq;
        ok = this.absorb(slots, await Promise.all(slots.map((s) => this.phase(s, { type: 'dump', round, revalSeq }, 'dumped')))) && ok;
      }
      const sweepSeq = this.ukeys.revalSeq;
      ok = this.absorb(slots, await Promise.all(slots.map((s, i) => this.phase(s, {
        type: 'sweep', round, slice: i, n: slots.length, purge: purgeOnly, revalSeq: sweepSeq,
      }, 'swept')))) && ok;
      if (purgeOnly) return;
      this.ukeys.bumpDumpSeq();
      const duration = Math.max(1, Math.round(performance.now() - start));
      this.ukeys.dumpDuration = duration;
      this.ukeys.flowLimit = adaptFlowLimit(this.ukeys.flowLimit, duration, nFlows, this.tun['flow-limit']);
      if (duration > 2000) this.log(`Spent an unreasonably long ${duration}ms dumping flows`);
      this.lastRoundMs = duration;
      if (duration > this.maxRoundMs) this.maxRoundMs = duration;
      if (!ok) this.failedRounds++;
      this.roundsDone = round;
      const still: typeof this.waiters = [];
      for (const w of this.waiters) {
        if (w.target <= round) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    } finally {
      this.running = false;
      if (!purgeOnly && this.useTimer) this.schedule(this.kickPending ? 0 : Math.max(0, start + this.interval() - performance.now()));
      else if (!purgeOnly && this.kickPending) this.schedule(0);
    }
  }

  /**
   * Resolves once a round that starts after this call has finished (OVS revalidator/wait, see the
   * module comment). With `kick`, also starts one at once (without moving the reval seq).
   */
  wait(opts: { kick?: boolean } = {}): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const target = this.roundsStarted + 1;
    const p = new Promise<void>((resolve) => this.waiters.push({ target, resolve }));
    if (opts.kick || !this.useTimer) {
      if (this.running) this.kickPending = true;
      else this.schedule(0);
    }
    return p;
  }

  /** Stops starting rounds; resolves when the round in progress (if any) has finished (OVS revalidator/pause). */
  async pause(): Promise<void> {
    this.paused = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.exclusive(async () => undefined);
  }

  /** Starts rounds again (OVS revalidator/resume). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.useTimer || this.waiters.length > 0) this.schedule(0);
  }

  /**
   * Deletes every datapath flow that has a ukey, pushing its final stats (OVS revalidator/purge):
   * runs between rounds, one purge sweep per thread over its umaps.
   */
  async purge(): Promise<void> {
    await this.exclusive(() => this.round(true));
  }

  /** Sets the dynamic flow limit now (OVS upcall/set-flow-limit); the next round clamps it to [1000, flow-limit]. */
  setFlowLimit(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`flow limit ${n} must be an integer 0..2147483647`);
    this.ukeys.flowLimit = n;
  }

  /** Changes tunables (takes effect for the next round's phases). */
  setTunables(t: Partial<RevalTunables>): void {
    this.tun = { ...this.tun, ...t };
    this.cfg = this.configFrom(this.tun, this.cfg.dumpDelayMs);
    for (const s of this.slots) if (!s.dead) s.worker.postMessage({ type: 'config', cfg: this.cfg });
  }

  /** Test hook: per-thread sleep at the start of each dump phase. */
  setDumpDelay(ms: number): void {
    this.cfg = { ...this.cfg, dumpDelayMs: ms };
    for (const s of this.slots) if (!s.dead) s.worker.postMessage({ type: 'config', cfg: this.cfg });
  }

  /** upcall/show data. */
  show(): UpcallShowData {
    const c = this.totals;
    const deleted = { idle: 0, revalidation: 0, flow_limit: 0, purge: 0 };
    const byReason: Record<string, number> = {};
    for (const r of DEL_REASONS) {
      byReason[r] = c.deleted[r];
      deleted[delReasonGroup(r)] += c.deleted[r];
    }
    const n = this.slots.length;
    return {
      dpName: this.dpName,
      flows: { current: this.flowTable.flowCount, avg: this.avgFlows, max: this.maxFlows, limit: this.ukeys.flowLimit },
      dumpDurationMs: this.ukeys.dumpDuration,
      ufidEnabled: true,
      revalidators: this.slots.map((s, i) => ({ id: s.threadId, keys: this.ukeys.keysOfRevalidator(i, n), dumped: s.dumped, swept: s.swept })),
      rounds: this.roundsDone,
      deleted,
      deletedByReason: byReason,
      modified: c.modified,
      kept: c.kept,
      lastRoundMs: this.lastRoundMs,
      maxRoundMs: this.maxRoundMs,
      counters: this.counters,
      flowLimitMax: this.tun['flow-limit'],
      ukeys: this.ukeys.count,
      paused: this.paused,
      failedRounds: this.failedRounds,
    };
  }

  /** Stops the threads (waits for the round in progress). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.paused = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.exclusive(async () => {
      this.stopped = true;
      await this.stopSlots(this.slots);
    });
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
