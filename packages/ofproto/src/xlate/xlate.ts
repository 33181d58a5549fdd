/**
 * Translation ("xlate"): a flow through the OpenFlow tables into datapath actions and a megaflow
 * mask, after OVS 3.1 `xlate_actions()` (ofproto/ofproto-dpif-xlate.c).
 *
 * Input: a flow key (FLOW_WORDS words, `in_port` = the OpenFlow port it arrived on), the tables
 * and the table version to read (one consistent version for the whole translation), the bridge's
 * ports, the MAC learning table, and whether the translation may have side effects (a real
 * packet: NORMAL learns its source MAC; a revalidation or a trace of a bare flow: it does not).
 *
 * Output (`XlateResult`):
 * - `actions`: datapath actions, ports as odp port numbers (./odp-actions.ts);
 * - `wc`: the megaflow mask, exactly OVS's `wc` (what `Megaflow:` prints): the bits every
 *   classifier lookup consulted (including those examined to rule out higher-priority rules),
 *   the fields the actions read (NORMAL: dl_src, dl_dst, VLAN VID+CFI, ARP fields of a possible
 *   gratuitous ARP; set-field prerequisites; set fields), and always in_port, dl_type and, for
 *   IP, nw_frag (xlate_wc_init), with OVS's clean-up (xlate_wc_finish: ICMP type/code limited to
 *   8 bits, CFI with any TCI bit, nothing of VLAN/MPLS headers the packet does not have, no L4
 *   ports for later fragments). See ./datapath-mask.ts for the mask to install in the datapath;
 * - `rules`: the rules whose actions ran, in order (for stats crediting by revalidators);
 * - `slow` (SLOW_* bits, ./cookie.ts) and `error` (XLATE_*; on error the actions are empty);
 * - `learned`: NORMAL's learning inputs (OVS XC_NORMAL), `trace`: the trace tree if asked.
 *
 * Table miss: OVS's default for every table (no table-mod support, no controller connection):
 * drop, both in table 0 and in a later table reached by goto_table or resubmit.
 */
import {
  FLOW_WORDS, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI,
  W_DL_TYPE, W_IN_PORT, W_MPLS0, W_NW, W_TP, W_VLAN0, W_VLAN1, formatMatch,
} from '@tsvs/packet';
import type { OfAction } from '../rules/actions.js';
import { formatAction } from '../rules/actions-format.js';
import { fieldByName, fieldMaskBits, fieldPrereqsOk, fieldSet } from '../rules/fields.js';
import { OFPP_IN_PORT } from '../rules/ports.js';
import type { OfRule } from '../tables/of-rule.js';
import type { OfTables } from '../tables/of-tables.js';
import type { BridgePorts } from '../bridge/bridge.js';
import type { MacLearning } from '../mac-learning/mac-learning.js';
import {
  MAX_DEPTH, MAX_RESUBMITS, NO_MATCH, XLATE_OK, XLATE_RECURSION_TOO_DEEP, XLATE_TOO_MANY_RESUBMITS,
  report, type NormalLearning, type XlateCtx,
} from './context.js';
import { OFPR_INVALID_TTL, PACKET_IN_REASONS } from './cookie.js';
import type { XlateAction } from './odp-actions.js';
import { xlateControllerAction, xlateOutputAction } from './output.js';
import type { TraceNode } from './trace-node.js';

export { xlateStrerror, XLATE_OK, XLATE_RECURSION_TOO_DEEP, XLATE_TOO_MANY_RESUBMITS, MAX_DEPTH, MAX_RESUBMITS } from './context.js';
export type { NormalLearning } from './context.js';

export interface XlateInput {
  /** Flow key; `in_port` is an OpenFlow port. Not modified. */
  flow: Uint32Array;
  flowBase?: number;
  /** Table version to translate against. Default: the tables' current version. */
  version?: number;
  /** A real packet is being translated: NORMAL may learn. Default false. */
  sideEffects?: boolean;
  /** Record the trace tree (ofproto/trace). Default false. */
  trace?: boolean;
  /** Port names instead of numbers in the trace's rule and action texts (`--names`). */
  names?: boolean;
  /**
   * A result of an earlier call (or `newXlateResult()`) whose storage to reuse: its arrays are
   * overwritten and it is returned, so the earlier result is gone. For hot loops that consume
   * each result before the next translation (a handler's misses): a fresh result costs three
   * off-heap typed arrays (V8 keeps typed arrays over 64 bytes outside the heap, ~0.4 µs each).
   */
  into?: XlateResult;
}

