/**
 * Upcall queues read from another thread, as handler threads will: a worker attaches a port's
 * queue from its descriptor, sleeps on its own doorbell and is woken by the PMD's pushes, and gets
 * every miss with the right key, in_port and packet; it frees the buffers in its thread.
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { Datapath } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { ipFrame, sleep, waitFor } from '../../packages/dpif/test/datapath-helpers.js';

describe('datapath: upcall queue read from a handler thread', function () {
  this.timeout(30000);
  let dp: Datapath;
  after(async () => dp?.close());

  it('delivers misses to a reader in another thread, waking it through its doorbell', async () => {
    dp = await Datapath.open({ name: 'uq0', nPmds: 2, maxPmds: 2, pool: { nBufs: 4096 }, maxSleepMs: 20, flowTable: { capacity: 256 } });
    const p1 = await dp.portAdd({ name: 'p1', type: 'memory', options: { n_rxq: '2' } });
    const slot = dp.bank.allocSlot();
    const want = 400;
    const worker = new Worker(new URL('./upcall-reader-worker.mjs', import.meta.url), {
      workerData: { queue: dp.upcallQueue(p1), bank: dp.bank.sab, slot, want },
    });
    type Result = { got: number; inPorts: number[]; dsts: number[]; bad: number; wakeups: number };
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => { ready = resolve; });
    const done = new Promise<Result>((resolve, reject) => {
      worker.on('message', (m: Result | { ready: true }) => ('ready' in m ? ready() : resolve(m)));
      worker.once('error', reject);
    });
    await isReady; // the reader is bound to its doorbell and about to find the queue empty
    const rx = dp.netdev(p1) as MemoryNetdev;
    // Sparse traffic (the reader sleeps in between), on both rxqs, hence both PMDs' rings.
    for (let i = 0; i < want; i += 20) {
      const frames = Array.from({ length: 20 }, (_, k) => ipFrame({ dst: 0x0b000000 + i + k }));
      expect(rx.inject(frames.slice(0, 10), 0) + rx.inject(frames.slice(10), 1)).to.equal(20);
      await sleep(5);
    }
    const r = await done;
    dp.bank.freeSlot(slot);
    expect(r.bad).to.equal(0);
    expect(r.got).to.equal(want);
    expect(r.inPorts).to.deep.equal([p1]);
    expect([...r.dsts].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: want }, (_, i) => 0x0b000000 + i));
    expect(r.wakeups, 'the reader slept and was woken by PMD pushes').to.be.greaterThan(0);
    const t = dp.totals();
    expect(t.miss).to.equal(want);
    expect(t.lost).to.equal(0);
    for (const id of dp.pmdIds()) expect(dp.counters.readBlock(id).miss, `PMD ${id} produced upcalls`).to.be.greaterThan(0);
    await waitFor(() => dp.upcallStats(p1).pending === 0, 1000, 'queue empty');
    expect(dp.pool.stats().doubleFrees).to.equal(0);
  });
});
