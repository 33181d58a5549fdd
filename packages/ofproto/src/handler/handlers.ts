/**
 * The handler threads of a bridge, run from the control thread (OVS udpif's upcall half:
 * udpif_set_threads, the handler threads, and the assignment of upcall queues to them).
 *
 * - M handler threads (worker_threads, ./handler-worker.ts), ids 0..M-1. Each port's upcall queue
 *   is served by exactly one handler: ports sorted by odp number, port i to handler i mod M.
 *   The assignment is recomputed when a port is added or removed and when M changes.
 * - Safe handover (as the datapath moves rxqs): a moving queue is first detached from its old
 *   handler, which acknowledges between two rounds (so it holds no upcall of that queue any more
 *   and has unbound its doorbell), and only then attached to the new one. Upcalls queued meanwhile
 *   wait in the queue; none is lost or read twice.
 * - Every handler can transmit on every port (it executes packets): port additions and removals
 *   are sent to all before a queue is assigned / after it is released.
 * - Table and port-model changes are broadcast (`broadcast`) to every handler's replica, in order.
 * - Requests go on a per-thread MessagePort, then the ctl word is bumped and the thread's doorbell
 *   rung, so a sleeping handler wakes up to read them. Reconfigurations (start, count changes, port
 *   changes) run one at a time, in call order.
 * - A handler thread that dies is replaced (same id, same ports) and the failure logged.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Datapath } from '@tsvs/dpif';
import { DoorbellBank, watchWorker } from '@tsvs/shm';
import type { ReplicaInit, ReplicaUpdate } from '../ofproto/replica.js';
import {
  DEFAULT_HANDLER_CONFIG, type HandlerConfig, type HandlerCredits, type HandlerEvent, type HandlerInit, type HandlerReply,
  type HandlerRequestBody,
} from './handler-messages.js';
import { HandlerStats, MAX_HANDLERS, S_ROUNDS, S_SLEEPS, type CounterValues, type LatencySummary } from './handler-stats.js';
import type { PacketIn } from './packet-in.js';

const WORKER_URL = new URL('./handler-worker.js', import.meta.url);

export interface HandlersOptions {
  dp: Datapath;
  /** The ukey table's buffer (shared with the revalidators). */
  ukeys: SharedArrayBuffer;
  /** State a new handler thread starts from (called at each thread start). */
  replicaInit: () => ReplicaInit;
  /** Handler threads at start (1..64). Default 1. */
  n?: number;
  cfg?: Partial<HandlerConfig>;
  onPacketIn?: (items: PacketIn[]) => void;
  onCredits?: (c: HandlerCredits) => void;
  /** A handler changed the MAC table (kick the revalidators). */
  onKick?: () => void;
  /** A handler thread died unasked, or its replacement is running (same id, same queues). */
  onThreadEvent?: (e: HandlerThreadEvent) => void;
  log?: (line: string) => void;
}

/** Life events of handler threads (for a supervisor). */
export type HandlerThreadEvent =
  | { type: 'died'; id: number; threadId: number; why: string; atMs: number }
  | { type: 'restarted'; id: number; threadId: number; atMs: number };

/** Per-handler figures. */
export interface HandlerThreadStats {
  id: number;
  /** Node worker threadId of the current incarnation. */
  threadId: number;
  /** Odp ports whose upcall queues it serves. */
  ports: number[];
  counters: CounterValues;
  rounds: number;
  sleeps: number;
  latency: LatencySummary;
  restarts: number;
}

/** Per-port figures (the port's queue and the handler serving it). */
export interface HandlerPortStats {
  portNo: number;
  /** Handler id serving the queue, or -1. */
  handler: number;
  counters: CounterValues;
  /** Upcalls (both kinds) the datapath could not queue (ring full), from dpif's queue counters. */
  queueDropped: number;
  /** Upcalls (both kinds) queued by the datapath so far. */
  queued: number;
  /** Upcalls (both kinds) waiting now. */
  pending: number;
  /** The port's ACTION rings alone (included above): ACTION upcalls queued, dropped (ACTION ring full), waiting. */
  action: { queued: number; dropped: number; pending: number };
  /** Enqueue (PMD stamp) → flow installed, µs. */
  latency: LatencySummary;
}

