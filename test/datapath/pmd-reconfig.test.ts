/**
 * Reconfiguration under traffic, with real threads: a traffic thread keeps p1's two rxqs busy
 * while the datapath changes its number of PMD threads (1 → 2 → 1 → 2), changes the rxq
 * assignment algorithm, and adds and deletes a port. The safe handover (the old PMD releases an
 * rxq before the new one polls it) must lose nothing that was received: every frame the port
 * accepted is forwarded (OVS's bar is at most one burst per rxq).
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { DPIF_FP_CREATE, Datapath, parseOdpActions } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { ipFrame, keyOf, maskOf, sleep, packetCounters, waitFor, waitQuiet } from '../../packages/dpif/test/datapath-helpers.js';

describe('datapath: PMD threads reconfigured under traffic', function () {
  this.timeout(60000);
  let dp: Datapath;
  after(async () => dp?.close());

  it('changes the PMD count and rxq assignment at run time without losing received packets', async () => {
    dp = await Datapath.open({
      name: 'rc0', nPmds: 1, maxPmds: 2, pool: { nBufs: 16384 }, maxSleepMs: 20,
      flowTable: { capacity: 1024 },
    });
    const p1 = await dp.portAdd({ name: 'p1', type: 'memory', options: { n_rxq: '2', rxq_size: '2048' } });
    const p2 = await dp.portAdd({ name: 'p2', type: 'memory', options: { n_txq: '2' } });
    const frame = ipFrame({ dst: 0x0a000009 });
    expect(dp.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(frame, p1), mask: maskOf(), actions: parseOdpActions(String(p2)) }).error).to.equal(0);
    const rx = dp.netdev(p1) as MemoryNetdev, tx = dp.netdev(p2) as MemoryNetdev;

    const ctl = new SharedArrayBuffer(8);
    const worker = new Worker(new URL('./traffic-worker.mjs', import.meta.url), {
      workerData: { netdev: rx.descriptor(), frames: [frame], burst: 32, pauseMs: 0.05, ctl },
    });
    const done = new Promise<{ accepted: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });

    const owners = (): Array<number | undefined> => [dp.rxqAssignment().get(`${p1}/0`), dp.rxqAssignment().get(`${p1}/1`)];
    const perPmd = (): Map<number, number> => new Map(dp.pmdIds().map((id) => [id, dp.counters.readBlock(id).recv!]));
    await sleep(200);
    expect(dp.pmdCount).to.equal(1);
    expect(owners()).to.deep.equal([0, 0]);

    await dp.setPmdCount(2);
    expect(dp.pmdIds()).to.deep.equal([0, 1]);
    expect(new Set(owners()).size, 'p1 rxqs on both PMDs').to.equal(2);
    const a = perPmd();
    await sleep(300);
    const b = perPmd();
    expect(b.get(1)! - (a.get(1) ?? 0), 'the new PMD forwards').to.be.greaterThan(0);
    expect(b.get(0)! - a.get(0)!, 'the old PMD forwards').to.be.greaterThan(0);

    await dp.setPmdCount(1);
    expect(owners()).to.deep.equal([0, 0]);
    await sleep(200);
    const p3 = await dp.portAdd({ name: 'p3', type: 'memory', options: { n_rxq: '3' } });
    await dp.setPmdCount(2);
    await dp.setRxqAssign('cycles');
    await sleep(200);
    await dp.portDel(p3);
    await dp.setRxqAssign('group');
    await sleep(200);

    Atomics.store(new Int32Array(ctl), 0, 1);
    const { accepted } = await done;
    await waitFor(() => rx.stats().rx_packets === accepted, 20000, 'p1 drained');
    await waitQuiet(() => [packetCounters(dp.totals()), tx.stats()]);
    const t = dp.totals();
    const lost = accepted - tx.stats().tx_packets;
    process.stderr.write(`      [reconfig] ${accepted} packets accepted, ${rx.stats().rx_dropped} refused by full rxqs, ${lost} lost\n`);
    expect(accepted, 'traffic flowed').to.be.greaterThan(10000);
    expect(t.recv).to.equal(accepted);
    expect(t.emc_hit + t.masked_hit).to.equal(accepted);
    expect(lost, 'lost at most one burst per rxq').to.be.at.most(2 * 32);
    expect(tx.stats().tx_dropped).to.equal(0);
    expect(dp.pool.stats().doubleFrees).to.equal(0);
  });
});
