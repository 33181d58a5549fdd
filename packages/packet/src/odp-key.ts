/**
 * The ODP (datapath) flow key syntax, printed and parsed with masks, as `ovs-appctl
 * dpctl/dump-flows` shows megaflows of the userspace (netdev) datapath, e.g.
 * `recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),
 * ipv4(src=10.0.0.0/255.255.255.0,proto=6,frag=no),tcp(dst=80)`.
 *
 * Sources: OVS 3.1 lib/odp-util.c — `odp_flow_key_from_flow__` (which attributes a key has, in
 * which order, decided by the key's values), `odp_flow_format` / `format_odp_key_attr__` (printing;
 * non-verbose: fully wildcarded attributes and fields are left out, except `eth()` and `encap(...)`,
 * partially masked fields print `value/mask`; verbose, `FormatOdpKeyOptions.verbose` as `dpctl/dump-flows
 * -m`: every attribute and field, wildcarded ones as `value/0`) and `odp_flow_from_string` /
 * `parse_odp_key_mask_attr__` (parsing; a field without `/mask` is exact, an absent field or
 * attribute is wildcarded), with the flow <-> attribute conversions of `get_*_key` / `put_*_key`.
 * Checked against OVS itself: tools/ovs-golden/odp-key-golden.sh.
 *
 * Conventions of this module (words of ./flow-layout.ts):
 * - `recirc_id(0)` is printed first, as dpif-netdev prints it (it always matches recirc_id exactly
 *   and tsvs has no recirculation yet); parsing accepts only recirc_id 0.
 * - VLAN: the outer `eth_type(0x8100)` before `vlan(...)` is the TPID (vlan word bits 31..16; its
 *   mask is printed exact, as OVS exports it), `vlan(vid,pcp,cfi)` the TCI. One level of `encap` is
 *   printed (OVS's default vlan-limit 1), a second one only if the second VLAN word has a TCI.
 * - No `eth_type` (a key with dl_type < 0x600, i.e. 0x05ff for 802.3): parsing gives dl_type 0x05ff
 *   exact, unless ipv4/ipv6/mpls attributes are present (then dl_type is wildcarded, as OVS).
 * - ICMP/ICMPv6 type and code are 8-bit in ODP: a tp mask half prints as its low byte and parses
 *   back as 0x00ff. `nd(...)` is printed only when both halves of the tp mask are exactly 0x00ff
 *   (OVS's rule for exporting ND masks). `nd_ext(...)` is parsed (nd_reserved into the IGMP/ND word,
 *   nd_options_type into the tcp_flags word) but never printed: dpif-netdev does not support it.
 * - ARP `op` is the low byte of nw_proto; a nw_proto mask of 0xff prints as an exact op.
 * - Attributes tsvs has no words for are accepted by the parser only when they can only mean an
 *   Ethernet packet without metadata (`skb_priority(0/0)`, `ct_state(0/0)`, `packet_type(ns=0,id=0)`,
 *   `ufid:...` prefixes: what `dpctl/dump-flows -m` prints) and never printed.
 *
 * Control path only (allocates strings).
 */
import {
  FLOW_WORDS,
  W_IN_PORT,
  W_DL_DST_HI,
  W_DL_SRC_HI,
  W_DL_TYPE,
  W_VLAN0,
  W_MPLS0,
  W_NW_SRC,
  W_NW_DST,
  W_IPV6_SRC,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_NW,
  W_TP,
  W_TCP_FLAGS,
  W_ARP_SHA_HI,
  W_ARP_THA_HI,
  W_ND_TARGET,
  W_IGMP_GROUP,
  VLAN_CFI,
  FLOW_NW_FRAG_ANY,
  FLOW_NW_FRAG_LATER,
} from './flow-layout.js';
import { formatEthMasked, formatIp4, formatIp6 } from './addr-format.js';
import { formatTcpFlags } from './ofctl-format.js';
import { flowWildcardsInitForPacket } from './wildcards.js';
import {
  FlowParseError,
  parseEth,
  parseIp4,
  parseIp6,
  parseScnI,
  parseTcpFlagsText,
  TCP_FLAG_BITS,
} from './text-util.js';

// ---------------------------------------------------------------------------------------------
// Printing

