/**
 * Which threads of this process have stopped for good, in shared memory that every thread reads.
 *
 * Why: a worker stopped by `Worker.terminate()` (or an uncaught exception) stops wherever it is,
 * also inside a critical section, and a futex word it held would stay held forever: the next
 * thread to take that lock (a restarted PMD sending on the same txq, a handler installing a flow)
 * would wait for ever. Locks therefore record their owner (`ownerTag`, mutex.ts), and a waiter that
 * finds the owner in this registry takes the lock over, the way robust futexes work in the kernel
 * (FUTEX_OWNER_DIED).
 *
 * Identity: Node's `threadId`, unique for the life of the process and never reused (main thread 0).
 * A thread is marked dead by whoever owns its `Worker` object, on the 'exit' event (`watchWorker`):
 * Node emits it after joining the native thread, so no code of that thread runs any more.
 *
 * Sharing: the registry's SharedArrayBuffer travels as worker environment data
 * (`worker_threads.setEnvironmentData`), which every new Worker inherits from the thread that
 * creates it, so all threads of the process see one registry without anyone passing it on.
 *
 * Layout (Int32 words): word 0 locks taken over from dead owners (count), word 1 threads marked
 * dead (count), words 16.. a bitmap over threadIds, `MAX_TRACKED_THREADS` bits. A thread whose id
 * is past that (a million thread starts) is never reported dead: its locks behave as before.
 */
import { getEnvironmentData, setEnvironmentData, threadId, type Worker } from 'node:worker_threads';

const KEY = 'tsvs.shm.thread-registry';
/** ThreadIds the registry can mark dead: 0 .. MAX_TRACKED_THREADS-1. */
export const MAX_TRACKED_THREADS = 1 << 20;
const W_RECOVERED = 0;
const W_DEAD = 1;
const BITMAP = 16;

function openRegistry(): Int32Array {
  // Also on the main thread: a second copy of this module (the same package reached by two paths)
  // must join the registry, not replace it for the workers created after it.
  const inherited = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer) return new Int32Array(inherited);
  const sab = new SharedArrayBuffer((BITMAP + MAX_TRACKED_THREADS / 32) * 4);
  setEnvironmentData(KEY, sab);
  return new Int32Array(sab);
}

const reg = openRegistry();

/**
 * This thread's owner tag for lock words: `(threadId + 1) << 1`, nonzero, bit 0 clear (mutex.ts
 * keeps its "waiters" flag there). Constant for the life of the thread.
 */
export const OWNER_TAG = ((threadId + 1) << 1) | 0;

/** The threadId that owner tag (or lock word) `word` names; -1 for 0 (no owner). */
export function ownerThreadId(word: number): number {
  return word === 0 ? -1 : (word >>> 1) - 1;
}

/** True once thread `id` was marked dead (`markThreadDead`). */
export function isThreadDead(id: number): boolean {
  if (id < 0 || id >= MAX_TRACKED_THREADS) return false;
  return (Atomics.load(reg, BITMAP + (id >>> 5)) & (1 << (id & 31))) !== 0;
}

/** True if lock word `word` is held by a thread that is dead. */
export function isOwnerDead(word: number): boolean {
  return word !== 0 && isThreadDead(ownerThreadId(word));
}

/**
 * Marks thread `id` dead for good. Call only once the thread can run no more code (its Worker's
 * 'exit' event; `watchWorker` does this). Idempotent. Throws RangeError for a negative id.
 */
export function markThreadDead(id: number): void {
  if (!Number.isInteger(id) || id < 0) throw new RangeError(`thread registry: bad threadId ${id}`);
  if (id >= MAX_TRACKED_THREADS) return;
  const bit = 1 << (id & 31);
  if ((Atomics.or(reg, BITMAP + (id >>> 5), bit) & bit) === 0) Atomics.add(reg, W_DEAD, 1);
}

/** Marks `worker`'s thread dead when it exits. Call right after `new Worker(...)`. Returns the worker. */
export function watchWorker<W extends Worker>(worker: W): W {
  const id = worker.threadId;
  worker.once('exit', () => markThreadDead(id));
  return worker;
}

/** Counts a lock taken over from a dead owner (mutex.ts). */
export function countRecoveredLock(): void {
  Atomics.add(reg, W_RECOVERED, 1);
}

/** Process-wide counts: `locksRecovered` locks taken over from dead owners, `threadsDead` threads marked dead. */
export function threadRegistryStats(): { locksRecovered: number; threadsDead: number } {
  return { locksRecovered: Atomics.load(reg, W_RECOVERED), threadsDead: Atomics.load(reg, W_DEAD) };
}
