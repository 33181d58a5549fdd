/**
 * The fast path under flow churn, with real threads: 2 PMD threads forward from p1 (2 rxqs, fed
 * by a traffic thread) to p2 while a writer thread creates, modifies and deletes flows for a few
 * seconds. Each flow's actions stamp its id and version into the frame (source MAC), so every
 * frame that leaves p2 tells which flow version handled it.
 *
 * What must hold:
 *  - every forwarded frame carries the stamp of the flow its own key matches (a PMD that used a
 *    flow entry or action list after it was reused would apply another flow's stamp), and of a
 *    version whose put had started;
 *  - per PMD (its txq on p2 is a FIFO) the versions of one flow never go backwards;
 *  - each flow incarnation's final stats, returned by its delete, equal the frames stamped with
 *    its versions (no packet counted nowhere or twice, none forwarded after the delete returned);
 *  - packets are conserved: accepted on p1 = received by the PMDs = flow hits + upcalls queued +
 *    upcalls dropped (+ malformed), flow hits = frames sent on p2 = frames drained, upcalls queued
 *    = upcalls read.
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { Datapath, UpcallReader } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { W_IN_PORT, W_NW_DST } from '@tsvs/packet';
import { ipFrame, sleep, packetCounters, waitFor, waitQuiet } from '../../packages/dpif/test/datapath-helpers.js';

const N_FLOWS = 24;
const CHURN_MS = 3000;

function startWorker(file: string, workerData: unknown): { worker: Worker; done: Promise<any> } {
  const worker = new Worker(new URL(file, import.meta.url), { workerData });
  const done = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${file} exited with ${code} before reporting`)));
  });
  return { worker, done };
}

describe('datapath concurrency: 2 PMDs forwarding while a writer thread churns flows', function () {
  this.timeout(60000);
  let dp: Datapath;
  after(async () => dp?.close());

  it('forwards every packet with the actions of a live flow version, and conserves packets', async () => {
    dp = await Datapath.open({
      name: 'conc0', nPmds: 2, maxPmds: 2, pool: { nBufs: 16384 }, upcallQueueSize: 4096, maxSleepMs: 20,
      flowTable: { capacity: 256, emcInsertInvProb: 1, actionsReserve: 16 },
    });
    const p1 = await dp.portAdd({ name: 'p1', type: 'memory', options: { n_rxq: '2', rxq_size: '4096' } });
    const p2 = await dp.portAdd({ name: 'p2', type: 'memory', options: { n_txq: '2', tx_ring: 'true', txq_size: '16384' } });
    const owners = new Set([dp.rxqAssignment().get(`${p1}/0`), dp.rxqAssignment().get(`${p1}/1`)]);
    expect(owners.size, 'each PMD polls one rxq of p1').to.equal(2);
    const rx = dp.netdev(p1) as MemoryNetdev, tx = dp.netdev(p2) as MemoryNetdev;
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);

    // Frames for every flow id (UDP to port 53, so odd flows' tp_dst match holds).
    const frames = Array.from({ length: N_FLOWS * 4 }, (_, i) => ipFrame({ dst: 0x14000000 + (i % N_FLOWS), sport: 1000 + i }));
    const trafficCtl = new SharedArrayBuffer(8), writerCtl = new SharedArrayBuffer(8);
    const writerStarted = new Int32Array(writerCtl);
    const traffic = startWorker('./traffic-worker.mjs', { netdev: rx.descriptor(), frames, burst: 16, pauseMs: 0.1, ctl: trafficCtl });
    const writer = startWorker('./flow-writer-worker.mjs', {
      table: dp.table.sab, p1, p2, nFlows: N_FLOWS, durationMs: CHURN_MS, ctl: writerCtl,
    });

    // The checker: drains p2's txqs and p1's upcall queue while everything runs.
    const count = new Map<number, number>(); // version -> frames stamped with it
    const lastSeen = [new Map<number, number>(), new Map<number, number>()]; // per txq: flow -> last version
    const violations: string[] = [];
    let drained = 0, upcallsRead = 0;
    const ids = new Uint32Array(256);
    const data = dp.pool.data;
    const drainOnce = (): number => {
      let got = 0;
      for (let q = 0; q < 2; q++) {
        const k = tx.txDrain(q, ids, ids.length);
        const started = Atomics.load(writerStarted, 1);
        for (let i = 0; i < k; i++) {
          const id = ids[i]!;
          const o = dp.pool.frameOffset(id);
          const f = data[o + 33]!; // 20.0.0.f
          const sf = data[o + 7]!;
          const v = ((data[o + 8]! << 24) | (data[o + 9]! << 16) | (data[o + 10]! << 8) | data[o + 11]!) >>> 0;
          if (data[o + 6] !== 0x02 || sf !== f) violations.push(`txq ${q}: frame of flow ${f} stamped by flow ${sf} v${v}`);
          if (v > started) violations.push(`txq ${q}: flow ${f} stamped with v${v} before its put started (${started})`);
          const last = lastSeen[q]!.get(f) ?? 0;
          if (v < last) violations.push(`txq ${q}: flow ${f} went back from v${last} to v${v}`);
          lastSeen[q]!.set(f, v);
          count.set(v, (count.get(v) ?? 0) + 1);
          dp.pool.free(id);
        }
        drained += k;
        got += k;
      }
      const u = reader.recv(ids);
      for (let i = 0; i < u; i++) {
        const b = ids[i]!;
        const kb = reader.area.keyBase(b);
        const o = dp.pool.frameOffset(b);
        if (reader.area.u32[kb + W_IN_PORT] !== p1 || reader.area.u32[kb + W_NW_DST] !== (0x14000000 | data[o + 33]!)) {
          violations.push(`upcall key does not match its packet (buffer ${b})`);
        }
        dp.pool.free(b);
      }
      upcallsRead += u;
      return got + u;
    };

    let writerResult: { log: Array<[string, number, number, number?, number?]>; ops: number } | null = null;
    void writer.done.then((r) => { writerResult = r; });
    // Traffic runs for the churn period minus a margin, so that the writer's final deletes happen
    // after the last packet.
    const trafficEnd = Date.now() + CHURN_MS - 300;
    while (Date.now() < trafficEnd) {
      if (drainOnce() === 0) await sleep(0);
    }
    Atomics.store(new Int32Array(trafficCtl), 0, 1);
    const { accepted } = (await traffic.done) as { accepted: number; offered: number };
    await waitFor(() => { drainOnce(); return rx.stats().rx_packets === accepted && dp.totals().recv === accepted; }, 20000, 'p1 rx rings drained');
    // Then until nothing moves any more: the PMDs' last sends, the last frames and upcalls drained.
    await waitQuiet(() => { drainOnce(); return [packetCounters(dp.totals()), drained, upcallsRead, tx.stats()]; });
    await writer.done;
    await waitFor(() => writerResult !== null, 1000, 'writer log');
    drainOnce();
    const { log, ops } = writerResult!;

    expect(violations.slice(0, 10)).to.deep.equal([]);

    // Per incarnation: the delete's final stats equal the frames stamped with its versions.
    const inc = new Map<number, number[]>(); // flow -> versions of the current incarnation
    let incarnations = 0, hitsByStats = 0;
    const mismatches: string[] = [];
    for (const [op, f, v, packets, bytes] of log) {
      if (op === 'create') inc.set(f, [v]);
      else if (op === 'modify') inc.get(f)!.push(v);
      else {
        const seen = inc.get(f)!.reduce((s, x) => s + (count.get(x) ?? 0), 0);
        if (seen !== packets || bytes !== packets! * 64) mismatches.push(`flow ${f} versions ${inc.get(f)}: stats ${packets}/${bytes}, frames ${seen}`);
        hitsByStats += packets!;
        incarnations++;
        inc.delete(f);
      }
    }
    expect(mismatches.slice(0, 10)).to.deep.equal([]);
    expect(inc.size, 'every incarnation was deleted').to.equal(0);

    // Conservation.
    const t = dp.totals(), q = dp.upcallStats(p1), s2 = tx.stats();
    expect(rx.stats().rx_packets).to.equal(accepted);
    expect(t.recv).to.equal(accepted);
    expect(t.emc_hit + t.masked_hit + t.miss + t.lost + t.malformed).to.equal(t.recv);
    expect(t.malformed).to.equal(0);
    expect(t.tx_dropped).to.equal(0);
    expect(t.emc_hit + t.masked_hit).to.equal(t.sent_pkts);
    expect(s2.tx_packets).to.equal(t.sent_pkts);
    expect(s2.tx_dropped).to.equal(0);
    expect(drained).to.equal(t.sent_pkts);
    expect(hitsByStats).to.equal(t.sent_pkts);
    expect(q.queued).to.equal(t.miss);
    expect(upcallsRead).to.equal(t.miss);
    expect(q.dropped).to.equal(t.lost);
    expect(dp.pool.stats().doubleFrees).to.equal(0);

    // The run did what it claims: much churn, many packets, both paths used by both PMDs.
    expect(ops, 'writer operations').to.be.greaterThan(300);
    expect(incarnations).to.be.greaterThan(100);
    expect(accepted, 'packets').to.be.greaterThan(20000);
    expect(t.emc_hit).to.be.greaterThan(0);
    expect(t.masked_hit).to.be.greaterThan(0);
    expect(t.miss).to.be.greaterThan(0);
    for (const id of dp.pmdIds()) expect(dp.counters.readBlock(id).recv, `PMD ${id} received`).to.be.greaterThan(0);
    process.stderr.write(`      [concurrency] ${ops} flow ops, ${incarnations} incarnations, ${accepted} packets: `
      + `${t.emc_hit} emc, ${t.masked_hit} megaflow, ${t.miss} upcalls, ${t.lost} lost\n`);
  });
});
