/**
 * Conformance: translation (packages/ofproto/src/xlate) against Open vSwitch 3.1's ofproto/trace,
 * from test/golden/xlate (made by tools/ovs-golden/xlate-golden.ts; the rule sets are in
 * tools/ovs-golden/xlate-cases.json).
 *
 * For every rule set (L2 NORMAL with access/trunk/native VLAN ports, an L3/L4 ACL, a multi-table
 * pipeline, header rewrites, OpenFlow 1.3 push/pop VLAN) the same bridge is built in tsvs: ports
 * br0 (LOCAL) and p1..p6 with OVS's odp port numbers and VLAN settings, the same rules. Then:
 * - every Ethernet frame of ../shared/pcaps, in file order per capture with the MAC table flushed
 *   at each capture (as the generator did; NORMAL learns from the traced packets), on the in_port
 *   OVS used: `Megaflow:` must equal OVS's exactly, and `Datapath actions:` (output ports mapped
 *   to names on both sides) must equal OVS's, with two documented exceptions:
 *   (1) recirc_id inside controller(...): OVS numbers a frozen state per packet-in, tsvs has no
 *       recirculation and puts 0;
 *   (2) FLOOD/ALL output order: OVS walks a hash map of ports, tsvs its port order; the outputs
 *       must then be the same multiset of (port, packet as sent) — checked by simulating the
 *       actions — and the translation must have used FLOOD or ALL.
 *   What OVS prints after the actions (slow path reasons, translation errors) must match too,
 *   except that tsvs's datapath cannot set SCTP ports (OVS's can), so those flows are slow path.
 * - every hand-written flow: the whole trace text, without and with `--names`, equal to OVS's
 *   except (1), (2) and action lines that OVS prints after its OpenFlow 1.0 wire round trip
 *   (`mod_nw_ttl:9` comes back as `load:0x9->NXM_NX_IP_TTL[]`, listed in OF10_RENDERINGS).
 * - a MAC learning sequence (moves, VLANs, drops) traced packet by packet with `--names`, then
 *   `fdb/show` (ages compared as numbers within 1 s: OVS's clock ran while it traced).
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture, type CaptureFile } from '@tsvs/capture';
import { EXTRACT_OK, FLOW_WORDS, extractFlow } from '@tsvs/packet';
import {
  BridgePorts, MacLearning, OfTables, formatFdbShow, formatMegaflow, formatXlateActions, parseFlowMod,
  slowPathExplanations, traceFlow, tracePacket, xlateFlow, xlateStrerror, OFPP_LOCAL,
  type PortConfig, type VlanMode, type XlateResult,
} from '@tsvs/ofproto';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GOLDEN = join(ROOT, 'test/golden/xlate');
const PCAPS = resolve(ROOT, '../shared/pcaps');

interface PortVlan { tag?: number; trunks?: number[]; vlan_mode?: VlanMode }
interface FrameGolden { capture: string; frame: number; inPort: number; megaflow?: string; actions?: string; tail?: string; error?: string }
interface FlowGolden { flow: string; trace: string | null; traceNames: string | null; error?: string }
interface Scenario {
  name: string; protocol: string; portConfig: Record<string, PortVlan>; rules: string[]; inPorts: number[];
  odpPorts: Record<string, number>; flows: FlowGolden[]; frames: FrameGolden[];
}

/** Action lines OVS prints differently after encoding the rule for OpenFlow 1.0 (ours -> OVS's). */
const OF10_RENDERINGS: Record<string, string> = {
  'mod_nw_ttl:9': 'load:0x9->NXM_NX_IP_TTL[]',
  'mod_nw_ecn:2': 'load:0x2->NXM_NX_IP_ECN[]',
  'set_field:0->icmp_type': 'load:0->NXM_OF_ICMP_TYPE[]',
};

function buildEnv(sc: Scenario): { env: { ports: BridgePorts; tables: OfTables; ml: MacLearning }; inv: Map<number, string> } {
  const ports: PortConfig[] = [{ name: 'br0', ofport: OFPP_LOCAL, odpPort: sc.odpPorts.br0! }];
  for (let i = 1; i <= 6; i++) {
    const n = `p${i}`;
    const c = sc.portConfig[n] ?? {};
    ports.push({ name: n, ofport: i, odpPort: sc.odpPorts[n]!, tag: c.tag, trunks: c.trunks, vlanMode: c.vlan_mode });
  }
  const bp = new BridgePorts({ name: 'br0', ports });
  const tables = new OfTables({ now: () => 0 });
  tables.apply(sc.rules.map((r) => parseFlowMod(r, 'add', { portMap: bp.portMap })));
  const ml = new MacLearning({ now: () => 0 });
  const inv = new Map(Object.entries(sc.odpPorts).map(([k, v]) => [v, k] as const));
  return { env: { ports: bp, tables, ml }, inv };
}

