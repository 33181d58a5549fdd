/**
 * The fields that `set_field:VALUE->FIELD` can name, with OVS 3.1's properties for them
 * (include/openvswitch/meta-flow.h, `man ovs-fields`): canonical name and aliases, width,
 * value syntax, maskability, writability, prerequisites, and where the field lives in the flow
 * key (packages/packet/src/flow-layout.ts).
 *
 * Values are held as 32-bit words, most significant first: one word for fields up to 32 bits,
 * two for MACs (hi 16 bits, lo 32 bits, as the flow key stores them), four for IPv6 addresses.
 *
 * Only fields the flow key has are here (no tunnel, metadata, registers, conntrack, NSH).
 */
import {
  W_IN_PORT, W_DL_DST_HI, W_DL_SRC_HI, W_DL_TYPE, W_VLAN0, W_MPLS0, W_NW_SRC, W_NW_DST,
  W_IPV6_SRC, W_IPV6_DST, W_IPV6_LABEL, W_NW, W_TP, W_TCP_FLAGS, W_ARP_SHA_HI, W_ARP_THA_HI,
  W_ND_TARGET, W_IGMP_GROUP, VLAN_CFI, FLOW_NW_FRAG_LATER,
} from '@tsvs/packet';

/** Value syntax (OVS `enum mf_string`). */
export type FieldFormat = 'decimal' | 'hexadecimal' | 'ethernet' | 'ipv4' | 'ipv6' | 'ofp_port' | 'frag' | 'tcp_flags';

/** Prerequisites (OVS `enum mf_prereqs`). */
export type FieldPrereq =
  | 'none' | 'ethernet' | 'arp' | 'ipv4' | 'ipv6' | 'ip_any' | 'vlan_vid' | 'mpls'
  | 'tcp' | 'udp' | 'sctp' | 'icmpv4' | 'icmpv6' | 'nd' | 'nd_solicit' | 'nd_advert';

/**
 * How a field maps onto the flow key. `plain`: bits `shift .. shift+bits-1` of word `word`
 * (or, for multi-word fields, words `word ..` in full, MAC hi word 16 bits). The other kinds
 * follow OVS `mf_set_flow_value()` special cases.
 */
export type FieldStorage =
  | { kind: 'plain'; word: number; shift: number; bits: number; words: number }
  | { kind: 'vlan_vid' } /* tci VID bits and CFI (OVS flow_set_vlan_vid) */
  | { kind: 'dl_vlan' } /* VID, CFI set (OVS flow_set_dl_vlan) */
  | { kind: 'vlan_pcp' } /* PCP bits, CFI set (OVS flow_set_vlan_pcp) */
  | { kind: 'dscp' } /* nw_tos DSCP bits from a TOS value */
  | { kind: 'dscp_shifted' }; /* nw_tos DSCP bits from a 6-bit DSCP value */

export interface OfField {
  /** OVS `mf->name`, printed by set_field. */
  name: string;
  /** Other accepted names (OVS `extra_name`). */
  aliases: readonly string[];
  /** Width in bytes (OVS n_bytes) and in bits (n_bits). */
  nBytes: number;
  nBits: number;
  format: FieldFormat;
  maskable: boolean;
  writable: boolean;
  prereq: FieldPrereq;
  storage: FieldStorage;
}

const plain = (word: number, shift: number, bits: number, words = 1): FieldStorage => ({ kind: 'plain', word, shift, bits, words });

function f(
  name: string, aliases: string[], nBytes: number, nBits: number, format: FieldFormat,
  maskable: boolean, writable: boolean, prereq: FieldPrereq, storage: FieldStorage,
): OfField {
  return { name, aliases, nBytes, nBits, format, maskable, writable, prereq, storage };
}