interface Slot {
  id: number;
  worker: Worker;
  threadId: number;
  port: MessagePort;
  ctl: Int32Array;
  bellSlot: number;
  seq: number;
  pending: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
  dead: boolean;
  stopping: boolean;
  restarts: number;
}

export class Handlers {
  readonly stats: HandlerStats;
  readonly cfg: HandlerConfig;
  private readonly dp: Datapath;
  private readonly bank: DoorbellBank;
  private readonly o: HandlersOptions;
  private readonly log: (line: string) => void;
  private slots: Slot[] = [];
  /**
   * Threads spawned and not yet in `slots` (starting, or started and waiting to be placed): their
   * replica was made from the state at spawn time, so broadcasts go to them too.
   */
  private readonly starting = new Set<Slot>();
  /** odp port → handler id. */
  private readonly owner = new Map<number, number>();
  /** odp ports known to every handler (netdev attached), in order of addition. */
  private readonly known = new Set<number>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  private constructor(o: HandlersOptions) {
    this.o = o;
    this.dp = o.dp;
    this.bank = DoorbellBank.attach(o.dp.bank.sab);
    this.stats = HandlerStats.create();
    this.cfg = { ...DEFAULT_HANDLER_CONFIG, ...o.cfg };
    this.log = o.log ?? (() => undefined);
  }

  /** Starts `n` handler threads serving every port of the datapath. */
  static async start(o: HandlersOptions): Promise<Handlers> {
    const h = new Handlers(o);
    for (const p of o.dp.portList()) h.known.add(p.portNo);
    try {
      await h.serialize(async () => {
        await h.grow(o.n ?? 1);
        await h.reassign();
      });
    } catch (e) {
      await h.stop();
      throw e;
    }
    return h;
  }

  get count(): number {
    return this.slots.length;
  }

  private serialize<T>(f: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('handlers are stopped'));
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  // ---- threads ----

  private spawn(id: number, restarts = 0): Promise<Slot> {
    const bellSlot = this.bank.allocSlot();
    if (bellSlot < 0) return Promise.reject(new Error('no free doorbell slot for a handler thread'));
    const ctlSab = new SharedArrayBuffer(64);
    const { port1, port2 } = new MessageChannel();
    const dp = this.dp;
    const init: HandlerInit = {
      handlerId: id, ctl: ctlSab, ctlPort: port2, bank: dp.bank.sab, bellSlot, pool: dp.pool.descriptor(),
      upcallArea: dp.upcallArea.sab, flowTable: dp.table.sab, ukeys: this.o.ukeys, stats: this.stats.sab,
      replica: this.o.replicaInit(),
      netdevs: [...this.known].map((portNo) => ({ portNo, netdev: dp.netdev(portNo).descriptor() })),
      txq: dp.maxPmds + 1 + id, cfg: this.cfg,
    };
    const worker = watchWorker(new Worker(WORKER_URL, { workerData: init, transferList: [port2] }));
    const slot: Slot = {
      id, worker, threadId: worker.threadId, port: port1, ctl: new Int32Array(ctlSab), bellSlot, seq: 0,
      pending: new Map(), dead: false, stopping: false, restarts,
    };
    this.starting.add(slot);
    return new Promise((resolve, reject) => {
      let started = false;
      const fail = (why: string): void => {
        if (slot.dead) return;
        slot.dead = true;
        this.starting.delete(slot);
        this.bank.freeSlot(bellSlot);
        for (const p of slot.pending.values()) p.reject(new Error(`handler ${id}: ${why}`));
        slot.pending.clear();
        if (!started) reject(new Error(`handler ${id}: ${why}`));
        else if (!slot.stopping) {
          this.log(`handler ${id} (thread ${slot.threadId}): ${why}; restarting it`);
          this.o.onThreadEvent?.({ type: 'died', id, threadId: slot.threadId, why, atMs: Date.now() });
          void this.serialize(() => this.heal(slot)).catch((e) => this.log(`handler ${id}: restart failed: ${String(e)}`));
        }
      };
      worker.on('message', (m: HandlerEvent | HandlerReply) => {
        if ('event' in m) {
          switch (m.event) {
            case 'ready': started = true; resolve(slot); break;
            case 'fatal': fail(m.message); break;
            case 'packet-in': this.o.onPacketIn?.(m.items); break;
            case 'credits': this.o.onCredits?.(m.credits); break;
            case 'kick': this.o.onKick?.(); break;
          }
          return;
        }
        const p = slot.pending.get(m.seq);
        if (!p) return;
        slot.pending.delete(m.seq);
        if (m.error) p.reject(new Error(`handler ${id}: ${m.error}`));
        else p.resolve();
      });
      worker.on('error', (e) => fail(`error: ${e instanceof Error ? e.message : String(e)}`));
      worker.on('exit', (code) => fail(`exited with code ${code}`));
    });
  }

