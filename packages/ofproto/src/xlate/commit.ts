/**
 * Lazy commit of header changes before an output: OVS 3.1 `commit_odp_actions()` (lib/odp-util.c)
 * for the netdev datapath (masked set actions supported).
 *
 * Translation changes `flow` as OpenFlow actions run; `base` is the packet as the datapath
 * actions emitted so far leave it. Before each output (and packet-in) the differences are turned
 * into datapath actions, in OVS's order: Ethernet addresses, IPv4/IPv6 (+ ND) fields, L4 ports,
 * ICMP type/code, then VLAN pops and pushes. Only fields that differ are set: per key, fields
 * equal in `flow` and `base` get a zero mask; the rest carry the megaflow mask bits the actions
 * un-wildcarded (`wc`), so a masked set (`set(ipv4(tos=0x20/0xfc))`) is emitted unless every field
 * of the key changed under a full mask, which gives a plain set (`set(eth(src=..,dst=..))`).
 * `base` then takes the committed values.
 *
 * Keys the tsvs datapath cannot set (ARP, ICMP, ND, SCTP) are emitted as OVS's text and reported
 * as slow path (SLOW_ACTION); OVS also slow-paths ARP, ICMP and ND sets. MPLS, NSH, tunnel,
 * skb_priority and pkt_mark are not in the flow key: nothing to commit.
 *
 * Flow words are at offset 0 of each array (FLOW_WORDS words).
 */
import {
  W_DL_DST_HI, W_DL_DST_LO, W_DL_SRC_HI, W_DL_SRC_LO, W_DL_TYPE, W_VLAN0, W_NW_SRC, W_NW_DST,
  W_IPV6_SRC, W_IPV6_DST, W_IPV6_LABEL, W_NW, W_TP, W_ARP_SHA_HI, W_ARP_THA_HI, W_ND_TARGET,
  VLAN_CFI, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, formatEth, formatIp4, formatIp6,
} from '@tsvs/packet';
import type { OdpSetKeyName } from '@tsvs/dpif';
import { SLOW_ACTION } from './cookie.js';
import type { XlateAction } from './odp-actions.js';

const ETH_TYPE_IP = 0x0800;
const ETH_TYPE_IPV6 = 0x86dd;
const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_RARP = 0x8035;

/** One field of an ODP key: its bytes in the key struct and where it lives in the flow. */
interface KeyField {
  name: string;
  bytes: number;
  /** Reads the field into `out[at..]` from flow words `f`. */
  get: (f: Uint32Array, out: Uint8Array, at: number) => void;
}