/** Top-level comma-separated items of a datapath action list. */
function splitActions(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** OVS's action text with output port numbers replaced by names. */
function ovsNames(s: string, inv: Map<number, string>): string {
  return splitActions(s).map((t) => (/^\d+$/.test(t) ? inv.get(Number(t)) ?? t : t)).join(',');
}

function normRecirc(s: string): string {
  return s.replace(/(controller\([^)]*recirc_id=)\d+/g, '$1*');
}

/**
 * What the actions send where: for each output (port or userspace), the VLAN stack and the set
 * fields in effect, as a sorted list. Two action lists with the same result send the same packets.
 */
function sentPackets(s: string): string[] {
  const stack: string[] = ['orig'];
  const sets = new Map<string, string>();
  const out: string[] = [];
  for (const t of splitActions(s)) {
    if (t === 'drop' || t === '') continue;
    if (t === 'pop_vlan') stack.shift();
    else if (t.startsWith('push_vlan(')) stack.unshift(t);
    else if (t.startsWith('set(')) {
      const m = /^set\((\w+)\((.*)\)\)$/.exec(t)!;
      for (const f of splitActions(m[2]!)) {
        const [k, v] = f.split('=');
        sets.set(`${m[1]}.${k}`, v!);
      }
    } else out.push(`${t} @ ${stack.join('/')} ${[...sets].sort().join(';')}`);
  }
  return out.sort();
}

function usesFlood(r: XlateResult): boolean {
  return r.rules.some((rule) => rule.actions.some((a) => a.type === 'output' && (a.port === 0xfffb || a.port === 0xfffc)));
}

function ourTail(r: XlateResult): string {
  if (r.error) return `Translation failed (${xlateStrerror(r.error)}), packet is dropped.`;
  if (r.slow) return ['This flow is handled by the userspace slow path because it:', ...slowPathExplanations(r.slow).map((e) => `  - ${e}.`)].join('\n');
  return '';
}

/** Compares two trace texts line by line, allowing the documented differences; returns the bad lines. */
function traceDiff(ovs: string, ours: string, inv: Map<number, string> | null, flood: boolean): string[] {
  const a = ovs.split('\n');
  const b = ours.split('\n');
  const bad: string[] = [];
  if (a.length !== b.length) return [`${a.length} lines vs ${b.length}:\n--- ovs\n${ovs}--- ours\n${ours}`];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x.startsWith('Datapath actions: ') && y.startsWith('Datapath actions: ')) {
      const xs = normRecirc(inv ? ovsNames(x.slice(18), inv) : x.slice(18));
      const ys = normRecirc(inv ? ovsNames(y.slice(18), inv) : y.slice(18));
      if (xs === ys) continue;
      if (flood && JSON.stringify(sentPackets(xs)) === JSON.stringify(sentPackets(ys))) continue;
    }
    const trimmed = y.trim();
    if (OF10_RENDERINGS[trimmed] !== undefined && x === y.replace(trimmed, OF10_RENDERINGS[trimmed]!)) continue;
    bad.push(`line ${i + 1}\n  ovs:  ${x}\n  ours: ${y}`);
  }
  return bad;
}

const scenarios = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.json') && f !== 'META.json' && f !== 'mac-sequence.json')
  .sort()
  .map((f) => JSON.parse(readFileSync(join(GOLDEN, f), 'utf8')) as Scenario);