  /** Sends requests to one handler and waits for all acknowledgements. */
  private request(s: Slot, bodies: readonly HandlerRequestBody[]): Promise<void> {
    if (s.dead) return Promise.reject(new Error(`handler ${s.id} is not running`));
    const ps = bodies.map((b) => {
      const seq = ++s.seq;
      const p = new Promise<void>((resolve, reject) => s.pending.set(seq, { resolve, reject }));
      s.port.postMessage({ ...b, seq });
      return p;
    });
    Atomics.add(s.ctl, 0, 1);
    this.bank.kick(s.bellSlot);
    return Promise.all(ps).then(() => undefined);
  }

  private async grow(n: number): Promise<void> {
    const fresh: Slot[] = [];
    try {
      for (let id = this.slots.length; id < n; id++) {
        this.stats.clearLine(this.stats.handlerLine(id));
        fresh.push(await this.spawn(id));
      }
    } catch (e) {
      for (const s of fresh) await this.quit(s);
      throw e;
    }
    this.slots.push(...fresh);
    for (const s of fresh) this.starting.delete(s);
  }

  private async quit(s: Slot): Promise<void> {
    s.stopping = true;
    const exited = new Promise<void>((res) => {
      if (s.dead) res();
      else s.worker.once('exit', () => res());
    });
    try {
      if (!s.dead) await this.request(s, [{ op: 'quit' }]);
    } catch {
      // gone already
    }
    const t = setTimeout(() => void s.worker.terminate(), 5000);
    await exited;
    clearTimeout(t);
    if (!s.dead) {
      s.dead = true;
      this.bank.freeSlot(s.bellSlot);
    }
    s.port.close();
  }

  /** Replaces a dead handler: same id, same ports (its held upcalls are lost with it). */
  private async heal(dead: Slot): Promise<void> {
    if (this.stopped || this.slots[dead.id] !== dead) return;
    const s = await this.spawn(dead.id, dead.restarts + 1);
    this.slots[dead.id] = s;
    this.starting.delete(s);
    this.o.onThreadEvent?.({ type: 'restarted', id: s.id, threadId: s.threadId, atMs: Date.now() });
    const mine = [...this.owner].filter(([, h]) => h === dead.id).map(([p]) => p);
    await this.request(s, mine.map((portNo) => ({ op: 'attach' as const, portNo, upcall: this.dp.upcallQueue(portNo) })));
  }