export interface XlateResult {
  actions: XlateAction[];
  /** Megaflow mask (FLOW_WORDS words), OVS's wildcards. */
  wc: Uint32Array;
  /** The input flow (a copy). */
  flow: Uint32Array;
  /** The flow after the actions' changes (ofproto/trace "Final flow"). */
  finalFlow: Uint32Array;
  /** Rules whose actions ran, in order (a table miss adds none). */
  rules: OfRule[];
  learned: NormalLearning[];
  slow: number;
  error: number;
  /** The `bridge("NAME")` trace node, when tracing. */
  trace: TraceNode | null;
  /** Table version used. */
  version: number;
}

export interface XlateEnv {
  ports: BridgePorts;
  tables: OfTables;
  /** MAC learning for NORMAL; null: NORMAL floods everything. */
  ml: MacLearning | null;
}

const ETH_TYPE_IP = 0x0800;
const ETH_TYPE_IPV6 = 0x86dd;

function isIpAny(flow: Uint32Array): boolean {
  const dl = flow[W_DL_TYPE]! & 0xffff;
  return dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6;
}

// Per-thread scratch: translation is not re-entrant (no callback can start another one).
const scratchBase = new Uint32Array(FLOW_WORDS);
const scratchLookup = new Uint32Array(FLOW_WORDS);
/** A frozen empty list: what the shared context points at between translations, and a miss's actions. */
const NO_RULES: readonly never[] = Object.freeze([]);
const sharedCtx: XlateCtx = {
  ports: null as unknown as BridgePorts, tables: null as unknown as OfTables, ml: null, version: 0, sideEffects: false,
  names: false, orig: scratchBase, flow: scratchBase, base: scratchBase, wc: scratchBase, lookupFlow: scratchLookup,
  out: [], rules: [], learned: [], slow: 0, error: XLATE_OK, exit: false, tableId: 0, depth: 0, resubmits: 0, rule: null,
  ruleCookie: 0xffffffffffffffffn, trace: null,
};

/**
 * The three flow-sized arrays of a result (flow, finalFlow, wc) are views into slabs of
 * SLAB_RESULTS results: one off-heap allocation per slab instead of three per translation. A
 * result kept alive keeps its slab (SLAB_RESULTS * 432 bytes) alive.
 */
const SLAB_RESULTS = 16;
const TRIPLE = 3 * FLOW_WORDS;
let slab = new Uint32Array(0);
let slabAt = 0;

/** Three zeroed FLOW_WORDS views (flow, finalFlow, wc) for one result. */
function flowTriple(): [Uint32Array, Uint32Array, Uint32Array] {
  if (slabAt + TRIPLE > slab.length) {
    slab = new Uint32Array(SLAB_RESULTS * TRIPLE);
    slabAt = 0;
  }
  const at = slabAt;
  slabAt += TRIPLE;
  return [slab.subarray(at, at + FLOW_WORDS), slab.subarray(at + FLOW_WORDS, at + 2 * FLOW_WORDS), slab.subarray(at + 2 * FLOW_WORDS, at + TRIPLE)];
}

/** An empty result to pass as `XlateInput.into` (its storage is reused by each translation). */
export function newXlateResult(): XlateResult {
  const [flow, finalFlow, wc] = flowTriple();
  return {
    actions: [], wc, flow, finalFlow, rules: [], learned: [], slow: 0, error: XLATE_OK, trace: null, version: 0,
  };
}

/**
 * Translates one flow (see the module comment). Never throws for bad flows. Allocates the result
 * (actions, wc, flow copies) and, when tracing, the trace tree; with `input.into`, reuses that
 * result's storage instead (only output action objects are allocated on the common paths).
 */
