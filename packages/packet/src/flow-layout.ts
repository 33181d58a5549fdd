/**
 * The flow key (`struct flow` in Open vSwitch, lib/flow.h) as a fixed array of 32-bit words.
 *
 * A key is `FLOW_WORDS` consecutive elements of a Uint32Array (a standalone array, or a slice of a
 * SharedArrayBuffer-backed one at `base = index * FLOW_WORDS`). A mask (OVS "wildcards") has the
 * same layout: bit set = bit matters. A masked key is `key[i] & mask[i]` for every word, so masks,
 * hashing and comparisons work word by word without knowing what the fields are.
 *
 * Values are numbers in network bit order read as big-endian integers: nw_src 10.0.0.1 is the word
 * 0x0a000001, dl_type IPv4 is 0x0800. Fields narrower than a word sit in the low bits unless the
 * table says otherwise. Words that a frame does not have are 0.
 *
 * | word  | name           | contents                                                           |
 * |-------|----------------|--------------------------------------------------------------------|
 * | 0     | in_port        | input port (odp port in the datapath, OpenFlow port in ofproto)    |
 * | 1     | dl_dst_hi      | dl_dst bytes 0..1 in bits 15..0                                    |
 * | 2     | dl_dst_lo      | dl_dst bytes 2..5                                                  |
 * | 3     | dl_src_hi      | dl_src bytes 0..1 in bits 15..0                                    |
 * | 4     | dl_src_lo      | dl_src bytes 2..5                                                  |
 * | 5     | dl_type        | Ethernet type in bits 15..0 (OVS values: 0x05ff for 802.3 no SNAP) |
 * | 6     | vlan0          | outer VLAN header: TPID in bits 31..16, TCI in bits 15..0; the TCI |
 * |       |                | has the CFI bit 0x1000 set when the header is present (OVS)        |
 * | 7     | vlan1          | second VLAN header, same layout                                    |
 * | 8..10 | mpls_lse0..2   | MPLS label stack entries, outermost first                          |
 * | 11    | nw_src         | IPv4 source; ARP/RARP spa                                          |
 * | 12    | nw_dst         | IPv4 destination; ARP/RARP tpa                                     |
 * | 13..16| ipv6_src       | IPv6 source, 4 words, most significant first                       |
 * | 17..20| ipv6_dst       | IPv6 destination                                                   |
 * | 21    | ipv6_label     | flow label in bits 19..0                                           |
 * | 22    | nw             | nw_proto bits 31..24 (ARP: low byte of arp_op), nw_tos 23..16      |
 * |       |                | (DSCP and ECN, the whole TOS/traffic-class byte), nw_ttl 15..8,    |
 * |       |                | nw_frag 7..0 (FLOW_NW_FRAG_ANY 1, FLOW_NW_FRAG_LATER 2)            |
 * | 23    | tp             | tp_src bits 31..16, tp_dst bits 15..0 (ICMP/ICMPv6/IGMP: type in   |
 * |       |                | tp_src, code in tp_dst, as OVS)                                    |
 * | 24    | tcp_flags      | TCP flags in bits 11..0; ICMPv6 ND: options type (OVS reuse)       |
 * | 25,26 | arp_sha        | hi 16 bits / lo 32 bits; ICMPv6 ND: nd_sll                         |
 * | 27,28 | arp_tha        | hi 16 bits / lo 32 bits; ICMPv6 ND: nd_tll                         |
 * | 29..32| nd_target      | ICMPv6 ND target address                                           |
 * | 33    | igmp_group_ip4 | IGMP group address; ICMPv6 ND: the reserved field (OVS reuse)      |
 * | 34,35 | (reserved)     | datapath metadata to come (recirc_id, skb_priority); always 0 now  |
 *
 * The words follow OVS's field reuse (ARP in nw_src/nw_dst/nw_proto, ND in arp_sha/arp_tha) so that
 * OVS match and ODP key syntaxes map one to one onto words.
 */

/** Number of 32-bit words in a flow key or mask. */
export const FLOW_WORDS = 36;
/** Size of a flow key or mask in bytes. */
export const FLOW_BYTES = FLOW_WORDS * 4;

export const W_IN_PORT = 0;
export const W_DL_DST_HI = 1;
export const W_DL_DST_LO = 2;
export const W_DL_SRC_HI = 3;
export const W_DL_SRC_LO = 4;
export const W_DL_TYPE = 5;
export const W_VLAN0 = 6;
export const W_VLAN1 = 7;
export const W_MPLS0 = 8;
export const W_MPLS1 = 9;
export const W_MPLS2 = 10;
export const W_NW_SRC = 11;
export const W_NW_DST = 12;
export const W_IPV6_SRC = 13;
export const W_IPV6_DST = 17;
export const W_IPV6_LABEL = 21;
export const W_NW = 22;
export const W_TP = 23;
export const W_TCP_FLAGS = 24;
export const W_ARP_SHA_HI = 25;
export const W_ARP_SHA_LO = 26;
export const W_ARP_THA_HI = 27;
export const W_ARP_THA_LO = 28;
export const W_ND_TARGET = 29;
export const W_IGMP_GROUP = 33;

/** nw_frag bits (OVS FLOW_NW_FRAG_*). */
export const FLOW_NW_FRAG_ANY = 1;
export const FLOW_NW_FRAG_LATER = 2;
/** VLAN TCI bit that OVS uses to mean "a VLAN header is present" (VLAN_CFI). */
export const VLAN_CFI = 0x1000;