function hx(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** C `%#x`: "0" for zero, else "0x..." */
function altHex(v: number): string {
  return v === 0 ? '0' : hx(v);
}

/** format_u8u / format_be16 / format_u32: decimal value, `/%#x` mask unless full; '' if mask 0 (unless verbose). */
function fieldU(name: string, v: number, m: number, full: number, verbose = false): string {
  if (m === 0 && !verbose) return '';
  return m === full ? `${name}=${v},` : `${name}=${v}/${altHex(m)},`;
}

/** format_u8x: `%#x` value and mask. */
function fieldX(name: string, v: number, m: number, full: number, verbose = false): string {
  if (m === 0 && !verbose) return '';
  return m === full ? `${name}=${altHex(v)},` : `${name}=${altHex(v)}/${altHex(m)},`;
}

function fieldIp4(name: string, v: number, m: number, verbose = false): string {
  if (m === 0 && !verbose) return '';
  return m >>> 0 === 0xffffffff ? `${name}=${formatIp4(v)},` : `${name}=${formatIp4(v)}/${formatIp4(m)},`;
}

function fieldIp6(name: string, key: Uint32Array, k: number, mask: Uint32Array, m: number, w: number, verbose = false): string {
  const m0 = mask[m + w]!, m1 = mask[m + w + 1]!, m2 = mask[m + w + 2]!, m3 = mask[m + w + 3]!;
  if ((m0 | m1 | m2 | m3) === 0 && !verbose) return '';
  const a = formatIp6(key[k + w]!, key[k + w + 1]!, key[k + w + 2]!, key[k + w + 3]!);
  const full = (m0 & m1 & m2 & m3) >>> 0 === 0xffffffff;
  return full ? `${name}=${a},` : `${name}=${a}/${formatIp6(m0, m1, m2, m3)},`;
}

function fieldEth(name: string, key: Uint32Array, k: number, mask: Uint32Array, m: number, hi: number, verbose = false): string {
  const mh = mask[m + hi]! & 0xffff;
  const ml = mask[m + hi + 1]!;
  if (mh === 0 && ml === 0 && !verbose) return '';
  return `${name}=${formatEthMasked(key[k + hi]! & 0xffff, key[k + hi + 1]!, mh, ml)},`;
}

function chomp(s: string): string {
  return s.endsWith(',') ? s.slice(0, -1) : s;
}

/** OVS format_flags_masked for TCP flags, max mask 0x0fff. */
function tcpFlagsMasked(flags: number, mask: number): string {
  if (mask === 0x0fff) return formatTcpFlags(flags);
  if (mask === 0) return '0/0';
  let s = '';
  while (mask) {
    const bit = mask & -mask;
    const name = TCP_FLAG_BITS.find(([b]) => b === bit)?.[1] ?? '[Unknown]';
    s += (flags & bit ? '+' : '-') + name;
    mask &= ~bit;
  }
  return s;
}

function words0(a: Uint32Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[at + i]) return false;
  return true;
}