  /** Changes the number of handler threads (1..64); ports are reassigned with safe handovers. */
  setCount(n: number): Promise<void> {
    return this.serialize(async () => {
      if (!Number.isInteger(n) || n < 1 || n > MAX_HANDLERS) throw new RangeError(`handler threads must be 1..${MAX_HANDLERS}, got ${n}`);
      if (n > this.slots.length) {
        await this.grow(n);
        await this.reassign();
      } else if (n < this.slots.length) {
        await this.reassign(n);
        const doomed = this.slots.slice(n);
        this.slots = this.slots.slice(0, n);
        for (const s of doomed) await this.quit(s);
      }
    });
  }

  /**
   * Recomputes the assignment over the first `m` handlers: releases first (each old owner
   * acknowledges), then attaches.
   */
  private async reassign(m = this.slots.length): Promise<void> {
    const ports = [...this.known].sort((a, b) => a - b);
    const target = new Map<number, number>();
    ports.forEach((p, i) => target.set(p, i % m));
    const releases = new Map<number, HandlerRequestBody[]>();
    const attaches = new Map<number, HandlerRequestBody[]>();
    const add = (mm: Map<number, HandlerRequestBody[]>, id: number, b: HandlerRequestBody): void => {
      if (!mm.has(id)) mm.set(id, []);
      mm.get(id)!.push(b);
    };
    for (const [p, cur] of this.owner) {
      if (target.get(p) !== cur) add(releases, cur, { op: 'detach', portNo: p });
    }
    for (const [p, to] of target) {
      if (this.owner.get(p) !== to) add(attaches, to, { op: 'attach', portNo: p, upcall: this.dp.upcallQueue(p) });
    }
    await Promise.all([...releases].map(([id, b]) => this.request(this.slots[id]!, b)));
    for (const bodies of releases.values()) for (const b of bodies) if (b.op === 'detach') this.owner.delete(b.portNo);
    await Promise.all([...attaches].map(([id, b]) => this.request(this.slots[id]!, b)));
    for (const [id, bodies] of attaches) for (const b of bodies) if (b.op === 'attach') this.owner.set(b.portNo, id);
  }

  /** Running threads: id, worker threadId (null while being replaced), restarts. */
  threads(): Array<{ id: number; threadId: number | null; restarts: number }> {
    return this.slots.map((s) => ({ id: s.id, threadId: s.dead ? null : s.threadId, restarts: s.restarts }));
  }

  /**
   * Fault injection (tests, `tsvs debug crash`): makes handler `id` die — 'throw': an uncaught
   * exception in the thread; 'terminate': Worker.terminate(). It is replaced like any dead handler.
   * Returns the threadId that was crashed. Throws RangeError for an id that is not running.
   */
  crash(id: number, how: 'throw' | 'terminate'): number {
    const s = this.slots[id];
    if (!s || s.dead) throw new RangeError(`handler ${id} is not running`);
    if (how === 'terminate') void s.worker.terminate();
    else {
      s.port.postMessage({ op: 'crash', seq: ++s.seq });
      Atomics.add(s.ctl, 0, 1);
      this.bank.kick(s.bellSlot);
    }
    return s.threadId;
  }

  // ---- ports ----

  /** A datapath port was added: every handler may transmit to it, one handler serves its queue. */
  portAdded(portNo: number): Promise<void> {
    return this.serialize(async () => {
      if (this.known.has(portNo)) return;
      const netdev = this.dp.netdev(portNo).descriptor();
      await Promise.all(this.slots.map((s) => this.request(s, [{ op: 'netdevAdd', portNo, netdev }])));
      this.known.add(portNo);
      await this.reassign();
    });
  }

  /**
   * A datapath port is about to be deleted: its queue is released and no handler transmits to it
   * once this resolves.
   */
  portRemoving(portNo: number): Promise<void> {
    return this.serialize(async () => {
      if (!this.known.has(portNo)) return;
      const cur = this.owner.get(portNo);
      if (cur !== undefined) {
        await this.request(this.slots[cur]!, [{ op: 'detach', portNo }]);
        this.owner.delete(portNo);
      }
      this.known.delete(portNo);
      await Promise.all(this.slots.map((s) => this.request(s, [{ op: 'netdevDel', portNo }])));
      await this.reassign();
    });
  }

