/**
 * The exact-match mask of a packet's flow key: OVS 3.1 `flow_wildcards_init_for_packet()`
 * (lib/flow.c), which `match_wc_init()` (lib/match.c) and `flow_format()` build on.
 *
 * The mask has the flow key layout (./flow-layout.ts): a set bit means the bit matters. It marks
 * the fields a packet of this kind can have, whether or not they are zero, so the same mask serves
 * every packet of the same shape: in_port, Ethernet addresses and type; the first VLAN header and,
 * if that one is present, the next ("always show the first zero VLAN"); then by dl_type:
 * IPv4 addresses / IPv6 addresses and flow label (plus nd_target, nd_sll, nd_tll for ND) / ARP
 * spa, tpa, op, sha, tha / MPLS label stack entries up to bottom of stack; for IP the nw_frag bits,
 * tos, ttl, proto, and unless a later fragment, for TCP, UDP, SCTP, ICMP, ICMPv6 and IGMP the ports
 * (type/code), TCP flags, the IGMP group.
 *
 * Not covered (the key has no words for them): tunnel metadata, conntrack, registers, packet_type,
 * NSH (dl_type 0x894f is treated as an unknown ethertype).
 */
import {
  FLOW_WORDS,
  W_IN_PORT,
  W_DL_DST_HI,
  W_DL_DST_LO,
  W_DL_SRC_HI,
  W_DL_SRC_LO,
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
  W_ARP_SHA_LO,
  W_ARP_THA_HI,
  W_ARP_THA_LO,
  W_ND_TARGET,
  W_IGMP_GROUP,
  FLOW_NW_FRAG_LATER,
} from './flow-layout.js';

/** Mask of the nw word's nw_proto byte. */
export const NW_PROTO_MASK = 0xff000000;
/** Mask of the nw word as OVS sets it for IP: proto, tos, ttl, and FLOW_NW_FRAG_MASK (3). */
export const NW_IP_MASK = 0xffffff03;

/** True if the key is an ICMPv6 Neighbor Solicitation/Advertisement with code 0 (OVS `is_nd`). */
export function isNd(key: Uint32Array, k: number): boolean {
  if ((key[k + W_DL_TYPE]! & 0xffff) !== 0x86dd || key[k + W_NW]! >>> 24 !== 58) return false;
  const tp = key[k + W_TP]!;
  if ((tp & 0xffff) !== 0) return false;
  const type = tp >>> 16;
  return type === 135 || type === 136;
}

/**
 * Writes into `mask[maskBase ..]` the exact-match mask for the packet whose key is at
 * `key[keyBase ..]`. Every mask word is written. Never throws for in-range bases.
 */
export function flowWildcardsInitForPacket(key: Uint32Array, keyBase: number, mask: Uint32Array, maskBase: number): void {
  const k = keyBase;
  const m = maskBase;
  for (let i = 0; i < FLOW_WORDS; i++) mask[m + i] = 0;
  mask[m + W_IN_PORT] = 0xffffffff;
  mask[m + W_DL_DST_HI] = 0xffff;
  mask[m + W_DL_DST_LO] = 0xffffffff;
  mask[m + W_DL_SRC_HI] = 0xffff;
  mask[m + W_DL_SRC_LO] = 0xffffffff;
  mask[m + W_DL_TYPE] = 0xffff;
  for (let i = 0; i < 2; i++) {
    mask[m + W_VLAN0 + i] = 0xffffffff;
    if ((key[k + W_VLAN0 + i]! & 0xffff) === 0) break;
  }
  const dlType = key[k + W_DL_TYPE]! & 0xffff;
  if (dlType === 0x0800) {
    mask[m + W_NW_SRC] = 0xffffffff;
    mask[m + W_NW_DST] = 0xffffffff;
  } else if (dlType === 0x86dd) {
    for (let i = 0; i < 4; i++) {
      mask[m + W_IPV6_SRC + i] = 0xffffffff;
      mask[m + W_IPV6_DST + i] = 0xffffffff;
    }
    mask[m + W_IPV6_LABEL] = 0xffffffff;
    if (isNd(key, k)) {
      maskArpHwAddrs(mask, m);
      for (let i = 0; i < 4; i++) mask[m + W_ND_TARGET + i] = 0xffffffff;
    }
  } else if (dlType === 0x0806 || dlType === 0x8035) {
    mask[m + W_NW_SRC] = 0xffffffff;
    mask[m + W_NW_DST] = 0xffffffff;
    mask[m + W_NW] = NW_PROTO_MASK;
    maskArpHwAddrs(mask, m);
    return;
  } else if (dlType === 0x8847 || dlType === 0x8848) {
    for (let i = 0; i < 3; i++) {
      mask[m + W_MPLS0 + i] = 0xffffffff;
      if (key[k + W_MPLS0 + i]! & 0x100) break;
    }
    return;
  } else {
    return; // unknown ethertype
  }

  mask[m + W_NW] = NW_IP_MASK;
  const nw = key[k + W_NW]!;
  const proto = nw >>> 24;
  if ((nw & FLOW_NW_FRAG_LATER) === 0 &&
      (proto === 1 || proto === 58 || proto === 6 || proto === 17 || proto === 132 || proto === 2)) {
    mask[m + W_TP] = 0xffffffff;
    if (proto === 6) mask[m + W_TCP_FLAGS] = 0xffff;
    else if (proto === 2) mask[m + W_IGMP_GROUP] = 0xffffffff;
  }
}

function maskArpHwAddrs(mask: Uint32Array, m: number): void {
  mask[m + W_ARP_SHA_HI] = 0xffff;
  mask[m + W_ARP_SHA_LO] = 0xffffffff;
  mask[m + W_ARP_THA_HI] = 0xffff;
  mask[m + W_ARP_THA_LO] = 0xffffffff;
}
