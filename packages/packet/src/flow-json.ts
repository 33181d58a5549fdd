/**
 * A packet's flow key as a plain JSON-able object with OVS field names (`man ovs-fields`, ofctl
 * spelling): the fields `flowWildcardsInitForPacket` marks for this kind of packet, in
 * `formatFlow` order. Numbers for numeric fields, strings for addresses; `nw_frag` is
 * "no" | "first" | "later"; `nw_tos` is the DSCP part of the TOS byte as OVS prints it (tos & 0xfc)
 * and `nw_ecn` the low two bits. ND adds nd_reserved and nd_options_type, IGMP igmp_group_ip4
 * (the struct flow name: OVS has no ofctl field for it). Control path only (allocates).
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
} from './flow-layout.js';
import { formatEth, formatIp4, formatIp6 } from './addr-format.js';
import { flowWildcardsInitForPacket, isNd } from './wildcards.js';

export type FlowJson = Record<string, number | string>;

const scratch = new Uint32Array(FLOW_WORDS);

export function flowToJson(key: Uint32Array, keyBase: number): FlowJson {
  const k = keyBase;
  const m = scratch;
  flowWildcardsInitForPacket(key, k, m, 0);
  const o: FlowJson = {};
  const w = (i: number): number => key[k + i]!;
  const eth = (i: number): string => formatEth(w(i), w(i + 1));
  const ip6 = (i: number): string => formatIp6(w(i), w(i + 1), w(i + 2), w(i + 3));
  o.in_port = w(W_IN_PORT);
  for (let i = 0; i < 2 && m[W_VLAN0 + i]; i++) o[i ? `vlan_tci${i}` : 'vlan_tci'] = w(W_VLAN0 + i) & 0xffff;
  o.dl_src = eth(W_DL_SRC_HI);
  o.dl_dst = eth(W_DL_DST_HI);
  const dlType = w(W_DL_TYPE);
  o.dl_type = dlType;
  const isArp = dlType === 0x0806 || dlType === 0x8035;
  if (dlType === 0x8847 || dlType === 0x8848) {
    const lse = w(W_MPLS0);
    o.mpls_label = lse >>> 12;
    o.mpls_tc = (lse >>> 9) & 7;
    o.mpls_ttl = lse & 0xff;
    o.mpls_bos = (lse >>> 8) & 1;
    if (m[W_MPLS0 + 1]) o.mpls_lse1 = w(W_MPLS0 + 1);
    if (m[W_MPLS0 + 2]) o.mpls_lse2 = w(W_MPLS0 + 2);
    return o;
  }
  if (isArp) {
    o.arp_spa = formatIp4(w(W_NW_SRC));
    o.arp_tpa = formatIp4(w(W_NW_DST));
    o.arp_op = w(W_NW) >>> 24;
    o.arp_sha = eth(W_ARP_SHA_HI);
    o.arp_tha = eth(W_ARP_THA_HI);
    return o;
  }
  if (!m[W_NW]) return o; // neither IP nor ARP nor MPLS
  if (dlType === 0x86dd) {
    o.ipv6_src = ip6(W_IPV6_SRC);
    o.ipv6_dst = ip6(W_IPV6_DST);
    o.ipv6_label = w(W_IPV6_LABEL);
  } else {
    o.nw_src = formatIp4(w(W_NW_SRC));
    o.nw_dst = formatIp4(w(W_NW_DST));
  }
  const nw = w(W_NW);
  const proto = nw >>> 24;
  o.nw_proto = proto;
  o.nw_tos = (nw >>> 16) & 0xfc;
  o.nw_ecn = (nw >>> 16) & 3;
  o.nw_ttl = (nw >>> 8) & 0xff;
  o.nw_frag = nw & 2 ? 'later' : nw & 1 ? 'first' : 'no';
  if (!m[W_TP]) return o;
  const icmp = proto === (dlType === 0x86dd ? 58 : 1);
  o[icmp ? 'icmp_type' : 'tp_src'] = w(W_TP) >>> 16;
  o[icmp ? 'icmp_code' : 'tp_dst'] = w(W_TP) & 0xffff;
  if (proto === 6) o.tcp_flags = w(W_TCP_FLAGS);
  if (proto === 2) o.igmp_group_ip4 = formatIp4(w(W_IGMP_GROUP));
  if (isNd(key, k)) {
    o.nd_target = ip6(W_ND_TARGET);
    o.nd_sll = eth(W_ARP_SHA_HI);
    o.nd_tll = eth(W_ARP_THA_HI);
    o.nd_reserved = w(W_IGMP_GROUP);
    o.nd_options_type = w(W_TCP_FLAGS);
  }
  return o;
}
