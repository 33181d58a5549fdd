/**
 * Worker side of `pnpm bench ring` (see ring.ts): one producer or one consumer of 32-bit items,
 * batches of 32, over one transport. Posts `{ ms, items, sum }` when done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { DoorbellBank, SpscRing } from '@tsvs/shm';

interface Job {
  kind: 'tsvs' | 'tsvs_doorbell' | 'ringbufjs' | 'postmessage_batch' | 'postmessage_single' | 'wake';
  role: 'producer' | 'consumer';
  items: number;
  /** Start flag (Int32 [0]) and, for postMessage, acknowledged message count ([16]). */
  ctl: SharedArrayBuffer;
  ring?: { sab: SharedArrayBuffer; bank: SharedArrayBuffer | null };
  rbSab?: SharedArrayBuffer;
  port?: MessagePort;
  /** wake: Float64 send timestamps per item. */
  stamps?: SharedArrayBuffer;
}

const job = workerData as Job;
const ctl = new Int32Array(job.ctl);
const BATCH = 32;
const WINDOW = 1024; // postMessage: most messages in flight before the producer waits

function now(): number {
  return performance.timeOrigin + performance.now();
}

function waitStart(): void {
  Atomics.add(ctl, 1, 1); // ready count
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 50);
}

function done(t0: number, items: number, sum: number, extra: Record<string, unknown> = {}): void {
  parentPort!.postMessage({ ms: now() - t0, items, sum, ...extra });
}

const buf = new Uint32Array(BATCH);

if (job.kind === 'tsvs' || job.kind === 'tsvs_doorbell') {
  const ring = SpscRing.attach(job.ring!);
  const bank = job.ring!.bank ? DoorbellBank.attach(job.ring!.bank) : null;
  if (job.role === 'producer') {
    waitStart();
    const t0 = now();
    let next = 0;
    while (next < job.items) {
      for (let i = 0; i < BATCH; i++) buf[i] = next + i;
      let k = 0;
      while (k < BATCH) k += ring.push(buf, k, BATCH - k);
      next += BATCH;
    }
    done(t0, next, 0);
  } else {
    const slot = bank ? bank.allocSlot() : -1;
    if (bank) ring.bindDoorbell(slot);
    waitStart();
    const t0 = now();
    let got = 0, sum = 0, sleeps = 0;
    while (got < job.items) {
      const k = ring.pop(buf, 0, BATCH);
      if (k === 0) {
        if (bank) {
          const seq = bank.prepareSleep(slot);
          if (ring.isEmpty()) { bank.sleep(slot, seq, 100); sleeps++; } else bank.endSleep(slot);
        }
        continue;
      }
      for (let i = 0; i < k; i++) sum += buf[i]!;
      got += k;
    }
    done(t0, got, sum, { sleeps });
  }
} else if (job.kind === 'ringbufjs') {
  // ringbuf.js 0.4 types its constructor argument oddly; it wants the element constructor.
  const rb = new RingBuffer(job.rbSab!, Uint32Array as never);
  if (job.role === 'producer') {
    waitStart();
    const t0 = now();
    let next = 0;
    while (next < job.items) {
      for (let i = 0; i < BATCH; i++) buf[i] = next + i;
      let k = 0;
      while (k < BATCH) k += rb.push(buf, BATCH - k, k);
      next += BATCH;
    }
    done(t0, next, 0);
  } else {
    waitStart();
    const t0 = now();
    let got = 0, sum = 0;
    while (got < job.items) {
      const k = rb.pop(buf, BATCH);
      for (let i = 0; i < k; i++) sum += buf[i]!;
      got += k;
    }
    done(t0, got, sum);
  }
} else if (job.kind === 'postmessage_batch' || job.kind === 'postmessage_single') {
  const port = job.port!;
  const single = job.kind === 'postmessage_single';
  const per = single ? 1 : BATCH;
  if (job.role === 'producer') {
    waitStart();
    const t0 = now();
    let next = 0, msgs = 0;
    while (next < job.items) {
      while (msgs - Atomics.load(ctl, 16) > WINDOW) Atomics.wait(ctl, 16, Atomics.load(ctl, 16), 1);
      if (single) port.postMessage(next);
      else {
        for (let i = 0; i < BATCH; i++) buf[i] = next + i;
        port.postMessage(buf); // structured clone copies the 32 items
      }
      next += per;
      msgs++;
    }
    done(t0, next, 0);
    port.close();
  } else {
    let got = 0, sum = 0, msgs = 0, t0 = 0;
    port.on('message', (m: number | Uint32Array) => {
      if (typeof m === 'number') { sum += m; got++; } else { for (let i = 0; i < m.length; i++) sum += m[i]!; got += m.length; }
      if ((++msgs & 63) === 0) { Atomics.store(ctl, 16, msgs); Atomics.notify(ctl, 16); }
      if (got >= job.items) { done(t0, got, sum); port.close(); }
    });
    waitStart();
    t0 = now();
  }
} else if (job.kind === 'wake') {
  // Latency from a push into an empty ring to the sleeping consumer having the item.
  const ring = SpscRing.attach(job.ring!);
  const bank = DoorbellBank.attach(job.ring!.bank!);
  const stamps = new Float64Array(job.stamps!);
  const lat = new Float64Array(job.items);
  if (job.role === 'producer') {
    waitStart();
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < job.items; i++) {
      Atomics.wait(pause, 0, 0, 2); // let the consumer fall asleep
      stamps[i] = now();
      while (!ring.pushOne(i));
    }
    done(0, job.items, 0);
  } else {
    const slot = bank.allocSlot();
    ring.bindDoorbell(slot);
    waitStart();
    let got = 0;
    while (got < job.items) {
      const v = ring.popOne();
      if (v >= 0) { lat[v] = now() - stamps[v]!; got++; continue; }
      const seq = bank.prepareSleep(slot);
      if (ring.isEmpty()) bank.sleep(slot, seq, 1000); else bank.endSleep(slot);
    }
    const sorted = Array.from(lat).sort((a, b) => a - b);
    done(0, got, 0, { p50_us: sorted[Math.floor(got * 0.5)]! * 1000, p99_us: sorted[Math.floor(got * 0.99)]! * 1000, max_us: sorted[got - 1]! * 1000 });
  }
}
