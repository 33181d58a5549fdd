/**
 * Upcalls from real PMD threads: a miss produces a MISS upcall with the packet, its key and
 * in_port on the queue of the port it came in on; a `userspace` action produces an ACTION upcall;
 * a full queue drops and counts without blocking the PMD; ACTION upcalls have rings of their own
 * that a full MISS ring does not affect; records carry the enqueue time (ms, datapath clock); a
 * handler-style round trip (read the miss, install the flow, execute the upcalled buffer) forwards
 * the packet and the next ones stay in the datapath.
 */
import { expect } from 'chai';
import {
  DPIF_FP_CREATE, DPIF_UC_ACTION, DPIF_UC_MISS, Datapath, UpcallReader, dpNowMs, parseOdpActions,
} from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { W_NW_DST } from '@tsvs/packet';
import { ipFrame, keyOf, maskOf, waitFor } from './datapath-helpers.js';

describe('datapath: upcalls', function () {
  this.timeout(20000);
  let dp: Datapath;
  let p1: number, p2: number;
  before(async () => {
    dp = await Datapath.open({
      name: 'up0', nPmds: 2, maxPmds: 2, pool: { nBufs: 4096 }, upcallQueueSize: 8, maxSleepMs: 50,
      flowTable: { capacity: 1024, emcInsertInvProb: 1 },
    });
    p1 = await dp.portAdd({ name: 'p1', type: 'memory' });
    p2 = await dp.portAdd({ name: 'p2', type: 'memory', options: { tx_ring: 'true' } });
  });
  after(async () => dp.close());

  const drain = (r: UpcallReader): number[] => {
    const ids = new Uint32Array(64);
    const out: number[] = [];
    for (let k = r.recv(ids); k > 0; k = r.recv(ids)) out.push(...ids.subarray(0, k));
    return out;
  };

  it('queues a miss on the in_port queue with the packet, its flow key and in_port', async () => {
    const r1 = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    const r2 = UpcallReader.attach(dp.upcallQueue(p2), dp.pool);
    const f1 = ipFrame({ dst: 0x0a000101, sport: 1234 });
    const f2 = ipFrame({ dst: 0x0a000202, len: 90 });
    (dp.netdev(p1) as MemoryNetdev).inject(f1);
    (dp.netdev(p2) as MemoryNetdev).inject(f2);
    await waitFor(() => dp.upcallStats(p1).pending === 1 && dp.upcallStats(p2).pending === 1, 5000, 'one upcall per port');
    const [u1] = drain(r1).map((b) => r1.read(b));
    const [u2] = drain(r2).map((b) => r2.read(b));
    expect(u1).to.deep.include({ type: DPIF_UC_MISS, inPort: p1, pid: 0, userdata: null });
    expect(Array.from(u1!.packet)).to.deep.equal(Array.from(f1));
    expect(Array.from(u1!.key)).to.deep.equal(Array.from(keyOf(f1, p1)));
    expect(u2).to.deep.include({ type: DPIF_UC_MISS, inPort: p2 });
    expect(Array.from(u2!.key)).to.deep.equal(Array.from(keyOf(f2, p2)));
    expect(u2!.packet).to.have.length(90);
    dp.pool.free(u1!.buf);
    dp.pool.free(u2!.buf);
    expect(dp.stats()).to.deep.include({ hit: 0, missed: 2, lost: 0 });
  });

  it('drops and counts upcalls when the queue is full, without blocking the PMD', async () => {
    const before = dp.totals();
    const q0 = dp.upcallStats(p1);
    const rxq = dp.rxqAssignment().get(`${p1}/0`)!;
    // One PMD polls p1's only rxq; its ring on p1's queue holds 8 upcalls.
    const frames = Array.from({ length: 30 }, (_, i) => ipFrame({ dst: 0x0a010000 + i }));
    expect((dp.netdev(p1) as MemoryNetdev).inject(frames)).to.equal(30);
    // recv counts a burst when it is read, upcalls and drops as it is processed: wait for both.
    await waitFor(() => dp.totals().recv - before.recv === 30 && dp.totals().miss + dp.totals().lost - before.miss - before.lost === 30, 5000, '30 packets received and processed');
    const t = dp.totals(), q = dp.upcallStats(p1);
    expect(t.miss - before.miss).to.equal(8);
    expect(t.lost - before.lost).to.equal(22);
    expect(q.queued - q0.queued).to.equal(8);
    expect(q.dropped - q0.dropped).to.equal(22);
    expect(q.pending).to.equal(8);
    const show = dp.pmdStatsShow();
    const block = show.split(/\n(?=pmd thread|main thread)/).find((b) => b.startsWith(`pmd thread numa_id 0 core_id ${rxq}:`))!;
    expect(block).to.match(/miss with failed upcall: 22\n/);
    // The PMD kept going: traffic still flows once there is a flow.
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    const ids = drain(reader);
    expect(ids).to.have.length(8);
    const got = ids.map((b) => reader.read(b).key[W_NW_DST]).sort((a, b) => a - b);
    expect(got).to.deep.equal(frames.slice(0, 8).map((_, i) => 0x0a010000 + i));
    for (const b of ids) dp.pool.free(b);
    expect(dp.stats().lost).to.equal(t.lost);
  });

  it('a userspace action queues an ACTION upcall with pid and userdata, and the packet still goes on', async () => {
    const f = ipFrame({ dst: 0x0a000303 });
    dp.flowPut({
      flags: DPIF_FP_CREATE, key: keyOf(f, p1), mask: maskOf({ [W_NW_DST]: ~0 }),
      actions: parseOdpActions(`userspace(pid=42,userdata(cafe0001)),${p2}`),
    });
    (dp.netdev(p1) as MemoryNetdev).inject([f, f]);
    await waitFor(() => dp.upcallStats(p1).pending === 2, 5000, 'two ACTION upcalls');
    await waitFor(() => (dp.netdev(p2) as MemoryNetdev).txDrainFrames().length === 2, 5000, 'both frames on p2');
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    for (const b of drain(reader)) {
      const u = reader.read(b);
      expect(u).to.deep.include({ type: DPIF_UC_ACTION, inPort: p1, pid: 42 });
      expect(Buffer.from(u.userdata!).toString('hex')).to.equal('cafe0001');
      expect(Array.from(u.packet)).to.deep.equal(Array.from(f));
      expect(Array.from(u.key)).to.deep.equal(Array.from(keyOf(f, p1)));
      dp.pool.free(b);
    }
    expect(dp.totals().action_upcall).to.equal(2);
    dp.flowFlush();
  });

  it('ACTION upcalls go to their own ring: a full MISS ring drops none of them; the ACTION ring\'s overflow is counted apart', async () => {
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    drain(reader).forEach((b) => dp.pool.free(b));
    const t0 = dp.totals(), q0 = dp.upcallStats(p1);
    // Fill p1's MISS ring (8 slots) and overflow it: 8 queued, 22 dropped.
    const misses = Array.from({ length: 30 }, (_, i) => ipFrame({ dst: 0x0a020000 + i }));
    expect((dp.netdev(p1) as MemoryNetdev).inject(misses)).to.equal(30);
    const missesDone = (): number => dp.upcallStats(p1).queued + dp.upcallStats(p1).dropped - q0.queued - q0.dropped;
    const actionsDone = (): number => dp.upcallStats(p1).action.queued + dp.upcallStats(p1).action.dropped - q0.action.queued - q0.action.dropped;
    await waitFor(() => dp.totals().recv - t0.recv === 30 && missesDone() === 30, 5000, '30 misses received and processed');
    // Now frames of a flow with a userspace action, on the same port, while the MISS ring is full.
    const f = ipFrame({ dst: 0x0a000505 });
    dp.flowPut({
      flags: DPIF_FP_CREATE, key: keyOf(f, p1), mask: maskOf({ [W_NW_DST]: ~0 }),
      actions: parseOdpActions(`userspace(pid=7,userdata(01)),${p2}`),
    });
    expect((dp.netdev(p1) as MemoryNetdev).inject([f, f, f, f, f])).to.equal(5);
    await waitFor(() => dp.totals().recv - t0.recv === 35 && actionsDone() === 5, 5000, '5 more packets, processed');
    let q = dp.upcallStats(p1);
    expect(q.action).to.deep.equal({ queued: q0.action.queued + 5, dropped: q0.action.dropped, pending: 5 });
    expect(q.dropped - q0.dropped, 'only misses dropped').to.equal(22);
    // The ACTION ring's own capacity (8): 3 more fit, 9 are dropped and counted as ACTION drops.
    expect((dp.netdev(p1) as MemoryNetdev).inject(Array.from({ length: 12 }, () => f))).to.equal(12);
    await waitFor(() => dp.totals().recv - t0.recv === 47 && actionsDone() === 17, 5000, '12 more packets, processed');
    q = dp.upcallStats(p1);
    expect(q.action).to.deep.equal({ queued: q0.action.queued + 8, dropped: q0.action.dropped + 9, pending: 8 });
    const t = dp.totals();
    expect(t.action_upcall - t0.action_upcall).to.equal(8);
    expect(t.action_lost - t0.action_lost).to.equal(9);
    expect(t.lost - t0.lost, 'MISS drops').to.equal(22);
    // recv: ACTION upcalls first, then misses.
    const ids = new Uint32Array(64);
    const n = reader.recv(ids, 12);
    expect(Array.from(ids.subarray(0, n), (b) => reader.area.type(b))).to.deep.equal([...Array(8).fill(DPIF_UC_ACTION), ...Array(4).fill(DPIF_UC_MISS)]);
    ids.subarray(0, n).forEach((b) => dp.pool.free(b));
    // recvMisses / recvActions read one kind each.
    expect(reader.recvActions(ids)).to.equal(0);
    const m = reader.recvMisses(ids);
    expect(m).to.equal(4);
    ids.subarray(0, m).forEach((b) => dp.pool.free(b));
    expect(reader.isEmpty()).to.equal(true);
    (dp.netdev(p2) as MemoryNetdev).txDrainFrames();
    dp.flowFlush();
  });

  it('upcall records carry the enqueue time in ms of the datapath clock (PMD misses and ACTION upcalls; execute leaves 0)', async () => {
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    drain(reader).forEach((b) => dp.pool.free(b));
    const f = ipFrame({ dst: 0x0a000606 });
    const before = dpNowMs();
    (dp.netdev(p1) as MemoryNetdev).inject(f);
    await waitFor(() => !reader.isEmpty(), 5000, 'the miss upcall');
    const after = dpNowMs();
    const [miss] = drain(reader);
    const tMiss = reader.area.enqueueTime(miss!);
    dp.pool.free(miss!);
    // The PMD stamps its loop time, which follows a 1 ms tick: not after the read, not long before
    // the inject (the bound only checks the unit and the clock, not how fast anything is).
    expect(tMiss).to.be.at.most(after);
    expect(tMiss).to.be.greaterThan(before - 1000);
    dp.flowPut({
      flags: DPIF_FP_CREATE, key: keyOf(f, p1), mask: maskOf({ [W_NW_DST]: ~0 }), actions: parseOdpActions('userspace(pid=9)'),
    });
    const before2 = dpNowMs();
    (dp.netdev(p1) as MemoryNetdev).inject(f);
    await waitFor(() => !reader.isEmpty(), 5000, 'the ACTION upcall');
    const after2 = dpNowMs();
    const [act] = drain(reader);
    expect(reader.area.type(act!)).to.equal(DPIF_UC_ACTION);
    const tAct = reader.area.enqueueTime(act!);
    dp.pool.free(act!);
    expect(tAct).to.be.at.most(after2);
    expect(tAct).to.be.greaterThan(before2 - 1000);
    // The control thread's execute: an ACTION upcall on the ACTION ring, not stamped.
    const a0 = dp.upcallStats(p1).action.queued;
    expect(dp.execute({ packet: f, inPort: p1, actions: parseOdpActions('userspace(pid=9)') })).to.deep.include({ error: 0, upcalls: 1 });
    expect(dp.upcallStats(p1).action.queued).to.equal(a0 + 1);
    const [ex] = drain(reader);
    expect(reader.area.type(ex!)).to.equal(DPIF_UC_ACTION);
    expect(reader.area.enqueueTime(ex!)).to.equal(0);
    dp.pool.free(ex!);
    dp.flowFlush();
  });

  it('handler round trip: read the miss, put the flow, execute the buffer; later packets hit the flow', async () => {
    const f = ipFrame({ dst: 0x0a000404 });
    const tx = dp.netdev(p2) as MemoryNetdev;
    const reader = UpcallReader.attach(dp.upcallQueue(p1), dp.pool);
    drain(reader).forEach((b) => dp.pool.free(b));
    const t0 = dp.totals();
    (dp.netdev(p1) as MemoryNetdev).inject(f);
    await waitFor(() => !reader.isEmpty(), 5000, 'the miss upcall');
    const [buf] = drain(reader);
    const up = reader.read(buf!);
    const actions = parseOdpActions(String(p2));
    expect(dp.flowPut({ flags: DPIF_FP_CREATE, key: up.key, mask: maskOf({ [W_NW_DST]: ~0 }), actions }).error).to.equal(0);
    expect(dp.execute({ packet: { buf: buf! }, inPort: up.inPort, actions })).to.deep.include({ error: 0, sent: 1 });
    expect(tx.txDrainFrames().map((x) => Array.from(x))).to.deep.equal([Array.from(f)]);
    // The next packet is a megaflow hit, which inserts the key in the EMC (1/emc-insert-inv-prob
    // = 1 here); the burst after it hits the EMC. (Within one burst every key is looked up in the
    // EMC before any insert, as OVS's emc_processing does.)
    (dp.netdev(p1) as MemoryNetdev).inject(f);
    await waitFor(() => dp.totals().recv - t0.recv === 2, 5000, 'the second packet');
    (dp.netdev(p1) as MemoryNetdev).inject(Array.from({ length: 9 }, () => f));
    await waitFor(() => dp.totals().recv - t0.recv === 11, 5000, '9 more packets');
    await waitFor(() => tx.txDrainFrames().length === 10, 5000, '10 frames forwarded');
    const t = dp.totals();
    expect(t.miss - t0.miss).to.equal(1);
    expect(t.masked_hit - t0.masked_hit).to.equal(1);
    expect(t.emc_hit - t0.emc_hit).to.equal(9);
    expect(dp.pool.stats().doubleFrees).to.equal(0);
  });
});
