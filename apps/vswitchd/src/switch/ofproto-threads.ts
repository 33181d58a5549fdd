/**
 * The OpenFlow layer's handler and revalidator threads as supervised thread kinds (supervisor.ts
 * ThreadGroup), through the Ofproto's public API only. @tsvs/ofproto runs and replaces them
 * itself: a handler that dies is respawned at once by `Handlers` (same id, same upcall queues); a
 * revalidator that dies is replaced at once by `Revalidators` in the same slot (its ukeys live in
 * shared memory). The Ofproto reports each death and each replacement once
 * (`onHandlerThreadEvent`, `onRevalidatorThreadEvent`); these groups pass them to the supervisor
 * (logged, counted, shown) and delegate thread counts and fault injection (`crashHandler`,
 * `crashRevalidator`) to it.
 */
import type { Ofproto } from '@tsvs/ofproto';
import type { CrashHow, ThreadGroup, ThreadReporter } from '../supervisor.js';

/** A thread life event as the Ofproto reports it (handlers and revalidators alike). */
type ThreadEvent =
  | { type: 'died'; id: number; threadId: number; why: string; atMs: number }
  | { type: 'restarted'; id: number; threadId: number; atMs: number };

/** What a group needs from its owner (one thread kind of the Ofproto). */
interface OwnerApi {
  threads(): Array<{ id: number; threadId: number | null }>;
  count(): number;
  resize(n: number): Promise<void>;
  crash(id: number, how: 'throw' | 'terminate'): number;
  subscribe(fn: (e: ThreadEvent) => void): () => void;
}

class OfprotoThreads implements ThreadGroup {
  private reporter: ThreadReporter | undefined;
  private closing = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly api: OwnerApi,
    private readonly what: string,
  ) {
    this.unsubscribe = api.subscribe((e) => this.onEvent(e));
  }

  attach(reporter: ThreadReporter): void {
    this.reporter = reporter;
  }

  /** Stops reporting (before the Ofproto closes). */
  close(): void {
    this.closing = true;
    this.unsubscribe();
  }

  count(): number {
    return this.api.count();
  }

  maxCount(): number {
    return 64;
  }

  slots(): Array<{ slot: number; threadId: number | null }> {
    return this.api.threads().map((t) => ({ slot: t.id, threadId: t.threadId }));
  }

  setCount(n: number): Promise<void> {
    return this.api.resize(n);
  }

  crash(slot: number, how: CrashHow): number {
    if (how === 'exit') throw new Error(`${this.what} threads can be crashed with --how throw or terminate (they never exit by themselves)`);
    try {
      return this.api.crash(slot, how);
    } catch (e) {
      throw new Error(`${this.what} thread ${slot} is not running${e instanceof RangeError ? '' : `: ${(e as Error).message}`}`);
    }
  }

  private onEvent(e: ThreadEvent): void {
    if (this.closing) return;
    if (e.type === 'died') this.reporter?.died(e.id, { threadId: e.threadId, error: e.why, atMs: e.atMs });
    else this.reporter?.restarted(e.id, e.threadId);
  }
}

/** Handler threads: `Handlers` respawns a dead one at once (same id, same upcall queues). */
export class HandlerGroup extends OfprotoThreads {
  constructor(ofproto: Ofproto) {
    super(
      {
        threads: () => ofproto.handlerThreads(),
        count: () => ofproto.nHandlers,
        resize: (n) => ofproto.setThreads({ handlers: n }),
        crash: (id, how) => ofproto.crashHandler(id, how),
        subscribe: (fn) => ofproto.onHandlerThreadEvent(fn),
      },
      'handler',
    );
  }
}

/** Revalidator threads: `Revalidators` replaces a dead one at once, between rounds, in its slot. */
export class RevalidatorGroup extends OfprotoThreads {
  constructor(ofproto: Ofproto) {
    super(
      {
        threads: () => ofproto.revalidatorThreads(),
        count: () => ofproto.nRevalidators,
        resize: (n) => ofproto.setThreads({ revalidators: n }),
        crash: (id, how) => ofproto.crashRevalidator(id, how),
        subscribe: (fn) => ofproto.onRevalidatorThreadEvent(fn),
      },
      'revalidator',
    );
  }
}
