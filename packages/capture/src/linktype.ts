/**
 * LINKTYPE_* values: the link-layer header type stored in a pcap file header and in each pcapng
 * Interface Description Block. Values from https://www.tcpdump.org/linktypes.html (and libpcap's
 * pcap/dlt.h); only the ones tsvs meets are named here, any other number passes through unchanged.
 */
export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte host-order address family, then the L3 packet
export const LINKTYPE_ETHERNET = 1; // Ethernet II / 802.3 (DLT_EN10MB)
export const LINKTYPE_RAW = 101; // raw IPv4 or IPv6, version nibble decides
export const LINKTYPE_LINUX_SLL = 113; // Linux "cooked" capture v1 (16-byte pseudo header)
export const LINKTYPE_IEEE802_11_RADIOTAP = 127; // 802.11 with a radiotap header
export const LINKTYPE_IPV4 = 228; // raw IPv4
export const LINKTYPE_IPV6 = 229; // raw IPv6
export const LINKTYPE_LINUX_SLL2 = 276; // Linux "cooked" capture v2 (20-byte pseudo header)

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, 'NULL'],
  [LINKTYPE_ETHERNET, 'EN10MB'],
  [LINKTYPE_RAW, 'RAW'],
  [LINKTYPE_LINUX_SLL, 'LINUX_SLL'],
  [LINKTYPE_IEEE802_11_RADIOTAP, 'IEEE802_11_RADIO'],
  [LINKTYPE_IPV4, 'IPV4'],
  [LINKTYPE_IPV6, 'IPV6'],
  [LINKTYPE_LINUX_SLL2, 'LINUX_SLL2'],
]);

/** libpcap's short name for a link type (`EN10MB`, `LINUX_SLL`, ...), or `LINKTYPE_<n>` when unnamed here. */
export function linktypeName(linktype: number): string {
  return NAMES.get(linktype) ?? `LINKTYPE_${linktype}`;
}