function isVlanType(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

const exactScratch = new Uint32Array(FLOW_WORDS);

/**
 * The exact-match mask of a datapath flow for the packet whose key is given: OVS
 * `flow_wildcards_init_for_packet` (./wildcards.ts) with ICMP/ICMPv6 type and code masks narrowed
 * to 8 bits, as xlate leaves them (ofproto-dpif-xlate.c `xlate_wc_finish`).
 */
export function odpExactMask(key: Uint32Array, keyBase: number, mask: Uint32Array, maskBase: number): void {
  flowWildcardsInitForPacket(key, keyBase, mask, maskBase);
  const dl = key[keyBase + W_DL_TYPE]! & 0xffff;
  const proto = key[keyBase + W_NW]! >>> 24;
  if ((dl === 0x0800 && proto === 1) || (dl === 0x86dd && proto === 58)) {
    const tm = mask[maskBase + W_TP]!;
    mask[maskBase + W_TP] = ((tm >>> 16 ? 0x00ff0000 : 0) | (tm & 0xffff ? 0x00ff : 0)) >>> 0;
  }
}

/** Options of `formatOdpKey`. */
export interface FormatOdpKeyOptions {
  /**
   * OVS's verbose form (`dpctl/dump-flows -m`, odp_flow_format with verbose): every attribute the
   * netdev datapath exports is printed, wildcarded ones too, and every field of an attribute, a
   * fully wildcarded one as `value/0` (`src=00:00:00:00:00:00/00:00:00:00:00:00`, `tos=0/0`,
   * `dst=::/::`). The key starts with the metadata attributes tsvs keys do not have, printed as
   * dpif-netdev prints them when wildcarded: `skb_priority(0/0),skb_mark(0/0),ct_state(0/0),
   * ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(..),
   * packet_type(ns=0/0,id=0/0),eth(..)`. Checked against OVS 3.1: tools/ovs-golden/odp-key-golden.sh.
   */
  verbose?: boolean;
  /**
   * Datapath port names (`dpctl --names`, implied by -m in OVS): an exact in_port prints as
   * `in_port(NAME)` when this returns a name (as is, OVS odp_portno_name_format), else the number.
   */
  portName?: (odpPort: number) => string | undefined;
}

/**
 * Prints the datapath flow key at `key[keyBase ..]` with mask `mask[maskBase ..]` as
 * `dpctl/dump-flows` does for the netdev datapath (see the file comment); `opts.verbose` as
 * `dpctl/dump-flows -m` (without its `ufid:` prefix). Without a mask, the key
 * is printed as an exact-match flow of that packet (`odpExactMask`). Values are printed as given
 * (OVS prints the stored, unmasked key); which attributes exist depends on the key's dl_type,
 * VLAN TCIs, nw_proto, nw_frag and ICMP type/code, as in OVS.
 * Never throws for in-range bases.
 */
export function formatOdpKey(key: Uint32Array, keyBase: number, mask?: Uint32Array, maskBase = 0, opts?: FormatOdpKeyOptions): string {
  if (!mask) {
    odpExactMask(key, keyBase, exactScratch, 0);
    mask = exactScratch;
    maskBase = 0;
  }
  const v = opts?.verbose ?? false;
  const k = keyBase;
  const m = maskBase;
  let s = v ? 'skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),' : 'recirc_id(0),';
  const inPortMask = mask[m + W_IN_PORT]! >>> 0;
  // odp_flow_key_from_flow__: a key whose in_port is ODPP_NONE has no in_port attribute.
  if ((inPortMask || v) && key[k + W_IN_PORT]! >>> 0 !== 0xffffffff) {
    const p = key[k + W_IN_PORT]! >>> 0;
    s += inPortMask === 0xffffffff ? `in_port(${opts?.portName?.(p) ?? p}),` : `in_port(${p}/${altHex(inPortMask)}),`;
  }
  if (v) s += 'packet_type(ns=0/0,id=0/0),';
  const eth = fieldEth('src', key, k, mask, m, W_DL_SRC_HI, v) + fieldEth('dst', key, k, mask, m, W_DL_DST_HI, v);
  s += `eth(${chomp(eth)}),`;
  s += l2Onward(key, k, mask, m, 0, v);
  return chomp(s);
}

/** Attributes from the VLAN headers (level `lvl`) inward; each ends with ','. `v`: verbose. */
function l2Onward(key: Uint32Array, k: number, mask: Uint32Array, m: number, lvl: number, v: boolean): string {
  const dl = key[k + W_DL_TYPE]! & 0xffff;
  if (lvl < 2) {
    const vw = key[k + W_VLAN0 + lvl]!;
    let tci = vw & 0xffff;
    let tpid = vw >>> 16;
    // A truncated outer VLAN header leaves tci 0 and its TPID in dl_type (OVS vlan-limit 1).
    const truncated = tci === 0 && lvl === 0 && isVlanType(dl);
    if (tci !== 0 || truncated) {
      if (truncated) tpid = dl;
      tci = truncated ? 0 : tci;
      let s = `eth_type(0x${tpid.toString(16).padStart(4, '0')}),`;
      const tm = mask[m + W_VLAN0 + lvl]! & 0xffff;
      if (tm || v) s += `vlan(${formatVlanTci(tci, tm, v)}),`;
      s += `encap(${chomp(truncated ? '' : l2Onward(key, k, mask, m, lvl + 1, v))}),`;
      return s;
    }
  }
  if (dl < 0x600) return '';
  let s = '';
  const dm = mask[m + W_DL_TYPE]! & 0xffff;
  if (dm || v) s += `eth_type(0x${dl.toString(16).padStart(4, '0')}${dm === 0xffff ? '' : '/0x' + dm.toString(16).padStart(4, '0')}),`;
  if (isVlanType(dl)) return s;
  const nw = key[k + W_NW]!;
  const nwm = mask[m + W_NW]!;
  const proto = nw >>> 24;
  const ip4 = dl === 0x0800;
  const ip6 = dl === 0x86dd;
  if (ip4 || ip6) {
    const fragKey = !(nw & FLOW_NW_FRAG_ANY) ? 'no' : nw & FLOW_NW_FRAG_LATER ? 'later' : 'first';
    // format_frag: printed only when masked, verbose or not.
    const frag = nwm & FLOW_NW_FRAG_ANY ? `frag=${fragKey},` : '';
    let body: string;
    if (ip4) {
      body = fieldIp4('src', key[k + W_NW_SRC]!, mask[m + W_NW_SRC]!, v) +
        fieldIp4('dst', key[k + W_NW_DST]!, mask[m + W_NW_DST]!, v) +
        fieldU('proto', proto, nwm >>> 24, 0xff, v) +
        fieldX('tos', (nw >>> 16) & 0xff, (nwm >>> 16) & 0xff, 0xff, v) +
        fieldU('ttl', (nw >>> 8) & 0xff, (nwm >>> 8) & 0xff, 0xff, v) + frag;
    } else {
      const lm = mask[m + W_IPV6_LABEL]! >>> 0;
      const lv = key[k + W_IPV6_LABEL]! >>> 0;
      const label = lm === 0 && !v ? '' : (lm & 0xfffff) === 0xfffff ? `label=${altHex(lv)},` : `label=${altHex(lv)}/${altHex(lm)},`;
      body = fieldIp6('src', key, k, mask, m, W_IPV6_SRC, v) + fieldIp6('dst', key, k, mask, m, W_IPV6_DST, v) + label +
        fieldU('proto', proto, nwm >>> 24, 0xff, v) +
        fieldX('tclass', (nw >>> 16) & 0xff, (nwm >>> 16) & 0xff, 0xff, v) +
        fieldU('hlimit', (nw >>> 8) & 0xff, (nwm >>> 8) & 0xff, 0xff, v) + frag;
    }
    // is_wildcard (odp_mask_is_constant__): an IPv6 label mask counts only in its 20 bits, frag
    // only through FLOW_NW_FRAG_ANY.
    const wild = ((nwm & 0xffffff00) | (nwm & FLOW_NW_FRAG_ANY)) === 0 && (ip4
      ? (mask[m + W_NW_SRC]! | mask[m + W_NW_DST]!) === 0
      : (mask[m + W_IPV6_LABEL]! & 0xfffff) === 0 && words0(mask, m + W_IPV6_SRC, 8));
    if (!wild || v) s += `${ip4 ? 'ipv4' : 'ipv6'}(${chomp(body)}),`;
    if (!(nw & FLOW_NW_FRAG_LATER)) s += l4(key, k, mask, m, ip4, proto, v);
  } else if (dl === 0x0806 || dl === 0x8035) {
    const pm = nwm >>> 24;
    const body = fieldIp4('sip', key[k + W_NW_SRC]!, mask[m + W_NW_SRC]!, v) +
      fieldIp4('tip', key[k + W_NW_DST]!, mask[m + W_NW_DST]!, v) +
      fieldU('op', proto, pm === 0xff ? 0xffff : pm, 0xffff, v) +
      fieldEth('sha', key, k, mask, m, W_ARP_SHA_HI, v) + fieldEth('tha', key, k, mask, m, W_ARP_THA_HI, v);
    if (body) s += `arp(${chomp(body)}),`;
  } else if (dl === 0x8847 || dl === 0x8848) {
    s += mplsAttr(key, k, mask, m, v);
  }
  return s;
}

/** OVS format_vlan_tci. */
function formatVlanTci(tci: number, mask: number, verbose: boolean): string {
  let s = '';
  if (verbose || (tci & 0xfff) || (mask & 0xfff)) s += `vid=${tci & 0xfff}${(mask & 0xfff) !== 0xfff ? '/0x' + (mask & 0xfff).toString(16) : ''},`;
  if (verbose || (tci >>> 13) || (mask >>> 13)) s += `pcp=${tci >>> 13}${(mask >>> 13) !== 7 ? '/0x' + (mask >>> 13).toString(16) : ''},`;
  if (!(tci & VLAN_CFI)) s += 'cfi=0,';
  return chomp(s);
}

/** The number of MPLS label stack entries in a key (OVS flow_count_mpls_labels). */
function mplsCount(key: Uint32Array, k: number): number {
  let cnt = 0;
  for (let i = 0; i < 3; i++) {
    const lse = key[k + W_MPLS0 + i]!;
    if (lse & 0x100) return i + 1;
    if (lse) cnt++;
  }
  return cnt;
}

function mplsAttr(key: Uint32Array, k: number, mask: Uint32Array, m: number, v: boolean): string {
  const n = mplsCount(key, k);
  let any = 0;
  let all = 0xffffffff;
  for (let i = 0; i < n; i++) {
    any |= mask[m + W_MPLS0 + i]!;
    all &= mask[m + W_MPLS0 + i]!;
  }
  if (n === 0 || (any === 0 && !v)) return '';
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const val = key[k + W_MPLS0 + i]! >>> 0;
    const mk = mask[m + W_MPLS0 + i]! >>> 0;
    if (all >>> 0 === 0xffffffff) {
      parts.push(`label=${val >>> 12},tc=${(val >>> 9) & 7},ttl=${val & 0xff},bos=${(val >>> 8) & 1}`);
    } else {
      parts.push(`label=${val >>> 12}/0x${(mk >>> 12).toString(16)},tc=${(val >>> 9) & 7}/${((mk >>> 9) & 7).toString(16)},` +
        `ttl=${val & 0xff}/0x${(mk & 0xff).toString(16)},bos=${(val >>> 8) & 1}/${((mk >>> 8) & 1).toString(16)}`);
    }
  }
  return `mpls(${parts.join(',')}),`;
}

