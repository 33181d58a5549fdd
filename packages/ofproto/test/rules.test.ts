/**
 * Rule and action syntax beyond the parse-flow golden: modify/delete keywords, error messages
 * that name the bad token, action print/parse round trips, set_field's effect on a flow key.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLOW_WORDS, W_NW, W_TP, W_VLAN0, W_DL_SRC_HI, W_DL_SRC_LO, parseMatch } from '@tsvs/packet';
import {
  OFPP_CONTROLLER, OFPP_NONE, fieldByName, fieldMaskBits, fieldPrereqsOk, fieldSet, formatActions,
  makePortMap, parseActions, parseFlowMod, formatFlowMod, formatFlowStats,
} from '@tsvs/ofproto';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = path.resolve(here, '../../../test/golden/ofctl-rules/parse-flow.jsonl');

describe('flow mod syntax', () => {
  it('reads delete criteria: out_port, cookie mask, table; strict delete takes a priority', () => {
    const d = parseFlowMod('table=3,cookie=0x10/0xf0,out_port=2,tcp', 'delete');
    expect([d.table, d.cookie, d.cookieMask, d.outPort]).to.deep.equal([3, 0x10n, 0xf0n, 2]);
    expect(d.actions).to.deep.equal([]);
    expect(parseFlowMod('priority=7,ip', 'delete_strict').priority).to.equal(7);
    expect(parseFlowMod('', 'delete').outPort).to.equal(OFPP_NONE);
    expect(() => parseFlowMod('priority=7,ip', 'delete')).to.throw(/unknown keyword priority/);
    expect(() => parseFlowMod('cookie=5', 'delete')).to.throw(/cookie=5\/-1/);
    expect(() => parseFlowMod('ip,actions=drop', 'delete')).to.throw(/actions/);
    expect(parseFlowMod('cookie=0x5/-1', 'delete').cookieMask).to.equal(0xffffffffffffffffn);
  });

  it('reads modify: cookie to set vs cookie to match, default new cookie', () => {
    const a = parseFlowMod('ip,actions=drop', 'modify');
    expect([a.newCookie, a.modifyCookie, a.cookieMask]).to.deep.equal([0n, false, 0n]);
    const b = parseFlowMod('cookie=0x9,ip,actions=drop', 'modify_strict');
    expect([b.newCookie, b.modifyCookie]).to.deep.equal([9n, true]);
    const c = parseFlowMod('cookie=0x9/0xf,ip,actions=drop', 'modify');
    expect([c.newCookie, c.cookie, c.cookieMask]).to.deep.equal([null, 9n, 15n]);
    expect(() => parseFlowMod('ip', 'modify')).to.throw(/must specify an action/);
    expect(() => parseFlowMod('importance=3,actions=drop', 'modify')).to.throw(/importance/);
  });

  it('prints modify and delete flow mods as ovs-ofctl does', () => {
    expect(formatFlowMod(parseFlowMod('cookie=0x1/0xff,tcp', 'delete'))).to.equal(' DEL table:255 tcp cookie:0x1/0xff actions=drop');
    expect(formatFlowMod(parseFlowMod('table=2,out_port=3,priority=9,ip', 'delete_strict'))).to.equal(' DEL_STRICT table:2 priority=9,ip out_port:3 actions=drop');
    expect(formatFlowMod(parseFlowMod('table=1,ip,actions=output:1', 'modify'))).to.equal(' MOD table:1 ip actions=output:1');
  });

  it('names the bad token in one-line errors', () => {
    const cases: Array<[string, string]> = [
      ['ip,actions=output:1,frobnicate', 'frobnicate'],
      ['ip,actions=mod_nw_src:10.0.0.256', '10.0.0.256'],
      ['ip,actions=set_field:1.2.3.4->ip_sorc', 'ip_sorc'],
      ['ip,nw_sorc=1.2.3.4,actions=drop', 'nw_sorc'],
      ['ip,actions=resubmit(,x9)', 'x9'],
      ['ip,actions=goto_table:1,output:3', 'goto_table'],
      ['ip,actions=mod_vlan_vid:5000', '5000'],
      ['priority=abc,actions=drop', 'abc'],
      ['ip,actions=learn(table=1)', 'learn'],
      ['ip,actions=output:NORMAL,ct(commit)', 'ct'],
      ['tcp,actions=set_field:99999->tcp_dst', '99999'],
      ['actions=set_field:1.2.3.4->ip_src', 'ip_src'],
      ['actions=output:65280', '65280'],
    ];
    for (const [text, token] of cases) {
      let msg = '';
      try {
        parseFlowMod(text, 'add');
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg, text).to.include(token);
      expect(msg.includes('\n'), text).to.equal(false);
    }
  });

  it('resolves port names through a port map', () => {
    const pm = makePortMap([['eth0', 1], ['vm-a', 7]]);
    const f = parseFlowMod('in_port=eth0,actions=output:vm-a,resubmit(vm-a,1),"vm-a"', 'add', { portMap: pm });
    expect(f.key[0]).to.equal(1);
    // Quoted as OVS 3.1 prints names that are not a letter then letters and digits (lib/namemap.c).
    expect(formatActions(f.actions, { portMap: pm })).to.equal('output:"vm-a",resubmit("vm-a",1),output:"vm-a"');
    expect(formatActions(f.actions)).to.equal('output:7,resubmit(7,1),output:7');
    expect(parseActions(formatActions(f.actions, { portMap: pm }), { portMap: pm }), 'printed names parse back').to.deep.equal(f.actions);
  });

  it('dump-flows --names: port names in the match and the actions, quoted as ovs-ofctl 3.1 prints them', () => {
    // `ovs-ofctl --names --no-stats dump-flows` on OVS 3.1 (netdev bridge, internal ports p1, p-2,
    // p_3, 4x, p.5 with ofport_request 1..5), after add-flow of the same rules with numbers (the
    // first one also had enqueue:2:3, printed enqueue:"p-2":3, which tsvs does not support).
    const pm = makePortMap([['p1', 1], ['p-2', 2], ['p_3', 3], ['4x', 4], ['p.5', 5]]);
    const cases: Array<[string, string]> = [
      ['priority=100,in_port=1,actions=output:2,resubmit(4,1),resubmit:5',
        ' priority=100,in_port=p1 actions=output:"p-2",resubmit("4x",1),resubmit:"p.5"'],
      ['priority=100,in_port=2,tcp,actions=output:1,resubmit(1)', ' priority=100,tcp,in_port="p-2" actions=output:p1,resubmit:p1'],
      ['priority=100,in_port=5,actions=LOCAL', ' priority=100,in_port="p.5" actions=LOCAL'],
      ['priority=100,in_port=LOCAL,actions=NORMAL', ' priority=100,in_port=LOCAL actions=NORMAL'],
      ['priority=100,in_port=9,actions=output:9', ' priority=100,in_port=9 actions=output:9'],
    ];
    for (const [rule, ovs] of cases) {
      const fm = parseFlowMod(rule, 'add');
      const view = {
        table: 0, priority: fm.priority, key: fm.key, mask: fm.mask, cookie: 0n, idleTimeout: 0, hardTimeout: 0, importance: 0,
        flags: 0, actions: fm.actions, nPackets: 0, nBytes: 0, createdMs: 0, modifiedMs: 0, usedMs: 0,
      };
      expect(formatFlowStats(view, { nowMs: 0, showStats: false, portMap: pm }), rule).to.equal(ovs);
      expect(formatFlowStats(view, { nowMs: 0, showStats: false }), `${rule} without names`).to.contain(`in_port=${/in_port=(\w+)/.exec(rule)![1]}`);
      // What --names prints is valid input again (the same rule).
      const back = parseFlowMod(ovs.trim().replace(' actions=', ',actions='), 'add', { portMap: pm });
      expect([back.key, back.mask, back.actions], ovs).to.deep.equal([fm.key, fm.mask, fm.actions]);
    }
  });

  it('is plain data: a FlowMod survives structuredClone', () => {
    const f = parseFlowMod('cookie=0x5,table=1,tcp,tp_dst=80,actions=set_field:1.2.3.4->ip_dst,output:2', 'add');
    const g = structuredClone(f);
    expect(g).to.deep.equal(f);
    expect(g.key).to.be.instanceOf(Uint32Array);
  });
});

describe('actions', () => {
  const rows = readFileSync(golden, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as { rule: string; ok: boolean });
  it('print and parse back to the same actions (every accepted golden rule)', () => {
    let n = 0;
    for (const r of rows.filter((x) => x.ok)) {
      const f = parseFlowMod(r.rule, 'add');
      const text = formatActions(f.actions);
      expect(parseActions(text), `${r.rule} -> ${text}`).to.deep.equal(f.actions);
      n++;
    }
    expect(n).to.be.greaterThan(100);
  });

  it('parses the reserved ports and CONTROLLER forms into output actions', () => {
    expect(parseActions('NORMAL,flood,ALL,in_port,LOCAL,CONTROLLER,controller:7').map((a) => a.type === 'output' && a.port))
      .to.deep.equal([0xfffa, 0xfffb, 0xfffc, 0xfff8, 0xfffe, OFPP_CONTROLLER, OFPP_CONTROLLER]);
    expect(parseActions('controller:7')[0]).to.deep.equal({ type: 'output', port: OFPP_CONTROLLER, maxLen: 7 });
    expect(parseActions('drop')).to.deep.equal([]);
    expect(parseActions('')).to.deep.equal([]);
  });
});

describe('set_field on a flow key', () => {
  function sf(text: string, matchText: string): Uint32Array {
    const a = parseActions(text)[0]!;
    if (a.type !== 'set_field') throw new Error('not set_field');
    const key = parseMatch(matchText).key;
    fieldSet(fieldByName(a.field)!, key, 0, a.value, a.mask);
    return key;
  }

  it('writes plain fields, masked or not', () => {
    expect(sf('set_field:8080->tcp_dst', 'tcp,tp_src=5,tp_dst=80')[W_TP]).to.equal((5 << 16) | 8080);
    expect(sf('set_field:0x50/0xf0->tcp_dst', 'tcp,tp_dst=0x0f0f')[W_TP]).to.equal(0x0f5f);
    const k = sf('set_field:00:11:22:33:44:55->eth_src', 'dl_src=ff:ff:ff:ff:ff:ff');
    expect([k[W_DL_SRC_HI], k[W_DL_SRC_LO]]).to.deep.equal([0x0011, 0x22334455]);
  });

  it('follows OVS for VLAN and TOS fields', () => {
    // vlan_vid sets the VID and the present bit, keeps the PCP.
    expect(sf('set_field:4101->vlan_vid', 'vlan_tci=0xa00a')[W_VLAN0]! & 0xffff).to.equal(0xb005);
    expect(sf('set_field:5->vlan_pcp', 'vlan_tci=0x100a')[W_VLAN0]! & 0xffff).to.equal(0xb00a);
    // nw_tos and ip_dscp keep the ECN bits.
    expect((sf('set_field:0x20->nw_tos', 'ip,nw_ecn=3')[W_NW]! >>> 16) & 0xff).to.equal(0x23);
    expect((sf('set_field:8->ip_dscp', 'ip,nw_ecn=1')[W_NW]! >>> 16) & 0xff).to.equal(0x21);
  });

  it('checks prerequisites and marks what it looked at', () => {
    const wc = new Uint32Array(FLOW_WORDS);
    const tcp = parseMatch('tcp').key;
    expect(fieldPrereqsOk(fieldByName('tcp_src')!, tcp, 0, wc, 0)).to.equal(true);
    expect(wc[W_NW]).to.equal(0xff000000);
    expect(fieldPrereqsOk(fieldByName('udp_src')!, tcp, 0)).to.equal(false);
    expect(fieldPrereqsOk(fieldByName('ip_src')!, parseMatch('arp').key, 0)).to.equal(false);
    expect(fieldPrereqsOk(fieldByName('nd_sll')!, parseMatch('icmp6,icmp_type=135,icmp_code=0').key, 0)).to.equal(true);
    expect(fieldPrereqsOk(fieldByName('nd_tll')!, parseMatch('icmp6,icmp_type=135,icmp_code=0').key, 0)).to.equal(false);
    const m = new Uint32Array(FLOW_WORDS);
    fieldMaskBits(fieldByName('tcp_dst')!, [0xffff], m, 0);
    fieldMaskBits(fieldByName('ip_dscp')!, [0x3f], m, 0);
    expect([m[W_TP], m[W_NW]]).to.deep.equal([0xffff, 0x00fc0000]);
  });
});
