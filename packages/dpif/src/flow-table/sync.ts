/**
 * Synchronization primitives of the shared flow table, all over Int32 words of its
 * SharedArrayBuffer and sequentially consistent Atomics operations.
 *
 * Writer lock: @tsvs/shm's owner-tagged futex mutex (`mutexLock`), which a writer takes over from
 * a writer thread that died holding it. Readers (PMDs) never take it.
 *
 * Quiescent-state-based reclamation (QSBR, the scheme behind OVS's ovs-rcu): each PMD owns one
 * 64-byte line: word 0 is its quiescent counter (0 = offline: holds no reference into the table;
 * otherwise bumped at every quiescent point), word 1 counts writers waiting on that PMD (so the
 * PMD knows it must `Atomics.notify`), word 2 is the claim flag of the PMD id. A writer that has
 * unlinked memory calls `synchronize`: it snapshots every counter *after* the unlink and waits
 * until each online PMD's counter differs from its snapshot. See the package README for the
 * memory-ordering argument.
 *
 * A PMD whose thread died (uncaught exception, Worker.terminate) never quiesces again: its
 * counter stays at the value it had, and every writer would wait for it until `synchronize` times
 * out. Whoever learns of the death (the datapath, on the thread's 'exit' event) calls
 * `qsbrReleaseDead`: counter 0 (offline), waiting writers woken, claim released for a successor.
 */

/** QSBR slot words, relative to the PMD's line. */
export const Q_COUNTER = 0;
export const Q_WAITERS = 1;
export const Q_CLAIMED = 2;

/**
 * PMD side: publishes counter value `c` (nonzero = online and past a quiescent point; 0 = offline)
 * and wakes writers waiting for it.
 */
export function qsbrPublish(w: Int32Array, slot: number, c: number): void {
  Atomics.store(w, slot + Q_COUNTER, c);
  if (Atomics.load(w, slot + Q_WAITERS) !== 0) Atomics.notify(w, slot + Q_COUNTER);
}

/**
 * For a PMD slot whose thread is gone for good (it will never read the table again — e.g. after
 * its Worker's 'exit' event, which Node emits once the thread has stopped): marks it offline,
 * wakes the writers waiting for it, and releases the id's claim so a new PMD thread can take it.
 * Why this is safe: a grace period only has to outlast critical sections of live readers; a thread
 * that has stopped holds no entry index. Calling it for a live PMD breaks QSBR (never do that).
 * `qsbrBase`/`stride`: the table's `qsbrBase` and QSBR_STRIDE; `pmdId` must be in range.
 */
export function qsbrReleaseDead(w: Int32Array, qsbrBase: number, stride: number, pmdId: number): void {
  const slot = qsbrBase + pmdId * stride;
  Atomics.store(w, slot + Q_COUNTER, 0);
  Atomics.notify(w, slot + Q_COUNTER);
  Atomics.store(w, slot + Q_CLAIMED, 0);
}

/**
 * Writer side: returns once every PMD that was online at the call has passed a quiescent point or
 * gone offline. `snap` is scratch of at least `nPmds` elements. Throws Error after `timeoutMs`
 * (a PMD that stopped without going offline); the memory it protected then simply stays retired.
 * PMDs with `skip[p]` set are not waited for (the calling thread's own PMDs: it is between bursts).
 */
export function synchronize(
  w: Int32Array, qsbrBase: number, stride: number, nPmds: number, snap: Int32Array, timeoutMs: number,
  skip?: Uint8Array,
): void {
  for (let p = 0; p < nPmds; p++) snap[p] = skip && skip[p] ? 0 : Atomics.load(w, qsbrBase + p * stride + Q_COUNTER);
  let deadline = 0;
  for (let p = 0; p < nPmds; p++) {
    const s = snap[p]!;
    if (s === 0) continue;
    const slot = qsbrBase + p * stride;
    if (Atomics.load(w, slot + Q_COUNTER) !== s) continue;
    Atomics.add(w, slot + Q_WAITERS, 1);
    try {
      while (Atomics.load(w, slot + Q_COUNTER) === s) {
        const now = performance.now();
        if (deadline === 0) deadline = now + timeoutMs;
        else if (now > deadline) throw new Error(`flow table: PMD ${p} passed no quiescent point in ${timeoutMs} ms`);
        Atomics.wait(w, slot + Q_COUNTER, s, 10);
      }
    } finally {
      Atomics.sub(w, slot + Q_WAITERS, 1);
    }
  }
}