function l4(key: Uint32Array, k: number, mask: Uint32Array, m: number, ip4: boolean, proto: number, v: boolean): string {
  const tp = key[k + W_TP]!;
  const tpm = mask[m + W_TP]!;
  const ports = (): string => fieldU('src', tp >>> 16, tpm >>> 16, 0xffff, v) + fieldU('dst', tp & 0xffff, tpm & 0xffff, 0xffff, v);
  if (proto === 6) {
    let s = '';
    const p = ports();
    if (p) s += `tcp(${chomp(p)}),`;
    const f = key[k + W_TCP_FLAGS]! & 0xffff;
    const fm = mask[m + W_TCP_FLAGS]! & 0xffff;
    // The attribute exists when the key or the mask has flags; verbose prints it wildcarded too (`0/0`).
    if ((f || fm) && ((fm & 0x0fff) || v)) s += `tcp_flags(${tcpFlagsMasked(f, fm & 0x0fff)}),`;
    return s;
  }
  if (proto === 17 || proto === 132) {
    const p = ports();
    return p ? `${proto === 17 ? 'udp' : 'sctp'}(${chomp(p)}),` : '';
  }
  if (ip4 ? proto === 1 : proto === 58) {
    const type = (tp >>> 16) & 0xff;
    const code = tp & 0xff;
    const body = fieldU('type', type, (tpm >>> 16) & 0xff, 0xff, v) + fieldU('code', code, tpm & 0xff, 0xff, v);
    let s = body ? `${ip4 ? 'icmp' : 'icmpv6'}(${chomp(body)}),` : '';
    const nd = !ip4 && (tp & 0xffff) === 0 && ((tp >>> 16) === 135 || (tp >>> 16) === 136);
    // The mask has an nd attribute only for an exact ICMPv6 type; verbose prints the key's anyway,
    // against an all-wildcard mask (odp_flow_format: generate_all_wildcard_mask).
    const ndMasked = tpm >>> 0 === 0x00ff00ff;
    if (nd && (ndMasked || v)) {
      const mk = ndMasked ? mask : zeroMask;
      const mb = ndMasked ? m : 0;
      const ndBody = fieldIp6('target', key, k, mk, mb, W_ND_TARGET, v) +
        fieldEth('sll', key, k, mk, mb, W_ARP_SHA_HI, v) + fieldEth('tll', key, k, mk, mb, W_ARP_THA_HI, v);
      if (ndBody) s += `nd(${chomp(ndBody)}),`;
    }
    return s;
  }
  return '';
}

