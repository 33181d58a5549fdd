/**
 * Upcall fairness with real threads (real Datapath, real PMD, memory ports, handler and revalidator
 * threads): a storm thread floods port A with frames that each need a new datapath flow (a new
 * dl_src per frame, which the rules make part of every megaflow), far faster than one handler can
 * set flows up. Meanwhile port B sends frames that also each need a new flow, one at a time. The
 * one handler serves both ports' queues round-robin with a per-port quota, so every B frame must
 * still get its flow installed and be forwarded, while A's queue overflows (the PMD drops). Upcall
 * counts and latencies per port are printed; the handler's latency runs from the PMD's enqueue
 * stamp to the flow installed, so it includes the time an upcall waited in its queue.
 */
import { expect } from 'chai';
import { openBridge, memPort, pct, startStorm, uniqueFrame, waitFor, type Bridge } from './helpers.js';

describe('slow path: a MISS storm on one port does not starve another port', function () {
  this.timeout(120000);
  let br: Bridge | null = null;
  afterEach(async () => {
    await br?.close();
    br = null;
  });

  it('port B\'s new flows are installed and forwarded while port A floods misses', async () => {
    // Room for every flow the storm gets installed while B's frames go through (about 130k with
    // one handler on this machine): a full table or the flow limit would refuse B's flows too.
    const room = 1 << 18;
    br = await openBridge(['A', 'B', 'X', 'Y'], { pool: { nBufs: 32768 }, flowTable: { capacity: room } }, {
      handlers: 1, revalidators: 1, tunables: { 'flow-limit': room },
    });
    const { dp, ofp, port } = br;
    ofp.setFlowLimit(room);
    ofp.addFlows([
      // Rules out one source MAC: every megaflow then matches dl_src exactly (a new flow per frame).
      'priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop',
      'priority=10,in_port=A,actions=output:X',
      'priority=10,in_port=B,actions=output:Y',
    ]);
    await ofp.syncHandlers();
    const storm = await startStorm(dp, port.A!);
    try {
      await waitFor(() => dp.upcallStats(port.A!).dropped > 0, 10000, 'A\'s queue to overflow');
      const N = 200;
      const e2e: number[] = [];
      const y = memPort(dp, port.Y!);
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        expect(memPort(dp, port.B!).inject(uniqueFrame(2, i, { dport: 54 }))).to.equal(1);
        await waitFor(() => y.stats().tx_packets === i + 1, 5000, `B frame ${i} forwarded`);
        e2e.push((performance.now() - t0) * 1000);
      }
      const during = ofp.handlerStats();
      await storm.stop();
      const pa = during.ports.find((p) => p.portNo === port.A)!;
      const pb = during.ports.find((p) => p.portNo === port.B)!;
      const line = (name: string, p: typeof pa): string =>
        `  ${name}: queued ${p.queued}, dropped by the datapath (queue full) ${p.queueDropped}, taken ${p.counters.received}, ` +
        `installed ${p.counters.installed}, exists ${p.counters.exists}, failed ${p.counters.failed}, ` +
        `flow_limit ${p.counters.flow_limit}; latency enqueue→installed µs p50 ${p.latency.p50Us.toFixed(0)} p99 ${p.latency.p99Us.toFixed(0)} max ${p.latency.maxUs.toFixed(0)}`;
      console.log(`    storm: ${storm.offered()} frames offered to A, ${storm.accepted()} accepted by its rxq`);
      console.log(line('A', pa));
      console.log(line('B', pb));
      console.log(`    B enqueue→forwarded (measured outside): p50 ${pct(e2e, 0.5).toFixed(0)} µs, p99 ${pct(e2e, 0.99).toFixed(0)} µs, max ${Math.max(...e2e).toFixed(0)} µs`);

      expect(pa.queueDropped, 'the storm overflowed A').to.be.greaterThan(0);
      expect(pa.counters.installed, 'A was served too').to.be.greaterThan(N);
      expect(pb.counters.miss).to.equal(N);
      expect(pb.counters.installed, 'every B frame got its flow').to.equal(N);
      expect(pb.queueDropped + pb.counters.failed).to.equal(0);
      expect(pb.latency.count, 'a latency per installed B flow').to.equal(N);
      expect(y.stats().tx_packets).to.equal(N);
      expect(pb.handler).to.equal(pa.handler);
    } finally {
      await storm.stop().catch(() => undefined);
    }
  });
});
