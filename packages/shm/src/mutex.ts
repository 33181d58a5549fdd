/**
 * A futex mutex on one Int32 word of shared memory that records its owner, so that a lock whose
 * owner thread died can be taken over (thread-registry.ts says why that happens here).
 *
 * Word: 0 free; otherwise the owner's `OWNER_TAG` ((threadId + 1) << 1) with bit 0 set when
 * waiters may be sleeping on it. This is Drepper's mutex2 ("Futexes Are Tricky") with the owner
 * kept in the word, as Linux robust futexes keep the TID: uncontended lock and unlock cost one CAS
 * and one exchange; a contended lock spins briefly, then sleeps in `Atomics.wait` (spinning
 * threads that share a vCPU starve each other).
 *
 * Dead owners: a waiter whose 10 ms sleep times out checks the owner in the thread registry; if it
 * is dead, the waiter swaps its own tag in and owns the lock (counted in
 * `threadRegistryStats().locksRecovered`). What the dead thread left half-done under the lock
 * stays half-done; each structure's docs say what that means for it. Not recursive; unlocking a
 * lock held by another thread is a bug that nothing checks. For short sections off the per-packet
 * path, or once per batch.
 */
import { countRecoveredLock, isOwnerDead, OWNER_TAG } from './thread-registry.js';

const WAITERS = 1;
const SPIN = 100;

/** Takes the mutex at `w[i]`, waiting while another live thread holds it. */
export function mutexLock(w: Int32Array, i: number): void {
  let c = Atomics.compareExchange(w, i, 0, OWNER_TAG);
  if (c === 0) return;
  for (let s = 0; s < SPIN; s++) {
    if (Atomics.load(w, i) === 0) {
      c = Atomics.compareExchange(w, i, 0, OWNER_TAG);
      if (c === 0) return;
    }
  }
  // From here on we take it with the waiters bit set, as mutex2 takes it with 2: another waiter
  // may be asleep, and our unlock must wake it.
  for (;;) {
    if (c !== 0) {
      if ((c & WAITERS) === 0) {
        const o = Atomics.compareExchange(w, i, c, c | WAITERS);
        if (o !== c) {
          c = o;
          continue;
        }
        c |= WAITERS;
      }
      if (Atomics.wait(w, i, c, 10) === 'timed-out' && isOwnerDead(c)) {
        if (Atomics.compareExchange(w, i, c, OWNER_TAG | WAITERS) === c) {
          countRecoveredLock();
          return;
        }
      }
    }
    c = Atomics.compareExchange(w, i, 0, OWNER_TAG | WAITERS);
    if (c === 0) return;
  }
}

/** Takes the mutex if it is free or its owner is dead; returns whether it did. Never waits. */
export function mutexTryLock(w: Int32Array, i: number): boolean {
  const c = Atomics.compareExchange(w, i, 0, OWNER_TAG);
  if (c === 0) return true;
  if (isOwnerDead(c) && Atomics.compareExchange(w, i, c, OWNER_TAG | WAITERS) === c) {
    countRecoveredLock();
    return true;
  }
  return false;
}

/** Releases a mutex taken by `mutexLock` / `mutexTryLock`, waking one waiter if there may be any. */
export function mutexUnlock(w: Int32Array, i: number): void {
  if ((Atomics.exchange(w, i, 0) & WAITERS) !== 0) Atomics.notify(w, i, 1);
}