/** An all-wildcard mask (never written). */
const zeroMask = new Uint32Array(FLOW_WORDS);

// ---------------------------------------------------------------------------------------------
// Parsing

interface Attr {
  name: string;
  /** Text between the parentheses. */
  body: string;
  at: number;
  /** For encap(...): the attributes inside. */
  inner?: Attr[];
}

const DELIMS = ', \t\r\n';

function err(msg: string, token: string): FlowParseError {
  return new FlowParseError(msg, token);
}

/** Splits `s[from..to)` into attributes `name(body)`, skipping `ufid:<uuid>` items. */
function splitAttrs(s: string, from: number, to: number, depth: number): Attr[] {
  if (depth > 3) throw err('encap(...) nested too deeply', s.slice(from, to));
  const out: Attr[] = [];
  let i = from;
  for (;;) {
    while (i < to && DELIMS.includes(s[i]!)) i++;
    if (i >= to) return out;
    const ufid = /^ufid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/.exec(s.slice(i, to));
    if (depth === 0 && ufid) {
      i += ufid[0].length;
      continue;
    }
    const open = s.indexOf('(', i);
    const nameEnd = open < 0 || open > to ? to : open;
    const name = s.slice(i, nameEnd);
    if (!/^[a-z_0-9]+$/.test(name)) {
      const tok = s.slice(i, to).split(/[,\s]/)[0]!;
      throw err(`syntax error at "${tok}" (expected attribute(...))`, tok);
    }
    if (nameEnd === to) throw err(`missing "(" after "${name}"`, name);
    let level = 0;
    let j = open;
    for (; j < to; j++) {
      if (s[j] === '(') level++;
      else if (s[j] === ')' && --level === 0) break;
    }
    if (j >= to) throw err(`missing ")" in "${s.slice(i, to)}"`, s.slice(i, to));
    const body = s.slice(open + 1, j);
    const attr: Attr = { name, body, at: i };
    if (name === 'encap') attr.inner = splitAttrs(s, open + 1, j, depth + 1);
    out.push(attr);
    i = j + 1;
  }
}

/** Splits an attribute body into `name=value` fields (OVS: separated by ',' only). */
function fields(a: Attr): Array<[string, string]> {
  if (a.body === '') return [];
  return a.body.split(',').map((f) => {
    const eq = f.indexOf('=');
    if (eq <= 0) throw err(`bad field "${f}" in ${a.name}(...)`, f);
    return [f.slice(0, eq), f.slice(eq + 1)];
  });
}

function splitMask(v: string): [string, string | undefined] {
  const i = v.indexOf('/');
  return i < 0 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)];
}

function badValue(a: Attr, f: string, v: string): FlowParseError {
  return err(`bad value "${v}" for ${a.name}(${f}=...)`, v);
}

/** An integer of `bits` with optional `/mask`; mask defaults to all ones of `bits`. */
function num(a: Attr, f: string, v: string, bits: number): [number, number] {
  const [vs, ms] = splitMask(v);
  const full = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const x = parseScnI(vs, bits);
  const mm = ms === undefined ? full : parseScnI(ms, bits);
  if (x === undefined || mm === undefined) throw badValue(a, f, v);
  return [x, mm];
}

function ip4(a: Attr, f: string, v: string): [number, number] {
  const [vs, ms] = splitMask(v);
  const x = parseIp4(vs);
  const mm = ms === undefined ? 0xffffffff : parseIp4(ms);
  if (x === undefined || mm === undefined) throw badValue(a, f, v);
  return [x, mm];
}

