/**
 * Classifier wildcarding against OVS 3.1: for the rule sets of
 * tools/ovs-golden/ofctl-rules-megaflow-cases.json, the rules OVS's ofproto/trace matched table
 * by table and its `Megaflow:` (test/golden/ofctl-rules/megaflow.json, made by
 * tools/ovs-golden/ofctl-rules-megaflow.sh).
 *
 * The megaflow OVS prints is the classifier's wildcards plus what translation always
 * un-wildcards (ofproto-dpif-xlate.c xlate_wc_init: recirc_id, packet_type, in_port, dl_type,
 * and nw_frag for IP), minus what xlate_wc_finish clears (VLAN bits of a packet without a VLAN
 * header, ICMP type/code high bytes, L4 ports of later fragments, MPLS of non-MPLS packets). The
 * actions here are only output, drop, resubmit and goto_table, which add nothing else, so the test
 * applies those two steps around the tables' wildcards and must then print exactly OVS's megaflow
 * (less `recirc_id=0,eth,`, which the flow key has no words for).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FLOW_WORDS, FLOW_NW_FRAG_LATER, VLAN_CFI, W_DL_TYPE, W_IN_PORT, W_MPLS0, W_NW, W_TP, W_VLAN0,
  W_VLAN1, formatMatch, parseMatch
} from '@tsvs/packet';
import { OfTables, parseFlowMod, type OfRule } from '@tsvs/ofproto';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = path.resolve(here, '../../../test/golden/ofctl-rules/megaflow.json');

interface Trace { flow: string; megaflow: string; datapathActions: string; rules: string[] }
interface Case { name: string; note: string; rules: string[]; traces: Trace[] }
const cases = JSON.parse(readFileSync(golden, 'utf8')) as Case[];

/** Table-by-table lookups following resubmit(,T) and goto_table:T, accumulating wildcards. */
function walk(tables: OfTables, flow: Uint32Array, wc: Uint32Array, table: number, seen: string[], depth = 0): void {
  if (depth > 10) throw new Error('resubmit loop');
  const r: OfRule | null = tables.lookup(table, flow, 0, tables.version, wc, 0);
  if (!r) return;
  const m = formatMatch(r.key, 0, r.mask, 0);
  seen.push(`${table}. ${m ? m + ', ' : ''}priority ${r.priority}`);
  for (const a of r.actions) {
    if (a.type === 'resubmit' && a.table !== 255) walk(tables, flow, wc, a.table, seen, depth + 1);
    if (a.type === 'goto_table') walk(tables, flow, wc, a.table, seen, depth + 1);
  }
}

function megaflow(tables: OfTables, flowText: string): { megaflow: string; rules: string[] } {
  const flow = parseMatch(flowText).key;
  const wc = new Uint32Array(FLOW_WORDS);
  // xlate_wc_init: in_port, dl_type, and nw_frag for IP, are always matched.
  wc[W_IN_PORT] = 0xffffffff;
  wc[W_DL_TYPE] = 0xffff;
  const dl = flow[W_DL_TYPE]!;
  if (dl === 0x0800 || dl === 0x86dd) wc[W_NW] = (wc[W_NW]! | 3) >>> 0;
  const rules: string[] = [];
  walk(tables, flow, wc, 0, rules);
  // xlate_wc_finish.
  for (const w of [W_VLAN0, W_VLAN1]) {
    if (wc[w]! & 0xffff) wc[w] = (wc[w]! | VLAN_CFI) >>> 0;
    const tpid = flow[w]! >>> 16;
    if (tpid !== 0x8100 && tpid !== 0x88a8 && !(flow[w]! & VLAN_CFI)) wc[w] = 0;
  }
  const proto = flow[W_NW]! >>> 24;
  if ((dl === 0x0800 && proto === 1) || (dl === 0x86dd && proto === 58)) wc[W_TP] = (wc[W_TP]! & 0x00ff00ff) >>> 0;
  if (flow[W_NW]! & FLOW_NW_FRAG_LATER) wc[W_TP] = 0;
  if (dl !== 0x8847 && dl !== 0x8848) wc[W_MPLS0] = wc[W_MPLS0 + 1] = wc[W_MPLS0 + 2] = 0;
  const masked = new Uint32Array(FLOW_WORDS);
  for (let i = 0; i < FLOW_WORDS; i++) masked[i] = (flow[i]! & wc[i]!) >>> 0;
  return { megaflow: formatMatch(masked, 0, wc, 0), rules };
}

/** OVS's megaflow without the fields the flow key does not have. */
function stripOvs(mf: string): string {
  return mf.split(',').filter((t) => t !== 'recirc_id=0' && t !== 'eth').join(',');
}

describe('classifier wildcards vs OVS ofproto/trace Megaflow (golden)', () => {
  it('has cases', () => {
    expect(cases.length).to.be.greaterThanOrEqual(8);
  });
  for (const c of cases) {
    describe(c.name, () => {
      const tables = new OfTables({ now: () => 0 });
      tables.apply(c.rules.map((r) => parseFlowMod(r, 'add')));
      for (const t of c.traces) {
        it(t.flow, () => {
          const got = megaflow(tables, t.flow);
          expect(got.rules, 'rules matched').to.deep.equal(t.rules);
          expect(got.megaflow, 'megaflow').to.equal(stripOvs(t.megaflow));
        });
      }
    });
  }
});
