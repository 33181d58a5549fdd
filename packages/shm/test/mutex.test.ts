/**
 * The owner-tagged futex mutex (mutex.ts) and the dead-thread registry (thread-registry.ts), with
 * real worker threads: mutual exclusion under contention; a lock whose owner was terminated while
 * holding it is taken over, by `mutexTryLock` and by a thread already waiting in `mutexLock`; a
 * live owner that holds the lock far longer than a waiter's 10 ms sleeps is never taken over.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import {
  isThreadDead, markThreadDead, mutexLock, mutexTryLock, mutexUnlock, OWNER_TAG, ownerThreadId,
  threadRegistryStats, watchWorker,
} from '@tsvs/shm';
import { runWorker, workerPath } from './helpers.js';

function words(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(16));
}

/** Starts a watched worker and resolves once it posted a message with `key`. */
async function started(data: Record<string, unknown>, key: string): Promise<{ w: Worker; msg: Record<string, unknown> }> {
  const w = watchWorker(new Worker(workerPath, { workerData: data }));
  w.on('error', () => undefined);
  for (;;) {
    const [msg] = (await once(w, 'message')) as [Record<string, unknown>];
    if (msg[key]) return { w, msg };
  }
}

describe('shm mutex: owner-tagged, taken over from dead owners', () => {
  it('excludes: two threads x 100k plain read-modify-writes under the lock lose none', async () => {
    const w = words();
    const n = 100_000;
    const [a, b] = await Promise.all([
      runWorker({ role: 'mutexCount', words: w.buffer, n }),
      runWorker({ role: 'mutexCount', words: w.buffer, n }),
    ]);
    expect(w[1]).to.equal(2 * n);
    expect(w[0], 'free at the end').to.equal(0);
    expect(a['tag']).to.not.equal(b['tag']);
  });

  it('the word holds the owner: this thread\'s tag names this thread', () => {
    const w = words();
    mutexLock(w, 0);
    expect(w[0]).to.equal(OWNER_TAG);
    expect(ownerThreadId(w[0]!)).to.equal(0); // mocha runs on the main thread
    expect(mutexTryLock(w, 0), 'not recursive').to.equal(false);
    mutexUnlock(w, 0);
    expect(w[0]).to.equal(0);
  });

  it('a lock held by a terminated thread is taken over by mutexTryLock, and counted', async () => {
    const w = words();
    const { w: worker, msg } = await started({ role: 'mutexHold', words: w.buffer }, 'held');
    const owner = ownerThreadId(msg['tag'] as number);
    expect(owner).to.equal(worker.threadId);
    expect(mutexTryLock(w, 0), 'held by a live thread').to.equal(false);
    expect(isThreadDead(owner)).to.equal(false);
    const before = threadRegistryStats();
    await worker.terminate();
    expect(isThreadDead(owner), 'marked dead on exit').to.equal(true);
    expect(mutexTryLock(w, 0), 'taken over').to.equal(true);
    expect(ownerThreadId(w[0]!)).to.equal(0);
    mutexUnlock(w, 0);
    const after = threadRegistryStats();
    expect(after.locksRecovered - before.locksRecovered).to.equal(1);
    expect(after.threadsDead - before.threadsDead).to.equal(1);
  });

  it('a thread waiting in mutexLock gets the lock once its owner is terminated', async () => {
    const w = words();
    const holder = await started({ role: 'mutexHold', words: w.buffer }, 'held');
    const taker = watchWorker(new Worker(workerPath, { workerData: { role: 'mutexTake', words: w.buffer } }));
    const [holderId, takerId] = [holder.w.threadId, taker.threadId]; // -1 once a worker exited
    taker.on('error', () => undefined);
    const exited = once(taker, 'exit');
    await once(taker, 'message'); // waiting
    await new Promise((r) => setTimeout(r, 100));
    expect(ownerThreadId(Atomics.load(w, 0)), 'still the holder\'s after 100 ms').to.equal(holderId);
    await holder.w.terminate();
    // The taker's own word, as it saw it once it held the lock, is left in shared memory (word 2):
    // read after its 'exit', which needs nothing from the taker's message port.
    const [code] = (await exited) as [number];
    expect(code, 'the taker ended normally').to.equal(0);
    expect(ownerThreadId(w[2]!), 'the taker owned it').to.equal(takerId);
    expect(w[0], 'and released it').to.equal(0);
  });

  it('a live owner holding the lock for 300 ms is waited for, never taken over', async () => {
    const w = words();
    const { w: worker } = await started({ role: 'mutexHold', words: w.buffer, holdMs: 300 }, 'held');
    const exited = once(worker, 'exit');
    mutexLock(w, 0); // blocks this thread until the worker unlocks
    expect(w[2], 'the holder released it before we got it').to.equal(1);
    mutexUnlock(w, 0);
    await exited;
  });

  it('markThreadDead refuses a bad id; ids past the registry are never dead', () => {
    expect(() => markThreadDead(-1)).to.throw(RangeError, /bad threadId -1/);
    markThreadDead(1 << 22);
    expect(isThreadDead(1 << 22)).to.equal(false);
  });
});