function ip6(a: Attr, f: string, v: string, key: Uint32Array, mask: Uint32Array, w: number): void {
  const [vs, ms] = splitMask(v);
  if (!parseIp6(vs, key, w)) throw badValue(a, f, v);
  if (ms === undefined) for (let i = 0; i < 4; i++) mask[w + i] = 0xffffffff;
  else if (!parseIp6(ms, mask, w)) throw badValue(a, f, v);
}

function eth(a: Attr, f: string, v: string, key: Uint32Array, mask: Uint32Array, hi: number): void {
  const [vs, ms] = splitMask(v);
  const x = parseEth(vs);
  const mm = ms === undefined ? [0xffff, 0xffffffff] as const : parseEth(ms);
  if (!x || !mm) throw badValue(a, f, v);
  key[hi] = x[0];
  key[hi + 1] = x[1];
  mask[hi] = mm[0];
  mask[hi + 1] = mm[1];
}

/** Sets bits `bits` (pre-shifted) of word w: key value and mask. */
function put(key: Uint32Array, mask: Uint32Array, w: number, bits: number, v: number, vm: number): void {
  key[w] = ((key[w]! & ~bits) | (v & bits)) >>> 0;
  mask[w] = ((mask[w]! & ~bits) | (vm & bits)) >>> 0;
}

function unknownField(a: Attr, f: string): FlowParseError {
  return err(`unknown field "${f}" in ${a.name}(...)`, f);
}

/** Options for `parseOdpKey`. */
export interface ParseOdpKeyOptions {
  /** Resolves a port name in `in_port(name)` to its odp port number. */
  portByName?: (name: string) => number | undefined;
}

/** A parsed ODP key: key and mask, FLOW_WORDS each, key masked (key & mask). */
export interface ParsedOdpKey {
  key: Uint32Array;
  mask: Uint32Array;
}

/** Metadata attributes tsvs has no words for: accepted only if zero or fully wildcarded. */
const ZERO_ONLY = new Set(['skb_priority', 'skb_mark', 'dp_hash', 'ct_state', 'ct_zone', 'ct_mark', 'ct_label']);

/**
 * Parses an ODP flow key with masks, as `dpctl/add-flow` takes and `dpctl/dump-flows` prints it
 * (see the file comment), e.g. `in_port(1),eth(src=00:00:00:00:00:01),eth_type(0x0800),
 * ipv4(src=10.0.0.0/255.255.255.0,proto=6,frag=no),tcp(dst=80)`. Like OVS's
 * `odp_flow_from_string`, it checks syntax and values, not whether the attributes make a
 * consistent datapath flow.
 * @throws FlowParseError naming the bad token: unknown attribute or field, bad value, missing
 *   parenthesis, or an attribute tsvs does not support (tunnel, conntrack, recirc_id other than 0,
 *   non-Ethernet packet types).
 */
export function parseOdpKey(text: string, opts?: ParseOdpKeyOptions): ParsedOdpKey {
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  const attrs = splitAttrs(text, 0, text.length, 0);
  // Without eth(...) OVS reads the key as a non-Ethernet packet (packet_type from eth_type),
  // unless packet_type(ns=0,id=0) says Ethernet.
  const ethernet = attrs.some((a) => a.name === 'eth' ||
    (a.name === 'packet_type' && /^ns=(0|0x0+),id=(0|0x0+)$/i.test(a.body)));
  if (!ethernet) {
    throw err('missing eth(...): without it OVS means a non-Ethernet packet, which tsvs does not support', text.slice(0, 40));
  }
  applyLevel(attrs, 0, key, mask, opts);
  for (let i = 0; i < FLOW_WORDS; i++) key[i] = key[i]! & mask[i]!;
  return { key, mask };
}

function applyLevel(attrs: Attr[], lvl: number, key: Uint32Array, mask: Uint32Array, opts?: ParseOdpKeyOptions): void {
  let ethType: [number, number] | undefined;
  let vlan: Attr | undefined;
  let encap: Attr | undefined;
  let l3 = false;
  for (const a of attrs) {
    switch (a.name) {
      case 'eth_type': {
        const [v, vm] = num(a, 'eth_type', a.body, 16);
        ethType = [v, vm];
        break;
      }
      case 'vlan':
        vlan = a;
        break;
      case 'encap':
        encap = a;
        break;
      case 'ipv4':
      case 'ipv6':
      case 'mpls':
        l3 = true;
        applyAttr(a, key, mask, opts);
        break;
      default:
        applyAttr(a, key, mask, opts);
    }
  }
  if (vlan && !encap) throw err('vlan(...) without encap(...)', 'vlan');
  if (encap) {
    if (lvl >= 2) throw err('more than two VLAN headers', 'encap');
    const w = W_VLAN0 + lvl;
    if (ethType) put(key, mask, w, 0xffff0000, ethType[0] << 16, ethType[1] << 16);
    if (vlan) {
      // OVS initializes key and mask of vlan() with the CFI bit (SCAN_BEGIN_INIT).
      let tci = VLAN_CFI;
      let tm = VLAN_CFI;
      for (const [f, v] of fields(vlan)) {
        const [bits, shift] = f === 'vid' ? [12, 0] : f === 'pcp' ? [3, 13] : f === 'cfi' ? [1, 12] : [0, 0];
        if (!bits) throw unknownField(vlan, f);
        const [x, xm] = num(vlan, f, v, bits);
        const field = ((1 << bits) - 1) << shift;
        tci = (tci & ~field) | (x << shift);
        tm = v.includes('/') ? (tm & ~field) | (xm << shift) : tm | field;
      }
      put(key, mask, w, 0xffff, tci, tm);
    }
    applyLevel(encap.inner ?? [], lvl + 1, key, mask, opts);
    return;
  }
  if (ethType) {
    key[W_DL_TYPE] = ethType[0];
    mask[W_DL_TYPE] = ethType[1];
  } else if (!l3) {
    // No Ethertype: an 802.3 frame (OVS FLOW_DL_TYPE_NONE, matched exactly).
    key[W_DL_TYPE] = 0x05ff;
    mask[W_DL_TYPE] = 0xffff;
  }
}

