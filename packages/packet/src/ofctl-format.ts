/**
 * Printing flow keys and masks in the ovs-ofctl match syntax (`man ovs-fields`, `man ovs-ofctl`):
 * a port of OVS 3.1 `match_format()` (lib/match.c) and `flow_format()` (lib/flow.c).
 *
 * - `formatMatch(key, kb, mask, mb)`: a match = key + mask, e.g.
 *   `tcp,in_port=1,nw_src=10.0.0.0/24,tp_dst=80`. Field order, protocol shorthands (ip, tcp, udp,
 *   sctp, icmp, ipv6, tcp6, udp6, sctp6, icmp6, arp, rarp, mpls, mplsm), the dl_vlan/dl_vlan_pcp
 *   vs vlan_tci choice, `/mask` forms and number bases are OVS's. As in OVS, values are printed as
 *   given: pass a masked key (`key & mask`) for canonical output.
 * - `formatFlow(key, kb)`: a packet's key, as `ofproto/trace` prints it after `Flow: ` (OVS
 *   `flow_format`: the mask of `flowWildcardsInitForPacket`, in_port dropped when 0).
 *
 * Only the fields the flow key has (./flow-layout.ts) are printed: no tunnel, metadata, registers,
 * conntrack or packet_type fields. Neither function throws for in-range bases; both allocate
 * (strings), so they are for control paths, not per packet.
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
import { formatEthMasked, formatIp4Masked, formatIp6Masked } from './addr-format.js';
import { flowWildcardsInitForPacket } from './wildcards.js';

/** OFP_DEFAULT_PRIORITY: `priority=` is printed only for other values. */
export const OFP_DEFAULT_PRIORITY = 0x8000;

export interface FormatMatchOptions {
  /** Rule priority; printed first as `priority=N,` unless it is OFP_DEFAULT_PRIORITY (32768). */
  priority?: number;
  /**
   * Port names (ovs-ofctl --names): the name of OpenFlow port `ofport`, or undefined to print the
   * number. Reserved ports keep their names (LOCAL, ...); names are quoted as `formatPortName` does.
   */
  portName?: (ofport: number) => string | undefined;
}

/** OpenFlow reserved port names (OVS `OFPUTIL_NAMED_PORTS`, OpenFlow 1.0 numbering). */
const RESERVED_PORTS: Record<number, string> = {
  0xfff7: 'UNSET',
  0xfff8: 'IN_PORT',
  0xfff9: 'TABLE',
  0xfffa: 'NORMAL',
  0xfffb: 'FLOOD',
  0xfffc: 'ALL',
  0xfffd: 'CONTROLLER',
  0xfffe: 'LOCAL',
  0xffff: 'ANY',
};

/** OVS `ofputil_format_port` without a port-name map: a reserved name or the decimal number. */
export function formatOfpPort(port: number): string {
  return RESERVED_PORTS[port] ?? String(port >>> 0);
}

/**
 * A port name as ovs-ofctl prints it (OVS 3.1 lib/namemap.c `namemap_put_name`): as is when it is
 * a letter followed by letters and digits, else as a JSON string (`"p-1"`, `"4x"`, `"a b"`).
 */
export function formatPortName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : JSON.stringify(name);
}

/** OVS `ofputil_format_port`: a reserved name, else `portName`'s name (quoted if need be), else the number. */
function formatMatchPort(port: number, portName: ((ofport: number) => string | undefined) | undefined): string {
  const reserved = RESERVED_PORTS[port];
  if (reserved !== undefined) return reserved;
  const name = portName?.(port);
  return name !== undefined ? formatPortName(name) : String(port >>> 0);
}

/** TCP flag bit names (OVS `packet_tcp_flag_to_string`). */
const TCP_FLAG_NAMES: Record<number, string> = {
  0x001: 'fin', 0x002: 'syn', 0x004: 'rst', 0x008: 'psh', 0x010: 'ack', 0x020: 'urg',
  0x040: 'ece', 0x080: 'cwr', 0x100: 'ns', 0x200: '[200]', 0x400: '[400]', 0x800: '[800]',
};

