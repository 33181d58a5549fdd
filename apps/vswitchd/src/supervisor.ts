/**
 * Thread supervisor: runs N worker threads of each kind (pmd, handler, revalidator, ...), restarts any
 * that dies, and changes N at runtime.
 *
 * - A worker "dies" when it exits without having been asked to stop: uncaught exception, process.exit()
 *   in the worker (any code, 0 included), terminate() from elsewhere, or no 'ready' within readyTimeoutMs.
 * - A dead worker is restarted in the same slot after restartDelayMs (50 ms), or maxRestartDelayMs (200 ms)
 *   when the slot died 3+ times in the last 10 s, so a crash loop costs little CPU and a restart still
 *   happens well within 1 s. The slot's generation increases; the kind's onStart hook runs again once the
 *   new worker is ready, which is where queues/rxqs are handed to it.
 * - Restarts are counted per slot and per kind; downtime (exit -> ready of the replacement) is recorded.
 * - setCount() grows (slots count up, waiting until each new worker is ready or died) or shrinks (highest
 *   slots first: 'stop' message, terminate() after stopTimeoutMs).
 * Kinds are defined before their first setCount(); a plug-in replaces a kind's module with defineKind().
 *
 * Adopted kinds: a subsystem that runs and restarts its own threads (the datapath's PMD threads, the
 * OpenFlow layer's handlers and revalidators) hands them over with adopt(kind, group). The supervisor
 * then delegates setCount/crash to the group and the group reports each death and restart through
 * the returned ThreadReporter, so that every kind is logged, counted and shown the same way, once.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { watchWorker } from '@tsvs/shm';
import type { SupervisedWorkerData, SupervisorToWorker } from './workers/protocol.js';

export interface SupervisorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RunningWorker {
  kind: string;
  slot: number;
  generation: number;
  worker: Worker;
  threadId: number;
}

export interface WorkerExit {
  code: number;
  /** The uncaught error, when the worker died of one. */
  error?: Error;
  /** True when the supervisor asked it to stop. */
  intended: boolean;
}

export interface WorkerKindSpec {
  /** Compiled worker module (Node 20 cannot start workers from .ts). */
  url: URL;
  /** Kind-specific workerData for a slot (becomes SupervisedWorkerData.data). */
  data?: (slot: number, generation: number) => unknown;
  /** Runs when a worker of this kind is ready (first start and every restart). */
  onStart?: (w: RunningWorker) => void;
  /** Runs when a worker of this kind has exited (died or stopped), before any restart. */
  onExit?: (w: RunningWorker, exit: WorkerExit) => void;
  /** Grace period after 'stop' before terminate(), ms. Default 2000. */
  stopTimeoutMs?: number;
  /** A worker not ready this long after spawn is terminated and counted as died, ms. Default 10000. */
  readyTimeoutMs?: number;
}

export type CrashHow = 'throw' | 'exit' | 'terminate';

/**
 * Threads run by another component (see "Adopted kinds" above). Slots are numbered 0..count-1.
 */
export interface ThreadGroup {
  /** Threads that should run. */
  count(): number;
  /** Most threads the group can run (setCount above it is refused before anything changes). */
  maxCount(): number;
  /** Changes the number of threads; resolves once the change is in effect. Throws on failure. */
  setCount(n: number): Promise<void>;
  /** The threadId of each slot's running incarnation; null while it is down or restarting. */
  slots(): Array<{ slot: number; threadId: number | null }>;
  /** Fault injection: makes the slot's thread die; returns its threadId. Throws Error (one line) if `how` is unsupported. */
  crash(slot: number, how: CrashHow): number;
}

/** How an adopted group reports its threads' deaths and restarts. */
export interface ThreadReporter {
  /** A thread died unasked (at `atMs`, Date.now() clock; default now). */
  died(slot: number, info: { threadId: number; code?: number; error?: string; atMs?: number }): void;
  /** The slot's replacement is running. */
  restarted(slot: number, threadId: number): void;
}

