/**
 * The NORMAL action: an L2 learning switch with VLANs, a port of OVS 3.1 `xlate_normal()` and its
 * helpers (ofproto/ofproto-dpif-xlate.c) without bonds, mirrors, STP/RSTP, multicast snooping
 * and dot1q-tunnel ports (tsvs has none of them).
 *
 * Steps, as OVS: un-wildcard dl_src, dl_dst and the outer VLAN's VID+CFI; find the input port
 * (unknown: drop); drop partial VLAN tags; check the VID against the input port's VLAN mode
 * (access ports take untagged frames only, trunks their VLAN list); map to the internal VLAN
 * (access: the port's tag); drop frames to reserved multicast MACs unless forward-bpdu; learn the
 * source MAC (only with side effects, i.e. for a real packet); look the destination up in
 * (VLAN, dl_dst); forward to the learned port, or flood to every other floodable port that
 * carries the VLAN; each output translates the VLAN for the output port (access: untagged,
 * trunk: tagged) and is committed like any output.
 */
import { W_DL_DST_HI, W_DL_DST_LO, W_DL_SRC_HI, W_DL_SRC_LO, W_DL_TYPE, W_NW, W_NW_DST, W_NW_SRC, W_VLAN0, VLAN_CFI } from '@tsvs/packet';
import type { BridgePort } from '../bridge/bridge-port.js';
import { OFPP_CONTROLLER, OFPP_NONE } from '../rules/ports.js';
import type { BridgePorts } from '../bridge/bridge.js';
import type { MacLearning } from '../mac-learning/mac-learning.js';
import { report, type NormalLearning, type XlateCtx } from './context.js';
import { composeOutputAction } from './output.js';

const ETH_TYPE_VLAN_8021Q = 0x8100;