  /** Which handler serves each port's queue: odp port → handler id. */
  assignment(): Map<number, number> {
    return new Map(this.owner);
  }

  // ---- broadcasts ----

  /**
   * Sends a table / port-model change to every handler's replica (applied between rounds, in
   * order). A replica that refuses it is out of step with the master: that handler is replaced by
   * a new thread started from the current state.
   */
  broadcast(u: ReplicaUpdate): void {
    for (const s of [...this.slots, ...this.starting]) {
      if (s.dead) continue;
      this.request(s, [{ op: 'update', u }]).catch((e) => {
        if (s.dead || s.stopping) return;
        this.log(`handler ${s.id}: replica update failed (${String(e)}); restarting it from the current state`);
        void this.serialize(() => this.respawn(s)).catch((err) => this.log(`handler ${s.id}: restart failed: ${String(err)}`));
      });
    }
  }

  /** Replaces a live handler by a fresh thread (same id and queues), e.g. after its replica diverged. */
  private async respawn(old: Slot): Promise<void> {
    if (this.stopped || this.slots[old.id] !== old) return;
    const mine = [...this.owner].filter(([, h]) => h === old.id).map(([p]) => p);
    if (!old.dead) await this.request(old, mine.map((portNo) => ({ op: 'detach' as const, portNo }))).catch(() => undefined);
    await this.quit(old);
    const s = await this.spawn(old.id, old.restarts + 1);
    this.slots[old.id] = s;
    this.starting.delete(s);
    await this.request(s, mine.map((portNo) => ({ op: 'attach' as const, portNo, upcall: this.dp.upcallQueue(portNo) })));
  }

  /** Changes the handlers' tunables (quota, batch sizes, shedding, sleeping). */
  setConfig(cfg: Partial<HandlerConfig>): Promise<void> {
    Object.assign(this.cfg, cfg);
    return Promise.all(this.slots.map((s) => this.request(s, [{ op: 'config', cfg: this.cfg }]))).then(() => undefined);
  }

  /** Resolves once every handler has applied every request sent before (a barrier). */
  sync(): Promise<void> {
    return Promise.all(this.slots.filter((s) => !s.dead).map((s) => this.request(s, [{ op: 'sync' }]))).then(() => undefined);
  }

  // ---- statistics ----

  threadStats(): HandlerThreadStats[] {
    return this.slots.map((s) => {
      const line = this.stats.handlerLine(s.id);
      return {
        id: s.id, threadId: s.threadId, ports: [...this.owner].filter(([, h]) => h === s.id).map(([p]) => p).sort((a, b) => a - b),
        counters: this.stats.counters(line), rounds: this.stats.f[line + S_ROUNDS]!, sleeps: this.stats.f[line + S_SLEEPS]!,
        latency: this.stats.latencySummary(line), restarts: s.restarts,
      };
    });
  }

  portStats(): HandlerPortStats[] {
    return [...this.known].sort((a, b) => a - b).map((portNo) => {
      const line = this.stats.portLine(portNo);
      let q = { queued: 0, dropped: 0, pending: 0, action: { queued: 0, dropped: 0, pending: 0 } };
      try {
        q = this.dp.upcallStats(portNo);
      } catch {
        // port already gone from the datapath
      }
      return {
        portNo, handler: this.owner.get(portNo) ?? -1, counters: this.stats.counters(line), queueDropped: q.dropped,
        queued: q.queued, pending: q.pending, action: { ...q.action }, latency: this.stats.latencySummary(line),
      };
    });
  }

  /** Zeroes a port's counters (a port number about to be reused). */
  clearPortStats(portNo: number): void {
    this.stats.clearLine(this.stats.portLine(portNo));
  }

  /** Stops every handler thread (queued upcalls stay in their queues). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.chain;
    this.stopped = true;
    const all = this.slots;
    this.slots = [];
    for (const s of all) await this.quit(s);
    this.owner.clear();
  }
}