export interface SupervisorOptions {
  logger: SupervisorLogger;
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

export interface SlotSnapshot {
  slot: number;
  threadId: number | null;
  generation: number;
  restarts: number;
  /** ms since the running worker became ready; null while down or starting. */
  uptimeMs: number | null;
  /** ms from the last death to the replacement being ready; null if never restarted. */
  lastDowntimeMs: number | null;
}

export interface KindSnapshot {
  count: number;
  alive: number;
  restarts: number;
  threads: SlotSnapshot[];
}

export interface SupervisorEvents {
  /** A worker died (not asked to stop). */
  died: [info: { kind: string; slot: number; threadId: number; code: number; error?: Error }];
  /** A worker is ready (first start or restart). */
  ready: [info: RunningWorker & { restart: boolean }];
}

interface Slot {
  index: number;
  generation: number;
  worker: Worker | undefined;
  threadId: number | null;
  readyAt: number | null;
  diedAt: number | null;
  restarts: number;
  lastDowntimeMs: number | null;
  stopping: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  crashTimes: number[];
  lastError: Error | undefined;
  /** Resolved when the current worker is ready or has exited. */
  settle: (() => void) | undefined;
  settled: Promise<void>;
}

interface Kind {
  name: string;
  spec: WorkerKindSpec;
  slots: Slot[];
  restarts: number;
  /** Set when another component runs this kind's threads. */
  group?: ThreadGroup;
  /** Per slot of an adopted kind: restart bookkeeping. */
  adopted?: Map<number, AdoptedSlot>;
}

interface AdoptedSlot {
  restarts: number;
  diedAt: number | null;
  readyAt: number | null;
  lastDowntimeMs: number | null;
}

const CRASH_WINDOW_MS = 10_000;
const CRASH_LOOP_COUNT = 3;

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly kinds = new Map<string, Kind>();
  private readonly log: SupervisorLogger;
  private readonly restartDelayMs: number;
  private readonly maxRestartDelayMs: number;
  private stopped = false;

  constructor(options: SupervisorOptions) {
    super();
    this.log = options.logger;
    this.restartDelayMs = options.restartDelayMs ?? 50;
    this.maxRestartDelayMs = options.maxRestartDelayMs ?? 200;
  }

  /** Defines or replaces a kind. Replacing takes effect for workers started afterwards. */
  defineKind(name: string, spec: WorkerKindSpec): void {
    const existing = this.kinds.get(name);
    if (existing) existing.spec = spec;
    else this.kinds.set(name, { name, spec, slots: [], restarts: 0 });
  }

  /**
   * Hands kind `name` over to `group` (defining the kind if needed): workers this supervisor runs
   * for it are stopped first. Returns the reporter the group must call on deaths and restarts.
   */
  async adopt(name: string, group: ThreadGroup): Promise<ThreadReporter> {
    let k = this.kinds.get(name);
    if (!k) {
      k = { name, spec: { url: new URL('data:,') }, slots: [], restarts: 0 };
      this.kinds.set(name, k);
    }
    const own = k.slots.splice(0).reverse();
    const owner = k;
    await Promise.all(own.map((s) => this.stopSlot(owner, s)));
    const adopted = new Map<number, AdoptedSlot>();
    k.group = group;
    k.adopted = adopted;
    const kind = k;
    const now = Date.now();
    for (const s of group.slots()) adopted.set(s.slot, { restarts: 0, diedAt: null, readyAt: s.threadId !== null ? now : null, lastDowntimeMs: null });
    const slotOf = (slot: number): AdoptedSlot => {
      let a = kind.adopted!.get(slot);
      if (!a) {
        a = { restarts: 0, diedAt: null, readyAt: null, lastDowntimeMs: null };
        kind.adopted!.set(slot, a);
      }
      return a;
    };
    return {
      died: (slot, info) => {
        if (kind.group !== group) return;
        const a = slotOf(slot);
        kind.restarts++;
        a.restarts++;
        a.diedAt = info.atMs ?? Date.now();
        a.readyAt = null;
        this.log.error({ kind: name, slot, threadId: info.threadId, code: info.code, err: info.error }, `${name} thread ${slot} died; restarting`);
        this.emit('died', { kind: name, slot, threadId: info.threadId, code: info.code ?? 1, ...(info.error ? { error: new Error(info.error) } : {}) });
      },
      restarted: (slot, threadId) => {
        if (kind.group !== group) return;
        const a = slotOf(slot);
        a.readyAt = Date.now();
        if (a.diedAt !== null) {
          a.lastDowntimeMs = a.readyAt - a.diedAt;
          a.diedAt = null;
        }
        this.log.info({ kind: name, slot, threadId, downtimeMs: a.lastDowntimeMs }, 'thread restarted');
      },
    };
  }

  /** The group running an adopted kind, if any. */
  groupOf(name: string): ThreadGroup | undefined {
    return this.kinds.get(name)?.group;
  }

  /** Most threads of a kind (the group's limit for an adopted kind). */
  maxCount(name: string): number {
    const g = this.kind(name).group;
    return g ? g.maxCount() : Number.MAX_SAFE_INTEGER;
  }

  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  hasKind(name: string): boolean {
    return this.kinds.has(name);
  }

