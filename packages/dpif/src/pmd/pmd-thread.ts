/**
 * The control thread's handle on one PMD worker thread: starts it, sends it requests (see
 * pmd-messages.ts for the transport) and stops it.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { watchWorker, type DoorbellBank } from '@tsvs/shm';
import type { PmdEvent, PmdInit, PmdReply, PmdRequest } from './pmd-messages.js';

/** A request without its sequence number (assigned by `PmdThread`). */
export type PmdRequestBody = PmdRequest extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;

/** workerData fields the datapath provides (the rest is filled in by `PmdThread.start`). */
export type PmdInitBase = Omit<PmdInit, 'ctl' | 'ctlPort' | 'bellSlot'>;

const WORKER_URL = new URL('./pmd-worker.js', import.meta.url);

export class PmdThread {
  readonly pmdId: number;
  readonly bellSlot: number;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctl: Int32Array;
  private readonly bank: DoorbellBank;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: PmdReply) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;
  /** Resolves with the exit code once the thread has stopped (Node's Worker 'exit'). */
  readonly exited: Promise<number>;

  private constructor(pmdId: number, bellSlot: number, worker: Worker, port: MessagePort, ctl: Int32Array, bank: DoorbellBank) {
    this.pmdId = pmdId;
    this.bellSlot = bellSlot;
    this.worker = worker;
    this.port = port;
    this.ctl = ctl;
    this.bank = bank;
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
  }

  /** Why the thread runs at the process's nice instead of PmdInit.nice (errno name), or null. */
  niceErrno: string | null = null;

  /**
   * Starts PMD `base.pmdId` with doorbell `bellSlot` of `bank`; resolves once it runs (attached to
   * the flow table and pool). Rejects with the thread's error if it fails to start. `onExit` is
   * called from the Worker's 'exit' event (the thread has stopped), before any other listener
   * added later, with the exit code and the thread's error if it died of one.
   */
  static start(
    base: PmdInitBase, bank: DoorbellBank, bellSlot: number, onExit?: (code: number, error: Error | null) => void,
  ): Promise<PmdThread> {
    const ctlSab = new SharedArrayBuffer(64);
    const { port1, port2 } = new MessageChannel();
    const init: PmdInit = { ...base, ctl: ctlSab, ctlPort: port2, bellSlot };
    const worker = watchWorker(new Worker(WORKER_URL, { workerData: init, transferList: [port2] }));
    const t = new PmdThread(base.pmdId, bellSlot, worker, port1, new Int32Array(ctlSab), bank);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (m: PmdReply | PmdEvent) => {
        if ('event' in m) {
          if (m.event === 'ready') {
            started = true;
            t.niceErrno = m.niceErrno ?? null;
            resolve(t);
          } else t.fail(new Error(`pmd ${m.pmdId}: ${m.message}`));
          return;
        }
        const p = t.pending.get(m.seq);
        if (!p) return;
        t.pending.delete(m.seq);
        if (m.error) p.reject(new Error(`pmd ${base.pmdId}: ${m.error}`));
        else p.resolve(m);
      });
      worker.on('error', (e) => {
        t.fail(e);
        if (!started) reject(e);
      });
      worker.on('exit', (code) => {
        const error = t.dead;
        t.fail(new Error(`pmd ${base.pmdId} exited (code ${code})`));
        onExit?.(code, error);
        if (!started) reject(new Error(`pmd ${base.pmdId} exited before it started (code ${code})`));
      });
    });
  }

  private fail(e: Error): void {
    if (!this.dead) this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Sends requests in one batch (one doorbell kick); resolves to their replies in order. */
  requestMany(bodies: readonly PmdRequestBody[]): Promise<PmdReply[]> {
    if (this.dead) return Promise.reject(this.dead);
    const ps = bodies.map((b) => {
      const seq = ++this.seq;
      const p = new Promise<PmdReply>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
      this.port.postMessage({ ...b, seq });
      return p;
    });
    Atomics.add(this.ctl, 0, 1);
    this.bank.kick(this.bellSlot);
    return Promise.all(ps);
  }

  /** Sends one request; resolves to its reply. Rejects with the PMD's error message. */
  async request(body: PmdRequestBody): Promise<PmdReply> {
    return (await this.requestMany([body]))[0]!;
  }

  /** Worker thread id (as `threadId` inside the thread). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /**
   * Fault injection: `terminate` stops the thread with Worker.terminate() wherever it is (possibly
   * inside a flow-table critical section); `throw` sends a malformed control message (null), on
   * which the PMD loop throws an uncaught TypeError (it trusts its control messages).
   */
  crash(how: 'terminate' | 'throw'): void {
    if (how === 'terminate') {
      void this.worker.terminate();
      return;
    }
    this.port.postMessage(null);
    Atomics.add(this.ctl, 0, 1);
    this.bank.kick(this.bellSlot);
  }

  /** Asks the PMD to release everything and exit; resolves once the thread is gone. */
  async stop(): Promise<void> {
    if (!this.dead) {
      try {
        await this.request({ op: 'quit' });
      } catch {
        // The thread is already gone or failing: terminate below.
      }
    }
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
    this.port.close();
  }
}
