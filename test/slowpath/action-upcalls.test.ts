/**
 * ACTION upcalls (OpenFlow CONTROLLER → datapath userspace action → packet-in) are not starved by a
 * MISS storm, with real threads. A storm thread floods port A with frames that each need a new
 * flow, far beyond what the handler can take, so A's MISS rings overflow. CONTROLLER frames are
 * then sent on A and on B, interleaved, one every 2 ms. The datapath queues ACTION upcalls on
 * rings of their own (dpif upcall-queue.ts), which the handler reads before any miss each round:
 * every ACTION upcall queued on A or B must come out as a packet-in, and the only loss allowed is
 * the ACTION ring's own overflow (counted by the datapath; a pool without a free buffer would be
 * counted by the PMD too). Frames A's rxq refused (full with storm frames) never reached the
 * datapath and are not counted.
 *
 * The flow limit is 1000 (the storm's flows stop being installed there), so the datapath never
 * holds more flows than the limit and the revalidators never fall back to OVS's 100 ms max-idle:
 * the CONTROLLER flows installed before the storm stay, and every CONTROLLER frame is an ACTION
 * upcall, not a miss that the storm's full MISS ring could drop.
 *
 * Also: a CONTROLLER rule reached by a miss gives the packet-in at once (the handler executes the
 * userspace action itself), with the rule's table, cookie, reason and max_len.
 */
import { expect } from 'chai';
import { formatPacketIn, type PacketIn } from '@tsvs/ofproto';
import { ipFrame, memPort, openBridge, sleep, startStorm, waitFor, type Bridge } from './helpers.js';

const CTRL_SRC_A = [0x02, 0, 0, 0, 0, 0x77];
const CTRL_SRC_B = [0x02, 0, 0, 0, 0, 0x78];

