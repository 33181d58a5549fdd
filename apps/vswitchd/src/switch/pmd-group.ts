/**
 * The datapath's PMD threads as a supervised thread kind (supervisor.ts ThreadGroup): the
 * `Datapath` (@tsvs/dpif) starts, stops and reconfigures its PMD threads itself; this group counts
 * them for the supervisor, and restarts one that dies (uncaught exception, terminate()), which
 * the datapath does not do on its own.
 *
 * Restart of PMD `id` (runs in the datapath's reconfiguration chain, so never concurrently with a
 * port change or a PMD count change):
 *   1. its counters are folded into the datapath's totals of stopped PMDs (the replacement zeroes
 *      the block): `dpctl show` lookups and the flows' stats stay exact, nothing is counted twice;
 *   2. its flow-table QSBR slot is taken offline and unclaimed: writers (handlers, revalidators,
 *      dpctl) waiting for a grace period stop waiting for a thread that will never quiesce, and
 *      the replacement can claim the id;
 *   3. its rxqs are marked unowned and its doorbell slot is freed;
 *   4. a new PMD thread gets the same id (same txq, same upcall rings, same stats slots), all ports,
 *      and the rxqs (the datapath's rxq assignment runs again over every PMD).
 * Frames waiting in the rxqs stay there and are read by the new owner; the burst the dead thread
 * held (at most 32 frames per rxq it polled) is lost, its buffers with it.
 *
 * WORKAROUND: @tsvs/dpif has no API for this yet (no PMD exit notification, no restart, no way to
 * release a dead PMD's flow-table slot), so this module reaches into the Datapath's private
 * members, checked at construction (`internalsOf` throws a one-line error if they changed). The
 * proper home is `Datapath.restartPmd(id)` plus an exit event; see apps/vswitchd/README.md.
 */
import type { Worker, MessagePort } from 'node:worker_threads';
import type { Datapath, FlowTable, PmdCounterName } from '@tsvs/dpif';
import { PMD_COUNTER_NAMES, QSBR_STRIDE, Q_CLAIMED, Q_COUNTER } from '@tsvs/dpif';
import type { CounterSet, DoorbellBank } from '@tsvs/shm';
import type { NetdevDescriptor } from '@tsvs/netdev';
import type { CrashHow, ThreadGroup, ThreadReporter } from '../supervisor.js';

/** The private parts of a PmdThread this module uses. */
interface PmdThreadInternals {
  readonly pmdId: number;
  readonly bellSlot: number;
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  readonly dead: Error | null;
  requestMany(bodies: readonly unknown[]): Promise<unknown[]>;
}

/** The private parts of a Datapath this module uses. */
interface DatapathInternals {
  readonly pmds: Map<number, PmdThreadInternals>;
  readonly rxqOwner: Map<string, number>;
  readonly ports: Map<number, { readonly portNo: number; readonly netdev: { descriptor(): NetdevDescriptor }; readonly upcallDesc: unknown }>;
  readonly retired: Record<PmdCounterName, number>;
  readonly zero: Map<number, unknown>;
  readonly counters: CounterSet;
  readonly bank: DoorbellBank;
  readonly table: FlowTable;
  serialize<T>(f: () => Promise<T>): Promise<T>;
  startPmds(n: number): Promise<PmdThreadInternals[]>;
  reassign(ids: number[]): Promise<void>;
}

/** Checks that the Datapath still has the members this workaround relies on. Throws Error otherwise. */
export function internalsOf(dp: Datapath): DatapathInternals {
  const d = dp as unknown as Record<string, unknown>;
  const missing: string[] = [];
  for (const f of ['pmds', 'rxqOwner', 'ports', 'zero']) if (!(d[f] instanceof Map)) missing.push(f);
  for (const f of ['serialize', 'startPmds', 'reassign']) if (typeof d[f] !== 'function') missing.push(f);
  for (const f of ['retired', 'counters', 'bank', 'table']) if (typeof d[f] !== 'object' || d[f] === null) missing.push(f);
  const pmd = (d['pmds'] as Map<number, Record<string, unknown>> | undefined)?.values().next().value;
  if (pmd) {
    if (typeof (pmd['worker'] as Worker | undefined)?.terminate !== 'function') missing.push('PmdThread.worker');
    if (typeof (pmd['port'] as MessagePort | undefined)?.postMessage !== 'function') missing.push('PmdThread.port');
    if (!(pmd['ctl'] instanceof Int32Array)) missing.push('PmdThread.ctl');
  }
  if (missing.length > 0) throw new Error(`PMD supervision: the Datapath lacks ${missing.join(', ')} (internals changed)`);
  return dp as unknown as DatapathInternals;
}

export interface PmdGroupOptions {
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

export class PmdGroup implements ThreadGroup {
  private readonly dpi: DatapathInternals;
  private readonly watched = new WeakSet<PmdThreadInternals>();
  private reporter: ThreadReporter | undefined;
  private closing = false;
  /** Deaths seen but not yet restarted, by PMD id. */
  private readonly down = new Set<number>();
  /** Recent death times per PMD id: a PMD that keeps dying is restarted after a pause (crash loop). */
  private readonly deaths = new Map<number, number[]>();

  constructor(
    readonly dp: Datapath,
    private readonly opts: PmdGroupOptions,
  ) {
    this.dpi = internalsOf(dp);
    this.watchAll();
  }