function putBe(out: Uint8Array, at: number, v: number, n: number): void {
  for (let i = n - 1; i >= 0; i--) {
    out[at + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

const macField = (name: string, hiW: number): KeyField => ({
  name, bytes: 6,
  get: (f, o, at) => {
    putBe(o, at, f[hiW]! & 0xffff, 2);
    putBe(o, at + 2, f[hiW + 1]! >>> 0, 4);
  },
});
const wordField = (name: string, w: number): KeyField => ({ name, bytes: 4, get: (f, o, at) => putBe(o, at, f[w]! >>> 0, 4) });
const ip6Field = (name: string, w: number): KeyField => ({
  name, bytes: 16,
  get: (f, o, at) => {
    for (let i = 0; i < 4; i++) putBe(o, at + 4 * i, f[w + i]! >>> 0, 4);
  },
});
const nwByte = (name: string, shift: number): KeyField => ({ name, bytes: 1, get: (f, o, at) => { o[at] = (f[W_NW]! >>> shift) & 0xff; } });
/** ovs_to_odp_frag for keys (not masks): no 0, first 1, later 2. */
const fragField: KeyField = {
  name: 'frag', bytes: 1,
  get: (f, o, at) => {
    const fr = f[W_NW]! & 0xff;
    o[at] = !(fr & FLOW_NW_FRAG_ANY) ? 0 : fr & FLOW_NW_FRAG_LATER ? 2 : 1;
  },
};
const fragMaskField: KeyField = { name: 'frag', bytes: 1, get: (f, o, at) => { o[at] = f[W_NW]! & FLOW_NW_FRAG_ANY ? 0xff : 0; } };
const tpSrc: KeyField = { name: 'src', bytes: 2, get: (f, o, at) => putBe(o, at, f[W_TP]! >>> 16, 2) };
const tpDst: KeyField = { name: 'dst', bytes: 2, get: (f, o, at) => putBe(o, at, f[W_TP]! & 0xffff, 2) };
const icmpType: KeyField = { name: 'type', bytes: 1, get: (f, o, at) => { o[at] = (f[W_TP]! >>> 16) & 0xff; } };
const icmpCode: KeyField = { name: 'code', bytes: 1, get: (f, o, at) => { o[at] = f[W_TP]! & 0xff; } };
const labelField: KeyField = { name: 'label', bytes: 4, get: (f, o, at) => putBe(o, at, f[W_IPV6_LABEL]! >>> 0, 4) };
const arpOp: KeyField = { name: 'op', bytes: 2, get: (f, o, at) => putBe(o, at, f[W_NW]! >>> 24 === 0xff ? 0xffff : f[W_NW]! >>> 24, 2) };

const ETH_FIELDS = [macField('src', W_DL_SRC_HI), macField('dst', W_DL_DST_HI)];
const IPV4_FIELDS = [wordField('src', W_NW_SRC), wordField('dst', W_NW_DST), nwByte('proto', 24), nwByte('tos', 16), nwByte('ttl', 8), fragField];
const IPV4_MASK_FIELDS = [IPV4_FIELDS[0]!, IPV4_FIELDS[1]!, IPV4_FIELDS[2]!, IPV4_FIELDS[3]!, IPV4_FIELDS[4]!, fragMaskField];
const IPV6_FIELDS = [ip6Field('src', W_IPV6_SRC), ip6Field('dst', W_IPV6_DST), labelField, nwByte('proto', 24), nwByte('tclass', 16), nwByte('hlimit', 8), fragField];
const IPV6_MASK_FIELDS = [...IPV6_FIELDS.slice(0, 6), fragMaskField];
const TP_FIELDS = [tpSrc, tpDst];
const ICMP_FIELDS = [icmpType, icmpCode];
const ARP_FIELDS = [wordField('sip', W_NW_SRC), wordField('tip', W_NW_DST), arpOp, macField('sha', W_ARP_SHA_HI), macField('tha', W_ARP_THA_HI)];
const ND_FIELDS = [ip6Field('target', W_ND_TARGET), macField('sll', W_ARP_SHA_HI), macField('tll', W_ARP_THA_HI)];

function keySize(fields: readonly KeyField[]): number {
  let n = 0;
  for (const f of fields) n += f.bytes;
  return n;
}

/**
 * Three reusable byte buffers per field list, used in turn: a commit reads at most three views
 * (key, base, mask) of one list before it is done with them, so commits allocate only actions.
 */
const scratch = new Map<readonly KeyField[], { bufs: Uint8Array[]; next: number }>();

function read(fields: readonly KeyField[], f: Uint32Array): Uint8Array {
  let sc = scratch.get(fields);
  if (!sc) scratch.set(fields, (sc = { bufs: [0, 1, 2].map(() => new Uint8Array(keySize(fields))), next: 0 }));
  const out = sc.bufs[sc.next]!;
  sc.next = (sc.next + 1) % 3;
  let at = 0;
  for (const fd of fields) {
    fd.get(f, out, at);
    at += fd.bytes;
  }
  return out;
}

/**
 * OVS commit(): compares `key` and `base` field by field, zeroing the mask of equal fields.
 * Returns null when nothing differs, else the mask to use (all ones when a plain set is due).
 */
function commitMask(fields: readonly KeyField[], key: Uint8Array, base: Uint8Array, mask: Uint8Array, useMasked: boolean): Uint8Array | null {
  let differ = false;
  let at = 0;
  for (const fd of fields) {
    let eq = true;
    for (let i = 0; i < fd.bytes; i++) if (key[at + i] !== base[at + i]) eq = false;
    if (eq) mask.fill(0, at, at + fd.bytes);
    else differ = true;
    at += fd.bytes;
  }
  if (!differ) return null;
  let full = true;
  for (const m of mask) if (m !== 0xff) full = false;
  if (!useMasked && !full) mask.fill(0xff);
  return mask;
}

/** Copies words `ws` (with bit masks) from flow to base. */
function copyBits(flow: Uint32Array, base: Uint32Array, w: number, bits: number): void {
  base[w] = ((base[w]! & ~bits) | (flow[w]! & bits)) >>> 0;
}

export interface CommitState {
  flow: Uint32Array;
  base: Uint32Array;
  wc: Uint32Array;
  out: XlateAction[];
}

/** Flow words any set action can change (VLAN words are handled apart). */
const SET_WORDS = [
  W_DL_DST_HI, W_DL_DST_LO, W_DL_SRC_HI, W_DL_SRC_LO, W_NW_SRC, W_NW_DST, W_IPV6_SRC, W_IPV6_SRC + 1, W_IPV6_SRC + 2,
  W_IPV6_SRC + 3, W_IPV6_DST, W_IPV6_DST + 1, W_IPV6_DST + 2, W_IPV6_DST + 3, W_IPV6_LABEL, W_NW, W_TP, W_ARP_SHA_HI,
  W_ARP_SHA_HI + 1, W_ARP_THA_HI, W_ARP_THA_HI + 1, W_ND_TARGET, W_ND_TARGET + 1, W_ND_TARGET + 2, W_ND_TARGET + 3,
];

/** OVS commit_odp_actions (netdev datapath: masked sets). Returns the slow path reasons it caused. */
export function commitOdpActions(st: CommitState): number {
  // Most outputs follow no header change: skip the per-key comparisons then.
  let changed = false;
  for (let i = 0; i < SET_WORDS.length; i++) {
    const w = SET_WORDS[i]!;
    if (st.flow[w] !== st.base[w]) {
      changed = true;
      break;
    }
  }
  if (!changed) {
    if (st.flow[W_VLAN0] !== st.base[W_VLAN0] || st.flow[W_VLAN0 + 1] !== st.base[W_VLAN0 + 1]) commitVlan(st);
    return 0;
  }
  commitEth(st);
  let slow = commitNw(st);
  slow |= commitPort(st);
  slow |= commitIcmp(st);
  commitVlan(st);
  return slow;
}

function pushSet(st: CommitState, key: OdpSetKeyName, value: Uint8Array, mask: Uint8Array): void {
  const v = new Uint8Array(value.length);
  for (let i = 0; i < v.length; i++) v[i] = value[i]! & mask[i]!;
  st.out.push({ type: 'set', key, value: v, mask: mask.slice() });
}

function commitEth(st: CommitState): void {
  const key = read(ETH_FIELDS, st.flow);
  const base = read(ETH_FIELDS, st.base);
  const mask = read(ETH_FIELDS, st.wc);
  if (!commitMask(ETH_FIELDS, key, base, mask, true)) return;
  pushSet(st, 'eth', key, mask);
  for (const w of [W_DL_SRC_HI, W_DL_SRC_LO, W_DL_DST_HI, W_DL_DST_LO]) st.base[w] = st.flow[w]!;
}

function commitNw(st: CommitState): number {
  const { flow, base } = st;
  if (flow[W_NW]! >>> 24 === 0) return 0; // no L3 header (OVS: !flow->nw_proto)
  const dl = base[W_DL_TYPE]! & 0xffff;
  if (dl === ETH_TYPE_IP) {
    const key = read(IPV4_FIELDS, flow);
    const mask = read(IPV4_MASK_FIELDS, st.wc);
    mask[8] = 0; // proto: not writable
    mask[11] = 0; // frag: not writable
    if (commitMask(IPV4_FIELDS, key, read(IPV4_FIELDS, base), mask, true)) {
      pushSet(st, 'ipv4', key, mask);
      copyBits(flow, base, W_NW_SRC, 0xffffffff);
      copyBits(flow, base, W_NW_DST, 0xffffffff);
      copyBits(flow, base, W_NW, 0xffffffff);
    }
    return 0;
  }
  if (dl === ETH_TYPE_IPV6) {
    const key = read(IPV6_FIELDS, flow);
    const mask = read(IPV6_MASK_FIELDS, st.wc);
    mask[32] &= 0x00; // label: only its 20 low bits are writable
    mask[33] &= 0x0f;
    mask[36] = 0; // proto
    mask[39] = 0; // frag
    if (commitMask(IPV6_FIELDS, key, read(IPV6_FIELDS, base), mask, true)) {
      pushSet(st, 'ipv6', key, mask);
      for (let i = 0; i < 4; i++) {
        copyBits(flow, base, W_IPV6_SRC + i, 0xffffffff);
        copyBits(flow, base, W_IPV6_DST + i, 0xffffffff);
      }
      copyBits(flow, base, W_IPV6_LABEL, 0xffffffff);
      copyBits(flow, base, W_NW, 0xffffffff);
    }
    if (base[W_NW]! >>> 24 === 58) return commitNd(st);
    return 0;
  }
  if (dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP) return commitArp(st);
  return 0;
}

/** commit_set_arp_action: masked set, slow path. */
function commitArp(st: CommitState): number {
  const key = read(ARP_FIELDS, st.flow);
  const mask = read(ARP_FIELDS, st.wc);
  if (!commitMask(ARP_FIELDS, key, read(ARP_FIELDS, st.base), mask, true)) return 0;
  st.out.push({ type: 'unsupported', text: `set(arp(${maskedText(ARP_TEXT, key, mask)}))` });
  copyBits(st.flow, st.base, W_NW_SRC, 0xffffffff);
  copyBits(st.flow, st.base, W_NW_DST, 0xffffffff);
  copyBits(st.flow, st.base, W_NW, 0xff000000);
  for (const w of [W_ARP_SHA_HI, W_ARP_SHA_HI + 1, W_ARP_THA_HI, W_ARP_THA_HI + 1]) st.base[w] = st.flow[w]!;
  return SLOW_ACTION;
}

type Fmt = (b: Uint8Array, o: number) => string;
const be16Text: Fmt = (b, o) => String((b[o]! << 8) | b[o + 1]!);
const be16MaskText: Fmt = (b, o) => '0x' + ((b[o]! << 8) | b[o + 1]!).toString(16);
/** [name, offset, bytes, value format, mask format] of each field of a key, for OVS's masked-set text. */
type TextField = readonly [string, number, number, Fmt, Fmt];
const ARP_TEXT: readonly TextField[] = [
  ['sip', 0, 4, ipv4Text, ipv4Text], ['tip', 4, 4, ipv4Text, ipv4Text], ['op', 8, 2, be16Text, be16MaskText],
  ['sha', 10, 6, macText, macText], ['tha', 16, 6, macText, macText],
];
const ND_TEXT: readonly TextField[] = [['target', 0, 16, ipv6Text, ipv6Text], ['sll', 16, 6, macText, macText], ['tll', 22, 6, macText, macText]];
const TP_TEXT: readonly TextField[] = [['src', 0, 2, be16Text, be16MaskText], ['dst', 2, 2, be16Text, be16MaskText]];

/**
 * The fields of a masked set as OVS prints them (format_odp_key_attr with a mask): fields with a
 * zero mask are left out, full masks print `name=value`, partial ones `name=value/mask`.
 */
function maskedText(fields: readonly TextField[], key: Uint8Array, mask: Uint8Array): string {
  const parts: string[] = [];
  const v = key.map((x, i) => x & mask[i]!);
  for (const [name, at, n, fv, fm] of fields) {
    let any = false;
    let full = true;
    for (let i = 0; i < n; i++) {
      if (mask[at + i]) any = true;
      if (mask[at + i] !== 0xff) full = false;
    }
    if (!any) continue;
    parts.push(full ? `${name}=${fv(v, at)}` : `${name}=${fv(v, at)}/${fm(mask, at)}`);
  }
  return parts.join(',');
}

/** commit_set_nd_action (any ICMPv6 packet, as OVS): masked set, slow path. */
function commitNd(st: CommitState): number {
  const key = read(ND_FIELDS, st.flow);
  const mask = read(ND_FIELDS, st.wc);
  if (!commitMask(ND_FIELDS, key, read(ND_FIELDS, st.base), mask, true)) return 0;
  st.out.push({ type: 'unsupported', text: `set(nd(${maskedText(ND_TEXT, key, mask)}))` });
  for (let i = 0; i < 4; i++) st.base[W_ND_TARGET + i] = st.flow[W_ND_TARGET + i]!;
  for (const w of [W_ARP_SHA_HI, W_ARP_SHA_HI + 1, W_ARP_THA_HI, W_ARP_THA_HI + 1]) st.base[w] = st.flow[w]!;
  return SLOW_ACTION;
}

/** commit_set_port_action: TCP/UDP (datapath sets) and SCTP (OVS text, slow path in tsvs). */
function commitPort(st: CommitState): number {
  const { flow, base } = st;
  const proto = flow[W_NW]! >>> 24;
  if (proto === 0) return 0;
  const dl = base[W_DL_TYPE]! & 0xffff;
  if (dl !== ETH_TYPE_IP && dl !== ETH_TYPE_IPV6) return 0;
  const name = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 132 ? 'sctp' : null;
  if (!name) return 0;
  const key = read(TP_FIELDS, flow);
  const mask = read(TP_FIELDS, st.wc);
  if (!commitMask(TP_FIELDS, key, read(TP_FIELDS, base), mask, true)) return 0;
  base[W_TP] = flow[W_TP]!;
  if (name === 'sctp') {
    // OVS's datapaths set SCTP ports (and fix the CRC32c); tsvs's cannot: slow path.
    st.out.push({ type: 'unsupported', text: `set(sctp(${maskedText(TP_TEXT, key, mask)}))` });
    return SLOW_ACTION;
  }
  pushSet(st, name, key, mask);
  return 0;
}

/** commit_set_icmp_action: plain set, slow path. */
function commitIcmp(st: CommitState): number {
  const { flow } = st;
  const dl = flow[W_DL_TYPE]! & 0xffff;
  const proto = flow[W_NW]! >>> 24;
  const name = dl === ETH_TYPE_IP && proto === 1 ? 'icmp' : dl === ETH_TYPE_IPV6 && proto === 58 ? 'icmpv6' : null;
  if (!name) return 0;
  const key = read(ICMP_FIELDS, flow);
  const mask = read(ICMP_FIELDS, st.wc);
  if (!commitMask(ICMP_FIELDS, key, read(ICMP_FIELDS, st.base), mask, false)) return 0;
  st.out.push({ type: 'unsupported', text: `set(${name}(type=${key[0]},code=${key[1]}))` });
  // put_icmp_key of the all-ones mask: tp_src/tp_dst masks become 0x00ff.
  st.wc[W_TP] = 0x00ff00ff;
  st.base[W_TP] = flow[W_TP]!;
  return SLOW_ACTION;
}

function vlanCount(f: Uint32Array): number {
  let n = 0;
  while (n < 2 && f[W_VLAN0 + n]! & VLAN_CFI) n++;
  return n;
}

/** commit_vlan_action: pops the base's VLANs that differ (from the bottom), pushes the flow's. */
function commitVlan(st: CommitState): void {
  const { flow, base } = st;
  let bn = vlanCount(base) - 1;
  let fn = vlanCount(flow) - 1;
  // flow_skip_common_vlan_headers: skip equal headers counting from the innermost.
  while (bn >= 0 && fn >= 0 && base[W_VLAN0 + bn] === flow[W_VLAN0 + fn]) {
    bn--;
    fn--;
  }
  for (; bn >= 0; bn--) {
    st.out.push({ type: 'pop_vlan' });
    st.wc[W_VLAN0 + bn] = 0xffffffff;
  }
  for (; fn >= 0; fn--) {
    const w = flow[W_VLAN0 + fn]!;
    st.out.push({ type: 'push_vlan', tpid: w >>> 16, tci: w & 0xffff });
  }
  base[W_VLAN0] = flow[W_VLAN0]!;
  base[W_VLAN0 + 1] = flow[W_VLAN0 + 1]!;
}

function ipv4Text(b: Uint8Array, o: number): string {
  return formatIp4(((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0);
}

function macText(b: Uint8Array, o: number): string {
  return formatEth((b[o]! << 8) | b[o + 1]!, ((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0);
}

function ipv6Text(b: Uint8Array, o: number): string {
  const w = (i: number): number => ((b[o + i]! << 24) | (b[o + i + 1]! << 16) | (b[o + i + 2]! << 8) | b[o + i + 3]!) >>> 0;
  return formatIp6(w(0), w(4), w(8), w(12));
}
