/**
 * The OpenFlow layer's handler and revalidator threads as supervised thread kinds (supervisor.ts
 * ThreadGroup). @tsvs/ofproto runs and replaces them itself: a handler that dies is respawned at
 * once by its `Handlers` (same id, same upcall queues); a revalidator that dies is replaced by
 * `Revalidators` at the start of the next round (its ukeys live in shared memory). These groups
 * report each death and replacement to the supervisor (logged, counted, shown), make a revalidator
 * replacement happen at once (they start a round without waiting for the timer), and inject
 * faults for tests.
 *
 * WORKAROUND: the Ofproto has no thread events or fault injection yet, so this reads the private
 * `handlers_.slots` / `revalidators_.slots` of the Ofproto (checked: a one-line error if they
 * changed). Proper home: thread exit/restart events and a crash hook on Handlers and Revalidators;
 * see apps/vswitchd/README.md.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Ofproto } from '@tsvs/ofproto';
import type { CrashHow, ThreadGroup, ThreadReporter } from '../supervisor.js';

interface SlotInternals {
  readonly worker: Worker;
  readonly threadId: number;
  readonly dead: boolean;
  readonly stopping: boolean;
  /** Handlers: their control port, control word and doorbell slot. */
  readonly port?: MessagePort;
  readonly ctl?: Int32Array;
  readonly bellSlot?: number;
  /** Revalidators: resolves once the thread is ready. */
  readonly ready?: Promise<void>;
}

type Log = { error(o: object, m: string): void; warn(o: object, m: string): void };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

abstract class OwnedThreads implements ThreadGroup {
  private readonly watched = new WeakSet<SlotInternals>();
  /** Slots whose thread died and whose replacement is not reported yet (shown as down). */
  private readonly down = new Set<number>();
  protected reporter: ThreadReporter | undefined;
  protected closing = false;

  constructor(
    protected readonly ofproto: Ofproto,
    protected readonly log: Log,
    private readonly what: string,
  ) {
    this.slotList(); // throws if the internals changed
    this.watchAll();
  }

  /** The owner's slot array (index = slot number). */
  protected abstract rawSlots(): unknown;
  abstract count(): number;
  abstract maxCount(): number;
  protected abstract resize(n: number): Promise<void>;
  /** Makes the owner replace a dead slot soon (handlers do it themselves). */
  protected abstract prompt(): void;
  protected abstract throwIn(s: SlotInternals): void;

  protected slotList(): SlotInternals[] {
    const raw = this.rawSlots();
    if (!Array.isArray(raw)) throw new Error(`${this.what} supervision: the Ofproto's thread slots are not reachable (internals changed)`);
    for (const s of raw as Record<string, unknown>[]) {
      if (typeof (s['worker'] as Worker | undefined)?.terminate !== 'function' || typeof s['dead'] !== 'boolean') {
        throw new Error(`${this.what} supervision: unexpected thread slot shape (internals changed)`);
      }
    }
    return raw as SlotInternals[];
  }

  attach(reporter: ThreadReporter): void {
    this.reporter = reporter;
  }

  close(): void {
    this.closing = true;
  }

  slots(): Array<{ slot: number; threadId: number | null }> {
    return this.slotList().map((s, i) => ({ slot: i, threadId: s.dead || this.down.has(i) ? null : s.threadId }));
  }

  async setCount(n: number): Promise<void> {
    await this.resize(n);
    this.watchAll();
  }

  crash(slot: number, how: CrashHow): number {
    const s = this.slotList()[slot];
    if (!s || s.dead) throw new Error(`${this.what} thread ${slot} is not running`);
    if (how === 'terminate') void s.worker.terminate();
    else if (how === 'throw') this.throwIn(s);
    else throw new Error(`${this.what} threads can be crashed with --how throw or terminate (they never exit by themselves)`);
    return s.threadId;
  }

  protected watchAll(): void {
    this.slotList().forEach((s) => this.watch(s));
  }

  private watch(s: SlotInternals): void {
    if (this.watched.has(s) || s.dead) return;
    this.watched.add(s);
    let error: string | undefined;
    s.worker.on('error', (e) => (error = e instanceof Error ? e.message.split('\n')[0] : String(e)));
    s.worker.once('exit', (code) => {
      if (this.closing || s.stopping) return;
      const slot = this.slotList().indexOf(s);
      if (slot < 0) return; // replaced already by a resize
      this.down.add(slot);
      this.reporter?.died(slot, { threadId: s.threadId, code, ...(error !== undefined ? { error } : {}) });
      void this.awaitReplacement(slot, s).finally(() => this.down.delete(slot));
    });
  }

  /** Waits for the owner to put a live thread in the dead one's slot, then reports and watches it. */
  private async awaitReplacement(slot: number, dead: SlotInternals): Promise<void> {
    this.prompt();
    const until = Date.now() + 30_000;
    while (!this.closing && Date.now() < until) {
      const cur = this.slotList()[slot];
      if (cur === undefined) return; // the slot went away (fewer threads)
      if (cur !== dead && !cur.dead) {
        try {
          await cur.ready;
        } catch {
          await sleep(10);
          continue;
        }
        this.watch(cur);
        this.down.delete(slot);
        this.reporter?.restarted(slot, cur.threadId);
        return;
      }
      await sleep(10);
    }
    if (!this.closing) this.log.error({ slot }, `${this.what} thread was not replaced within 30 s`);
  }
}

/** Handler threads: `Handlers` respawns a dead one at once (same id, same upcall queues). */
export class HandlerGroup extends OwnedThreads {
  constructor(ofproto: Ofproto, log: Log) {
    super(ofproto, log, 'handler');
  }

  protected rawSlots(): unknown {
    return (this.ofproto as unknown as { handlers_: { slots: unknown } | null }).handlers_?.slots;
  }

  count(): number {
    return this.ofproto.nHandlers;
  }

  maxCount(): number {
    return 64;
  }

  protected resize(n: number): Promise<void> {
    return this.ofproto.setThreads({ handlers: n });
  }

  protected prompt(): void {}

  /** A null control message: the handler's control loop dereferences it and throws, uncaught. */
  protected throwIn(s: SlotInternals): void {
    if (!s.port || !s.ctl || s.bellSlot === undefined) throw new Error('handler thread slot has no control port (internals changed)');
    s.port.postMessage(null);
    Atomics.add(s.ctl, 0, 1);
    this.ofproto.dp.bank.kick(s.bellSlot);
  }
}

/** Revalidator threads: `Revalidators` replaces a dead one at the start of a round; we start one. */
export class RevalidatorGroup extends OwnedThreads {
  constructor(ofproto: Ofproto, log: Log) {
    super(ofproto, log, 'revalidator');
  }

  protected rawSlots(): unknown {
    return (this.ofproto as unknown as { revalidators_: { slots: unknown } | null }).revalidators_?.slots;
  }

  count(): number {
    return this.ofproto.nRevalidators;
  }

  maxCount(): number {
    return 64;
  }

  protected resize(n: number): Promise<void> {
    return this.ofproto.setThreads({ revalidators: n });
  }

  /** A round now (without moving the revalidation sequence): the round starts by healing. */
  protected prompt(): void {
    this.ofproto.revalidatorWait().catch((err: unknown) => this.log.warn({ err }, 'revalidation round after a thread death'));
  }

  /** A null message: the revalidator's message handler reads its type and throws, uncaught. */
  protected throwIn(s: SlotInternals): void {
    s.worker.postMessage(null);
  }
}