export function xlateFlow(env: XlateEnv, input: XlateInput): XlateResult {
  const fb = input.flowBase ?? 0;
  const res = input.into ?? newXlateResult();
  const orig = res.flow, flow = res.finalFlow, wc = res.wc;
  for (let i = 0; i < FLOW_WORDS; i++) {
    const v = input.flow[fb + i]!;
    orig[i] = v;
    flow[i] = v;
    scratchBase[i] = v;
    wc[i] = 0;
  }
  // Emptied by pops: `length = 0` would drop the arrays' backing stores (a new one per push after).
  clear(res.actions);
  clear(res.rules);
  clear(res.learned);
  const version = input.version ?? env.tables.version;
  const root: TraceNode | null = input.trace ? { type: 'bridge', text: `bridge("${env.ports.name}")`, subs: [] } : null;
  // One context object for every translation of this thread (translation is not re-entrant).
  const ctx = sharedCtx;
  ctx.ports = env.ports;
  ctx.tables = env.tables;
  ctx.ml = env.ml;
  ctx.version = version;
  ctx.sideEffects = !!input.sideEffects;
  ctx.names = !!input.names;
  ctx.orig = orig;
  ctx.flow = flow;
  ctx.wc = wc;
  ctx.out = res.actions;
  ctx.rules = res.rules;
  ctx.learned = res.learned;
  ctx.slow = 0;
  ctx.error = XLATE_OK;
  ctx.exit = false;
  ctx.tableId = 0;
  ctx.depth = 0;
  ctx.resubmits = 0;
  ctx.rule = null;
  ctx.ruleCookie = 0xffffffffffffffffn;
  ctx.trace = root ? root.subs : null;
  wcInit(ctx);
  const inPort = ctx.ports.ofport(orig[W_IN_PORT]!);
  const rule = lookupFromTable(ctx, orig[W_IN_PORT]!, true);
  reportTable(ctx, rule, ctx.tableId);
  ctx.rule = rule;
  if (!inPort || !inPort.noReceive) {
    if (rule !== NO_MATCH) {
      ctx.ruleCookie = rule.cookie;
      ctx.rules.push(rule);
      doXlateActions(ctx, rule.actions);
    } else {
      doXlateActions(ctx, NO_RULES);
    }
  }
  if (ctx.error === XLATE_OK) wcFinish(ctx);
  else clear(ctx.out);
  res.slow = ctx.error === XLATE_OK ? ctx.slow : 0;
  res.error = ctx.error;
  res.trace = root;
  res.version = version;
  // The shared context keeps no references to this translation's objects.
  ctx.out = ctx.rules = ctx.learned = NO_RULES as never[];
  ctx.orig = ctx.flow = ctx.wc = scratchBase;
  ctx.rule = null;
  ctx.trace = null;
  return res;
}

/** Empties `a` but keeps its capacity. */
function clear(a: unknown[]): void {
  while (a.length > 0) a.pop();
}

/** xlate_wc_init: fields always matched. */
function wcInit(ctx: XlateCtx): void {
  const wc = ctx.wc;
  wc[W_IN_PORT] = 0xffffffff;
  wc[W_DL_TYPE] = 0xffff;
  if (isIpAny(ctx.flow)) wc[W_NW] = (wc[W_NW]! | (FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER)) >>> 0;
}

/** xlate_wc_finish. */
function wcFinish(ctx: XlateCtx): void {
  const { wc, flow, orig } = ctx;
  const dl = flow[W_DL_TYPE]! & 0xffff;
  const proto = flow[W_NW]! >>> 24;
  if ((dl === ETH_TYPE_IP && proto === 1) || (dl === ETH_TYPE_IPV6 && proto === 58)) {
    wc[W_TP] = (wc[W_TP]! & 0x00ff00ff) >>> 0;
  }
  for (let w = W_VLAN0; w <= W_VLAN1; w++) if (wc[w]! & 0xffff) wc[w] = (wc[w]! | VLAN_CFI) >>> 0;
  if (flow[W_NW]! & FLOW_NW_FRAG_LATER) wc[W_TP] = 0;
  const odl = orig[W_DL_TYPE]! & 0xffff;
  if (odl !== 0x8847 && odl !== 0x8848) wc[W_MPLS0] = wc[W_MPLS0 + 1] = wc[W_MPLS0 + 2] = 0;
  for (let w = W_VLAN0; w <= W_VLAN1; w++) {
    const tpid = orig[w]! >>> 16;
    if (tpid !== 0x8100 && tpid !== 0x88a8) wc[w] = 0;
  }
}

/**
 * rule_dpif_lookup_from_table for one table (OVS's default miss behaviour for every table is to
 * stop: no "continue to next table"). Fragments are looked up with transport ports 0 (OVS
 * frag_handling "normal"); `inPort` replaces the flow's in_port for the lookup (resubmit:PORT).
 */
