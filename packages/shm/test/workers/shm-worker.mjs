// Worker side of packages/shm/test/*.test.ts (plain JS: Node 20 workers cannot start from .ts).
// workerData.role selects the job; results are posted back as one message.
import { workerData, parentPort } from 'node:worker_threads';
import { SpscRing, PacketPool, CounterSet, DoorbellBank, M_USER0, mutexLock, mutexUnlock, OWNER_TAG } from '@tsvs/shm';

const d = workerData;

// Deterministic xorshift so that batch sizes vary without Math.random's allocation-free doubts.
let seed = d.seed | 0 || 1;
function rnd(n) {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) % n;
}

function produce() {
  const ring = SpscRing.attach(d.ring);
  const buf = new Uint32Array(32);
  let next = 0, fullSpins = 0;
  while (next < d.n) {
    const want = Math.min(1 + rnd(32), d.n - next);
    for (let i = 0; i < want; i++) buf[i] = (next + i) >>> 0;
    let done = 0;
    while (done < want) {
      const k = ring.push(buf, done, want - done);
      if (k === 0) fullSpins++;
      done += k;
    }
    next += want;
    // Occasionally pause so that a doorbell consumer goes to sleep and must be woken.
    if (d.pauseEvery && rnd(d.pauseEvery) === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
  return { pushed: next, fullSpins };
}

function consume() {
  const ring = SpscRing.attach(d.ring);
  const bank = d.ring.bank ? DoorbellBank.attach(d.ring.bank) : null;
  let slot = -1;
  if (d.doorbell) { slot = bank.allocSlot(); ring.bindDoorbell(slot); }
  const buf = new Uint32Array(32);
  let expect = 0, errors = 0, sleeps = 0, firstError = null;
  while (expect < d.n) {
    const k = ring.pop(buf, 0, 1 + rnd(32));
    if (k === 0) {
      if (d.doorbell) {
        const seq = bank.prepareSleep(slot);
        if (!ring.isEmpty()) { bank.endSleep(slot); continue; }
        // A lost wake-up would hang here for 5 s per loss and fail the test on its count.
        if (bank.sleep(slot, seq, 5000) === 'timed-out') errors++;
        sleeps++;
      }
      continue;
    }
    for (let i = 0; i < k; i++) {
      if (buf[i] !== (expect >>> 0)) { if (!firstError) firstError = { at: expect, got: buf[i] }; errors++; expect = buf[i]; }
      expect++;
    }
  }
  if (d.doorbell) { ring.bindDoorbell(-1); bank.freeSlot(slot); }
  return { popped: expect, errors, sleeps, firstError, leftover: ring.count() };
}

function waitOne() {
  const ring = SpscRing.attach(d.ring);
  const bank = DoorbellBank.attach(d.ring.bank);
  const slot = bank.allocSlot();
  ring.bindDoorbell(slot);
  parentPort.postMessage({ ready: true });
  const seq = bank.prepareSleep(slot);
  const r = ring.isEmpty() ? bank.sleep(slot, seq, d.timeoutMs) : 'had-item';
  const v = ring.popOne();
  return { result: r, value: v };
}

// Pool stress: allocate, stamp, pass to the peer over a ring, the peer checks the stamp and frees.
// owner[id] (Int32 SAB) is claimed with CAS on alloc: a buffer handed out twice at once is caught.
function poolStress() {
  const pool = PacketPool.attach(d.pool);
  const out = SpscRing.attach(d.out);
  const inn = SpscRing.attach(d.in);
  const owner = new Int32Array(d.owner);
  const me = d.me;
  const ids = new Uint32Array(32), got = new Uint32Array(32);
  let sent = 0, received = 0, dupAlloc = 0, badStamp = 0, exhausted = 0, selfFreed = 0;
  const stop = new Int32Array(d.stop);
  while (sent < d.n || Atomics.load(stop, 0) < d.peers) {
    if (sent < d.n) {
      const want = Math.min(1 + rnd(32), d.n - sent);
      const k = pool.allocBatch(ids, 0, want);
      if (k < want) exhausted++;
      for (let i = 0; i < k; i++) {
        const id = ids[i];
        if (Atomics.compareExchange(owner, id, 0, me) !== 0) dupAlloc++;
        const o = pool.frameOffset(id);
        pool.data[o] = me; pool.data[o + 1] = id & 0xff; pool.data[o + 2] = (id >>> 8) & 0xff;
        pool.meta[id * 8 + 1] = 3;
        pool.meta[id * 8 + M_USER0] = me;
      }
      // Half goes to the peer, half is freed here, so both cross-thread and local frees happen.
      const half = k >> 1;
      for (let i = half; i < k; i++) { Atomics.store(owner, ids[i], 0); pool.free(ids[i]); selfFreed++; }
      let pushed = 0;
      while (pushed < half) {
        pushed += out.push(ids, pushed, half - pushed);
        if (pushed < half) drain();
      }
      sent += k;
      if (sent >= d.n) Atomics.add(stop, 0, 1);
    }
    drain();
  }
  while (drain() > 0);
  pool.flush();
  return { sent, received, dupAlloc, badStamp, exhausted, selfFreed, cached: pool.cachedCount() };

  function drain() {
    const k = inn.pop(got, 0, 32);
    for (let i = 0; i < k; i++) {
      const id = got[i];
      const o = pool.frameOffset(id);
      const from = pool.meta[id * 8 + M_USER0];
      if (pool.data[o] !== from || pool.data[o + 1] !== (id & 0xff) || pool.data[o + 2] !== ((id >>> 8) & 0xff) ||
          pool.frameLen(id) !== 3) badStamp++;
      if (Atomics.compareExchange(owner, id, from, 0) !== from) dupAlloc++;
      pool.free(id);
      received++;
    }
    return k;
  }
}

function countersJob() {
  const cs = CounterSet.attach(d.counters);
  const blk = cs.block(d.block);
  const a = cs.id('packets'), b = cs.id('bytes');
  for (let i = 0; i < d.n; i++) { blk.inc(a); blk.add(b, 64); }
  return { done: d.n };
}

// d.words: [mutex, plain counter, released flag]. Increments the counter d.n times under the mutex
// with a plain read-modify-write that loses updates unless the mutex excludes the other thread.
function mutexCount() {
  const w = new Int32Array(d.words);
  for (let i = 0; i < d.n; i++) {
    mutexLock(w, 0);
    const v = w[1];
    if ((i & 63) === 0) Atomics.wait(w, 3, 0, 0); // a syscall inside the section now and then
    w[1] = v + 1;
    mutexUnlock(w, 0);
  }
  return { tag: OWNER_TAG };
}

// Takes the mutex, says so, then holds it: for d.holdMs, or for ever (until terminated).
function mutexHold() {
  const w = new Int32Array(d.words);
  mutexLock(w, 0);
  parentPort.postMessage({ held: true, tag: OWNER_TAG });
  Atomics.wait(w, 3, 0, d.holdMs ?? Infinity);
  Atomics.store(w, 2, 1);
  mutexUnlock(w, 0);
  return {};
}

// Waits for the mutex (held by another thread), then reports that it got it.
function mutexTake() {
  const w = new Int32Array(d.words);
  parentPort.postMessage({ waiting: true });
  mutexLock(w, 0);
  const word = Atomics.load(w, 0);
  Atomics.store(w, 2, word); // also in shared memory: the test reads it after the 'exit' event
  mutexUnlock(w, 0);
  return { word, tag: OWNER_TAG };
}

const jobs = { produce, consume, waitOne, poolStress, counters: countersJob, mutexCount, mutexHold, mutexTake };
parentPort.postMessage({ done: true, ...jobs[d.role]() });