describe('slow path: ACTION upcalls (packet-ins) under a MISS storm', function () {
  this.timeout(120000);
  let br: Bridge | null = null;
  afterEach(async () => {
    await br?.close();
    br = null;
  });

  async function setup(): Promise<{ br: Bridge; pins: PacketIn[] }> {
    const b = await openBridge(['A', 'B', 'X'], { pool: { nBufs: 32768 }, flowTable: { capacity: 131072 } }, {
      handlers: 1, revalidators: 1, tunables: { 'flow-limit': 1000 },
    });
    b.ofp.addFlows([
      'priority=100,dl_src=02:ff:ff:ff:ff:ff,actions=drop',
      'table=0,priority=50,cookie=0xc0ffee,udp,tp_dst=9999,actions=CONTROLLER:60',
      'priority=10,in_port=A,actions=output:X',
    ]);
    await b.ofp.syncHandlers();
    const pins: PacketIn[] = [];
    b.ofp.onPacketIn((p) => pins.push(p));
    return { br: b, pins };
  }

  const ctrlFrame = (src: number[], i: number): Uint8Array => ipFrame({ srcMac: src, dport: 9999, src: 0x0c000000 + i, len: 100 });

  it('a miss that reaches CONTROLLER gives a packet-in with the rule\'s table, cookie, reason and max_len', async () => {
    const s = await setup();
    br = s.br;
    memPort(br.dp, br.port.B!).inject(ctrlFrame(CTRL_SRC_B, 0));
    await waitFor(() => s.pins.length === 1, 5000, 'the packet-in');
    const p = s.pins[0]!;
    expect(p).to.include({ kind: 'controller', inPort: br.port.B, reason: 1, tableId: 0, cookie: 0xc0ffeen, totalLen: 100 });
    expect(p.packet).to.have.length(60);
    expect(formatPacketIn(p, br.ofp.bridgePorts.portMap)).to.match(
      // Cut to 60 bytes the IPv4 header claims more than there is: the flow stops at L2.5 (as OVS's).
      /^NXT_PACKET_IN2 \(xid=0x0\): cookie=0xc0ffee total_len=100 in_port=B \(via action\) data_len=60 \(unbuffered\)\nip,vlan_tci=0x0000,dl_src=02:00:00:00:00:78,/,
    );
    // The next one hits the installed flow in the PMD: an ACTION upcall.
    memPort(br.dp, br.port.B!).inject(ctrlFrame(CTRL_SRC_B, 0));
    await waitFor(() => s.pins.length === 2, 5000, 'the second packet-in');
    const st = br.ofp.handlerStats().ports.find((x) => x.portNo === br!.port.B)!;
    expect(st.counters).to.include({ miss: 1, action: 1, packet_in: 2, installed: 1 });
    expect(st.action).to.deep.include({ queued: 1, dropped: 0 });
  });

  it('every ACTION upcall from the storming port and from another port becomes a packet-in; only the ACTION ring\'s own overflow may lose one, counted', async () => {
    const s = await setup();
    br = s.br;
    const { dp, port } = br;
    const A = port.A!, B = port.B!;
    // Install both CONTROLLER flows before the storm: later frames are ACTION upcalls.
    memPort(dp, A).inject(ctrlFrame(CTRL_SRC_A, 0));
    memPort(dp, B).inject(ctrlFrame(CTRL_SRC_B, 0));
    await waitFor(() => s.pins.length === 2, 5000, 'the first packet-ins');
    await waitFor(() => dp.stats().flows >= 2, 5000, 'the CONTROLLER flows');
    const storm = await startStorm(dp, A);
    try {
      const missDropped = (): number => { const q = dp.upcallStats(A); return q.dropped - q.action.dropped; };
      await waitFor(() => missDropped() > 0, 10000, 'A\'s MISS rings to overflow');
      const qA0 = dp.upcallStats(A), qB0 = dp.upcallStats(B), t0 = dp.totals(), md0 = missDropped();
      const pinsFrom = (p: number): number => s.pins.filter((x) => x.odpInPort === p).length;
      const pA0 = pinsFrom(A), pB0 = pinsFrom(B);
      const N = 200;
      let accA = 0, accB = 0;
      for (let i = 1; i <= N; i++) {
        accB += memPort(dp, B).inject(ctrlFrame(CTRL_SRC_B, i));
        accA += memPort(dp, A).inject(ctrlFrame(CTRL_SRC_A, i));
        await sleep(2);
      }
      const mdDuring = missDropped() - md0;
      // Every CONTROLLER frame an rxq accepted is accounted for by the datapath as an ACTION
      // upcall (queued or dropped on the ACTION ring) or a PMD action_lost (no buffer).
      const settled = (): boolean => {
        const qA = dp.upcallStats(A), qB = dp.upcallStats(B);
        const queued = qA.action.queued - qA0.action.queued + qB.action.queued - qB0.action.queued;
        return queued + dp.totals().action_lost - t0.action_lost >= accA + accB && qA.action.pending === 0 && qB.action.pending === 0;
      };
      await waitFor(settled, 10000, 'the datapath to process the CONTROLLER frames');
      const qA = dp.upcallStats(A), qB = dp.upcallStats(B), t = dp.totals();
      const aq = qA.action.queued - qA0.action.queued, ad = qA.action.dropped - qA0.action.dropped;
      const bq = qB.action.queued - qB0.action.queued, bd = qB.action.dropped - qB0.action.dropped;
      const noBuf = t.action_lost - t0.action_lost - ad - bd;
      // Packet-ins travel to this thread by message after the handler's round.
      await waitFor(() => pinsFrom(A) - pA0 >= aq && pinsFrom(B) - pB0 >= bq, 10000, 'the packet-ins of every queued ACTION upcall').catch(() => undefined);
      const gotA = pinsFrom(A) - pA0, gotB = pinsFrom(B) - pB0;
      const st = br.ofp.handlerStats().ports.find((p) => p.portNo === A)!;
      console.log(`    A (storming): ${accA}/${N} CONTROLLER frames accepted by its rxq, ACTION upcalls queued ${aq}, dropped (ACTION ring full) ${ad}, ` +
        `no buffer ${noBuf}, packet-ins ${gotA}; MISS upcalls dropped on A meanwhile ${mdDuring}, taken by the handler ${st.counters.miss}`);
      console.log(`    B: ${accB}/${N} accepted, ACTION upcalls queued ${bq}, dropped ${bd}, packet-ins ${gotB}`);
      expect(mdDuring, 'the storm kept overflowing A\'s MISS rings while the CONTROLLER frames were sent').to.be.greaterThan(0);
      expect(noBuf, 'no ACTION upcall lost for want of a buffer').to.equal(0);
      // B: nothing lost.
      expect(accB).to.equal(N);
      expect(bq + bd).to.equal(N);
      expect(gotB).to.equal(bq);
      // A: every accepted CONTROLLER frame became an ACTION upcall; every queued one a packet-in.
      expect(aq + ad).to.equal(accA);
      expect(accA, 'some CONTROLLER frames reached A under the storm').to.be.greaterThan(0);
      expect(gotA).to.equal(aq);
      expect(gotA + ad, 'the ACTION ring\'s overflow is the only loss').to.equal(accA);
      // N is below the ACTION ring's capacity (upcallQueueSize, default 1024 per producer), so the
      // ring cannot have been full whatever the scheduling: no loss at all.
      expect(ad + bd, 'ACTION upcalls dropped though fewer than the ring holds were sent').to.equal(0);
    } finally {
      await storm.stop();
    }
  });
});
