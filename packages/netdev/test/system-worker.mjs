// Worker side of packages/netdev/test/system*.test.ts: a PMD-like poller of one rxq of an
// attached system port (plain JS: Node 20 workers cannot start from .ts).
//   role 'collect': receives from rxq `rxq` until the shared counter `total` (Int32Array over
//     workerData.count, word 0) reaches `want` or `ms` pass; sleeps on the doorbell when idle.
//     Returns the frames it got (hex) whose source MAC is workerData.srcMac. Sleeps last at most
//     workerData.sleepCap ms (default 200): a large cap shows that the watcher rings the doorbell.
//     If workerData.count has a word 1, it counts the sleeps begun with the rxq armed (after
//     rxqWaitHint): a frame that comes once it is non-zero can only reach the worker by a ring.
import { workerData, parentPort } from 'node:worker_threads';
import { attachNetdev } from '@tsvs/netdev';
import { DoorbellBank, PacketPool } from '@tsvs/shm';

const d = workerData;
const pool = PacketPool.attach(d.pool);
const port = attachNetdev(d.port, pool);
const bank = DoorbellBank.attach(d.port.bank);
const total = new Int32Array(d.count);
const ids = new Uint32Array(32);
const slot = bank.allocSlot();
port.rxqBindDoorbell(d.rxq, slot);
parentPort.postMessage({ ready: true });

const frames = [];
let sleeps = 0, timeouts = 0, wakeups = 0;
const deadline = Date.now() + d.ms;
while (Atomics.load(total, 0) < d.want && Date.now() < deadline) {
  const k = port.rxqRecv(d.rxq, ids, 32);
  if (k > 0) {
    let mine = 0;
    for (let i = 0; i < k; i++) {
      const o = pool.frameOffset(ids[i]);
      const hex = Buffer.from(pool.data.subarray(o, o + pool.frameLen(ids[i]))).toString('hex');
      if (hex.slice(12, 24) === d.srcMac) { frames.push(hex); mine++; }
    }
    pool.freeBatch(ids, 0, k);
    if (mine) Atomics.add(total, 0, mine);
    continue;
  }
  // Idle: the PMD protocol (prepareSleep, re-check with rxqWaitHint, sleep).
  const seq = bank.prepareSleep(slot);
  const hint = port.rxqWaitHint(d.rxq);
  if (hint === 0) { bank.endSleep(slot); continue; }
  if (total.length > 1) Atomics.add(total, 1, 1);
  const r = bank.sleep(slot, seq, Math.min(hint, d.sleepCap ?? 200, Math.max(1, deadline - Date.now())));
  sleeps++;
  if (r === 'timed-out') timeouts++;
  else wakeups++;
}
// Wake the other collectors so that they see the total and stop.
for (let s = 0; s < bank.nSlots; s++) bank.kick(s);
port.rxqBindDoorbell(d.rxq, -1);
bank.freeSlot(slot);
port.close();
parentPort.postMessage({ done: true, frames, sleeps, timeouts, wakeups });