function lookupFromTable(ctx: XlateCtx, inPort: number, _honorTableMiss: boolean): OfRule | typeof NO_MATCH {
  const f = ctx.lookupFlow;
  f.set(ctx.flow);
  if (isIpAny(f) && f[W_NW]! & FLOW_NW_FRAG_ANY) f[W_TP] = 0;
  f[W_IN_PORT] = inPort;
  const r = ctx.tables.lookup(ctx.tableId, f, 0, ctx.version, ctx.wc, 0);
  return r ?? NO_MATCH;
}

function matchText(ctx: XlateCtx, r: OfRule): string {
  const m = formatMatch(r.key, 0, r.mask, 0);
  return ctx.names ? namesInMatch(m, ctx) : m;
}

/** Replaces `in_port=N` by the port's name (OVS prints matches with a port map under --names). */
function namesInMatch(text: string, ctx: XlateCtx): string {
  return text.replace(/(^|,)in_port=([0-9]+)(?=,|$)/, (all, pre: string, n: string) => {
    const p = ctx.ports.ofport(Number(n));
    return p ? `${pre}in_port=${quoteName(p.name)}` : all;
  });
}

function quoteName(n: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(n) && !/^[0-9]+$/.test(n) ? n : JSON.stringify(n);
}

/** xlate_report_table: opens the trace node of a table and makes it current. */
function reportTable(ctx: XlateCtx, rule: OfRule | typeof NO_MATCH, tableId: number): void {
  if (!ctx.trace) return;
  let s = `${String(tableId).padStart(2)}. `;
  if (rule === NO_MATCH) {
    s += 'No match.';
  } else {
    s += matchText(ctx, rule);
    if (!s.endsWith(' ')) s += ', ';
    s += `priority ${rule.priority}`;
    if (rule.cookie !== 0n) s += `, cookie 0x${rule.cookie.toString(16)}`;
  }
  const n = report(ctx, 'table', s)!;
  ctx.trace = n.subs;
}

/** xlate_resubmit_resource_check. */
function resourceCheck(ctx: XlateCtx): boolean {
  if (ctx.depth >= MAX_DEPTH) {
    report(ctx, 'error', `over max translation depth ${MAX_DEPTH}`);
    ctx.error = XLATE_RECURSION_TOO_DEEP;
    return false;
  }
  if (ctx.resubmits >= MAX_RESUBMITS) {
    report(ctx, 'error', `over ${MAX_RESUBMITS} resubmit actions`);
    ctx.error = XLATE_TOO_MANY_RESUBMITS;
    return false;
  }
  return true;
}

/** xlate_table_action: look up `tableId` (with `inPort` as in_port) and run the rule found. */
export function xlateTableAction(ctx: XlateCtx, inPort: number, tableId: number, _mayPacketIn: boolean, honorTableMiss: boolean): void {
  if (!resourceCheck(ctx)) return;
  const oldTable = ctx.tableId;
  ctx.tableId = tableId;
  const rule = lookupFromTable(ctx, inPort, honorTableMiss);
  const oldTrace = ctx.trace;
  reportTable(ctx, rule, tableId);
  // xlate_recursively.
  const oldRule = ctx.rule;
  const oldCookie = ctx.ruleCookie;
  const deepens = tableId <= oldTable ? 1 : 0;
  ctx.resubmits++;
  ctx.depth += deepens;
  ctx.rule = rule;
  if (rule !== NO_MATCH) {
    ctx.rules.push(rule);
    ctx.ruleCookie = rule.cookie;
    doXlateActions(ctx, rule.actions);
  } else {
    ctx.ruleCookie = 0n;
    doXlateActions(ctx, NO_RULES);
  }
  ctx.ruleCookie = oldCookie;
  ctx.rule = oldRule;
  ctx.depth -= deepens;
  ctx.trace = oldTrace;
  ctx.tableId = oldTable;
}

function actionText(ctx: XlateCtx, a: OfAction): string {
  return formatAction(a, ctx.names ? { portMap: ctx.ports.portMap } : undefined);
}

const EMPTY = new Uint8Array(0);