  private kind(name: string): Kind {
    const k = this.kinds.get(name);
    if (!k) throw new Error(`unknown thread kind ${name}`);
    return k;
  }

  count(name: string): number {
    const k = this.kind(name);
    return k.group ? k.group.count() : k.slots.length;
  }

  restarts(name: string): number {
    return this.kind(name).restarts;
  }

  /** The running worker of a slot, if it is up (workers this supervisor runs only). */
  worker(name: string, slot: number): Worker | undefined {
    return this.kind(name).slots[slot]?.worker;
  }

  /** True when the slot's thread is running (either a worker of ours or an adopted group's). */
  isRunning(name: string, slot: number): boolean {
    const k = this.kind(name);
    if (k.group) return k.group.slots().some((s) => s.slot === slot && s.threadId !== null);
    return k.slots[slot]?.worker !== undefined;
  }

  snapshot(name: string): KindSnapshot {
    const k = this.kind(name);
    const now = Date.now();
    if (k.group) {
      const threads = k.group.slots().map((s): SlotSnapshot => {
        const a = k.adopted!.get(s.slot);
        return {
          slot: s.slot,
          threadId: s.threadId,
          generation: a?.restarts ?? 0,
          restarts: a?.restarts ?? 0,
          uptimeMs: s.threadId !== null && a?.readyAt != null ? now - a.readyAt : null,
          lastDowntimeMs: a?.lastDowntimeMs ?? null,
        };
      });
      return { count: threads.length, alive: threads.filter((t) => t.threadId !== null).length, restarts: k.restarts, threads };
    }
    const threads = k.slots.map(
      (s): SlotSnapshot => ({
        slot: s.index,
        threadId: s.worker ? s.threadId : null,
        generation: s.generation,
        restarts: s.restarts,
        uptimeMs: s.worker && s.readyAt !== null ? now - s.readyAt : null,
        lastDowntimeMs: s.lastDowntimeMs,
      }),
    );
    return { count: k.slots.length, alive: k.slots.filter((s) => s.worker && s.readyAt !== null).length, restarts: k.restarts, threads };
  }

