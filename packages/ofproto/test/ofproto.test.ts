/**
 * The bridge object (src/ofproto) end to end with real threads: a real Datapath with a PMD thread,
 * memory ports, handler and revalidator threads.
 * - NORMAL switching between 3 ports with MAC learning: the first packet floods, the reply is
 *   unicast, each installed datapath flow has exactly the megaflow and actions `ofproto/trace`
 *   computes for its packet, the MAC table (learned in a handler thread) shows both MACs, and the
 *   rule's n_packets counts every packet (upcalled ones credited by handlers, fast-path ones by the
 *   revalidators).
 * - A MAC move is relearned and the flow forwarding to its old port is revalidated.
 * - Rules in ovs-ofctl syntax: add/mod/del/dump, bad input refused with one line and nothing changed.
 * - Ports: add/del, OpenFlow numbers, thread counts changed at run time.
 */
import { expect } from 'chai';
import { Datapath, formatOdpActions, formatUfid } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { formatMatch } from '@tsvs/packet';
import { Ofproto } from '@tsvs/ofproto/ofproto/index';
import { ipFrame, sleep, waitFor } from '../../dpif/test/datapath-helpers.js';

const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];
const MAC_C = [0x02, 0, 0, 0, 0, 0x0c];

function drain(dp: Datapath, portNo: number): Uint8Array[] {
  return (dp.netdev(portNo) as MemoryNetdev).txDrainFrames();
}

function inject(dp: Datapath, portNo: number, frames: Uint8Array | Uint8Array[]): void {
  expect((dp.netdev(portNo) as MemoryNetdev).inject(frames)).to.be.greaterThan(0);
}

/** The output ports of encoded datapath actions, in order (OVS dpctl syntax: `drop` gives none). */
function outputs(actions: Uint8Array): number[] {
  const s = formatOdpActions(actions);
  return s === 'drop' ? [] : s.split(',').map(Number);
}

/**
 * Deadlines of the waits below only bound a hang: every condition waited for comes true on its
 * own (packets forwarded, MACs learned), however long a loaded machine takes.
 */

/** The datapath flows as `key/mask -> actions` strings (OVS match syntax over our key). */
function dpFlows(dp: Datapath): Array<{ ufid: string; match: string; actions: Uint8Array; packets: number }> {
  const out = [];
  const d = dp.flowDump();
  for (let b = d.next(50); b.length > 0; b = d.next(50)) {
    for (const f of b) {
      if (!('key' in f)) continue;
      out.push({ ufid: formatUfid(f.ufid), match: formatMatch(f.key, 0, f.mask, 0), actions: f.actions, packets: f.stats.packets });
    }
  }
  return out;
}