describe('conformance: xlate vs OVS 3.1 ofproto/trace (test/golden/xlate)', () => {
  const captures = new Map<string, CaptureFile>();
  const capture = (name: string): CaptureFile => {
    let c = captures.get(name);
    if (!c) captures.set(name, (c = readCapture(join(PCAPS, name))));
    return c;
  };

  it('has the five rule sets', () => {
    expect(scenarios.map((s) => s.name)).to.deep.equal(['acl-l3l4', 'normal-vlans', 'pipeline', 'rewrite', 'vlan-push-pop']);
  });

  for (const sc of scenarios) {
    describe(sc.name, () => {
      it(`capture frames: Megaflow and Datapath actions equal OVS's (${sc.frames.length} frames)`, () => {
        const { env, inv } = buildEnv(sc);
        const odpNames = env.ports.odpNames();
        const key = new Uint32Array(FLOW_WORDS);
        const bad: string[] = [];
        const counts = { exact: 0, recircId: 0, floodOrder: 0, refused: 0, sctpSlow: 0 };
        let lastCapture = '';
        for (const g of sc.frames) {
          if (g.capture !== lastCapture) {
            env.ml.flush();
            lastCapture = g.capture;
          }
          const rec = capture(g.capture).record(g.frame - 1);
          const st = extractFlow(rec.data, 0, rec.data.length, g.inPort, key, 0);
          const where = `${g.capture}#${g.frame} in_port=${g.inPort}`;
          if (g.error !== undefined) {
            if (st === EXTRACT_OK) bad.push(`${where}: OVS refused (${g.error.trim()}), we extracted`);
            else counts.refused++;
            continue;
          }
          const r = xlateFlow(env, { flow: key, sideEffects: true });
          const mf = formatMegaflow(r);
          if (mf !== g.megaflow) bad.push(`${where} Megaflow\n  ovs:  ${g.megaflow}\n  ours: ${mf}`);
          const ours = formatXlateActions(r.actions, odpNames);
          const want = ovsNames(g.actions!, inv);
          if (ours === want) counts.exact++;
          else if (normRecirc(ours) === normRecirc(want)) counts.recircId++;
          else if (usesFlood(r) && JSON.stringify(sentPackets(normRecirc(ours))) === JSON.stringify(sentPackets(normRecirc(want)))) counts.floodOrder++;
          else bad.push(`${where} Datapath actions\n  ovs:  ${want}\n  ours: ${ours}`);
          const tail = ourTail(r);
          if (tail !== (g.tail ?? '')) {
            if (!g.tail && r.actions.some((a) => a.type === 'unsupported' && a.text.startsWith('set(sctp('))) counts.sctpSlow++;
            else bad.push(`${where} after the actions\n  ovs:  ${g.tail ?? ''}\n  ours: ${tail}`);
          }
        }
        expect(bad.slice(0, 10).join('\n'), `${bad.length} differences`).to.equal('');
        expect(counts.exact + counts.recircId + counts.floodOrder + counts.refused).to.equal(sc.frames.length);
        // The exceptions must stay exceptions.
        expect(counts.exact, JSON.stringify(counts)).to.be.greaterThan(sc.frames.length / 2);
        if (process.env.XLATE_COUNTS) console.log(`${sc.name}: ${JSON.stringify(counts)}`);
      });

      for (const f of sc.flows) {
        it(`trace ${f.flow}`, () => {
          const { env, inv } = buildEnv(sc);
          if (f.trace === null) {
            expect(() => traceFlow(env, f.flow)).to.throw(f.error!.trim());
            return;
          }
          const plain = traceFlow(env, f.flow);
          const flood = usesFlood(plain.result);
          expect(traceDiff(f.trace, plain.text, inv, flood).join('\n')).to.equal('');
          env.ml.flush();
          const named = traceFlow(env, f.flow, { names: true });
          expect(traceDiff(f.traceNames!, named.text, null, flood).join('\n')).to.equal('');
        });
      }
    });
  }

  describe('MAC learning sequence (tools/ovs-golden/xlate-mac-sequence.json)', () => {
    const seq = JSON.parse(readFileSync(join(GOLDEN, 'mac-sequence.json'), 'utf8')) as {
      scenario: string; steps: Array<{ note: string; inPort: string; frame: string; trace: string }>; fdbShow: string;
    };
    const sc = scenarios.find((s) => s.name === seq.scenario)!;
    const { env } = buildEnv(sc);
    for (const st of seq.steps) {
      it(st.note, () => {
        const inPort = st.inPort === 'LOCAL' ? OFPP_LOCAL : Number(st.inPort);
        const out = tracePacket(env, Buffer.from(st.frame, 'hex'), inPort, { names: true });
        expect(out.text).to.equal(st.trace);
      });
    }
    it('fdb/show lists the same entries in the same order', () => {
      const ageless = (s: string): string[] => s.trimEnd().split('\n').map((l) => l.replace(/\s+\d+$/, ' AGE'));
      expect(ageless(formatFdbShow(env.ml))).to.deep.equal(ageless(seq.fdbShow));
      for (const l of seq.fdbShow.trimEnd().split('\n').slice(1)) expect(Number(l.trim().split(/\s+/).at(-1))).to.be.lessThan(2);
    });
  });
});