/** OVS `format_flags` with '|' for TCP flags: names from the lowest bit up, unknown bits as hex. */
export function formatTcpFlags(flags: number): string {
  if (flags === 0) return '0';
  let s = '';
  let bad = 0;
  while (flags) {
    const bit = flags & -flags;
    const name = TCP_FLAG_NAMES[bit];
    if (name !== undefined) s += (s ? '|' : '') + name;
    else bad |= bit;
    flags &= ~bit;
  }
  if (bad) s += (s ? '|' : '') + '0x' + (bad >>> 0).toString(16);
  return s;
}

/** OVS `format_flags_masked` for TCP flags (max mask 0x0fff). */
function formatTcpFlagsMasked(flags: number, mask: number): string {
  if (mask === 0x0fff) return formatTcpFlags(flags);
  if (mask === 0) return '0/0';
  let s = '';
  while (mask) {
    const bit = mask & -mask;
    s += (flags & bit ? '+' : '-') + (TCP_FLAG_NAMES[bit] ?? '[Unknown]');
    mask &= ~bit;
  }
  return s;
}

/** OVS `format_be16_masked`: decimal when exact, `0x%x/0x%x` otherwise; nothing if mask is 0. */
function be16Masked(name: string, value: number, mask: number): string {
  if (mask === 0) return '';
  return mask === 0xffff ? `${name}=${value},` : `${name}=0x${value.toString(16)}/0x${mask.toString(16)},`;
}