function hexBytes(hex: string): Uint8Array {
  const b = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/** do_xlate_actions. */
function doXlateActions(ctx: XlateCtx, actions: readonly OfAction[]): void {
  if (actions.length === 0) {
    report(ctx, 'action', 'drop');
    return;
  }
  const { flow, wc } = ctx;
  for (const a of actions) {
    if (ctx.error !== XLATE_OK || ctx.exit) break;
    if (ctx.trace) report(ctx, 'action', actionText(ctx, a));
    switch (a.type) {
      case 'output':
        xlateOutputAction(ctx, a.port, a.maxLen);
        break;
      case 'controller': {
        const reason = PACKET_IN_REASONS[a.reason] ?? 1;
        xlateControllerAction(ctx, a.maxLen, reason, a.controllerId, a.userdata ? hexBytes(a.userdata) : EMPTY, a.pause);
        // A paused translation would resume from the controller; tsvs has no continuations.
        if (a.pause) ctx.exit = true;
        break;
      }
      case 'set_vlan_vid': {
        wc[W_VLAN0] = (wc[W_VLAN0]! | 0x0fff | VLAN_CFI) >>> 0;
        const w = flow[W_VLAN0]!;
        if (w & VLAN_CFI || a.push) {
          const tpid = w >>> 16 || 0x8100;
          flow[W_VLAN0] = ((tpid << 16) | (w & 0xf000) | a.vid | VLAN_CFI) >>> 0;
        }
        break;
      }
      case 'set_vlan_pcp': {
        wc[W_VLAN0] = (wc[W_VLAN0]! | 0xe000 | VLAN_CFI) >>> 0;
        const w = flow[W_VLAN0]!;
        if (w & VLAN_CFI || a.push) {
          const tpid = w >>> 16 || 0x8100;
          flow[W_VLAN0] = ((tpid << 16) | (w & 0x1fff) | (a.pcp << 13) | VLAN_CFI) >>> 0;
        }
        break;
      }
      case 'strip_vlan':
        flowPopVlan(ctx);
        break;
      case 'push_vlan': {
        const n = vlanCount(flow);
        for (let i = 0; i < n; i++) wc[W_VLAN0 + i] = 0xffffffff;
        flow[W_VLAN1] = flow[W_VLAN0]!;
        flow[W_VLAN0] = ((a.ethertype << 16) | VLAN_CFI) >>> 0;
        break;
      }
      case 'set_eth_src':
      case 'set_eth_dst': {
        const w = a.type === 'set_eth_src' ? 3 : 1;
        wc[w] = (wc[w]! | 0xffff) >>> 0;
        wc[w + 1] = 0xffffffff;
        flow[w] = a.hi & 0xffff;
        flow[w + 1] = a.lo >>> 0;
        break;
      }
      case 'set_ipv4_src':
      case 'set_ipv4_dst':
        if ((flow[W_DL_TYPE]! & 0xffff) === ETH_TYPE_IP) {
          const w = a.type === 'set_ipv4_src' ? 11 : 12;
          wc[w] = 0xffffffff;
          maskNwProto(wc);
          flow[w] = a.ip >>> 0;
        }
        break;
      case 'set_ip_dscp':
        if (isIpAny(flow)) {
          maskNwProto(wc);
          wc[W_NW] = (wc[W_NW]! | 0x00fc0000) >>> 0;
          flow[W_NW] = ((flow[W_NW]! & ~0x00fc0000) | ((a.dscp & 0xfc) << 16)) >>> 0;
        }
        break;
      case 'set_ip_ecn':
        if (isIpAny(flow)) {
          maskNwProto(wc);
          wc[W_NW] = (wc[W_NW]! | 0x00030000) >>> 0;
          flow[W_NW] = ((flow[W_NW]! & ~0x00030000) | ((a.ecn & 3) << 16)) >>> 0;
        }
        break;
      case 'set_ip_ttl':
        if (isIpAny(flow)) {
          maskNwProto(wc);
          wc[W_NW] = (wc[W_NW]! | 0x0000ff00) >>> 0;
          flow[W_NW] = ((flow[W_NW]! & ~0x0000ff00) | ((a.ttl & 0xff) << 8)) >>> 0;
        }
        break;
      case 'set_l4_src_port':
      case 'set_l4_dst_port':
        if (isIpAny(flow) && !(flow[W_NW]! & FLOW_NW_FRAG_LATER)) {
          const src = a.type === 'set_l4_src_port';
          wc[W_NW] = (wc[W_NW]! | 0xff000000) >>> 0;
          wc[W_TP] = (wc[W_TP]! | (src ? 0xffff0000 : 0xffff)) >>> 0;
          flow[W_TP] = src ? (((a.port & 0xffff) << 16) | (flow[W_TP]! & 0xffff)) >>> 0 : ((flow[W_TP]! & 0xffff0000) | (a.port & 0xffff)) >>> 0;
        }
        break;
      case 'set_field': {
        const fd = fieldByName(a.field);
        if (fd && fieldPrereqsOk(fd, flow, 0, wc, 0)) {
          maskL3Prereqs(fd.name, flow, wc);
          fieldMaskBits(fd, a.mask, wc, 0);
          fieldSet(fd, flow, 0, a.value, a.mask);
        } else {
          report(ctx, 'warn', `unmet prerequisites for ${fd ? fd.name : a.field}, set_field ignored`);
        }
        break;
      }
      case 'dec_ttl':
        wc[W_NW] = (wc[W_NW]! | 0x0000ff00) >>> 0;
        if (composeDecTtl(ctx, a.cntIds ?? [0])) return;
        break;
      case 'resubmit': {
        if (a.ct) {
          report(ctx, 'error', 'resubmit(ct) with non-tracked or non-IP packet!');
          break;
        }
        const inPort = a.inPort === OFPP_IN_PORT ? flow[W_IN_PORT]! : a.inPort;
        const table = a.table === 255 ? ctx.tableId : a.table;
        xlateTableAction(ctx, inPort, table, false, false);
        break;
      }
      case 'goto_table':
        xlateTableAction(ctx, flow[W_IN_PORT]!, a.table, true, true);
        break;
      case 'note':
        break;
    }
  }
}

/**
 * IP header rewrites un-wildcard nw_proto: the fix for CVE-2023-1668 (upstream commit 61b39d8c4,
 * "ofproto-dpif-xlate: Always mask ip proto field", in OVS 3.1.1 and in Debian's 3.1.0-2+deb12u1,
 * the yardstick here). Without it a megaflow installed for a packet with nw_proto 0 (for which no
 * set action is committed) would also catch packets that need the rewrite.
 */
function maskNwProto(wc: Uint32Array): void {
  wc[W_NW] = (wc[W_NW]! | 0xff000000) >>> 0;
}

/** OVS mf_set_mask_l3_prereqs (same fix) for set_field. */
function maskL3Prereqs(field: string, flow: Uint32Array, wc: Uint32Array): void {
  if (isIpAny(flow)) {
    if (L3_IP_FIELDS.has(field)) maskNwProto(wc);
  } else if ((flow[W_DL_TYPE]! & 0xffff) === 0x0806 && L3_ARP_FIELDS.has(field)) {
    maskNwProto(wc);
  }
}

/** MFF_IPV4_SRC/DST, MFF_IPV6_SRC/DST/LABEL, MFF_IP_DSCP (`nw_tos`), MFF_IP_ECN, MFF_IP_TTL. */
const L3_IP_FIELDS = new Set(['ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'ipv6_label', 'nw_tos', 'nw_ecn', 'nw_ttl']);
const L3_ARP_FIELDS = new Set(['arp_op', 'arp_sha', 'arp_tha', 'arp_spa', 'arp_tpa']);

function vlanCount(f: Uint32Array): number {
  let n = 0;
  while (n < 2 && f[W_VLAN0 + n]! & VLAN_CFI) n++;
  return n;
}

/** flow_pop_vlan. */
function flowPopVlan(ctx: XlateCtx): void {
  const { flow, wc } = ctx;
  const n = vlanCount(flow);
  if (n > 1) {
    wc[W_VLAN1] = 0xffffffff;
    flow[W_VLAN0] = flow[W_VLAN1]!;
  }
  if (n > 0) flow[W_VLAN0 + n - 1] = 0;
}

/** compose_dec_ttl: true when the TTL expired (the rest of this action list is skipped). */
function composeDecTtl(ctx: XlateCtx, ids: readonly number[]): boolean {
  const { flow } = ctx;
  if (!isIpAny(flow)) return false;
  maskNwProto(ctx.wc);
  const ttl = (flow[W_NW]! >>> 8) & 0xff;
  if (ttl > 1) {
    flow[W_NW] = ((flow[W_NW]! & ~0x0000ff00) | ((ttl - 1) << 8)) >>> 0;
    return false;
  }
  for (const id of ids) xlateControllerAction(ctx, 0xffff, OFPR_INVALID_TTL, id, EMPTY);
  report(ctx, 'warn', `IPv${(flow[W_DL_TYPE]! & 0xffff) === ETH_TYPE_IP ? 4 : 6} decrement TTL exception`);
  return true;
}
