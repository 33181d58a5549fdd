/**
 * Translation (src/xlate): lazy commit of header changes, output rules, table misses, recursion
 * limits, rule lists for stats, table versions, dec_ttl and CONTROLLER cookies, NORMAL learning
 * and its events, datapath encoding of the result, the datapath mask; plus a property: a
 * megaflow is sound — every realistic flow that matches it (with the mask the datapath installs)
 * gets the same datapath actions and runs the same rules.
 * Conformance with OVS itself is test/conformance/xlate.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  FLOW_WORDS, VLAN_CFI, W_DL_DST_HI, W_DL_DST_LO, W_DL_SRC_HI, W_DL_SRC_LO, W_IN_PORT, W_NW, W_NW_DST, W_NW_SRC,
  W_TP, W_VLAN0, parseMatch,
} from '@tsvs/packet';
import { decodeOdpActions, ODP_ACTIONS_MAX_BYTES } from '@tsvs/dpif';
import {
  BridgePorts, MacLearning, OfTables, OFPP_LOCAL, parseFlowMod, xlateFlow, formatXlateActions, formatMegaflow,
  encodeFlowActions, decodeControllerCookie, replayNormalLearning, decodeSlowPathCookie, datapathMegaflow, parseTraceFlow,
  XLATE_OK, XLATE_RECURSION_TOO_DEEP, OFPR_EXPLICIT_MISS, OFPR_INVALID_TTL, SLOW_ACTION, newXlateResult,
  type MacEvent, type PortConfig, type XlateResult,
} from '@tsvs/ofproto';

function bridge(extra: Partial<Record<string, Partial<PortConfig>>> = {}): BridgePorts {
  const ports: PortConfig[] = [{ name: 'br0', ofport: OFPP_LOCAL, odpPort: 100 }];
  for (let i = 1; i <= 4; i++) ports.push({ name: `p${i}`, ofport: i, odpPort: 10 + i, ...extra[`p${i}`] });
  return new BridgePorts({ name: 'br0', ports });
}

function env(rules: string[], ports = bridge(), ml: MacLearning | null = new MacLearning({ now: () => 0 })) {
  const tables = new OfTables({ now: () => 0 });
  if (rules.length) tables.apply(rules.map((r) => parseFlowMod(r, 'add', { portMap: ports.portMap })));
  return { ports, tables, ml };
}

type Env = ReturnType<typeof env>;

function run(e: Env, flowText: string, sideEffects = false): XlateResult {
  return xlateFlow(e, { flow: parseTraceFlow(e.ports, flowText), sideEffects });
}

const acts = (e: Env, r: XlateResult): string => formatXlateActions(r.actions, e.ports.odpNames());

describe('xlate', () => {
  describe('commit of header changes', () => {
    it('emits a set only for fields that differ, right before the output that needs it', () => {
      const e = env(['ip,actions=mod_nw_tos:32,output:2,output:3,mod_nw_dst:9.9.9.9,mod_nw_src:1.1.1.1,output:4']);
      const r = run(e, 'in_port=1,tcp,nw_src=1.1.1.1,nw_dst=2.2.2.2,nw_tos=0');
      // nw_src was "changed" to its own value: no set for it.
      expect(acts(e, r)).to.equal('set(ipv4(tos=0x20/0xfc)),p2,p3,set(ipv4(dst=9.9.9.9)),p4');
    });

    it('emits nothing for changes no output needs', () => {
      const e = env(['ip,actions=output:2,mod_dl_src:00:00:00:00:00:09,mod_nw_ttl:3']);
      const r = run(e, 'in_port=1,udp,nw_ttl=64');
      expect(acts(e, r)).to.equal('p2');
      // ...but the megaflow still matches what the actions consulted.
      expect(formatMegaflow(r)).to.equal('recirc_id=0,eth,udp,in_port=1,dl_src=00:00:00:00:00:00,nw_ttl=64,nw_frag=no');
    });

    it('a plain set when every field of the key changed under a full mask, masked otherwise', () => {
      const e = env(['actions=mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02,output:2,mod_tp_src:1,mod_tp_dst:2,output:3']);
      const r = run(e, 'in_port=1,tcp,tp_src=7,tp_dst=8');
      const out = decodeOdpActions(encodeFlowActions(r.actions, r.slow));
      expect(out[0]).to.include({ type: 'set', key: 'eth' });
      expect([...(out[0] as { mask: Uint8Array }).mask]).to.deep.equal(new Array(12).fill(0xff));
      expect(acts(e, r)).to.equal('set(eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)),p2,set(tcp(src=1,dst=2)),p3');
    });

    it('VLAN changes: pops and pushes of the differing headers, innermost first', () => {
      const e = env(['actions=strip_vlan,output:2,mod_vlan_vid:7,output:3,mod_vlan_pcp:3,output:4']);
      const r = run(e, 'in_port=1,dl_vlan=5,ip');
      expect(acts(e, r)).to.equal('pop_vlan,p2,push_vlan(vid=7,pcp=0),p3,pop_vlan,push_vlan(vid=7,pcp=3),p4');
    });

    it('IP rewrites of a packet with nw_proto 0 emit nothing but still match nw_proto (OVS CVE-2023-1668 fix)', () => {
      const e = env(['ip,actions=mod_nw_src:1.2.3.4,output:2']);
      const r0 = run(e, 'in_port=1,ip,nw_src=5.5.5.5,nw_proto=0');
      expect(acts(e, r0)).to.equal('p2');
      expect(r0.wc[W_NW]! >>> 24).to.equal(0xff);
      expect(acts(e, run(e, 'in_port=1,ip,nw_src=5.5.5.5,nw_proto=47'))).to.equal('set(ipv4(src=1.2.3.4)),p2');
    });

    it('sets the datapath cannot execute make the flow slow path, installed as userspace(slow_path)', () => {
      const e = env(['icmp,actions=set_field:0->icmp_type,output:2']);
      const r = run(e, 'in_port=1,icmp,icmp_type=8');
      expect(acts(e, r)).to.equal('set(icmp(type=0,code=0)),p2');
      expect(r.slow).to.equal(SLOW_ACTION);
      const enc = decodeOdpActions(encodeFlowActions(r.actions, r.slow));
      expect(enc).to.have.length(1);
      expect(enc[0]!.type).to.equal('userspace');
      expect(decodeSlowPathCookie((enc[0] as { userdata: Uint8Array }).userdata)).to.equal(SLOW_ACTION);
    });

    it('action lists longer than the datapath slot are slow path too', () => {
      const ports: PortConfig[] = [];
      for (let i = 1; i <= 60; i++) ports.push({ name: `q${i}`, ofport: i, odpPort: i });
      const bp = new BridgePorts({ name: 'b', ports });
      const e = env(['actions=FLOOD'], bp);
      const r = run(e, 'in_port=1,ip');
      expect(r.actions).to.have.length(59);
      expect(r.slow).to.equal(0);
      expect(59 * 6 + 6).to.be.greaterThan(ODP_ACTIONS_MAX_BYTES);
      expect(decodeOdpActions(encodeFlowActions(r.actions, r.slow))[0]!.type).to.equal('userspace');
    });
  });

  describe('outputs', () => {
    it('skips output to the input port unless IN_PORT; LOCAL and ALL include the bridge port', () => {
      const e = env(['in_port=1,actions=output:1,IN_PORT,LOCAL', 'in_port=2,actions=ALL', 'in_port=3,actions=FLOOD']);
      expect(acts(e, run(e, 'in_port=1,ip'))).to.equal('p1,br0');
      expect(acts(e, run(e, 'in_port=2,ip'))).to.equal('br0,p1,p3,p4');
      expect(acts(e, run(e, 'in_port=3,ip'))).to.equal('br0,p1,p2,p4');
    });

    it('FLOOD skips no-flood ports, ALL does not; NO_FWD ports get nothing', () => {
      const e = env(['in_port=1,actions=FLOOD', 'in_port=2,actions=ALL,output:4'], bridge({ p3: { noFlood: true }, p4: { noForward: true } }));
      expect(acts(e, run(e, 'in_port=1,ip'))).to.equal('br0,p2');
      expect(acts(e, run(e, 'in_port=2,ip'))).to.equal('br0,p1,p3');
    });

    it('a table miss drops, in table 0 and in a later table', () => {
      const e = env(['table=0,in_port=1,actions=output:2,goto_table:3']);
      const miss0 = run(e, 'in_port=2,ip');
      expect(acts(e, miss0)).to.equal('drop');
      expect(miss0.rules).to.deep.equal([]);
      const miss3 = run(e, 'in_port=1,ip');
      expect(acts(e, miss3)).to.equal('p2');
      expect(miss3.rules.map((r) => r.table)).to.deep.equal([0]);
    });

    it('lists the rules that ran, in order, for stats crediting', () => {
      const e = env([
        'table=0,actions=resubmit(,1),resubmit(,2),goto_table:3',
        'table=1,actions=output:2', 'table=2,actions=resubmit(,1)', 'table=3,actions=output:3',
      ]);
      const r = run(e, 'in_port=1,ip');
      expect(r.rules.map((x) => x.table)).to.deep.equal([0, 1, 2, 1, 3]);
      expect(acts(e, r)).to.equal('p2,p2,p3');
    });

    it('resubmit:PORT looks up with that in_port but outputs keep the real one', () => {
      const e = env(['table=0,in_port=1,actions=resubmit:3', 'table=0,in_port=3,actions=output:1,IN_PORT']);
      const r = run(e, 'in_port=1,ip');
      // output:1 is the real in_port: skipped; IN_PORT sends it back.
      expect(acts(e, r)).to.equal('p1');
    });

    it('a resubmit loop fails with "Recursion too deep" and no actions', () => {
      const e = env(['table=0,actions=output:2,resubmit(,0)']);
      const r = run(e, 'in_port=1,ip');
      expect(r.error).to.equal(XLATE_RECURSION_TOO_DEEP);
      expect(r.actions).to.deep.equal([]);
      expect(encodeFlowActions(r.actions, r.slow)).to.have.length(6);
    });

    it('reads one table version for the whole translation', () => {
      const e = env(['table=0,actions=resubmit(,1)', 'table=1,actions=output:2']);
      const v = e.tables.acquireVersion(); // a handler pins the version it translates with
      e.tables.apply(parseFlowMod('table=1,actions=output:3', 'add'));
      expect(acts(e, xlateFlow(e, { flow: parseTraceFlow(e.ports, 'in_port=1,ip'), version: v }))).to.equal('p2');
      expect(acts(e, run(e, 'in_port=1,ip'))).to.equal('p3');
      e.tables.releaseVersion(v);
    });

    it('a reused result (into) holds exactly what a fresh translation gives, whatever it held before', () => {
      const e = env([
        'priority=10,in_port=1,ip,actions=mod_nw_tos:32,output:2,resubmit(,1)', 'table=1,actions=output:3',
        'priority=5,actions=NORMAL', 'priority=20,in_port=1,arp,actions=drop',
      ]);
      const flows = ['in_port=1,tcp,nw_tos=0', 'in_port=2,dl_src=00:00:00:00:00:05,dl_dst=ff:ff:ff:ff:ff:ff', 'in_port=1,arp', 'in_port=1,udp,nw_tos=4'];
      const into = newXlateResult();
      for (const f of [...flows, ...flows.slice().reverse()]) {
        const fresh = run(e, f);
        const reused = xlateFlow(e, { flow: parseTraceFlow(e.ports, f), into });
        expect(reused).to.equal(into);
        expect(acts(e, reused), f).to.equal(acts(e, fresh));
        expect([...reused.wc], f).to.deep.equal([...fresh.wc]);
        expect([...reused.flow], f).to.deep.equal([...fresh.flow]);
        expect([...reused.finalFlow], f).to.deep.equal([...fresh.finalFlow]);
        expect(reused.rules.map((r) => r.id), f).to.deep.equal(fresh.rules.map((r) => r.id));
        expect(reused.learned, f).to.deep.equal(fresh.learned);
        expect([reused.slow, reused.error, reused.version], f).to.deep.equal([fresh.slow, fresh.error, fresh.version]);
      }
    });
  });

  describe('packet-ins', () => {
    it('dec_ttl with TTL 1 sends a packet-in (reason invalid_ttl) per controller id and stops the action list', () => {
      const e = env(['ip,actions=dec_ttl(1,2),output:2']);
      const r = run(e, 'in_port=1,ip,nw_ttl=1,nw_proto=6');
      expect(r.actions.map((a) => a.type)).to.deep.equal(['userspace', 'userspace']);
      const ids = r.actions.map((a) => decodeControllerCookie((a as { userdata: Uint8Array }).userdata)!);
      expect(ids.map((c) => [c.reason, c.controllerId, c.maxLen])).to.deep.equal([[OFPR_INVALID_TTL, 1, 65535], [OFPR_INVALID_TTL, 2, 65535]]);
      const ok = run(e, 'in_port=1,ip,nw_ttl=9,nw_proto=6');
      expect(acts(e, ok)).to.equal('set(ipv4(ttl=8)),p2');
    });

    it('CONTROLLER in a table-miss rule is an explicit miss; the cookie carries table, rule cookie, in_port', () => {
      const e = env(['table=0,actions=goto_table:4', 'table=4,priority=0,cookie=0xfeed,actions=CONTROLLER:128']);
      const r = run(e, 'in_port=3,ip', true);
      const c = decodeControllerCookie((r.actions[0] as { userdata: Uint8Array }).userdata)!;
      expect(c).to.include({ reason: OFPR_EXPLICIT_MISS, tableId: 4, maxLen: 128, inPort: 3, dontSend: false, continuation: false });
      expect(c.ruleCookie).to.equal(0xfeedn);
    });
  });

  describe('NORMAL and MAC learning', () => {
    it('learns only with side effects, reports moves, records what it learned from', () => {
      const events: MacEvent[] = [];
      const ml = new MacLearning({ now: () => 0, onEvent: (ev) => events.push(ev) });
      const e = env(['actions=NORMAL'], bridge(), ml);
      const a = 'dl_src=00:00:00:00:00:0a,dl_dst=00:00:00:00:00:0b,ip';
      const probe = run(e, `in_port=1,${a}`);
      expect(ml.size).to.equal(0);
      expect(probe.learned).to.deep.equal([{ inPort: 1, vlan: 0, macHi: 0, macLo: 0x0a, gratArp: false }]);
      run(e, `in_port=1,${a}`, true);
      run(e, `in_port=2,${a}`, true);
      expect(events.map((x) => [x.type, x.port, x.oldPort])).to.deep.equal([['learned', 1, -1], ['moved', 2, 1]]);
      expect(ml.takeNeedRevalidate()).to.equal(true);
      const back = run(e, 'in_port=3,dl_src=00:00:00:00:00:0b,dl_dst=00:00:00:00:00:0a,ip', true);
      expect(acts(e, back)).to.equal('p2');
    });

    it('access ports tag internally and strip on output; trunks carry their VLANs tagged', () => {
      const e = env(['actions=NORMAL'], bridge({ p1: { tag: 10 }, p2: { tag: 20 }, p3: { trunks: [10] } }));
      const r = run(e, 'in_port=1,dl_src=00:00:00:00:00:0a,dl_dst=ff:ff:ff:ff:ff:ff,ip');
      expect(acts(e, r)).to.equal('push_vlan(vid=10,pcp=0),br0,p3,p4');
      const t = run(e, 'in_port=3,dl_vlan=10,dl_src=00:00:00:00:00:0a,dl_dst=ff:ff:ff:ff:ff:ff,ip');
      expect(acts(e, t)).to.equal('br0,pop_vlan,p1,push_vlan(vid=10,pcp=0),p4');
      expect(acts(e, run(e, 'in_port=3,dl_vlan=20,dl_src=00:00:00:00:00:0a,dl_dst=ff:ff:ff:ff:ff:ff,ip'))).to.equal('drop');
    });

    it('replays what NORMAL learned (for revalidators): refreshes and moves entries', () => {
      let t = 0;
      const ml = new MacLearning({ now: () => t, idleTime: 20 });
      const e = env(['actions=NORMAL'], bridge(), ml);
      const r = run(e, 'in_port=2,dl_src=00:00:00:00:00:0a,dl_dst=00:00:00:00:00:0b,ip', true);
      t = 15_000;
      expect(replayNormalLearning(ml, e.ports, r.learned)).to.equal(0);
      t = 30_000;
      ml.run();
      expect(ml.lookup(0, 0, 0x0a)).to.equal(2); // refreshed at 15 s: still there at 30 s
      expect(replayNormalLearning(ml, e.ports, [{ ...r.learned[0]!, inPort: 3 }])).to.equal(1);
      expect(replayNormalLearning(ml, e.ports, [{ ...r.learned[0]!, inPort: 9 }])).to.equal(0);
      expect(ml.lookup(0, 0, 0x0a)).to.equal(3);
    });

    it('without a MAC table NORMAL floods', () => {
      const e = env(['actions=NORMAL'], bridge(), null);
      expect(acts(e, run(e, 'in_port=1,dl_src=00:00:00:00:00:0a,dl_dst=00:00:00:00:00:0b,ip', true))).to.equal('br0,p2,p3,p4');
    });
  });

  describe('datapathMegaflow', () => {
    it('untagged packets: the VLAN word exact (no VLAN); in_port exact and as the odp port', () => {
      const e = env(['actions=output:2']);
      const r = run(e, 'in_port=1,ip');
      const key = new Uint32Array(FLOW_WORDS);
      const mask = new Uint32Array(FLOW_WORDS);
      expect(datapathMegaflow(e.ports, r.flow, r.wc, key, 0, mask, 0)).to.equal(true);
      expect(r.wc[W_VLAN0]).to.equal(0);
      expect(mask[W_VLAN0]).to.equal(0xffffffff);
      expect(key[W_IN_PORT]).to.equal(11);
      expect(mask[W_IN_PORT]).to.equal(0xffffffff);
      for (let i = 0; i < FLOW_WORDS; i++) expect((key[i]! & ~mask[i]!) >>> 0, `word ${i}`).to.equal(0);
    });

    it('tagged packets: the TPID and CFI exact, the TCI as translation left it', () => {
      const e = env(['actions=output:2']);
      const r = run(e, 'in_port=1,dl_vlan=5,ip');
      const key = new Uint32Array(FLOW_WORDS);
      const mask = new Uint32Array(FLOW_WORDS);
      datapathMegaflow(e.ports, r.flow, r.wc, key, 0, mask, 0);
      expect(mask[W_VLAN0]).to.equal((0xffff0000 | VLAN_CFI) >>> 0);
      expect(key[W_VLAN0]).to.equal(((0x8100 << 16) | VLAN_CFI) >>> 0);
    });

    it('refuses a flow whose in_port is not a bridge port', () => {
      const e = env([]);
      const r = run(e, 'in_port=9,ip');
      expect(datapathMegaflow(e.ports, r.flow, r.wc, new Uint32Array(FLOW_WORDS), 0, new Uint32Array(FLOW_WORDS), 0)).to.equal(false);
    });
  });

  describe('property: megaflows are sound', () => {
    const MACS = ['00:00:00:00:00:01', '00:00:00:00:00:02', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01'];
    const NETS = ['10.0.0.0', '10.1.0.0', '192.168.1.0', '172.16.0.0'];
    const field = fc.oneof(
      fc.constantFrom(...MACS).map((m) => `dl_dst=${m}`),
      fc.constantFrom(...MACS).map((m) => `dl_src=${m}`),
      fc.tuple(fc.constantFrom(...NETS), fc.constantFrom(8, 16, 24, 32)).map(([n, l]) => `nw_src=${n}/${l}`),
      fc.tuple(fc.constantFrom(...NETS), fc.constantFrom(8, 16, 24, 32)).map(([n, l]) => `nw_dst=${n}/${l}`),
      fc.constantFrom('tcp,tp_dst=80', 'tcp,tp_dst=0x50/0xfff0', 'udp,tp_src=53', 'icmp,icmp_type=8', 'tcp', 'udp'),
      fc.constantFrom('dl_vlan=10', 'vlan_tci=0/0x1000', 'nw_ttl=1', 'nw_tos=32', 'in_port=1', 'in_port=2'),
    );
    const action = fc.constantFrom(
      'output:2', 'output:3', 'NORMAL', 'FLOOD', 'IN_PORT', 'drop', 'mod_vlan_vid:20', 'strip_vlan', 'mod_nw_src:9.9.9.9',
      'mod_nw_tos:64', 'mod_tp_dst:8080', 'dec_ttl', 'CONTROLLER:64', 'mod_dl_dst:00:00:00:00:00:02', 'resubmit(,1)',
    );
    const rule = fc.record({
      table: fc.constantFrom(0, 0, 1),
      priority: fc.integer({ min: 1, max: 9 }),
      fields: fc.uniqueArray(field, { maxLength: 3 }),
      actions: fc.array(action, { minLength: 1, maxLength: 3 }),
    }).map((r) => {
      const acts = r.table === 1 ? r.actions.filter((a) => a !== 'resubmit(,1)') : r.actions;
      const m = ['ip', ...r.fields].join(',');
      return `table=${r.table},priority=${r.priority},${m},actions=${acts.length && !acts.includes('drop') ? acts.join(',') : 'drop'}`;
    });
    const packet = fc.record({
      inPort: fc.integer({ min: 1, max: 4 }),
      src: fc.constantFrom(...MACS.slice(0, 2)),
      dst: fc.constantFrom(...MACS),
      vlan: fc.constantFrom('', 'dl_vlan=10,', 'dl_vlan=20,dl_vlan_pcp=3,'),
      nwSrc: fc.constantFrom('10.0.0.1', '10.1.2.3', '192.168.1.7', '172.16.9.9'),
      nwDst: fc.constantFrom('10.0.0.1', '10.1.2.3', '192.168.1.7', '172.16.9.9'),
      l4: fc.constantFrom('tcp,tp_src=1000,tp_dst=80', 'tcp,tp_src=1000,tp_dst=81', 'udp,udp_src=53,udp_dst=5353', 'icmp,icmp_type=8,icmp_code=0', 'icmp,icmp_type=0,icmp_code=0'),
      ttl: fc.constantFrom(1, 2, 64),
      tos: fc.constantFrom(0, 32),
    }).map((p) => `in_port=${p.inPort},${p.vlan}dl_src=${p.src},dl_dst=${p.dst},${p.l4},nw_src=${p.nwSrc},nw_dst=${p.nwDst},nw_ttl=${p.ttl},nw_tos=${p.tos}`);

    /** A random realistic neighbour of `f` that agrees with it on every bit of `mask`. */
    function neighbour(f: Uint32Array, mask: Uint32Array, rnd: () => number): Uint32Array {
      const g = f.slice();
      const free = (w: number, bits: number): void => {
        g[w] = ((f[w]! & (mask[w]! | ~bits)) | (Math.floor(rnd() * 2 ** 32) & bits & ~mask[w]!)) >>> 0;
      };
      free(W_DL_SRC_HI, 0xffff);
      free(W_DL_SRC_LO, 0xffffffff);
      free(W_DL_DST_HI, 0xfeff); // keep the group bit: unicast vs multicast is not a "free" choice of a real NIC
      free(W_DL_DST_LO, 0xffffffff);
      free(W_NW_SRC, 0xffffffff);
      free(W_NW_DST, 0xffffffff);
      free(W_NW, 0x00ffff00); // tos, ttl
      if (f[W_VLAN0]! & VLAN_CFI) free(W_VLAN0, 0xefff); // VID and PCP of a present tag
      const proto = f[W_NW]! >>> 24;
      free(W_TP, proto === 1 ? 0x00ff00ff : 0xffffffff);
      return g;
    }

    it('every flow matching a megaflow (as installed) translates to the same actions and rules', () => {
      fc.assert(
        fc.property(fc.array(rule, { minLength: 1, maxLength: 12 }), fc.array(packet, { minLength: 1, maxLength: 6 }), fc.integer(), (rules, packets, seed) => {
          const e = env(['table=0,priority=0,actions=NORMAL', ...rules]);
          // A MAC table with some entries, used read-only.
          e.ml!.update(0, 0, 1, 2);
          e.ml!.update(10, 0, 2, 3);
          let s = seed >>> 0;
          const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
          const key = new Uint32Array(FLOW_WORDS);
          const mask = new Uint32Array(FLOW_WORDS);
          for (const p of packets) {
            const f = parseTraceFlow(e.ports, p);
            const r = xlateFlow(e, { flow: f });
            expect(r.error).to.equal(XLATE_OK);
            datapathMegaflow(e.ports, r.flow, r.wc, key, 0, mask, 0);
            mask[W_IN_PORT] = 0xffffffff;
            for (let k = 0; k < 8; k++) {
              const g = neighbour(f, mask, rnd);
              const r2 = xlateFlow(e, { flow: g });
              expect(acts(e, r2), `${p}\nrules:\n${rules.join('\n')}\nmegaflow ${formatMegaflow(r)}`).to.equal(acts(e, r));
              expect(r2.rules.map((x) => x.id)).to.deep.equal(r.rules.map((x) => x.id));
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  it('parses flows as ofproto/trace does (exact flow, prerequisites in order)', () => {
    const e = env([]);
    expect(() => parseTraceFlow(e.ports, 'udp,tp_src=1')).to.throw('prerequisites not met for setting tp_src');
    expect(() => parseTraceFlow(e.ports, 'tcp,udp')).to.throw('Ethernet type set multiple times');
    expect(() => parseTraceFlow(e.ports, 'ip,nw_src=1.1.1.1,nw_src=1.1.1.2')).to.throw('field nw_src set multiple times');
    const f = parseTraceFlow(e.ports, 'in_port=p2,dl_vlan=7,dl_vlan_pcp=2');
    expect(f[W_IN_PORT]).to.equal(2);
    expect(f[W_VLAN0]).to.equal(((0x8100 << 16) | 0x4000 | VLAN_CFI | 7) >>> 0);
    expect(parseTraceFlow(e.ports, 'ip')[W_IN_PORT]).to.equal(0xffff);
    expect(parseMatch('ip').key[W_TP]).to.equal(0);
  });
});
