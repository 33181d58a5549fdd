/**
 * ofproto/trace text (src/trace): the tree layout of OVS's oftrace_node_print_details (nested
 * tables, the last one back at the margin), the lines after `Datapath actions:`, `--names`, and
 * input errors with OVS's wording. Whole traces are compared with OVS in
 * test/conformance/xlate.test.ts.
 */
import { expect } from 'chai';
import {
  BridgePorts, MacLearning, OfTables, OFPP_LOCAL, parseFlowMod, printTraceNodes, traceFlow, tracePacket,
  TraceError, type TraceNode,
} from '@tsvs/ofproto';

function env(rules: string[]) {
  const ports = new BridgePorts({
    name: 'br0',
    ports: [{ name: 'br0', ofport: OFPP_LOCAL, odpPort: 1 }, { name: 'p1', ofport: 1, odpPort: 2 }, { name: 'p2', ofport: 2, odpPort: 3 }],
  });
  const tables = new OfTables({ now: () => 0 });
  tables.apply(rules.map((r) => parseFlowMod(r, 'add', { portMap: ports.portMap })));
  return { ports, tables, ml: new MacLearning({ now: () => 0 }) };
}

describe('ofproto/trace', () => {
  it('indents like OVS: a table reached by a non-last action nests, the last one returns to the margin', () => {
    const e = env([
      'table=0,in_port=1,actions=resubmit(,1),output:2',
      'table=1,actions=note:00,resubmit(,2)',
      'table=2,cookie=0x10,ip,actions=output:LOCAL',
    ]);
    const t = traceFlow(e, 'in_port=1,ip').text;
    expect(t).to.equal([
      'Flow: ip,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no',
      '',
      'bridge("br0")',
      '-------------',
      ' 0. in_port=1, priority 32768',
      '    resubmit(,1)',
      '     1. priority 32768',
      '            note:00.00.00.00.00.00',
      '            resubmit(,2)',
      '         2. ip, priority 32768, cookie 0x10',
      '            LOCAL',
      '    output:2',
      '',
      'Final flow: unchanged',
      'Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no',
      'Datapath actions: 1,3',
      '',
    ].join('\n'));
  });

  it('prints the node types with their markers', () => {
    const nodes: TraceNode[] = [{
      type: 'bridge', text: 'bridge("b")', subs: [{
        type: 'table', text: ' 0. No match.', subs: [
          { type: 'action', text: 'drop', subs: [] },
          { type: 'detail', text: 'd', subs: [] },
          { type: 'warn', text: 'w', subs: [] },
          { type: 'error', text: 'e', subs: [] },
        ],
      }],
    }];
    expect(printTraceNodes(nodes)).to.deep.equal(['', 'bridge("b")', '-----------', ' 0. No match.', '    drop', '     -> d', '     >> w', '     >>>> e <<<<']);
  });

  it('explains slow-path flows and failed translations after the actions', () => {
    const e = env(['table=0,in_port=1,arp,actions=set_field:1.2.3.4->arp_spa,output:2', 'table=0,in_port=2,actions=resubmit(,0)']);
    const slow = traceFlow(e, 'in_port=1,arp,arp_spa=9.9.9.9,arp_op=1').text;
    expect(slow.split('\n').slice(-4)).to.deep.equal([
      'Datapath actions: set(arp(sip=1.2.3.4)),3',
      'This flow is handled by the userspace slow path because it:',
      '  - Uses action(s) not supported by datapath.',
      '',
    ]);
    const failed = traceFlow(e, 'in_port=2,ip').text;
    expect(failed).to.include(' >>>> over max translation depth 64 <<<<');
    expect(failed.split('\n').slice(-3)).to.deep.equal(['Datapath actions: drop', 'Translation failed (Recursion too deep), packet is dropped.', '']);
  });

  it('--names: in_port and output ports by name, reserved ports keep their names', () => {
    const e = env(['table=0,actions=output:p2,LOCAL']);
    const t = traceFlow(e, 'in_port=p1,ip', { names: true }).text;
    expect(t).to.include('Flow: ip,in_port=p1,');
    expect(t).to.include('    output:p2\n    LOCAL\n');
    expect(t).to.include('Megaflow: recirc_id=0,eth,ip,in_port=p1,nw_frag=no\n');
    expect(t).to.include('Datapath actions: p2,br0\n');
    expect(traceFlow(e, 'in_port=LOCAL,ip', { names: true }).text).to.include('Flow: ip,in_port=LOCAL,');
  });

  it('a traced packet has side effects (NORMAL learns); a traced flow has none', () => {
    const e = env(['actions=NORMAL']);
    const frame = Buffer.from('ffffffffffff00000000000a0800' + '00'.repeat(46), 'hex');
    traceFlow(e, 'in_port=1,dl_src=00:00:00:00:00:0a,dl_dst=ff:ff:ff:ff:ff:ff,ip');
    expect(e.ml.size).to.equal(0);
    const t = tracePacket(e, frame, 1).text;
    expect(t).to.include('     -> learned that 00:00:00:00:00:0a is on port p1 in VLAN 0\n');
    expect(e.ml.lookup(0, 0, 0x0a)).to.equal(1);
  });

  it('refuses bad input with OVS\'s messages', () => {
    const e = env([]);
    expect(() => tracePacket(e, new Uint8Array(8), 1)).to.throw(TraceError, 'Packet data too short for Ethernet');
    expect(() => traceFlow(e, 'in_port=1,udp,tp_dst=53')).to.throw(TraceError,
      'Bad openflow flow syntax: in_port=1,udp,tp_dst=53: prerequisites not met for setting tp_dst');
    expect(() => traceFlow(e, 'in_port=1,nw_sourc=1.1.1.1')).to.throw(TraceError, 'nw_sourc');
  });
});