/** Every field set_field knows, in OVS's meta-flow order. */
export const OF_FIELDS: readonly OfField[] = [
  f('in_port', [], 2, 16, 'ofp_port', false, true, 'none', plain(W_IN_PORT, 0, 16)),
  f('eth_src', ['dl_src'], 6, 48, 'ethernet', true, true, 'ethernet', plain(W_DL_SRC_HI, 0, 48, 2)),
  f('eth_dst', ['dl_dst'], 6, 48, 'ethernet', true, true, 'ethernet', plain(W_DL_DST_HI, 0, 48, 2)),
  f('eth_type', ['dl_type'], 2, 16, 'hexadecimal', false, false, 'ethernet', plain(W_DL_TYPE, 0, 16)),
  f('vlan_tci', [], 2, 16, 'hexadecimal', true, true, 'ethernet', plain(W_VLAN0, 0, 16)),
  f('dl_vlan', [], 2, 12, 'decimal', false, true, 'ethernet', { kind: 'dl_vlan' }),
  f('vlan_vid', [], 2, 12, 'decimal', true, true, 'ethernet', { kind: 'vlan_vid' }),
  f('dl_vlan_pcp', [], 1, 3, 'decimal', false, true, 'ethernet', { kind: 'vlan_pcp' }),
  f('vlan_pcp', [], 1, 3, 'decimal', false, true, 'vlan_vid', { kind: 'vlan_pcp' }),
  f('mpls_label', [], 4, 20, 'decimal', false, true, 'mpls', plain(W_MPLS0, 12, 20)),
  f('mpls_tc', [], 1, 3, 'decimal', false, true, 'mpls', plain(W_MPLS0, 9, 3)),
  f('mpls_bos', [], 1, 1, 'decimal', false, false, 'mpls', plain(W_MPLS0, 8, 1)),
  f('mpls_ttl', [], 1, 8, 'decimal', false, true, 'mpls', plain(W_MPLS0, 0, 8)),
  f('ip_src', ['nw_src'], 4, 32, 'ipv4', true, true, 'ipv4', plain(W_NW_SRC, 0, 32)),
  f('ip_dst', ['nw_dst'], 4, 32, 'ipv4', true, true, 'ipv4', plain(W_NW_DST, 0, 32)),
  f('ipv6_src', [], 16, 128, 'ipv6', true, true, 'ipv6', plain(W_IPV6_SRC, 0, 128, 4)),
  f('ipv6_dst', [], 16, 128, 'ipv6', true, true, 'ipv6', plain(W_IPV6_DST, 0, 128, 4)),
  f('ipv6_label', [], 4, 20, 'hexadecimal', true, true, 'ipv6', plain(W_IPV6_LABEL, 0, 20)),
  f('nw_proto', ['ip_proto'], 1, 8, 'decimal', false, false, 'ip_any', plain(W_NW, 24, 8)),
  f('nw_tos', [], 1, 8, 'decimal', false, true, 'ip_any', { kind: 'dscp' }),
  f('ip_dscp', [], 1, 6, 'decimal', false, true, 'ip_any', { kind: 'dscp_shifted' }),
  f('nw_ecn', ['ip_ecn'], 1, 2, 'decimal', false, true, 'ip_any', plain(W_NW, 16, 2)),
  f('nw_ttl', [], 1, 8, 'decimal', false, true, 'ip_any', plain(W_NW, 8, 8)),
  f('ip_frag', ['nw_frag'], 1, 2, 'frag', true, false, 'ip_any', plain(W_NW, 0, 2)),
  f('arp_op', [], 2, 16, 'decimal', false, true, 'arp', plain(W_NW, 24, 8)),
  f('arp_spa', [], 4, 32, 'ipv4', true, true, 'arp', plain(W_NW_SRC, 0, 32)),
  f('arp_tpa', [], 4, 32, 'ipv4', true, true, 'arp', plain(W_NW_DST, 0, 32)),
  f('arp_sha', [], 6, 48, 'ethernet', true, true, 'arp', plain(W_ARP_SHA_HI, 0, 48, 2)),
  f('arp_tha', [], 6, 48, 'ethernet', true, true, 'arp', plain(W_ARP_THA_HI, 0, 48, 2)),
  f('tcp_src', ['tp_src'], 2, 16, 'decimal', true, true, 'tcp', plain(W_TP, 16, 16)),
  f('tcp_dst', ['tp_dst'], 2, 16, 'decimal', true, true, 'tcp', plain(W_TP, 0, 16)),
  f('tcp_flags', [], 2, 12, 'tcp_flags', true, false, 'tcp', plain(W_TCP_FLAGS, 0, 12)),
  f('udp_src', [], 2, 16, 'decimal', true, true, 'udp', plain(W_TP, 16, 16)),
  f('udp_dst', [], 2, 16, 'decimal', true, true, 'udp', plain(W_TP, 0, 16)),
  f('sctp_src', [], 2, 16, 'decimal', true, true, 'sctp', plain(W_TP, 16, 16)),
  f('sctp_dst', [], 2, 16, 'decimal', true, true, 'sctp', plain(W_TP, 0, 16)),
  f('icmp_type', [], 1, 8, 'decimal', false, true, 'icmpv4', plain(W_TP, 16, 16)),
  f('icmp_code', [], 1, 8, 'decimal', false, true, 'icmpv4', plain(W_TP, 0, 16)),
  f('icmpv6_type', [], 1, 8, 'decimal', false, true, 'icmpv6', plain(W_TP, 16, 16)),
  f('icmpv6_code', [], 1, 8, 'decimal', false, true, 'icmpv6', plain(W_TP, 0, 16)),
  f('nd_target', [], 16, 128, 'ipv6', true, true, 'nd', plain(W_ND_TARGET, 0, 128, 4)),
  f('nd_sll', [], 6, 48, 'ethernet', true, true, 'nd_solicit', plain(W_ARP_SHA_HI, 0, 48, 2)),
  f('nd_tll', [], 6, 48, 'ethernet', true, true, 'nd_advert', plain(W_ARP_THA_HI, 0, 48, 2)),
  f('nd_reserved', [], 4, 32, 'decimal', false, true, 'nd', plain(W_IGMP_GROUP, 0, 32)),
  f('nd_options_type', [], 1, 8, 'decimal', false, true, 'nd', plain(W_TCP_FLAGS, 0, 16)),
];

