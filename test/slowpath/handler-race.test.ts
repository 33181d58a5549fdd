/**
 * Two handlers racing on the same flows is harmless (real threads). tsvs gives each port's queue
 * to one handler, but OVS lets several handlers see one port's upcalls, and handlers whose
 * replicas are at different table versions translate the same packet differently; both cases
 * are built here with two handler cores in two threads, each reading one of the two producer rings
 * of one port (two PMDs, one rxq each):
 * - same translation: the two race on the same UFIDs; exactly one ukey and one flow per megaflow,
 *   every packet forwarded once;
 * - different versions: one installs a wide megaflow, the other's narrower puts then fail with
 *   EEXIST; the packets are still forwarded once each, the failed ukeys end EVICTED and the
 *   revalidators sweep them: ukeys and flows agree afterwards.
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { Datapath } from '@tsvs/dpif';
import {
  BRIDGE_TRANSLATOR_MODULE, Revalidators, SharedMacTable, UkeyTable, parseFlowMod, DEFAULT_HANDLER_CONFIG, type BridgeConfig, type FlowMod, type ReplicaInit,
} from '@tsvs/ofproto';
import { HandlerStats } from '@tsvs/ofproto/handler/index';
import { memPort, sleep, uniqueFrame, waitFor } from './helpers.js';

describe('slow path: two handlers racing on the same flows', function () {
  this.timeout(60000);
  let dp: Datapath | null = null;
  let reval: Revalidators | null = null;
  afterEach(async () => {
    await reval?.stop();
    await dp?.close();
    dp = null;
    reval = null;
  });

  async function race(historyA: FlowMod[][], historyB: FlowMod[][], n: number): Promise<{ counters: Array<Record<string, number>>; ukeys: UkeyTable; p: number; x: number }> {
    dp = await Datapath.open({ name: 'br0', nPmds: 2, maxPmds: 2, maxSleepMs: 20, flowTable: { capacity: 8192 } });
    const p = await dp.portAdd({ name: 'P', type: 'memory', options: { n_rxq: '2', rxq_size: '4096' } });
    const x = await dp.portAdd({ name: 'X', type: 'memory', options: { tx_ring: 'true', txq_size: '4096' } });
    expect(new Set([dp.rxqAssignment().get(`${p}/0`), dp.rxqAssignment().get(`${p}/1`)]).size, 'one rxq per PMD').to.equal(2);
    const bridge: BridgeConfig = { name: 'br0', ports: [{ name: 'br0', ofport: 0xfffe, odpPort: 0 }, { name: 'P', ofport: p, odpPort: p }, { name: 'X', ofport: x, odpPort: x }] };
    const ukeys = UkeyTable.create({ capacity: 8192 });
    const fdb = SharedMacTable.create();
    const stats = HandlerStats.create();
    // Upcalls queue up before any handler runs, so both start with a full backlog of the same flows.
    const frames = Array.from({ length: n }, (_, i) => uniqueFrame(1, i));
    memPort(dp, p).inject(frames, 0);
    memPort(dp, p).inject(frames, 1);
    await waitFor(() => dp!.upcallStats(p).queued === 2 * n, 5000, 'all upcalls queued');
    const ctl = new SharedArrayBuffer(8);
    const workers = [historyA, historyB].map((history, k) => {
      const replica: ReplicaInit = { nTables: 255, bridge, fdb: fdb.sab, history };
      const init = {
        handlerId: k, bank: null, bellSlot: -1, pool: dp!.pool.descriptor(), upcallArea: dp!.upcallArea.sab, flowTable: dp!.table.sab,
        ukeys: ukeys.sab, stats: stats.sab, replica, txq: 5 + k, cfg: DEFAULT_HANDLER_CONFIG,
        netdevs: [p, x].map((portNo) => ({ portNo, netdev: dp!.netdev(portNo).descriptor() })),
      };
      return new Worker(new URL('./race-handler-worker.mjs', import.meta.url), { workerData: { init, queue: dp!.upcallQueue(p), ring: k, ctlSab: ctl } });
    });
    await Promise.all(workers.map((w) => new Promise((r, j) => { w.once('message', r); w.once('error', j); })));
    const c32 = new Int32Array(ctl);
    Atomics.store(c32, 1, 1);
    Atomics.notify(c32, 1);
    await waitFor(() => memPort(dp!, x).stats().tx_packets === 2 * n, 10000, 'every packet forwarded');
    Atomics.store(new Int32Array(ctl), 0, 1);
    await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
    const counters = [0, 1].map((k) => stats.counters(stats.handlerLine(k)) as unknown as Record<string, number>);
    return { counters, ukeys, p, x };
  }

  const mods = (lines: string[]): FlowMod[][] => [lines.map((l) => parseFlowMod(l, 'add'))];
  const narrow = ['priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop', 'priority=10,in_port=1,actions=output:2'];

  it('same translation: one ukey and one flow per megaflow, every packet forwarded once', async () => {
    const n = 400;
    const { counters, ukeys, x } = await race(mods(narrow), mods(narrow), n);
    const sum = (k: string): number => counters[0]![k]! + counters[1]![k]!;
    console.log(`    handler 0: installed ${counters[0]!.installed}, exists ${counters[0]!.exists}; handler 1: installed ${counters[1]!.installed}, exists ${counters[1]!.exists}`);
    expect(dp!.stats().flows).to.equal(n);
    expect(ukeys.count).to.equal(n);
    expect(sum('installed')).to.equal(n);
    expect(sum('installed') + sum('exists')).to.equal(2 * n);
    expect(sum('failed')).to.equal(0);
    expect(memPort(dp!, x).txDrainFrames()).to.have.length(2 * n);
  });

  it('different table versions: EEXIST on overlapping megaflows is harmless and the revalidators clean up', async () => {
    const n = 400;
    // Handler 0 translates with the narrow rules (dl_src in every megaflow), handler 1 without the
    // dl_src rule (one wide megaflow for all): handler 0's puts collide with handler 1's flow.
    const { counters, ukeys, x } = await race(mods(narrow), mods([narrow[1]!]), n);
    console.log(`    narrow handler: installed ${counters[0]!.installed}, exists/EEXIST ${counters[0]!.exists}, failed ${counters[0]!.failed}; ` +
      `wide handler: installed ${counters[1]!.installed}, exists ${counters[1]!.exists}`);
    expect(counters[1]!.installed).to.equal(1);
    expect(counters[0]!.exists, 'EEXIST happened').to.be.greaterThan(0);
    expect(counters[0]!.failed + counters[1]!.failed).to.equal(0);
    expect(memPort(dp!, x).txDrainFrames()).to.have.length(2 * n);
    expect(ukeys.count, 'EVICTED ukeys wait for the sweep').to.be.greaterThan(dp!.stats().flows);
    // Revalidators with the narrow rules: the wide flow is deleted (its mask is wider than the
    // tables now allow), the EVICTED ukeys swept; ukeys and flows agree.
    const bridge: BridgeConfig = { name: 'br0', ports: [{ name: 'br0', ofport: 0xfffe, odpPort: 0 }, { name: 'P', ofport: 1, odpPort: 1 }, { name: 'X', ofport: 2, odpPort: 2 }] };
    reval = await Revalidators.start({
      flowTable: dp!.table, ukeys, timer: false,
      translator: { module: BRIDGE_TRANSLATOR_MODULE, init: { nTables: 255, bridge, fdb: SharedMacTable.create().sab, history: mods(narrow) } },
    });
    // The two replicas had different rules at the same version number (a state the real bridge
    // never has): tell the revalidators the tables changed, as a table change does.
    reval.kick();
    await reval.wait();
    await reval.wait({ kick: true });
    await sleep(10);
    expect(ukeys.count).to.equal(dp!.stats().flows);
    const show = reval.show();
    expect(show.deleted.revalidation, 'the wide flow deleted').to.be.at.least(1);
  });
});