const FRAG_KEY: Record<string, number> = { no: 0, first: FLOW_NW_FRAG_ANY, later: FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER };

function frag(a: Attr, v: string, key: Uint32Array, mask: Uint32Array): void {
  const fk = FRAG_KEY[v.toLowerCase()];
  if (fk === undefined) throw badValue(a, 'frag', v);
  put(key, mask, W_NW, 0xff, fk, 3);
}

function applyAttr(a: Attr, key: Uint32Array, mask: Uint32Array, opts?: ParseOdpKeyOptions): void {
  switch (a.name) {
    case 'recirc_id': {
      const v = parseScnI(a.body, 32);
      if (v === undefined) throw badValue(a, 'recirc_id', a.body);
      if (v !== 0) throw err(`recirc_id(${a.body}) is not supported (tsvs has no recirculation; only recirc_id(0))`, a.body);
      return;
    }
    case 'packet_type': {
      for (const [f, v] of fields(a)) {
        if (f !== 'ns' && f !== 'id') throw unknownField(a, f);
        const [x, xm] = num(a, f, v, 16);
        if ((x & xm) !== 0) throw err(`packet_type(${a.body}) is not supported (tsvs has only Ethernet packets)`, a.body);
      }
      return;
    }
    case 'in_port': {
      const [vs, ms] = splitMask(a.body);
      let p = parseScnI(vs, 32);
      if (p === undefined && ms === undefined && opts?.portByName) p = opts.portByName(vs);
      const pm = ms === undefined ? 0xffffffff : parseScnI(ms, 32);
      if (p === undefined || pm === undefined) throw badValue(a, 'in_port', a.body);
      key[W_IN_PORT] = p;
      mask[W_IN_PORT] = pm;
      return;
    }
    case 'eth':
      for (const [f, v] of fields(a)) {
        if (f === 'src') eth(a, f, v, key, mask, W_DL_SRC_HI);
        else if (f === 'dst') eth(a, f, v, key, mask, W_DL_DST_HI);
        else throw unknownField(a, f);
      }
      return;
    case 'mpls': {
      // SCAN_BEGIN_ARRAY: a field seen again starts the next label stack entry.
      let idx = 0;
      let seen = 0;
      const names = ['label', 'tc', 'ttl', 'bos'];
      const layout: Record<string, [number, number]> = { label: [20, 12], tc: [3, 9], ttl: [8, 0], bos: [1, 8] };
      for (const [f, v] of fields(a)) {
        const fi = names.indexOf(f);
        if (fi < 0) throw unknownField(a, f);
        if (seen & (1 << fi)) {
          seen = 0;
          if (++idx === 3) throw err(`more than 3 MPLS label stack entries in mpls(...)`, f);
        }
        seen |= 1 << fi;
        const [bits, shift] = layout[f]!;
        const [x, xm] = num(a, f, v, bits);
        const field = (((2 ** bits) - 1) * 2 ** shift) >>> 0;
        put(key, mask, W_MPLS0 + idx, field, (x * 2 ** shift) >>> 0, (xm * 2 ** shift) >>> 0);
      }
      return;
    }
    case 'ipv4':
      for (const [f, v] of fields(a)) {
        switch (f) {
          case 'src': { const [x, xm] = ip4(a, f, v); put(key, mask, W_NW_SRC, 0xffffffff, x, xm); break; }
          case 'dst': { const [x, xm] = ip4(a, f, v); put(key, mask, W_NW_DST, 0xffffffff, x, xm); break; }
          case 'proto': { const [x, xm] = num(a, f, v, 8); put(key, mask, W_NW, 0xff000000, x << 24, xm << 24); break; }
          case 'tos': { const [x, xm] = num(a, f, v, 8); put(key, mask, W_NW, 0x00ff0000, x << 16, xm << 16); break; }
          case 'ttl': { const [x, xm] = num(a, f, v, 8); put(key, mask, W_NW, 0x0000ff00, x << 8, xm << 8); break; }
          case 'frag': frag(a, v, key, mask); break;
          default: throw unknownField(a, f);
        }
      }
      return;
    case 'ipv6':
      for (const [f, v] of fields(a)) {
        switch (f) {
          case 'src': ip6(a, f, v, key, mask, W_IPV6_SRC); break;
          case 'dst': ip6(a, f, v, key, mask, W_IPV6_DST); break;
          case 'label': {
            const [x, xm] = num(a, f, v, 20);
            key[W_IPV6_LABEL] = x;
            mask[W_IPV6_LABEL] = v.includes('/') ? xm : 0xfffff;
            break;
          }
          case 'proto': { const [x, xm] = num(a, f, v, 8); put(key, mask, W_NW, 0xff000000, x << 24, xm << 24); break; }
          case 'tclass': { const [x, xm] = num(a, f, v, 8); put(key, mask, W_NW, 0x00ff0000, x << 16, xm << 16); break; }
          case 'hlimit': { const [x, xm] = num(a, f, v, 8); put(key, mask, W_NW, 0x0000ff00, x << 8, xm << 8); break; }
          case 'frag': frag(a, v, key, mask); break;
          default: throw unknownField(a, f);
        }
      }
      return;
    case 'tcp':
    case 'udp':
    case 'sctp':
      for (const [f, v] of fields(a)) {
        const [x, xm] = num(a, f, v, 16);
        if (f === 'src') put(key, mask, W_TP, 0xffff0000, x << 16, xm << 16);
        else if (f === 'dst') put(key, mask, W_TP, 0x0000ffff, x, xm);
        else throw unknownField(a, f);
      }
      return;
    case 'tcp_flags': {
      const r = parseTcpFlagsText(a.body, 0xffff);
      if (typeof r === 'string') throw err(`bad value "${a.body}" for tcp_flags(...): ${r}`, a.body);
      put(key, mask, W_TCP_FLAGS, 0xffff, r[0], r[1]);
      return;
    }
    case 'icmp':
    case 'icmpv6':
      for (const [f, v] of fields(a)) {
        const [x, xm] = num(a, f, v, 8);
        if (f === 'type') put(key, mask, W_TP, 0xffff0000, x << 16, xm << 16);
        else if (f === 'code') put(key, mask, W_TP, 0x0000ffff, x, xm);
        else throw unknownField(a, f);
      }
      return;
    case 'arp':
      for (const [f, v] of fields(a)) {
        switch (f) {
          case 'sip': { const [x, xm] = ip4(a, f, v); put(key, mask, W_NW_SRC, 0xffffffff, x, xm); break; }
          case 'tip': { const [x, xm] = ip4(a, f, v); put(key, mask, W_NW_DST, 0xffffffff, x, xm); break; }
          case 'op': {
            const [x, xm] = num(a, f, v, 16);
            // odp_flow_key_to_flow rejects opcodes above 255 (the flow keeps 8 bits).
            if (x > 0xff) throw err(`bad value "${v}" for arp(op=...): ARP opcodes above 255 are not supported`, v);
            put(key, mask, W_NW, 0xff000000, x << 24, (xm & 0xff) << 24);
            break;
          }
          case 'sha': eth(a, f, v, key, mask, W_ARP_SHA_HI); break;
          case 'tha': eth(a, f, v, key, mask, W_ARP_THA_HI); break;
          default: throw unknownField(a, f);
        }
      }
      return;
    case 'nd':
      for (const [f, v] of fields(a)) {
        if (f === 'target') ip6(a, f, v, key, mask, W_ND_TARGET);
        else if (f === 'sll') eth(a, f, v, key, mask, W_ARP_SHA_HI);
        else if (f === 'tll') eth(a, f, v, key, mask, W_ARP_THA_HI);
        else throw unknownField(a, f);
      }
      return;
    case 'nd_ext':
      for (const [f, v] of fields(a)) {
        if (f === 'nd_reserved') {
          const [x, xm] = num(a, f, v, 32);
          key[W_IGMP_GROUP] = x;
          mask[W_IGMP_GROUP] = xm;
        } else if (f === 'nd_options_type') {
          const [x, xm] = num(a, f, v, 8);
          put(key, mask, W_TCP_FLAGS, 0xffff, x, xm);
        } else {
          throw unknownField(a, f);
        }
      }
      return;
    case 'eth_type':
    case 'vlan':
    case 'encap':
      return; // handled by applyLevel
    default:
      if (ZERO_ONLY.has(a.name)) {
        const [vs, ms] = splitMask(a.body);
        const zero = (t: string | undefined): boolean => t !== undefined && /^(0|0x0+)$/i.test(t);
        if (zero(vs) || zero(ms)) return;
        throw err(`${a.name}(${a.body}) is not supported by tsvs (only zero or wildcarded)`, `${a.name}(${a.body})`);
      }
      if (['tunnel', 'ct_tuple4', 'ct_tuple6', 'nsh'].includes(a.name)) {
        throw err(`attribute "${a.name}(...)" is not supported by tsvs`, a.name);
      }
      throw err(`unknown attribute "${a.name}(...)"`, a.name);
  }
}
