/**
 * The datapath's PMD threads as a supervised thread kind (supervisor.ts ThreadGroup), through the
 * `Datapath`'s public API only (@tsvs/dpif): the datapath starts, stops and reconfigures its PMD
 * threads; when one dies (uncaught exception, terminate()) it releases the thread's flow-table
 * slot at once and reports the exit (`onPmdExit`); this group reports the death to the supervisor
 * (logged, counted, shown) and has the datapath replace it (`restartPmd`: same id, txq, upcall rings
 * and stats slots, every port, rxqs reassigned over all PMDs, in the reconfiguration chain), then
 * reports the replacement. A PMD that keeps dying (3 deaths within 10 s) is restarted after 200 ms,
 * as the supervisor does for its own workers. Exits the datapath asked for (fewer PMDs, close) are
 * not deaths.
 *
 * Frames waiting in the dead PMD's rxqs stay there and are read by their new owner; the burst the
 * dead thread held (at most 32 frames per rxq it polled) is lost, its buffers with it.
 */
import { DpifError, type Datapath, type PmdExitEvent } from '@tsvs/dpif';
import type { CrashHow, ThreadGroup, ThreadReporter } from '../supervisor.js';

export interface PmdGroupOptions {
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

const CRASH_WINDOW_MS = 10_000;
const CRASH_LOOP_COUNT = 3;
const CRASH_LOOP_DELAY_MS = 200;

export class PmdGroup implements ThreadGroup {
  private reporter: ThreadReporter | undefined;
  private closing = false;
  private readonly off: () => void;
  /** Recent death times per PMD id (crash-loop pause). */
  private readonly deaths = new Map<number, number[]>();
  /**
   * PMDs reported dead and not reported restarted yet. While `restartPmd` runs, the datapath
   * briefly has no PMD of that id; it still counts here (down, not gone).
   */
  private readonly down = new Set<number>();

  constructor(
    readonly dp: Datapath,
    private readonly opts: PmdGroupOptions,
  ) {
    this.off = dp.onPmdExit((e) => this.onExit(e));
  }

  /** Connects the supervisor's reporter (after Supervisor.adopt). */
  attach(reporter: ThreadReporter): void {
    this.reporter = reporter;
  }

  /** PMDs that should run: running ones and dead ones awaiting their restart. */
  count(): number {
    return this.slots().length;
  }

  maxCount(): number {
    return this.dp.maxPmds;
  }

  slots(): Array<{ slot: number; threadId: number | null }> {
    const out = this.dp.pmdThreads().map((t) => ({ slot: t.pmdId, threadId: t.dead || this.down.has(t.pmdId) ? null : t.threadId }));
    for (const id of this.down) if (!out.some((s) => s.slot === id)) out.push({ slot: id, threadId: null });
    return out.sort((a, b) => a.slot - b.slot);
  }

  setCount(n: number): Promise<void> {
    return this.dp.setPmdCount(n);
  }

  /** `terminate` or `throw` (a malformed control message the PMD loop throws on); `exit` is refused. */
  crash(slot: number, how: CrashHow): number {
    if (how === 'exit') throw new Error('pmd threads can be crashed with --how throw or terminate (the PMD loop never exits by itself)');
    try {
      return this.dp.crashPmd(slot, how);
    } catch (e) {
      if (e instanceof DpifError) throw new Error(`pmd thread ${slot} is not running`);
      throw e;
    }
  }

  /** Stops restarting and reporting (before the datapath closes). */
  close(): void {
    this.closing = true;
    this.off();
  }

  private onExit(e: PmdExitEvent): void {
    if (this.closing || e.expected) return;
    const id = e.pmdId;
    this.down.add(id);
    this.reporter?.died(id, { threadId: e.threadId, code: e.code, ...(e.error !== undefined ? { error: e.error } : {}), atMs: e.atMs });
    const recent = (this.deaths.get(id) ?? []).filter((t) => e.atMs - t < CRASH_WINDOW_MS);
    recent.push(e.atMs);
    this.deaths.set(id, recent);
    if (recent.length >= CRASH_LOOP_COUNT) setTimeout(() => this.restart(id), CRASH_LOOP_DELAY_MS);
    else this.restart(id);
  }

  private restart(id: number): void {
    if (this.closing) return;
    this.dp
      .restartPmd(id)
      .then(() => {
        this.down.delete(id);
        const t = this.dp.pmdThreads().find((x) => x.pmdId === id);
        if (t && !t.dead && !this.closing) this.reporter?.restarted(id, t.threadId);
      })
      .catch((err: unknown) => {
        this.down.delete(id);
        // Also when the PMD went away meanwhile (fewer PMDs): the message says so ("not a dead PMD").
        if (!this.closing) this.opts.log.error({ err: (err as Error).message, pmd: id }, 'restarting a PMD thread failed');
      });
  }
}