const BY_NAME = new Map<string, OfField>();
for (const fd of OF_FIELDS) {
  BY_NAME.set(fd.name, fd);
  for (const a of fd.aliases) BY_NAME.set(a, fd);
}

/** The field called `name` (canonical or alias, case-sensitive as in OVS), or undefined. */
export function fieldByName(name: string): OfField | undefined {
  return BY_NAME.get(name);
}

/** Number of value words for a field of `nBytes` bytes. */
export function fieldWords(fd: OfField): number {
  return fd.nBytes <= 4 ? 1 : fd.nBytes === 6 ? 2 : 4;
}

/**
 * OVS `mf_is_value_valid` for the fields above: false for values with bits the field may not
 * carry (VLAN PCP bits in vlan_vid, low bits of nw_tos, high byte of arp_op, ...).
 */
export function fieldValueValid(fd: OfField, value: readonly number[]): boolean {
  const v = value[0]! >>> 0;
  switch (fd.name) {
    case 'nw_tos': return (v & ~0xfc) === 0;
    case 'ip_dscp': return (v & ~0x3f) === 0;
    case 'nw_ecn': return (v & ~3) === 0;
    case 'ip_frag': return (v & ~3) === 0;
    case 'tcp_flags': return (v & ~0x0fff) === 0;
    case 'arp_op': return (v & 0xff00) === 0;
    case 'dl_vlan': return (v & (VLAN_CFI | 0xe000)) === 0;
    case 'vlan_vid': return (v & 0xe000) === 0;
    case 'dl_vlan_pcp': case 'vlan_pcp': case 'mpls_tc': return (v & ~7) === 0;
    case 'ipv6_label': case 'mpls_label': return (v & ~0xfffff) === 0;
    case 'mpls_bos': return (v & ~1) === 0;
    default: return true;
  }
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/**
 * OVS `mf_are_prereqs_ok(mf, flow, wc)` on the flow key at `key[k..]`. When `wc` is given, ORs into
 * `wc[w..]` the bits the check looked at, exactly as OVS does (nw_proto for L4 fields, VLAN CFI,
 * tp_src/tp_dst for ND; dl_type is not marked: xlate always un-wildcards it).
 */
export function fieldPrereqsOk(fd: OfField, key: Uint32Array, k: number, wc?: Uint32Array, w = 0): boolean {
  const dlType = key[k + W_DL_TYPE]! & 0xffff;
  const nw = key[k + W_NW]!;
  const proto = nw >>> 24;
  const isIpAny = dlType === 0x0800 || dlType === 0x86dd;
  const markProto = (): void => {
    if (wc) wc[w + W_NW] = (wc[w + W_NW]! | 0xff000000) >>> 0;
  };
  switch (fd.prereq) {
    case 'none':
    case 'ethernet':
      return true;
    case 'arp':
      return dlType === 0x0806 || dlType === 0x8035;
    case 'ipv4':
      return dlType === 0x0800;
    case 'ipv6':
      return dlType === 0x86dd;
    case 'ip_any':
      return isIpAny;
    case 'mpls':
      return dlType === 0x8847 || dlType === 0x8848;
    case 'vlan_vid':
      if (wc) wc[w + W_VLAN0] = (wc[w + W_VLAN0]! | VLAN_CFI) >>> 0;
      return (key[k + W_VLAN0]! & VLAN_CFI) !== 0;
    case 'tcp':
    case 'udp':
    case 'sctp': {
      if (!isIpAny) return false;
      markProto();
      const want = fd.prereq === 'tcp' ? IPPROTO_TCP : fd.prereq === 'udp' ? IPPROTO_UDP : IPPROTO_SCTP;
      return proto === want && (nw & FLOW_NW_FRAG_LATER) === 0;
    }
    case 'icmpv4':
      if (dlType !== 0x0800) return false;
      markProto();
      return proto === IPPROTO_ICMP;
    case 'icmpv6':
    case 'nd':
    case 'nd_solicit':
    case 'nd_advert': {
      if (dlType !== 0x86dd) return false;
      markProto();
      if (proto !== IPPROTO_ICMPV6) return false;
      if (fd.prereq === 'icmpv6') return true;
      const tp = key[k + W_TP]!;
      if (wc) wc[w + W_TP] = (wc[w + W_TP]! | 0xffff) >>> 0;
      if ((tp & 0xffff) !== 0) return false;
      if (wc) wc[w + W_TP] = (wc[w + W_TP]! | 0xffff0000) >>> 0;
      const type = tp >>> 16;
      if (fd.prereq === 'nd') return type === 135 || type === 136;
      return type === (fd.prereq === 'nd_solicit' ? 135 : 136);
    }
  }
}

/**
 * Writes `value` under `mask` (field words, see above) into the flow key at `key[k..]`: OVS
 * `mf_set_flow_value_masked()`. Special cases as OVS: vlan_vid and dl_vlan also set the CFI bit,
 * nw_tos/ip_dscp touch only the DSCP bits. Never throws; does not check prerequisites.
 */
export function fieldSet(fd: OfField, key: Uint32Array, k: number, value: readonly number[], mask: readonly number[]): void {
  const st = fd.storage;
  const tciWord = k + W_VLAN0;
  switch (st.kind) {
    case 'plain': {
      if (st.words === 1) {
        const fm = st.bits === 32 ? 0xffffffff : (1 << st.bits) - 1;
        const m = ((mask[0]! & fm) << st.shift) >>> 0;
        const v = ((value[0]! & fm) << st.shift) >>> 0;
        key[k + st.word] = ((key[k + st.word]! & ~m) | (v & m)) >>> 0;
      } else {
        for (let i = 0; i < st.words; i++) {
          const m = mask[i]! >>> 0;
          key[k + st.word + i] = ((key[k + st.word + i]! & ~m) | (value[i]! & m)) >>> 0;
        }
      }
      return;
    }
    case 'vlan_vid': {
      // OVS reads the field as tci & (VID|CFI), applies the mask, then flow_set_vlan_vid.
      const cur = key[tciWord]! & 0x1fff;
      const nv = ((cur & ~mask[0]!) | (value[0]! & mask[0]!)) & 0x1fff;
      const tci = key[tciWord]! & 0xffff;
      const tpid = key[tciWord]! >>> 16;
      key[tciWord] = (((tpid || 0x8100) << 16) | (tci & ~0x1fff) | nv | VLAN_CFI) >>> 0;
      return;
    }
    case 'dl_vlan': {
      const tci = key[tciWord]! & 0xffff;
      const tpid = key[tciWord]! >>> 16;
      key[tciWord] = (((tpid || 0x8100) << 16) | (tci & ~0x0fff) | (value[0]! & 0x0fff) | VLAN_CFI) >>> 0;
      return;
    }
    case 'vlan_pcp': {
      const tci = key[tciWord]! & 0xffff;
      const tpid = key[tciWord]! >>> 16;
      key[tciWord] = (((tpid || 0x8100) << 16) | (tci & ~0xe000) | ((value[0]! & 7) << 13) | VLAN_CFI) >>> 0;
      return;
    }
    case 'dscp':
    case 'dscp_shifted': {
      const tos = st.kind === 'dscp' ? value[0]! & 0xfc : (value[0]! << 2) & 0xfc;
      const nw = key[k + W_NW]!;
      key[k + W_NW] = ((nw & ~0x00fc0000) | (tos << 16)) >>> 0;
      return;
    }
  }
}

/**
 * ORs into the mask `wc[w..]` the flow-key bits that `fieldSet` with `mask` writes (OVS
 * `mf_mask_field_masked`), e.g. for a megaflow that must match what an action overwrites.
 */
export function fieldMaskBits(fd: OfField, mask: readonly number[], wc: Uint32Array, w: number): void {
  const st = fd.storage;
  switch (st.kind) {
    case 'plain':
      if (st.words === 1) {
        const fm = st.bits === 32 ? 0xffffffff : (1 << st.bits) - 1;
        wc[w + st.word] = (wc[w + st.word]! | ((mask[0]! & fm) << st.shift)) >>> 0;
      } else {
        for (let i = 0; i < st.words; i++) wc[w + st.word + i] = (wc[w + st.word + i]! | mask[i]!) >>> 0;
      }
      return;
    case 'vlan_vid':
      wc[w + W_VLAN0] = (wc[w + W_VLAN0]! | (mask[0]! & 0x1fff)) >>> 0;
      return;
    case 'dl_vlan':
      wc[w + W_VLAN0] = (wc[w + W_VLAN0]! | 0x1fff) >>> 0;
      return;
    case 'vlan_pcp':
      wc[w + W_VLAN0] = (wc[w + W_VLAN0]! | 0xe000) >>> 0;
      return;
    case 'dscp':
    case 'dscp_shifted':
      wc[w + W_NW] = (wc[w + W_NW]! | 0x00fc0000) >>> 0;
      return;
  }
}