  /**
   * Runs `n` workers of kind `name`. Resolves when added workers are ready (or died: they are then being
   * restarted) and removed ones have exited.
   */
  async setCount(name: string, n: number): Promise<void> {
    if (this.stopped) throw new Error('supervisor is stopped');
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad thread count ${n}`);
    const k = this.kind(name);
    if (k.group) {
      const before = new Set(k.group.slots().map((s) => s.slot));
      await k.group.setCount(n);
      const now = Date.now();
      for (const s of k.group.slots()) {
        if (!before.has(s.slot)) k.adopted!.set(s.slot, { restarts: 0, diedAt: null, readyAt: s.threadId !== null ? now : null, lastDowntimeMs: null });
      }
      for (const slot of [...k.adopted!.keys()]) if (slot >= n) k.adopted!.delete(slot);
      return;
    }
    const starting: Promise<void>[] = [];
    while (k.slots.length < n) {
      const slot = this.newSlot(k.slots.length);
      k.slots.push(slot);
      this.spawn(k, slot);
      starting.push(slot.settled);
    }
    const removed = k.slots.splice(n).reverse();
    if (removed.length > 0) this.log.info({ kind: name, count: n }, 'stopping threads');
    await Promise.all([...starting, ...removed.map((s) => this.stopSlot(k, s))]);
  }

  /**
   * Fault injection: makes a running worker die. `throw`/`exit` ask the worker to throw or process.exit(0)
   * (workers/protocol.ts); `terminate` calls Worker.terminate() from here. Returns the victim's threadId.
   * Throws if the kind/slot does not exist or is down.
   */
  crash(name: string, slot: number, how: CrashHow): number {
    const k = this.kind(name);
    if (k.group) return k.group.crash(slot, how);
    const s = k.slots[slot];
    if (!s?.worker || s.threadId === null) throw new Error(`${name} thread ${slot} is not running`);
    if (how === 'terminate') void s.worker.terminate();
    else s.worker.postMessage({ type: 'crash', how } satisfies SupervisorToWorker);
    return s.threadId;
  }

  /** Stops every worker of every kind; no restarts afterwards. Adopted kinds are left to their owners. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    const all: Promise<void>[] = [];
    for (const k of this.kinds.values()) {
      if (k.group) continue;
      const slots = k.slots.splice(0).reverse();
      for (const s of slots) all.push(this.stopSlot(k, s));
    }
    await Promise.all(all);
  }

  private newSlot(index: number): Slot {
    const slot: Slot = {
      index,
      generation: -1,
      worker: undefined,
      threadId: null,
      readyAt: null,
      diedAt: null,
      restarts: 0,
      lastDowntimeMs: null,
      stopping: false,
      restartTimer: undefined,
      crashTimes: [],
      lastError: undefined,
      settle: undefined,
      settled: Promise.resolve(),
    };
    return slot;
  }

  private spawn(k: Kind, slot: Slot): void {
    slot.generation++;
    slot.readyAt = null;
    slot.lastError = undefined;
    slot.settled = new Promise<void>((resolve) => (slot.settle = resolve));
    const generation = slot.generation;
    const workerData: SupervisedWorkerData = {
      kind: k.name,
      slot: slot.index,
      generation,
      data: k.spec.data?.(slot.index, generation),
    };
    let worker: Worker;
    try {
      worker = watchWorker(new Worker(k.spec.url, { workerData }));
    } catch (err) {
      // Cannot even create the thread (bad module URL, out of resources): treat as an immediate death.
      this.log.error({ kind: k.name, slot: slot.index, err }, 'cannot start thread');
      slot.settle?.();
      this.scheduleRestart(k, slot);
      return;
    }
    slot.worker = worker;
    slot.threadId = worker.threadId;
    const running: RunningWorker = { kind: k.name, slot: slot.index, generation, worker, threadId: worker.threadId };
    const readyTimer = setTimeout(() => {
      if (slot.worker === worker && slot.readyAt === null) {
        this.log.warn({ kind: k.name, slot: slot.index }, 'thread not ready in time; terminating it');
        void worker.terminate();
      }
    }, k.spec.readyTimeoutMs ?? 10_000);
    readyTimer.unref();
    worker.on('message', (m: unknown) => {
      if (slot.worker !== worker || slot.readyAt !== null) return;
      if (typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== 'ready') return;
      clearTimeout(readyTimer);
      slot.readyAt = Date.now();
      const restart = slot.diedAt !== null;
      if (slot.diedAt !== null) {
        slot.lastDowntimeMs = slot.readyAt - slot.diedAt;
        slot.diedAt = null;
        this.log.info({ kind: k.name, slot: slot.index, threadId: running.threadId, downtimeMs: slot.lastDowntimeMs }, 'thread restarted');
      }
      try {
        k.spec.onStart?.(running);
      } catch (err) {
        this.log.error({ kind: k.name, slot: slot.index, err }, 'onStart hook failed');
      }
      this.emit('ready', { ...running, restart });
      slot.settle?.();
    });
    worker.on('error', (err) => {
      if (slot.worker === worker) slot.lastError = err;
    });
    worker.on('exit', (code) => {
      clearTimeout(readyTimer);
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.readyAt = null;
      const intended = slot.stopping;
      const exit: WorkerExit = { code, intended, ...(slot.lastError ? { error: slot.lastError } : {}) };
      try {
        k.spec.onExit?.(running, exit);
      } catch (err) {
        this.log.error({ kind: k.name, slot: slot.index, err }, 'onExit hook failed');
      }
      slot.settle?.();
      if (intended || this.stopped) return;
      k.restarts++;
      slot.restarts++;
      slot.diedAt = Date.now();
      this.log.error(
        { kind: k.name, slot: slot.index, threadId: running.threadId, code, err: slot.lastError },
        `${k.name} thread ${slot.index} died; restarting`,
      );
      this.emit('died', { kind: k.name, slot: slot.index, threadId: running.threadId, code, ...(exit.error ? { error: exit.error } : {}) });
      this.scheduleRestart(k, slot);
    });
  }

  private scheduleRestart(k: Kind, slot: Slot): void {
    const now = Date.now();
    slot.diedAt ??= now;
    slot.crashTimes = slot.crashTimes.filter((t) => now - t < CRASH_WINDOW_MS);
    slot.crashTimes.push(now);
    const delay = slot.crashTimes.length >= CRASH_LOOP_COUNT ? this.maxRestartDelayMs : this.restartDelayMs;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!slot.stopping && !this.stopped) this.spawn(k, slot);
    }, delay);
  }

  private async stopSlot(k: Kind, slot: Slot): Promise<void> {
    slot.stopping = true;
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    const worker = slot.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'stop' } satisfies SupervisorToWorker);
    const timer = setTimeout(() => {
      this.log.warn({ kind: k.name, slot: slot.index }, 'thread did not stop in time; terminating it');
      void worker.terminate();
    }, k.spec.stopTimeoutMs ?? 2000);
    await exited;
    clearTimeout(timer);
  }
}
