// Worker side of packages/netdev/test/*.test.ts: plays a PMD on attached ports (plain JS: Node 20
// workers cannot start from .ts). workerData.role selects the job; the result is one message.
import { workerData, parentPort } from 'node:worker_threads';
import { attachNetdev } from '@tsvs/netdev';
import { PacketPool, DoorbellBank } from '@tsvs/shm';

const d = workerData;
const pool = PacketPool.attach(d.pool);
const ids = new Uint32Array(32);

// Receives `n` frames from rx port/rxq and sends each burst to tx port/txq unchanged.
function echo() {
  const rx = attachNetdev(d.rx, pool);
  const tx = d.tx ? attachNetdev(d.tx, pool) : rx;
  // Give up after 10 s of wall clock rather than hang the test. Not a count of empty polls: under
  // load the injecting worker can take longer to start than any fixed number of polls lasts.
  const deadline = Date.now() + 10_000;
  let got = 0, sent = 0, idle = 0;
  while (got < d.n) {
    const k = rx.rxqRecv(d.rxq ?? 0, ids, 32);
    if (k === 0) {
      if ((++idle & 0xfff) === 0 && Date.now() > deadline) break;
      continue;
    }
    got += k;
    sent += tx.send(d.txq ?? 0, ids, k);
  }
  rx.close(); if (tx !== rx) tx.close();
  pool.flush();
  return { got, sent };
}

// Receives until the port says nothing more will come (wait hint Infinity) and returns copies.
function recvAll() {
  const port = attachNetdev(d.port, pool);
  const frames = [];
  const hints = [];
  for (;;) {
    const k = port.rxqRecv(0, ids, d.burst ?? 32);
    for (let i = 0; i < k; i++) {
      const o = pool.frameOffset(ids[i]);
      frames.push(pool.data.slice(o, o + pool.frameLen(ids[i])));
      pool.free(ids[i]);
    }
    if (k > 0) continue;
    const h = port.rxqWaitHint(0);
    if (h === Infinity) break;
    hints.push(h);
    if (h > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(h, 50));
    if (frames.length >= (d.max ?? Infinity)) break;
  }
  port.close();
  pool.flush();
  return { frames, maxHint: hints.length ? Math.max(...hints) : 0 };
}

// A PMD that sleeps on its doorbell when its rxq is idle; returns after `n` frames.
function sleepyPmd() {
  const port = attachNetdev(d.port, pool);
  const bank = DoorbellBank.attach(d.port.bank);
  const slot = bank.allocSlot();
  port.rxqBindDoorbell(0, slot);
  parentPort.postMessage({ ready: true });
  let got = 0, sleeps = 0, timeouts = 0;
  const frames = [];
  while (got < d.n) {
    const k = port.rxqRecv(0, ids, 32);
    if (k > 0) {
      for (let i = 0; i < k; i++) {
        const o = pool.frameOffset(ids[i]);
        frames.push(pool.data.slice(o, o + pool.frameLen(ids[i])));
      }
      port.send(0, ids, k);
      got += k;
      continue;
    }
    const seq = bank.prepareSleep(slot);
    if (port.rxqWaitHint(0) === 0) { bank.endSleep(slot); continue; }
    if (bank.sleep(slot, seq, 10000) === 'timed-out') timeouts++;
    sleeps++;
  }
  port.rxqBindDoorbell(0, -1);
  bank.freeSlot(slot);
  port.close();
  return { got, sleeps, timeouts, frames };
}

// Injects frames from this thread (any thread may inject).
function inject() {
  const port = attachNetdev(d.port, pool);
  let q = 0;
  for (let r = 0; r < d.rounds; r++) q += port.inject(d.frames, d.rxq ?? 0);
  port.close();
  return { queued: q };
}

const jobs = { echo, recvAll, sleepyPmd, inject };
parentPort.postMessage({ done: true, ...jobs[d.role]() });