function ethTypeVlan(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

/** A packet's VLAN headers as NORMAL sees them (OVS struct xvlan): tpid, vid, pcp (bits 15..13) x2. */
class XVlan {
  readonly tpid = [0, 0];
  readonly vid = [0, 0];
  readonly pcp = [0, 0];
  copyFrom(o: XVlan): void {
    for (let i = 0; i < 2; i++) {
      this.tpid[i] = o.tpid[i]!;
      this.vid[i] = o.vid[i]!;
      this.pcp[i] = o.pcp[i]!;
    }
  }
  clear(): void {
    this.tpid.fill(0);
    this.vid.fill(0);
    this.pcp.fill(0);
  }
  pop(): void {
    this.tpid[0] = this.tpid[1]!;
    this.vid[0] = this.vid[1]!;
    this.pcp[0] = this.pcp[1]!;
    this.tpid[1] = this.vid[1] = this.pcp[1] = 0;
  }
}

/** xvlan_extract. */
function extract(flow: Uint32Array, x: XVlan): void {
  x.clear();
  for (let i = 0; i < 2; i++) {
    const w = flow[W_VLAN0 + i]!;
    const tpid = w >>> 16;
    if (!ethTypeVlan(tpid) || !(w & VLAN_CFI)) break;
    x.tpid[i] = tpid;
    x.vid[i] = w & 0xfff;
    x.pcp[i] = w & 0xe000;
  }
}

/** xvlan_put (priority tags never): a header with a zero TCI keeps its TPID bits but is absent. */
function put(flow: Uint32Array, x: XVlan): void {
  for (let i = 0; i < 2; i++) {
    let tci = x.vid[i]! | (x.pcp[i]! & 0xe000);
    let tpid = flow[W_VLAN0 + i]! >>> 16;
    if (tci) {
      tci |= VLAN_CFI;
      tpid = x.tpid[i] ? x.tpid[i]! : ETH_TYPE_VLAN_8021Q;
    }
    flow[W_VLAN0 + i] = ((tpid << 16) | tci) >>> 0;
  }
}

/** input_vid_is_valid. */
function inputVidIsValid(ctx: XlateCtx, vid: number, p: BridgePort): boolean {
  switch (p.vlanMode) {
    case 'access':
      if (vid) {
        report(ctx, 'error', `dropping VLAN ${vid} tagged packet received on port ${p.name} configured as VLAN ${p.vlan} access port`);
        return false;
      }
      return true;
    case 'native-tagged':
    case 'native-untagged':
    case 'trunk':
      // A native-VLAN port always carries its native VLAN untagged.
      if (p.vlanMode !== 'trunk' && !vid) return true;
      if (!p.trunksVlan(vid)) {
        report(ctx, 'error', `dropping VLAN ${vid} packet received on port ${p.name} not configured for trunking VLAN ${vid}`);
        return false;
      }
      return true;
  }
}

/** xvlan_input_translate. */
function inputTranslate(p: BridgePort, inX: XVlan, x: XVlan): void {
  switch (p.vlanMode) {
    case 'access':
      x.clear();
      x.tpid[0] = inX.tpid[0] || ETH_TYPE_VLAN_8021Q;
      x.vid[0] = p.vlan;
      x.pcp[0] = inX.pcp[0]!;
      return;
    case 'trunk':
      x.copyFrom(inX);
      return;
    default:
      x.copyFrom(inX);
      if (!inX.vid[0]) {
        x.tpid[0] = inX.tpid[0] || ETH_TYPE_VLAN_8021Q;
        x.vid[0] = p.vlan;
        x.pcp[0] = inX.pcp[0]!;
      }
  }
}

/** xvlan_output_translate. */
function outputTranslate(p: BridgePort, x: XVlan, out: XVlan): void {
  switch (p.vlanMode) {
    case 'access':
      out.clear();
      return;
    case 'trunk':
    case 'native-tagged':
      out.copyFrom(x);
      return;
    case 'native-untagged':
      out.copyFrom(x);
      if (x.vid[0] === p.vlan) out.pop();
  }
}

const outX = new XVlan();

/** output_normal: one output to `p` with the VLANs translated for it. */
function outputNormal(ctx: XlateCtx, p: BridgePort, x: XVlan): void {
  outputTranslate(p, x, outX);
  const flow = ctx.flow;
  const old0 = flow[W_VLAN0]!;
  const old1 = flow[W_VLAN0 + 1]!;
  put(flow, outX);
  composeOutputAction(ctx, p.ofport, true);
  flow[W_VLAN0] = old0;
  flow[W_VLAN0 + 1] = old1;
}

/** xlate_normal_flood. */
function flood(ctx: XlateCtx, inPort: BridgePort | null, x: XVlan): void {
  for (const p of ctx.ports.list) {
    if (p !== inPort && p.includesVlan(x.vid[0]!, x.vid[1]!) && p.floodable) outputNormal(ctx, p, x);
  }
}

/** OVS eth_addr_is_reserved (lib/packets.c): STP/pause/802.1 reserved, Extreme and Cisco protocols. */
export function ethAddrIsReserved(hi: number, lo: number): boolean {
  hi &= 0xffff;
  lo >>>= 0;
  if (hi === 0x0180 && lo >= 0xc2000000 && lo <= 0xc200000f) return true;
  if (hi === 0x00e0 && (lo === 0x2b000000 || lo === 0x2b000004 || lo === 0x2b000006)) return true;
  if (hi === 0x0100) {
    if (lo === 0x0c000000 || lo === 0x0ccccccc || lo === 0x0ccccccd || lo === 0x0ccdcdcd) return true;
    if (lo >= 0x0cccccc0 && lo <= 0x0cccccc7) return true;
  }
  return false;
}

/** is_gratuitous_arp: un-wildcards what it reads, as OVS does. */
function isGratuitousArp(ctx: XlateCtx): boolean {
  const { flow, wc } = ctx;
  if ((flow[W_DL_TYPE]! & 0xffff) !== 0x0806) return false;
  wc[W_DL_DST_HI] = (wc[W_DL_DST_HI]! | 0xffff) >>> 0;
  wc[W_DL_DST_LO] = 0xffffffff;
  if ((flow[W_DL_DST_HI]! & 0xffff) !== 0xffff || flow[W_DL_DST_LO] !== 0xffffffff) return false;
  wc[W_NW] = (wc[W_NW]! | 0xff000000) >>> 0;
  const op = flow[W_NW]! >>> 24;
  if (op === 2) return true;
  if (op === 1) {
    wc[W_NW_SRC] = 0xffffffff;
    wc[W_NW_DST] = 0xffffffff;
    return flow[W_NW_SRC] === flow[W_NW_DST];
  }
  return false;
}

function macText(hi: number, lo: number): string {
  const b = [(hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const inX = new XVlan();
const xv = new XVlan();

/** xlate_normal. */
export function xlateNormal(ctx: XlateCtx): void {
  const { flow, wc } = ctx;
  wc[W_DL_SRC_HI] = (wc[W_DL_SRC_HI]! | 0xffff) >>> 0;
  wc[W_DL_SRC_LO] = 0xffffffff;
  wc[W_DL_DST_HI] = (wc[W_DL_DST_HI]! | 0xffff) >>> 0;
  wc[W_DL_DST_LO] = 0xffffffff;
  wc[W_VLAN0] = (wc[W_VLAN0]! | 0x0fff | VLAN_CFI) >>> 0;

  const inPortNo = flow[0]!;
  const inPort = ctx.ports.ofport(inPortNo) ?? null;
  // OFPP_NONE and OFPP_CONTROLLER (packets a controller sources) use OVS's ofpp_none_bundle: a
  // trunk that accepts any VID, learns nothing and is not a port of the bridge.
  const noneBundle = !inPort && (inPortNo === OFPP_NONE || inPortNo === OFPP_CONTROLLER);
  if (!inPort && !noneBundle) {
    report(ctx, 'error', `received packet on unknown port ${inPortNo}`);
    report(ctx, 'warn', 'no input bundle, dropping');
    return;
  }
  // Drop malformed frames.
  if (ethTypeVlan(flow[W_DL_TYPE]! & 0xffff) && !(flow[W_VLAN0]! & VLAN_CFI)) {
    if (ctx.sideEffects) report(ctx, 'error', `dropping packet with partial VLAN tag received on port ${inPort ? inPort.name : 'OFPP_NONE'}`);
    report(ctx, 'warn', 'partial VLAN tag, dropping');
    return;
  }
  // Check VLAN.
  extract(flow, inX);
  if (inPort && !inputVidIsValid(ctx, inX.vid[0]!, inPort)) {
    report(ctx, 'warn', 'disallowed VLAN VID for this input port, dropping');
    return;
  }
  if (inPort) inputTranslate(inPort, inX, xv);
  else xv.copyFrom(inX);
  const vlan = xv.vid[0]!;

  // is_admissible: reserved multicast destinations (no bonds here).
  const dstHi = flow[W_DL_DST_HI]! & 0xffff;
  const dstLo = flow[W_DL_DST_LO]! >>> 0;
  if (inPort && !ctx.ports.forwardBpdu && ethAddrIsReserved(dstHi, dstLo)) {
    report(ctx, 'detail', 'packet has reserved destination MAC, dropping');
    return;
  }

  // Learn the source MAC.
  const gratArp = isGratuitousArp(ctx);
  const srcHi = flow[W_DL_SRC_HI]! & 0xffff;
  const srcLo = flow[W_DL_SRC_LO]! >>> 0;
  if (inPort) {
    if (ctx.sideEffects && ctx.ml && ctx.ml.update(vlan, srcHi, srcLo, inPort.ofport, gratArp) && ctx.trace) {
      report(ctx, 'detail', `learned that ${macText(srcHi, srcLo)} is on port ${inPort.name} in VLAN ${vlan}`);
    }
    ctx.learned.push({ inPort: inPort.ofport, vlan, macHi: srcHi, macLo: srcLo, gratArp });
  }

  // Determine the output port.
  const macPort = ctx.ml ? ctx.ml.lookup(vlan, dstHi, dstLo) : -1;
  if (macPort >= 0) {
    const out = ctx.ports.ofport(macPort);
    if (out && out !== inPort) {
      report(ctx, 'detail', 'forwarding to learned port');
      outputNormal(ctx, out, xv);
    } else if (!out) {
      report(ctx, 'warn', 'learned port is unknown, dropping');
    } else {
      report(ctx, 'detail', 'learned port is input port, dropping');
    }
  } else {
    report(ctx, 'detail', 'no learned MAC for destination, flooding');
    flood(ctx, inPort, xv);
  }
}

/**
 * OVS xlate_mac_learning_update for cached translations (XC_NORMAL): re-learns the sources a
 * datapath flow's NORMAL saw, so MACs whose packets only hit the datapath do not age out.
 * Revalidators call it with a flow's `learned` list when its stats show new packets. Returns how
 * many entries changed port (new or moved). Ports no longer on the bridge are skipped.
 */
export function replayNormalLearning(ml: MacLearning, ports: BridgePorts, learned: readonly NormalLearning[]): number {
  let n = 0;
  for (const l of learned) {
    if (ports.ofport(l.inPort) && ml.update(l.vlan, l.macHi, l.macLo, l.inPort, l.gratArp)) n++;
  }
  return n;
}