/** OVS `format_be32_masked`: decimal when exact, `0x%08x/0x%08x` otherwise; nothing if mask is 0. */
function be32Masked(name: string, value: number, mask: number): string {
  value >>>= 0;
  mask >>>= 0;
  if (mask === 0) return '';
  return mask === 0xffffffff
    ? `${name}=${value},`
    : `${name}=0x${value.toString(16).padStart(8, '0')}/0x${mask.toString(16).padStart(8, '0')},`;
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

function ethField(name: string, key: Uint32Array, k: number, mask: Uint32Array, m: number, hiW: number): string {
  const mhi = mask[m + hiW]! & 0xffff;
  const mlo = mask[m + hiW + 1]!;
  if (mhi === 0 && mlo === 0) return '';
  return `${name}=${formatEthMasked(key[k + hiW]! & 0xffff, key[k + hiW + 1]!, mhi, mlo)},`;
}

function ip4Field(name: string, value: number, mask: number): string {
  return mask === 0 ? '' : `${name}=${formatIp4Masked(value, mask)},`;
}

function ip6Field(name: string, key: Uint32Array, k: number, mask: Uint32Array, m: number, w: number): string {
  const m0 = mask[m + w]!;
  const m1 = mask[m + w + 1]!;
  const m2 = mask[m + w + 2]!;
  const m3 = mask[m + w + 3]!;
  if ((m0 | m1 | m2 | m3) === 0) return '';
  return `${name}=${formatIp6Masked(key[k + w]!, key[k + w + 1]!, key[k + w + 2]!, key[k + w + 3]!, m0, m1, m2, m3)},`;
}

/**
 * OVS `match_format()` of the match whose key is at `key[keyBase ..]` and mask at
 * `mask[maskBase ..]` (flow key layout). Returns e.g. `tcp,in_port=1,nw_src=10.0.0.0/24,tp_dst=80`;
 * the empty string for a catch-all mask (OVS prints nothing either).
 */
export function formatMatch(
  key: Uint32Array,
  keyBase: number,
  mask: Uint32Array,
  maskBase: number,
  opts?: FormatMatchOptions,
): string {
  const k = keyBase;
  const m = maskBase;
  let s = '';
  if (opts?.priority !== undefined && opts.priority !== OFP_DEFAULT_PRIORITY) s += `priority=${opts.priority},`;

  const dlType = key[k + W_DL_TYPE]! & 0xffff;
  const dlTypeMask = mask[m + W_DL_TYPE]! & 0xffff;
  const nw = key[k + W_NW]!;
  const nwMask = mask[m + W_NW]!;
  const proto = nw >>> 24;
  const protoMask = nwMask >>> 24;
  const isIp4 = dlType === 0x0800;
  const isIp6 = dlType === 0x86dd;
  const isArp = dlType === 0x0806 || dlType === 0x8035;

  let skipType = false;
  let skipProto = false;
  if (dlTypeMask) {
    skipType = true;
    if (isIp4 || isIp6) {
      const six = isIp6 ? '6' : '';
      let name = isIp6 ? 'ipv6' : 'ip';
      if (protoMask) {
        skipProto = true;
        if (proto === (isIp6 ? 58 : 1)) name = isIp6 ? 'icmp6' : 'icmp';
        else if (proto === 6) name = 'tcp' + six;
        else if (proto === 17) name = 'udp' + six;
        else if (proto === 132) name = 'sctp' + six;
        else skipProto = false;
      }
      s += name + ',';
    } else if (dlType === 0x0806) s += 'arp,';
    else if (dlType === 0x8035) s += 'rarp,';
    else if (dlType === 0x8847) s += 'mpls,';
    else if (dlType === 0x8848) s += 'mplsm,';
    else skipType = false;
  }

  if (mask[m + W_IN_PORT]) s += `in_port=${formatMatchPort(key[k + W_IN_PORT]!, opts?.portName)},`;

  for (let i = 0; i < 2; i++) {
    const tciMask = mask[m + W_VLAN0 + i]! & 0xffff;
    if (!tciMask) break;
    const tci = key[k + W_VLAN0 + i]! & 0xffff;
    const n = i === 0 ? '' : String(i);
    const vidMask = tciMask & 0x0fff;
    const pcpMask = tciMask & 0xe000;
    if ((tciMask & VLAN_CFI) && (tci & VLAN_CFI) &&
        (!vidMask || vidMask === 0x0fff) && (!pcpMask || pcpMask === 0xe000) && (vidMask || pcpMask)) {
      if (vidMask) s += `dl_vlan${n}=${tci & 0x0fff},`;
      if (pcpMask) s += `dl_vlan_pcp${n}=${tci >>> 13},`;
    } else if (tciMask === 0xffff) {
      s += `vlan_tci${n}=0x${hex4(tci)},`;
    } else {
      s += `vlan_tci${n}=0x${hex4(tci)}/0x${hex4(tciMask)},`;
    }
  }

  s += ethField('dl_src', key, k, mask, m, W_DL_SRC_HI);
  s += ethField('dl_dst', key, k, mask, m, W_DL_DST_HI);
  if (!skipType && dlTypeMask) s += `dl_type=0x${hex4(dlType)},`;

  if (isIp6) {
    s += ip6Field('ipv6_src', key, k, mask, m, W_IPV6_SRC);
    s += ip6Field('ipv6_dst', key, k, mask, m, W_IPV6_DST);
    const lm = mask[m + W_IPV6_LABEL]!;
    if (lm) {
      const lv = key[k + W_IPV6_LABEL]!;
      const hex5 = (v: number): string => v.toString(16).padStart(5, '0');
      s += lm === 0xffffffff ? `ipv6_label=0x${hex5(lv)},` : `ipv6_label=0x${hex5(lv)}/0x${hex5(lm)},`;
    }
  } else if (isArp) {
    s += ip4Field('arp_spa', key[k + W_NW_SRC]!, mask[m + W_NW_SRC]!);
    s += ip4Field('arp_tpa', key[k + W_NW_DST]!, mask[m + W_NW_DST]!);
  } else {
    s += ip4Field('nw_src', key[k + W_NW_SRC]!, mask[m + W_NW_SRC]!);
    s += ip4Field('nw_dst', key[k + W_NW_DST]!, mask[m + W_NW_DST]!);
  }
  if (!skipProto && protoMask) s += `${isArp ? 'arp_op' : 'nw_proto'}=${proto},`;
  if (isArp) {
    s += ethField('arp_sha', key, k, mask, m, W_ARP_SHA_HI);
    s += ethField('arp_tha', key, k, mask, m, W_ARP_THA_HI);
  }
  const tos = (nw >>> 16) & 0xff;
  const tosMask = (nwMask >>> 16) & 0xff;
  if (tosMask & 0xfc) s += `nw_tos=${tos & 0xfc},`;
  if (tosMask & 0x03) s += `nw_ecn=${tos & 0x03},`;
  if ((nwMask >>> 8) & 0xff) s += `nw_ttl=${(nw >>> 8) & 0xff},`;

  const lse0 = key[k + W_MPLS0]!;
  const lse0Mask = mask[m + W_MPLS0]!;
  if (lse0Mask & 0xfffff000) s += `mpls_label=${lse0 >>> 12},`;
  if (lse0Mask & 0x00000e00) s += `mpls_tc=${(lse0 >>> 9) & 7},`;
  if (lse0Mask & 0x000000ff) s += `mpls_ttl=${lse0 & 0xff},`;
  if (lse0Mask & 0x00000100) s += `mpls_bos=${(lse0 >>> 8) & 1},`;
  s += be32Masked('mpls_lse1', key[k + W_MPLS0 + 1]!, mask[m + W_MPLS0 + 1]!);
  s += be32Masked('mpls_lse2', key[k + W_MPLS0 + 2]!, mask[m + W_MPLS0 + 2]!);

  const frag = nw & 3;
  switch (nwMask & 3) {
    case FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER:
      s += `nw_frag=${frag & FLOW_NW_FRAG_ANY
        ? (frag & FLOW_NW_FRAG_LATER ? 'later' : 'first')
        : (frag & FLOW_NW_FRAG_LATER ? '<error>' : 'no')},`;
      break;
    case FLOW_NW_FRAG_ANY:
      s += `nw_frag=${frag & FLOW_NW_FRAG_ANY ? 'yes' : 'no'},`;
      break;
    case FLOW_NW_FRAG_LATER:
      s += `nw_frag=${frag & FLOW_NW_FRAG_LATER ? 'later' : 'not_later'},`;
      break;
  }

  const tp = key[k + W_TP]!;
  const tpMask = mask[m + W_TP]!;
  if ((isIp4 && proto === 1) || (isIp6 && proto === 58)) {
    s += be16Masked('icmp_type', tp >>> 16, tpMask >>> 16);
    s += be16Masked('icmp_code', tp & 0xffff, tpMask & 0xffff);
    if (isIp6) {
      s += ip6Field('nd_target', key, k, mask, m, W_ND_TARGET);
      s += ethField('nd_sll', key, k, mask, m, W_ARP_SHA_HI);
      s += ethField('nd_tll', key, k, mask, m, W_ARP_THA_HI);
      s += be32Masked('nd_reserved', key[k + W_IGMP_GROUP]!, mask[m + W_IGMP_GROUP]!);
      s += be16Masked('nd_options_type', key[k + W_TCP_FLAGS]! & 0xffff, mask[m + W_TCP_FLAGS]! & 0xffff);
    }
  } else {
    s += be16Masked('tp_src', tp >>> 16, tpMask >>> 16);
    s += be16Masked('tp_dst', tp & 0xffff, tpMask & 0xffff);
  }
  const flagsMask = mask[m + W_TCP_FLAGS]! & 0xffff;
  if ((isIp4 || isIp6) && proto === 6 && flagsMask) {
    s += `tcp_flags=${formatTcpFlagsMasked(key[k + W_TCP_FLAGS]! & 0xffff, flagsMask & 0x0fff)}`;
  }
  return s.endsWith(',') ? s.slice(0, -1) : s;
}

const scratchMask = new Uint32Array(FLOW_WORDS);

/**
 * OVS `flow_format()`: the key of a packet at `key[keyBase ..]` as `ofproto/trace` prints it after
 * `Flow: `, e.g. `tcp,in_port=1,vlan_tci=0x0000,dl_src=…,dl_dst=…,nw_src=…,…,tcp_flags=syn`.
 */
export function formatFlow(key: Uint32Array, keyBase: number): string {
  flowWildcardsInitForPacket(key, keyBase, scratchMask, 0);
  if (key[keyBase + W_IN_PORT] === 0) scratchMask[W_IN_PORT] = 0;
  return formatMatch(key, keyBase, scratchMask, 0);
}
