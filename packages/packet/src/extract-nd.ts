/**
 * ICMPv6 neighbour discovery part of flow extraction: OVS 3.1 `parse_icmpv6()` (lib/flow.c) for
 * Neighbor Solicitation (135) and Advertisement (136) with code 0.
 *
 * Writes into the key (layout ./flow-layout.ts): nd_target (words 29..32), nd_sll in arp_sha,
 * nd_tll in arp_tha, the type of the first link-layer address option in tcp_flags, and the 32-bit
 * "reserved" field (R/S/O flags) in igmp_group_ip4, exactly where OVS puts them.
 *
 * OVS's rules, kept here: options are read while at least 8 bytes remain; a zero-length or
 * overlong option ends the walk (keeping what was found); only 8-byte SLL/TLL options count; a
 * second SLL (or TLL) option after a non-zero one makes the packet "invalid": target, SLL and TLL
 * are then all zero, but the option type and reserved field stay.
 */
import {
  W_ND_TARGET,
  W_ARP_SHA_HI,
  W_ARP_SHA_LO,
  W_ARP_THA_HI,
  W_ARP_THA_LO,
  W_TCP_FLAGS,
  W_IGMP_GROUP,
} from './flow-layout.js';

const ND_OPT_SOURCE_LINKADDR = 1;
const ND_OPT_TARGET_LINKADDR = 2;

/**
 * `p` is the start of the ICMPv6 header, `size` the bytes of ICMPv6 message available (at least 8,
 * within the IPv6 payload length). Reads only `f[p .. p+size)`.
 */
export function extractIcmp6Nd(f: Uint8Array, p: number, size: number, key: Uint32Array, k: number): void {
  key[k + W_IGMP_GROUP] = (f[p + 4]! << 24) | (f[p + 5]! << 16) | (f[p + 6]! << 8) | f[p + 7]!;
  p += 8;
  size -= 8;
  if (size < 16) return; // no target: nothing else is extracted
  const targetAt = p;
  p += 16;
  size -= 16;
  let sllHi = 0;
  let sllLo = 0;
  let tllHi = 0;
  let tllLo = 0;
  let optType = 0;
  let invalid = false;
  while (size >= 8) {
    const type = f[p]!;
    const optLen = f[p + 1]! * 8;
    if (optLen === 0 || optLen > size) break;
    if (optLen === 8 && (type === ND_OPT_SOURCE_LINKADDR || type === ND_OPT_TARGET_LINKADDR)) {
      const hi = (f[p + 2]! << 8) | f[p + 3]!;
      const lo = ((f[p + 4]! << 24) | (f[p + 5]! << 16) | (f[p + 6]! << 8) | f[p + 7]!) >>> 0;
      if (type === ND_OPT_SOURCE_LINKADDR) {
        if (sllHi !== 0 || sllLo !== 0) {
          invalid = true;
          break;
        }
        sllHi = hi;
        sllLo = lo;
      } else {
        if (tllHi !== 0 || tllLo !== 0) {
          invalid = true;
          break;
        }
        tllHi = hi;
        tllLo = lo;
      }
      if (optType === 0) optType = type;
    }
    p += optLen;
    size -= optLen;
  }
  key[k + W_TCP_FLAGS] = optType;
  if (invalid) return;
  for (let i = 0; i < 4; i++) {
    const q = targetAt + i * 4;
    key[k + W_ND_TARGET + i] = (f[q]! << 24) | (f[q + 1]! << 16) | (f[q + 2]! << 8) | f[q + 3]!;
  }
  key[k + W_ARP_SHA_HI] = sllHi;
  key[k + W_ARP_SHA_LO] = sllLo;
  key[k + W_ARP_THA_HI] = tllHi;
  key[k + W_ARP_THA_LO] = tllLo;
}
