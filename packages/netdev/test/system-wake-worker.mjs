// Worker side of system-wake.test.ts (plain JS: Node 20 workers cannot start from .ts).
// role 'produce': pushes 0..n-1 into a ring in random batches, pausing now and then so that the
// consumer falls asleep. role 'consume': pops them, checks the order, and sleeps in poll(2) on its
// doorbell slot's wake eventfd whenever the ring is empty (10 s timeouts count as lost wake-ups: no
// thread of a loaded machine waits that long for a CPU; after 3 the consumer gives up and raises
// `stop`, which ends the producer too). If workerData.entered
// (a SharedArrayBuffer) is given, the consumer adds 1 to its word 0 each time it is about to poll
// with its ring found empty after prepareSleep: from then on only a ring or kick can wake it.
import { parentPort, workerData } from 'node:worker_threads';
import { nativeNetdev } from '@tsvs/netdev';
import { DoorbellBank, SpscRing } from '@tsvs/shm';

const d = workerData;
let seed = d.seed | 0 || 1;
function rnd(n) {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) % n;
}
const pause = new Int32Array(new SharedArrayBuffer(4));

function produce() {
  const ring = SpscRing.attach(d.ring);
  const buf = new Uint32Array(32);
  let next = 0;
  const stop = new Int32Array(d.stop);
  while (next < d.n && Atomics.load(stop, 0) === 0) {
    const want = Math.min(1 + rnd(32), d.n - next);
    for (let i = 0; i < want; i++) buf[i] = next + i;
    for (let done = 0; done < want && Atomics.load(stop, 0) === 0;) done += ring.push(buf, done, want - done);
    next += want;
    if (rnd(d.pauseEvery) === 0) Atomics.wait(pause, 0, 0, 1);
  }
  return { pushed: next };
}

function consume() {
  const a = nativeNetdev();
  const bank = DoorbellBank.attach(d.bank);
  const ring = SpscRing.attach(d.ring);
  const slot = bank.allocSlot();
  ring.bindDoorbell(slot);
  let fd = bank.wakeFd(slot);
  if (fd < 0) bank.setWakeFd(slot, (fd = a.eventfd()));
  const fds = new Int32Array([fd]), rev = new Int32Array(1), buf = new Uint32Array(32);
  const entered = d.entered ? new Int32Array(d.entered) : null;
  let popped = 0, errors = 0, sleeps = 0, timeouts = 0;
  parentPort.postMessage({ ready: true, slot });
  while (popped < d.n && timeouts < 3) {
    const k = ring.pop(buf, 0, 32);
    for (let i = 0; i < k; i++) if (buf[i] !== popped + i) errors++;
    popped += k;
    if (k > 0 || popped >= d.n) continue;
    bank.prepareSleep(slot, true);
    if (!ring.isEmpty()) {
      bank.endSleep(slot);
      continue;
    }
    if (entered) Atomics.add(entered, 0, 1);
    if (a.poll(fds, 1, 10000, rev) === 0) timeouts++;
    else {
      sleeps++;
      a.eventfdRead(fd);
    }
    bank.endSleep(slot);
  }
  if (d.stop) Atomics.store(new Int32Array(d.stop), 0, 1);
  ring.bindDoorbell(-1);
  bank.freeSlot(slot);
  return { popped, errors, sleeps, timeouts };
}

parentPort.postMessage({ done: true, ...(d.role === 'produce' ? produce() : consume()) });