  /** Connects the supervisor's reporter (after Supervisor.adopt). */
  attach(reporter: ThreadReporter): void {
    this.reporter = reporter;
  }

  count(): number {
    return this.dp.pmdCount + this.down.size;
  }

  maxCount(): number {
    return this.dp.maxPmds;
  }

  slots(): Array<{ slot: number; threadId: number | null }> {
    const out: Array<{ slot: number; threadId: number | null }> = [];
    for (const [id, t] of this.dpi.pmds) out.push({ slot: id, threadId: this.down.has(id) || t.dead ? null : t.worker.threadId });
    for (const id of this.down) if (!this.dpi.pmds.has(id)) out.push({ slot: id, threadId: null });
    return out.sort((a, b) => a.slot - b.slot);
  }

  async setCount(n: number): Promise<void> {
    await this.dp.setPmdCount(n);
    this.watchAll();
  }

  /**
   * `terminate`: Worker.terminate() from here. `throw`: a malformed control message (null) on the
   * PMD's control port, which makes its loop throw a TypeError that nothing catches (a real bug path:
   * the PMD trusts its control messages). `exit` is not supported: the PMD loop never calls
   * process.exit.
   */
  crash(slot: number, how: CrashHow): number {
    const t = this.dpi.pmds.get(slot);
    if (!t || t.dead) throw new Error(`pmd thread ${slot} is not running`);
    const threadId = t.worker.threadId;
    if (how === 'terminate') void t.worker.terminate();
    else if (how === 'throw') {
      t.port.postMessage(null);
      Atomics.add(t.ctl, 0, 1);
      this.dpi.bank.kick(t.bellSlot);
    } else throw new Error('pmd threads can be crashed with --how throw or terminate (the PMD loop never exits by itself)');
    return threadId;
  }

  /** Stops restarting (before the datapath closes). */
  close(): void {
    this.closing = true;
  }

  /** Attaches exit listeners to PMD threads not watched yet (after start and every reconfiguration). */
  private watchAll(): void {
    for (const [id, t] of this.dpi.pmds) {
      if (this.watched.has(t)) continue;
      this.watched.add(t);
      let error: string | undefined;
      const threadId = t.worker.threadId;
      t.worker.on('error', (e) => (error = e instanceof Error ? e.message.split('\n')[0] : String(e)));
      t.worker.once('exit', (code) => this.onExit(id, t, threadId, code, error, Date.now()));
    }
  }

  private onExit(id: number, t: PmdThreadInternals, threadId: number, code: number, error: string | undefined, atMs: number): void {
    if (this.closing) return;
    // As the supervisor does for its own workers: 3 deaths within 10 s -> wait 200 ms before the restart.
    const recent = (this.deaths.get(id) ?? []).filter((x) => atMs - x < 10_000);
    recent.push(atMs);
    this.deaths.set(id, recent);
    const delay = recent.length >= 3 ? 200 : 0;
    if (delay > 0) setTimeout(() => this.enqueueRestart(id, t, threadId, code, error, atMs), delay);
    else this.enqueueRestart(id, t, threadId, code, error, atMs);
  }

  private enqueueRestart(id: number, t: PmdThreadInternals, threadId: number, code: number, error: string | undefined, atMs: number): void {
    if (this.closing) return;
    // A PMD the datapath stops (fewer PMDs, close) exits too: it is still in `pmds` now, but gone by
    // the time the reconfiguration that stopped it has finished. So decide in the chain.
    this.dpi
      .serialize(async () => {
        if (this.closing || this.dpi.pmds.get(id) !== t) return;
        this.down.add(id);
        this.reporter?.died(id, { threadId, code, ...(error !== undefined ? { error } : {}), atMs });
        await this.restart(id, t);
      })
      .catch((err: unknown) => {
        if (!this.closing) this.opts.log.error({ err, pmd: id }, 'restarting a PMD thread failed');
      });
  }

  private async restart(id: number, dead: PmdThreadInternals): Promise<void> {
    const dpi = this.dpi;
    const c = dpi.counters.readBlock(id) as Record<PmdCounterName, number>;
    for (const n of PMD_COUNTER_NAMES) dpi.retired[n] += c[n];
    dpi.zero.delete(id);
    const table = dpi.table;
    const q = table.qsbrBase + id * QSBR_STRIDE;
    Atomics.store(table.i32, q + Q_COUNTER, 0);
    Atomics.notify(table.i32, q + Q_COUNTER);
    Atomics.store(table.i32, q + Q_CLAIMED, 0);
    for (const [k, owner] of [...dpi.rxqOwner]) if (owner === id) dpi.rxqOwner.delete(k);
    dpi.pmds.delete(id);
    dpi.bank.freeSlot(dead.bellSlot);
    try {
      dead.port.close();
    } catch {
      // already closed
    }
    const [t] = await dpi.startPmds(1);
    if (!t) throw new Error('no PMD thread started');
    if (t.pmdId !== id) this.opts.log.warn({ wanted: id, got: t.pmdId }, 'restarted PMD got another id');
    this.watchAll();
    await t.requestMany(
      [...dpi.ports.values()].map((r) => ({ op: 'addPort', portNo: r.portNo, netdev: r.netdev.descriptor(), upcall: r.upcallDesc })),
    );
    await dpi.reassign([...dpi.pmds.keys()]);
    this.down.delete(id);
    this.reporter?.restarted(t.pmdId, t.worker.threadId);
  }
}