describe('Ofproto: a bridge with handler and revalidator threads over a real datapath', function () {
  this.timeout(60000);
  let dp: Datapath;
  let ofp: Ofproto;
  afterEach(async () => {
    await ofp?.close();
    await dp?.close();
  });

  async function bridge(nHandlers = 1): Promise<{ p1: number; p2: number; p3: number }> {
    dp = await Datapath.open({ name: 'br0', nPmds: 1, maxPmds: 2, maxSleepMs: 20, flowTable: { capacity: 4096 } });
    ofp = await Ofproto.open(dp, { handlers: nHandlers, revalidators: 1 });
    const opts = { tx_ring: 'true' };
    const p1 = (await ofp.addPort({ name: 'p1', type: 'memory', options: opts })).odpPort;
    const p2 = (await ofp.addPort({ name: 'p2', type: 'memory', options: opts })).odpPort;
    const p3 = (await ofp.addPort({ name: 'p3', type: 'memory', options: opts })).odpPort;
    return { p1, p2, p3 };
  }

  it('NORMAL: first packet floods, the reply is unicast, flows carry the megaflows xlate computes', async () => {
    const { p1, p2, p3 } = await bridge();
    expect(ofp.ports().map((p) => [p.name, p.ofport, p.odpPort])).to.deep.equal([['br0', 0xfffe, 0], ['p1', 1, 1], ['p2', 2, 2], ['p3', 3, 3]]);
    ofp.addFlow('actions=NORMAL');
    await ofp.syncHandlers();
    const ab = ipFrame({ srcMac: MAC_A, dstMac: MAC_B, src: 0x0a000001, dst: 0x0a000002 });
    inject(dp, p1, ab);
    await waitFor(() => dp.stats().flows === 1, 20000, 'the flood flow');
    await waitFor(() => (dp.netdev(p2).stats().tx_packets === 1 && dp.netdev(p3).stats().tx_packets === 1), 20000, 'the flood');
    expect(drain(dp, p2)).to.deep.equal([ab]);
    expect(drain(dp, p3)).to.deep.equal([ab]);
    expect(dp.netdev(0).stats().tx_packets, 'LOCAL gets the flood too').to.equal(1);
    expect(drain(dp, p1)).to.deep.equal([]);

    const ba = ipFrame({ srcMac: MAC_B, dstMac: MAC_A, src: 0x0a000002, dst: 0x0a000001 });
    inject(dp, p2, ba);
    await waitFor(() => dp.netdev(p1).stats().tx_packets === 1, 20000, 'the unicast reply');
    await sleep(50);
    expect(drain(dp, p1)).to.deep.equal([ba]);
    expect(drain(dp, p3)).to.deep.equal([]);
    expect(ofp.fdbShow()).to.match(/^ port  VLAN  MAC                Age\n    1     0  02:00:00:00:00:0a +\d+\n    2     0  02:00:00:00:00:0b +\d+\n$/);

    // Every installed flow is what ofproto/trace says for its packet: Megaflow and actions.
    const flows = dpFlows(dp);
    expect(flows).to.have.length(2);
    for (const [frame, inPort] of [[ab, p1], [ba, p2]] as const) {
      const t = ofp.tracePacket(frame, inPort);
      const want = t.text.match(/^Megaflow: recirc_id=0,eth,(.*)$/m)![1]!;
      const f = flows.find((x) => x.match.includes(`in_port=${inPort},`))!;
      expect(f, `flow of in_port ${inPort}`).to.not.equal(undefined);
      // The datapath match spells the same fields (plus the VLAN implication the datapath mask adds).
      for (const field of want.split(',')) expect(f.match.split(','), `${f.match} has ${field}`).to.include(field);
    }

    // More packets on the fast path; rule n_packets counts all after a revalidator round.
    inject(dp, p1, [ab, ab, ab]);
    await waitFor(() => dp.netdev(p2).stats().tx_packets === 4, 20000, 'fast path');
    await ofp.revalidatorWait();
    const dump = ofp.dumpFlows();
    expect(dump).to.have.length(1);
    expect(dump[0]).to.match(/ n_packets=5, n_bytes=320, .*actions=NORMAL$/);
    const hs = ofp.handlerStats();
    const port1 = hs.ports.find((p) => p.name === 'p1')!;
    expect(port1.counters).to.include({ miss: 1, installed: 1, failed: 0 });
  });

  it('a MAC that moves is relearned and the flow that sent to its old port is revalidated', async () => {
    const { p1, p2, p3 } = await bridge(2);
    ofp.addFlow('actions=NORMAL');
    await ofp.syncHandlers();
    // One at a time: sent together, the two handlers may each learn its source before looking up
    // the other's, and neither floods.
    inject(dp, p1, ipFrame({ srcMac: MAC_A, dstMac: MAC_B }));
    await waitFor(() => [0, p2, p3].every((p) => dp.netdev(p).stats().tx_packets === 1), 20000, 'A → B flooded');
    inject(dp, p2, ipFrame({ srcMac: MAC_B, dstMac: MAC_A }));
    await waitFor(() => dp.netdev(p1).stats().tx_packets === 1, 20000, 'B → A');
    // C → B goes to p2 (learned), by a flow.
    inject(dp, p3, ipFrame({ srcMac: MAC_C, dstMac: MAC_B }));
    await waitFor(() => dp.netdev(p2).stats().tx_packets === 2, 20000, 'C → B unicast');
    // B moves to p3.
    inject(dp, p3, ipFrame({ srcMac: MAC_B, dstMac: MAC_A, src: 0x0a000009 }));
    await waitFor(() => ofp.fdbShow().includes('    3     0  02:00:00:00:00:0b'), 20000, 'B relearned on p3');
    // The handler that saw the move has changed the MAC table; its kick to the revalidators may
    // still be on its way, and revalidator/wait accounts for the change itself.
    await ofp.revalidatorWait();
    // No flow to B sends to p2 any more: C → B (in from p3, where B is now) is dropped or gone,
    // A → B (flooded, then sent to p2) now goes to p3.
    const flowsToB = dpFlows(dp).filter((f) => f.match.includes('dl_dst=02:00:00:00:00:0b'));
    for (const f of flowsToB) expect(outputs(f.actions), f.match).to.not.include(p2);
    const aToB = flowsToB.find((f) => f.match.includes(`in_port=${p1},`));
    if (aToB) expect(outputs(aToB.actions), aToB.match).to.deep.equal([p3]);
    const p2Sent = dp.netdev(p2).stats().tx_packets;
    inject(dp, p1, ipFrame({ srcMac: MAC_A, dstMac: MAC_B, src: 0x0a000003 }));
    await waitFor(() => dp.netdev(p3).stats().tx_packets === 2, 20000, 'A → B now to p3');
    expect(dp.netdev(p2).stats().tx_packets).to.equal(p2Sent);
    expect(ofp.fdbStats()).to.contain('Total number of port moved MAC entries  : 1');
  });

  it('MACs seen only on the fast path are refreshed from active datapath flows (OVS XC_NORMAL replay)', async () => {
    const { p1, p2 } = await bridge();
    ofp.addFlow('actions=NORMAL');
    await ofp.syncHandlers();
    const ab = ipFrame({ srcMac: MAC_A, dstMac: MAC_B });
    inject(dp, p1, ab);
    inject(dp, p2, ipFrame({ srcMac: MAC_B, dstMac: MAC_A }));
    await waitFor(() => dp.netdev(p1).stats().tx_packets === 1, 20000, 'B → A');
    await sleep(2100);
    const ageOfA = (): number => Number(/02:00:00:00:00:0a +(\d+)/.exec(ofp.fdbShow())![1]);
    expect(ageOfA()).to.be.at.least(2);
    // A's next packets hit its datapath flow: no upcall, no learning...
    inject(dp, p1, [ab, ab]);
    await waitFor(() => dp.netdev(p2).stats().tx_packets === 3, 20000, 'fast path');
    expect(ofp.handlerStats().ports.find((p) => p.portNo === p1)!.counters.miss).to.equal(1);
    expect(ageOfA()).to.be.at.least(2);
    // ...until the refresh pass re-learns the sources of the flows used since the last pass.
    expect(await ofp.refreshMacs()).to.be.at.least(1);
    expect(ageOfA()).to.equal(0);
    // A flow unused since then refreshes nothing.
    expect(await ofp.refreshMacs()).to.equal(0);
  });

  it('dump-flows with names: in_port and output ports by name (ovs-ofctl --names)', async () => {
    await bridge();
    ofp.addFlows(['priority=10,in_port=p1,actions=output:p2', 'priority=9,in_port=2,ip,actions=output:1,output:LOCAL']);
    expect(ofp.dumpFlows('', { stats: false, names: true })).to.deep.equal([
      ' priority=10,in_port=p1 actions=output:p2', ' priority=9,ip,in_port=p2 actions=output:p1,LOCAL',
    ]);
    expect(ofp.dumpFlows('in_port=p1', { stats: false })).to.deep.equal([' priority=10,in_port=1 actions=output:2']);
  });

  it('refuses bad rules with one line naming the token and changes nothing', async () => {
    await bridge();
    ofp.addFlow('priority=10,ip,nw_src=10.0.0.0/8,actions=output:p2');
    const before = ofp.dumpFlows('', { stats: false });
    expect(before).to.have.length(1);
    expect(before[0]).to.contain('actions=output:2');
    expect(() => ofp.addFlow('priority=10,ip,nw_src=10.0.0.0/8,actions=output:nosuch')).to.throw(/nosuch/);
    expect(() => ofp.addFlows(['actions=NORMAL', 'tabel=1,actions=drop'])).to.throw(/tabel/);
    expect(ofp.dumpFlows('', { stats: false })).to.deep.equal(before);
    ofp.modFlows('ip,actions=drop');
    expect(ofp.dumpFlows()[0]).to.match(/actions=drop$/);
    ofp.delFlows('ip,nw_src=10.0.0.0/8', { strict: true });
    expect(ofp.dumpFlows()).to.have.length(1);
    ofp.delFlows('priority=10,ip,nw_src=10.0.0.0/8', { strict: true });
    expect(ofp.nRules).to.equal(0);
    expect(ofp.dumpFlows('', { names: true })).to.deep.equal([]);
  });

  it('hard and idle timeouts remove rules everywhere: master, handler replicas, revalidators', async () => {
    dp = await Datapath.open({ name: 'br0', nPmds: 1, maxPmds: 2, maxSleepMs: 20, flowTable: { capacity: 4096 } });
    ofp = await Ofproto.open(dp, { handlers: 2, revalidators: 1, housekeepingMs: 100 });
    const p1 = (await ofp.addPort({ name: 'p1', type: 'memory', options: { tx_ring: 'true' } })).odpPort;
    const p2 = (await ofp.addPort({ name: 'p2', type: 'memory', options: { tx_ring: 'true' } })).odpPort;
    ofp.addFlows(['priority=1,actions=drop', 'priority=10,in_port=p1,hard_timeout=1,actions=output:p2', 'priority=10,in_port=p2,idle_timeout=1,actions=output:p1']);
    await ofp.syncHandlers();
    inject(dp, p1, ipFrame({ src: 1 }));
    await waitFor(() => dp.netdev(p2).stats().tx_packets === 1, 20000, 'forwarded by the hard_timeout rule');
    await waitFor(() => ofp.nRules === 1, 20000, 'both timed rules gone');
    expect(ofp.dumpFlows('', { stats: false })).to.deep.equal([' priority=1 actions=drop']);
    // The datapath flow the expired rule made is re-translated by the revalidators (same megaflow,
    // now `drop`: modified in place), so the next packet of it is dropped.
    await ofp.revalidatorWait();
    await ofp.revalidatorWait();
    expect(dpFlows(dp).every((f) => f.actions.length === 6), 'only drop flows (empty action lists) left').to.equal(true);
    inject(dp, p1, ipFrame({ src: 2 }));
    await waitFor(() => dp.totals().recv === 2, 20000, 'the second packet');
    await sleep(50);
    expect(dp.netdev(p2).stats().tx_packets).to.equal(1);
    // A new flow (VLAN-tagged: another megaflow) is translated by a handler replica, which also lost the rule.
    const plain = ipFrame({ src: 3 });
    const tagged = new Uint8Array(plain.length + 4);
    tagged.set(plain.subarray(0, 12), 0);
    tagged.set([0x81, 0x00, 0x00, 0x05], 12);
    tagged.set(plain.subarray(12), 16);
    inject(dp, p1, tagged);
    await waitFor(() => ofp.handlerStats().ports.find((p) => p.portNo === p1)!.counters.handled === 2, 20000, 'the tagged miss');
    await sleep(50);
    expect(dp.netdev(p2).stats().tx_packets).to.equal(1);
  });

  it('deleting a port: its MACs are flushed, its flows revalidated away, NORMAL no longer floods to it', async () => {
    const { p1, p2, p3 } = await bridge();
    ofp.addFlow('actions=NORMAL');
    await ofp.syncHandlers();
    inject(dp, p3, ipFrame({ srcMac: MAC_C, dstMac: MAC_A }));
    await waitFor(() => dp.netdev(p1).stats().tx_packets === 1, 20000, 'C floods');
    expect(ofp.fdbShow()).to.contain('02:00:00:00:00:0c');
    await ofp.delPort('p3');
    expect(ofp.ports().map((p) => p.name)).to.deep.equal(['br0', 'p1', 'p2']);
    expect(ofp.fdbShow()).to.not.contain('02:00:00:00:00:0c');
    expect(dp.portQueryByName('p3')).to.equal(null);
    await ofp.revalidatorWait();
    await ofp.revalidatorWait();
    expect(dpFlows(dp).filter((f) => f.match.includes(`in_port=${p3},`))).to.deep.equal([]);
    // C is forgotten: A → C floods, to LOCAL and p2 only (p2 and LOCAL already got C's flood).
    inject(dp, p1, ipFrame({ srcMac: MAC_A, dstMac: MAC_C }));
    await waitFor(() => dp.netdev(p2).stats().tx_packets === 2 && dp.netdev(0).stats().tx_packets === 2, 20000, 'A floods to p2 and LOCAL');
    // Put before the packet was executed with the same actions: the flood has no p3 in it.
    const aToC = dpFlows(dp).filter((f) => f.match.includes(`in_port=${p1},`) && f.match.includes('dl_dst=02:00:00:00:00:0c'));
    expect(aToC.map((f) => outputs(f.actions))).to.deep.equal([[0, p2]]);
    await ofp.delPort('br0').then(() => expect.fail('deleted the local port'), (e: Error) => expect(e.message).to.contain('local port'));
  });

  it('traces frames in order as packets (learning), one block each ending in Datapath actions', async () => {
    await bridge();
    ofp.addFlow('actions=NORMAL');
    const out = ofp.traceFrames([ipFrame({ srcMac: MAC_A, dstMac: MAC_B }), new Uint8Array(10), ipFrame({ srcMac: MAC_B, dstMac: MAC_A })], 'p1', { names: true });
    expect(out).to.have.length(3);
    expect('text' in out[0]! && out[0].text).to.match(/Datapath actions: br0,p2,p3\n$/);
    expect(out[1]).to.deep.equal({ error: 'Packet data too short for Ethernet' });
    // A learned on p1 by the first trace: the reply from B (also "on p1" here) to A is dropped as a hairpin.
    expect('text' in out[2]! && out[2].text).to.match(/Datapath actions: drop\n$/);
  });

  it('a handler thread that dies is replaced with the same id and queues; events tell a supervisor', async () => {
    const { p1, p2 } = await bridge(2);
    ofp.addFlow('in_port=p1,actions=output:p2');
    await ofp.syncHandlers();
    const events: string[] = [];
    ofp.onHandlerThreadEvent((e) => events.push(`${e.type} ${e.id}`));
    const owner = ofp.handlerAssignment().get(p1)!;
    const before = ofp.handlerThreads()[owner]!;
    for (const how of ['throw', 'terminate'] as const) {
      ofp.crashHandler(owner, how);
      await waitFor(() => events.filter((e) => e === `restarted ${owner}`).length === (how === 'throw' ? 1 : 2), 20000, `replaced after ${how}`);
    }
    expect(events).to.deep.equal([`died ${owner}`, `restarted ${owner}`, `died ${owner}`, `restarted ${owner}`]);
    const after = ofp.handlerThreads()[owner]!;
    expect(after.threadId).to.not.equal(before.threadId);
    expect(after.restarts).to.equal(2);
    expect(ofp.handlerAssignment().get(p1)).to.equal(owner);
    inject(dp, p1, ipFrame({ src: 77 }));
    await waitFor(() => dp.netdev(p2).stats().tx_packets === 1, 20000, 'forwarded by the new handler');
    expect(() => ofp.crashHandler(9, 'throw')).to.throw(RangeError, 'handler 9 is not running');
  });

  it('a handler thread that starts while the tables change gets the change', async () => {
    const { p1, p2, p3 } = await bridge(1);
    ofp.addFlow('priority=1,actions=drop');
    await ofp.syncHandlers();
    const resized = ofp.setThreads({ handlers: 2 });
    // The new handler's thread is spawned (its replica made from the tables now) once the
    // microtasks have run; the rules come while it starts.
    await new Promise((r) => setImmediate(r));
    ofp.addFlows(['priority=10,in_port=p1,actions=output:p3', 'priority=10,in_port=p2,actions=output:p3']);
    await resized;
    expect(new Set(ofp.handlerAssignment().values()).size, 'both handlers serve a port').to.equal(2);
    inject(dp, p1, ipFrame({ src: 1 }));
    inject(dp, p2, ipFrame({ src: 2 }));
    await waitFor(() => dp.netdev(p3).stats().tx_packets === 2, 20000, 'both forwarded by the new rules');
  });

  it('changes thread counts at run time and keeps forwarding', async () => {
    const { p1, p2 } = await bridge(1);
    ofp.addFlow('in_port=p1,actions=output:p2');
    await ofp.syncHandlers();
    let sent = 0;
    const send = (k: number): void => {
      const frames = [];
      for (let i = 0; i < k; i++) frames.push(ipFrame({ src: 0x0b000000 + sent + i }));
      inject(dp, p1, frames);
      sent += k;
    };
    send(10);
    await ofp.setThreads({ handlers: 2, revalidators: 2 });
    expect(ofp.nHandlers).to.equal(2);
    expect(new Set(ofp.handlerAssignment().values()).size).to.equal(2);
    send(10);
    await ofp.setThreads({ handlers: 1, revalidators: 1 });
    send(10);
    await waitFor(() => dp.netdev(p2).stats().tx_packets === sent, 20000, 'every packet forwarded');
    expect(dp.stats().flows).to.equal(1);
  });
});
