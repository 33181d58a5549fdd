/**
 * A futex mutex on one Int32 word of shared memory (Drepper, "Futexes Are Tricky", mutex2):
 * 0 free, 1 held, 2 held with possible waiters. Uncontended lock/unlock cost one CAS / one atomic
 * subtract; a contended lock sleeps in Atomics.wait instead of spinning (spinning threads that share
 * a vCPU starve each other). For short sections off the per-packet path, or once per batch.
 */
export function mutexLock(w: Int32Array, i: number): void {
  let c = Atomics.compareExchange(w, i, 0, 1);
  if (c === 0) return;
  do {
    if (c === 2 || Atomics.compareExchange(w, i, 1, 2) !== 0) Atomics.wait(w, i, 2, 10);
    c = Atomics.compareExchange(w, i, 0, 2);
  } while (c !== 0);
}

/** Takes the mutex if it is free; returns whether it did. */
export function mutexTryLock(w: Int32Array, i: number): boolean {
  return Atomics.compareExchange(w, i, 0, 1) === 0;
}

/** Releases a mutex taken by `mutexLock` / `mutexTryLock`, waking one waiter if there may be any. */
export function mutexUnlock(w: Int32Array, i: number): void {
  if (Atomics.sub(w, i, 1) !== 1) {
    Atomics.store(w, i, 0);
    Atomics.notify(w, i, 1);
  }
}
