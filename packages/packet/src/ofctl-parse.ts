/**
 * Parsing the ovs-ofctl match syntax (`man ovs-fields`, `man ovs-ofctl`) into a flow key and mask
 * (./flow-layout.ts): a port of the match part of OVS 3.1 `parse_ofp_str__` (lib/ofp-flow.c),
 * `ofputil_parse_key_value` / `ofp_parse_protocol` / `ofp_parse_field` (lib/ofp-parse.c),
 * `mf_parse` / `mf_set` / `mf_set_wild` (lib/meta-flow.c) and the `match_set_*` setters
 * (lib/match.c), e.g. `tcp,in_port=1,nw_src=10.0.0.0/24,tp_dst=80`.
 *
 * Mask words hold exactly what OVS's `struct flow_wildcards` holds after the same parse (e.g.
 * `tcp_flags=syn` has mask 0xffff, `+syn` has 0x0002; `dl_vlan=10` sets TCI mask 0x1fff; ICMP
 * type/code masks are 0xffff; `nw_frag=yes` has mask 0xfd in the frag byte), and keys are masked
 * (`key & mask`).
 *
 * Prerequisites (`man ovs-fields`, "Field Prerequisites") are applied as ovs-ofctl's OpenFlow
 * encoding applies them (lib/nx-match.c `nx_put_raw`): a field whose prerequisites the whole match
 * does not meet is dropped (OVS logs "normalization changed ofp_match"; here `dropped` lists it),
 * independent of the order of the fields. Two combinations that OVS encodes but then rejects with
 * OFPBMC_BAD_PREREQ throw here: ipv6_label in an IPv4 match, and L4 ports or tcp_flags together
 * with `nw_frag=later`.
 *
 * Deliberate differences from ovs-ofctl (which wraps or truncates silently): values that do not
 * fit the field, or that OVS's own `mf_is_value_valid` rejects (dl_vlan=5000, dl_vlan_pcp=9,
 * nw_tos=5, nw_ecn=4, mpls_label≥2^20, arp_op=256, 10.0.0.300), throw a `FlowParseError`.
 * Fields OVS has but the flow key does not (tunnel, metadata, registers, conntrack, packet_type,
 * NSH, subfields like `reg0[1..3]`) throw "not supported"; names OVS does not know throw "unknown
 * field". Rule-level keys (table, priority, cookie, idle_timeout, hard_timeout, actions, ...) are
 * unknown here: a rule parser handles them and passes the rest to `parseMatchField`.
 *
 * Control path only: allocates strings and small objects.
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
import {
  FlowParseError,
  parseUintText,
  parseIp4Masked,
  parseIp6Masked,
  parseEthMasked,
  parseTcpFlagsText,
  setWordBits,
} from './text-util.js';

/** One `name[=value]` item of a match string, as OVS `ofputil_parse_key_value` splits it. */
export interface MatchToken {
  name: string;
  /** The value; '' when the item has none (`tcp`) or an empty one (`tp_dst=`). */
  value: string;
  /** Offset of the name in the text. */
  at: number;
}

const SEPARATORS = ', \t\r\n';

/** OVS `parse_value`: length of the value up to a delimiter, skipping balanced parentheses. */
function valueLength(s: string, from: number, delims: string): number {
  let n = from;
  while (n < s.length && !delims.includes(s[n]!)) {
    if (s[n] === '(') {
      let level = 0;
      do {
        if (n >= s.length) return n - from;
        if (s[n] === '(') level++;
        else if (s[n] === ')') level--;
        n++;
      } while (level > 0);
    } else {
      n++;
    }
  }
  return n - from;
}

/**
 * Splits a match (or a whole flow rule without its `actions=` part) into items the way OVS
 * `ofputil_parse_key_value` does: items separated by commas or white space; `name=value`,
 * `name:value` or `name(value)`; a bare `name` has the value ''. Never throws.
 */
export function tokenizeMatch(text: string): MatchToken[] {
  const out: MatchToken[] = [];
  let i = 0;
  const s = text;
  for (;;) {
    while (i < s.length && SEPARATORS.includes(s[i]!)) i++;
    if (i >= s.length) return out;
    const at = i;
    while (i < s.length && !':=(, \t\r\n'.includes(s[i]!)) i++;
    const name = s.slice(at, i);
    const delim = i < s.length ? s[i]! : '';
    if (delim) i++;
    let value = '';
    if (delim === ':' || delim === '=' || delim === '(') {
      let len = valueLength(s, i, delim === '(' ? ')' : SEPARATORS);
      if (delim === '(' && s[i + len] === ')' && s[i + len + 1] === '-' && s[i + len + 2] === '>') {
        len += valueLength(s, i + len, SEPARATORS);
      }
      value = s.slice(i, i + len);
      i += len;
      if (i < s.length) i++;
    }
    out.push({ name, value, at });
  }
}

/** Protocol shorthands (OVS `ofp_parse_protocol`): dl_type and, when nonzero, nw_proto. */
const PROTOCOLS: Record<string, readonly [number, number]> = {
  ip: [0x0800, 0], ipv4: [0x0800, 0], ip4: [0x0800, 0], arp: [0x0806, 0],
  icmp: [0x0800, 1], tcp: [0x0800, 6], udp: [0x0800, 17], sctp: [0x0800, 132],
  ipv6: [0x86dd, 0], ip6: [0x86dd, 0], icmp6: [0x86dd, 58], tcp6: [0x86dd, 6],
  udp6: [0x86dd, 17], sctp6: [0x86dd, 132], rarp: [0x8035, 0], mpls: [0x8847, 0], mplsm: [0x8848, 0],
};

type Kind = 'port' | 'eth' | 'ip4' | 'ip6' | 'int' | 'frag' | 'tcpflags';

interface FieldDef {
  /** OVS's canonical name (meta-flow.h), used in messages. */
  readonly name: string;
  readonly kind: Kind;
  /** Width in bytes for integer syntax (OVS mf_field n_bytes). */
  readonly bytes: number;
  readonly maskable: boolean;
  /** Extra validity check (OVS mf_is_value_valid); returns the allowed range when invalid. */
  readonly invalid?: (v: number) => string | undefined;
}

function f(name: string, kind: Kind, bytes: number, maskable: boolean, invalid?: (v: number) => string | undefined): FieldDef {
  return invalid ? { name, kind, bytes, maskable, invalid } : { name, kind, bytes, maskable };
}
const upTo = (max: number, what?: string) => (v: number): string | undefined =>
  v > max ? (what ?? `0..${max}`) : undefined;

/** The match fields the flow key has, by every name OVS accepts for them. */
const FIELDS: Record<string, FieldDef> = {};
function def(names: string[], d: FieldDef): void {
  for (const n of names) FIELDS[n] = d;
}
def(['in_port'], f('in_port', 'port', 2, false));
def(['in_port_oxm'], f('in_port_oxm', 'port', 4, false));
def(['eth_src', 'dl_src'], f('eth_src', 'eth', 6, true));
def(['eth_dst', 'dl_dst'], f('eth_dst', 'eth', 6, true));
def(['eth_type', 'dl_type'], f('eth_type', 'int', 2, false));
def(['vlan_tci'], f('vlan_tci', 'int', 2, true));
def(['dl_vlan'], f('dl_vlan', 'int', 2, false, (v) => (v > 0xfff && v !== 0xffff ? '0..4095, or 0xffff for no VLAN' : undefined)));
def(['vlan_vid'], f('vlan_vid', 'int', 2, true, upTo(0x1fff, '0..0x1fff (0x1000 = VLAN present)')));
def(['dl_vlan_pcp'], f('dl_vlan_pcp', 'int', 1, false, upTo(7)));
def(['vlan_pcp'], f('vlan_pcp', 'int', 1, false, upTo(7)));
def(['mpls_label'], f('mpls_label', 'int', 4, false, upTo(0xfffff)));
def(['mpls_tc'], f('mpls_tc', 'int', 1, false, upTo(7)));
def(['mpls_bos'], f('mpls_bos', 'int', 1, false, upTo(1)));
def(['mpls_ttl'], f('mpls_ttl', 'int', 1, false));
def(['ip_src', 'nw_src'], f('ip_src', 'ip4', 4, true));
def(['ip_dst', 'nw_dst'], f('ip_dst', 'ip4', 4, true));
def(['ipv6_src'], f('ipv6_src', 'ip6', 16, true));
def(['ipv6_dst'], f('ipv6_dst', 'ip6', 16, true));
def(['ipv6_label'], f('ipv6_label', 'int', 4, true, upTo(0xfffff)));
def(['nw_proto', 'ip_proto'], f('nw_proto', 'int', 1, false));
def(['nw_tos'], f('nw_tos', 'int', 1, false, (v) => (v & 3 ? 'a multiple of 4 (DSCP << 2)' : undefined)));
def(['ip_dscp'], f('ip_dscp', 'int', 1, false, upTo(63)));
def(['nw_ecn', 'ip_ecn'], f('nw_ecn', 'int', 1, false, upTo(3)));
def(['nw_ttl'], f('nw_ttl', 'int', 1, false));
def(['ip_frag', 'nw_frag'], f('ip_frag', 'frag', 1, true));
def(['arp_op'], f('arp_op', 'int', 2, false, upTo(255)));
def(['arp_spa'], f('arp_spa', 'ip4', 4, true));
def(['arp_tpa'], f('arp_tpa', 'ip4', 4, true));
def(['arp_sha'], f('arp_sha', 'eth', 6, true));
def(['arp_tha'], f('arp_tha', 'eth', 6, true));
def(['tcp_src', 'tp_src'], f('tcp_src', 'int', 2, true));
def(['tcp_dst', 'tp_dst'], f('tcp_dst', 'int', 2, true));
def(['tcp_flags'], f('tcp_flags', 'tcpflags', 2, true));
def(['udp_src'], f('udp_src', 'int', 2, true));
def(['udp_dst'], f('udp_dst', 'int', 2, true));
def(['sctp_src'], f('sctp_src', 'int', 2, true));
def(['sctp_dst'], f('sctp_dst', 'int', 2, true));
def(['icmp_type'], f('icmp_type', 'int', 1, false));
def(['icmp_code'], f('icmp_code', 'int', 1, false));
def(['icmpv6_type'], f('icmpv6_type', 'int', 1, false));
def(['icmpv6_code'], f('icmpv6_code', 'int', 1, false));
def(['nd_target'], f('nd_target', 'ip6', 16, true));
def(['nd_sll'], f('nd_sll', 'eth', 6, true));
def(['nd_tll'], f('nd_tll', 'eth', 6, true));
def(['nd_reserved'], f('nd_reserved', 'int', 4, false));
def(['nd_options_type'], f('nd_options_type', 'int', 1, false));

/** OVS match fields (meta-flow.h) that the flow key has no words for. */
const UNSUPPORTED = new Set([
  'dp_hash', 'recirc_id', 'packet_type', 'conj_id', 'tun_id', 'tunnel_id', 'tun_src', 'tun_dst',
  'tun_ipv6_src', 'tun_ipv6_dst', 'tun_flags', 'tun_ttl', 'tun_tos', 'tun_gbp_id', 'tun_gbp_flags',
  'tun_erspan_idx', 'tun_erspan_ver', 'tun_erspan_dir', 'tun_erspan_hwid', 'tun_gtpu_flags',
  'tun_gtpu_msgtype', 'metadata', 'actset_output', 'skb_priority', 'pkt_mark', 'ct_state', 'ct_zone',
  'ct_mark', 'ct_label', 'ct_nw_proto', 'ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst',
  'ct_tp_src', 'ct_tp_dst', 'nsh_flags', 'nsh_mdtype', 'nsh_np', 'nsh_spi', 'nsp', 'nsh_si', 'nsi',
  'nsh_ttl',
]);
const UNSUPPORTED_RE = /^(x{0,2}reg[0-9]+|tun_metadata[0-9]+|nsh_c[1-4]|nshc[1-4])$/;

/** True if `name` is something `parseMatchField` accepts: a match field or a protocol shorthand. */
export function isMatchFieldName(name: string): boolean {
  return name in FIELDS || name in PROTOCOLS || name === 'eth';
}

/** Options for resolving port names in `in_port=` (OVS port maps). */
export interface ParseMatchOptions {
  /** Returns the OpenFlow port number for a port name (quotes removed), or undefined. */
  portByName?: (name: string) => number | undefined;
}

/** Reserved OpenFlow 1.0 ports by name (OVS `OFPUTIL_NAMED_PORTS_WITH_NONE`, case-insensitive). */
const NAMED_PORTS: Record<string, number> = {
  IN_PORT: 0xfff8, TABLE: 0xfff9, NORMAL: 0xfffa, FLOOD: 0xfffb, ALL: 0xfffc, CONTROLLER: 0xfffd,
  LOCAL: 0xfffe, ANY: 0xffff, UNSET: 0xfff7, NONE: 0xffff,
};

/** OVS `ofputil_port_from_string`: decimal number, reserved name, or a name from the port map. */
export function parseOfpPort(s: string, opts?: ParseMatchOptions): number | undefined {
  if (/^[0-9]+$/.test(s)) {
    if (s.length > 10) return undefined;
    const p = Number.parseInt(s, 10);
    if (p <= 0xffff) return p;
    if (p < 0xffffff00 || p > 0xffffffff) return undefined;
    return p - 0xffff0000; // OpenFlow 1.1+ reserved port numbers
  }
  const named = NAMED_PORTS[s.toUpperCase()];
  if (named !== undefined) return named;
  if (opts?.portByName) {
    const name = s.length > 1 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
    const p = opts.portByName(name);
    if (p !== undefined) return p;
  }
  return undefined;
}

function bad(value: string, field: string, why?: string): FlowParseError {
  return new FlowParseError(`bad value "${value}" for ${field}${why ? `: ${why}` : ''}`, value);
}

/** Frag names (OVS `all_frags`, first match wins): value and mask of FLOW_NW_FRAG_{ANY,LATER}. */
const FRAGS: ReadonlyArray<readonly [string, number, number]> = [
  ['no', 0, 3], ['first', 1, 3], ['later', 3, 3], ['yes', 1, 1], ['not_later', 0, 2],
];

const scratchAddr = new Uint32Array(8);

/**
 * Parses one `name=value` item (or a protocol shorthand such as `tcp`, or `eth`) into the key at
 * `key[keyBase ..]` and mask at `mask[maskBase ..]`, as OVS `ofp_parse_field` does: later items
 * override earlier ones field by field. `value` '' means "match any" for integer fields (OVS
 * treats it as `0/0`); `*` wildcards any field. Does not apply prerequisites: call `finishMatch`
 * once all items are in.
 * @throws FlowParseError `unknown field "x"`, `field "x" is not supported ...`, or
 *   `bad value "v" for x[: reason]`.
 */
export function parseMatchField(
  name: string,
  value: string,
  key: Uint32Array,
  mask: Uint32Array,
  keyBase = 0,
  maskBase = 0,
  opts?: ParseMatchOptions,
): void {
  const k = keyBase;
  const m = maskBase;
  const proto = PROTOCOLS[name];
  if (proto) {
    key[k + W_DL_TYPE] = proto[0];
    mask[m + W_DL_TYPE] = 0xffff;
    if (proto[1]) setWordBits(key, k, mask, m, W_NW, 0xff000000, proto[1] << 24, 0xff000000);
    return;
  }
  if (name === 'eth') return; // packet_type=Ethernet: the only kind of packet tsvs has
  const fd = FIELDS[name];
  if (!fd) {
    if (UNSUPPORTED.has(name) || UNSUPPORTED_RE.test(name)) {
      throw new FlowParseError(`field "${name}" is not supported by tsvs (the flow key has no such field)`, name);
    }
    if (name.includes('[')) {
      throw new FlowParseError(`subfield "${name}" is not supported by tsvs`, name);
    }
    throw new FlowParseError(`unknown field "${name}"`, name);
  }
  if (value === '*') {
    setField(fd, key, k, mask, m, 0, 0);
    return;
  }
  switch (fd.kind) {
    case 'port': {
      const p = parseOfpPort(value, opts);
      if (p === undefined) throw bad(value, name, 'not a port number or name');
      key[k + W_IN_PORT] = p;
      mask[m + W_IN_PORT] = 0xffffffff;
      return;
    }
    case 'eth': {
      const e = parseEthMasked(value);
      if (!e) throw bad(value, name);
      const hi = fd.name === 'eth_src' ? W_DL_SRC_HI : fd.name === 'eth_dst' ? W_DL_DST_HI
        : fd.name === 'arp_sha' || fd.name === 'nd_sll' ? W_ARP_SHA_HI : W_ARP_THA_HI;
      setWordBits(key, k, mask, m, hi, 0xffff, e[0], e[2]);
      setWordBits(key, k, mask, m, hi + 1, 0xffffffff, e[1], e[3]);
      return;
    }
    case 'ip4': {
      const a = parseIp4Masked(value);
      if (!a) throw bad(value, name);
      const w = fd.name === 'ip_src' || fd.name === 'arp_spa' ? W_NW_SRC : W_NW_DST;
      setWordBits(key, k, mask, m, w, 0xffffffff, a[0], a[1]);
      return;
    }
    case 'ip6': {
      if (!parseIp6Masked(value, scratchAddr, 0, scratchAddr, 4)) throw bad(value, name);
      const w = fd.name === 'ipv6_src' ? W_IPV6_SRC : fd.name === 'ipv6_dst' ? W_IPV6_DST : W_ND_TARGET;
      for (let i = 0; i < 4; i++) setWordBits(key, k, mask, m, w + i, 0xffffffff, scratchAddr[i]!, scratchAddr[4 + i]!);
      return;
    }
    case 'frag': {
      const fr = FRAGS.find(([n]) => n === value.toLowerCase());
      if (!fr) throw bad(value, name, 'one of no, yes, first, later, not_later');
      if (fr[2] === 3) {
        // match_set_nw_frag: the whole frag byte is set, the mask gains FLOW_NW_FRAG_MASK.
        mask[m + W_NW] = (mask[m + W_NW]! | 3) >>> 0;
        key[k + W_NW] = ((key[k + W_NW]! & ~0xff) | fr[1]) >>> 0;
      } else {
        // OVS forces the unused upper bits of the mask on (mf_from_frag_string).
        setWordBits(key, k, mask, m, W_NW, 0xff, fr[1], fr[2] | 0xfc);
      }
      return;
    }
    case 'tcpflags': {
      const r = parseTcpFlagsText(value, 0xffff);
      if (typeof r === 'string') throw bad(value, name, r);
      setField(fd, key, k, mask, m, r[0], r[1]);
      return;
    }
    case 'int': {
      const s = value === '' ? '0/0' : value;
      const slash = s.indexOf('/');
      const vs = slash < 0 ? s : s.slice(0, slash);
      const v = parseUintText(vs, fd.bytes);
      if (v === undefined) throw bad(value, name, `not a number that fits ${fd.bytes * 8} bits`);
      const full = fd.bytes >= 4 ? 0xffffffff : 2 ** (8 * fd.bytes) - 1;
      let vm = full;
      if (slash >= 0) {
        const mv = parseUintText(s.slice(slash + 1), fd.bytes);
        if (mv === undefined) throw bad(value, name, 'bad mask');
        if (!fd.maskable && mv !== 0 && mv !== full) throw bad(value, name, 'this field cannot be masked');
        vm = mv;
      }
      const why = vm !== 0 ? fd.invalid?.(v) : undefined;
      if (why) throw bad(value, name, why);
      setField(fd, key, k, mask, m, v, vm);
      return;
    }
  }
}

/** mf_set / mf_set_value / mf_set_wild for integer-syntax fields: vm 0 = wildcard. */
function setField(fd: FieldDef, key: Uint32Array, k: number, mask: Uint32Array, m: number, v: number, vm: number): void {
  const full = fd.bytes >= 4 ? 0xffffffff : 2 ** (8 * fd.bytes) - 1;
  const exact = vm === full;
  const wild = vm === 0;
  const tci = (): number => key[k + W_VLAN0]! & 0xffff;
  const tciMask = (): number => mask[m + W_VLAN0]! & 0xffff;
  const setTci = (t: number, tm: number): void => setWordBits(key, k, mask, m, W_VLAN0, 0xffff, t, tm);
  switch (fd.name) {
    case 'in_port':
    case 'in_port_oxm':
      setWordBits(key, k, mask, m, W_IN_PORT, 0xffffffff, 0, 0);
      return;
    case 'eth_src':
      setWordBits(key, k, mask, m, W_DL_SRC_HI, 0xffff, 0, 0);
      setWordBits(key, k, mask, m, W_DL_SRC_LO, 0xffffffff, 0, 0);
      return;
    case 'eth_dst':
      setWordBits(key, k, mask, m, W_DL_DST_HI, 0xffff, 0, 0);
      setWordBits(key, k, mask, m, W_DL_DST_LO, 0xffffffff, 0, 0);
      return;
    case 'arp_sha':
    case 'nd_sll':
      setWordBits(key, k, mask, m, W_ARP_SHA_HI, 0xffff, 0, 0);
      setWordBits(key, k, mask, m, W_ARP_SHA_LO, 0xffffffff, 0, 0);
      return;
    case 'arp_tha':
    case 'nd_tll':
      setWordBits(key, k, mask, m, W_ARP_THA_HI, 0xffff, 0, 0);
      setWordBits(key, k, mask, m, W_ARP_THA_LO, 0xffffffff, 0, 0);
      return;
    case 'ip_src':
    case 'arp_spa':
      setWordBits(key, k, mask, m, W_NW_SRC, 0xffffffff, 0, 0);
      return;
    case 'ip_dst':
    case 'arp_tpa':
      setWordBits(key, k, mask, m, W_NW_DST, 0xffffffff, 0, 0);
      return;
    case 'ipv6_src':
    case 'ipv6_dst':
    case 'nd_target': {
      const w = fd.name === 'ipv6_src' ? W_IPV6_SRC : fd.name === 'ipv6_dst' ? W_IPV6_DST : W_ND_TARGET;
      for (let i = 0; i < 4; i++) setWordBits(key, k, mask, m, w + i, 0xffffffff, 0, 0);
      return;
    }
    case 'ip_frag':
      // mf_set_wild: only FLOW_NW_FRAG_MASK is cleared.
      setWordBits(key, k, mask, m, W_NW, 3, 0, 0);
      return;
    case 'eth_type':
      setWordBits(key, k, mask, m, W_DL_TYPE, 0xffff, v, vm);
      return;
    case 'vlan_tci':
      setTci(v, vm);
      return;
    case 'dl_vlan':
    case 'vlan_vid':
    case 'dl_vlan_pcp':
    case 'vlan_pcp': {
      const isPcp = fd.name.endsWith('pcp');
      if (wild) {
        // match_set_any_vid / match_set_any_pcp: keep the other half if it is matched.
        const other = isPcp ? 0x0fff : 0xe000;
        const mine = isPcp ? 0xe000 : 0x0fff;
        if (tciMask() & other) setTci(tci() & ~mine, tciMask() & ~mine);
        else setTci(0, 0);
      } else if (isPcp) {
        setTci((tci() & ~0xe000) | (v << 13) | 0x1000, tciMask() | 0xf000);
      } else if (fd.name === 'dl_vlan') {
        if (v === 0xffff) setTci(0, 0xffff);
        else setTci((tci() & ~0x0fff) | 0x1000 | v, tciMask() | 0x1fff);
      } else {
        const vidMask = (exact ? 0x1fff : vm) & 0x1fff;
        setTci((tci() & ~0x1fff) | (v & vidMask), vidMask | (tciMask() & 0xe000));
      }
      return;
    }
    case 'mpls_label':
      mplsBits(key, k, mask, m, 0xfffff000, v << 12, wild);
      return;
    case 'mpls_tc':
      mplsBits(key, k, mask, m, 0x00000e00, v << 9, wild);
      return;
    case 'mpls_bos':
      mplsBits(key, k, mask, m, 0x00000100, v << 8, wild);
      return;
    case 'mpls_ttl':
      mplsBits(key, k, mask, m, 0x000000ff, v, wild);
      return;
    case 'ipv6_label':
      if (!wild && (vm & 0xfffff) === 0xfffff) setWordBits(key, k, mask, m, W_IPV6_LABEL, 0xffffffff, v, 0xffffffff);
      else setWordBits(key, k, mask, m, W_IPV6_LABEL, 0xffffffff, v, vm);
      return;
    case 'nw_proto':
    case 'arp_op':
      setWordBits(key, k, mask, m, W_NW, 0xff000000, v << 24, wild ? 0 : 0xff000000);
      return;
    case 'nw_tos':
      setWordBits(key, k, mask, m, W_NW, 0x00fc0000, v << 16, wild ? 0 : 0x00fc0000);
      return;
    case 'ip_dscp':
      setWordBits(key, k, mask, m, W_NW, 0x00fc0000, v << 18, wild ? 0 : 0x00fc0000);
      return;
    case 'nw_ecn':
      setWordBits(key, k, mask, m, W_NW, 0x00030000, v << 16, wild ? 0 : 0x00030000);
      return;
    case 'nw_ttl':
      setWordBits(key, k, mask, m, W_NW, 0x0000ff00, v << 8, wild ? 0 : 0x0000ff00);
      return;
    case 'tcp_src':
    case 'udp_src':
    case 'sctp_src':
      setWordBits(key, k, mask, m, W_TP, 0xffff0000, v << 16, vm << 16);
      return;
    case 'tcp_dst':
    case 'udp_dst':
    case 'sctp_dst':
      setWordBits(key, k, mask, m, W_TP, 0x0000ffff, v, vm);
      return;
    case 'icmp_type':
    case 'icmpv6_type':
      setWordBits(key, k, mask, m, W_TP, 0xffff0000, v << 16, wild ? 0 : 0xffff0000);
      return;
    case 'icmp_code':
    case 'icmpv6_code':
      setWordBits(key, k, mask, m, W_TP, 0x0000ffff, v, wild ? 0 : 0xffff);
      return;
    case 'tcp_flags':
      setWordBits(key, k, mask, m, W_TCP_FLAGS, 0xffff, v, vm);
      return;
    case 'nd_options_type':
      setWordBits(key, k, mask, m, W_TCP_FLAGS, 0xffff, v, wild ? 0 : 0xffff);
      return;
    case 'nd_reserved':
      setWordBits(key, k, mask, m, W_IGMP_GROUP, 0xffffffff, v, wild ? 0 : 0xffffffff);
      return;
  }
}

function mplsBits(key: Uint32Array, k: number, mask: Uint32Array, m: number, bits: number, v: number, wild: boolean): void {
  // match_set_mpls_*: the mask gains the field's bits; mf_set_wild clears them.
  setWordBits(key, k, mask, m, W_MPLS0, bits, v >>> 0, wild ? 0 : bits);
}

/** Names of the fields stored at a location, for `dropped` (OVS's names for the common case). */
function clearWords(key: Uint32Array, k: number, mask: Uint32Array, m: number, w: number, n: number,
  name: string, dropped: string[]): void {
  let any = 0;
  for (let i = 0; i < n; i++) {
    any |= mask[m + w + i]!;
    key[k + w + i] = 0;
    mask[m + w + i] = 0;
  }
  if (any) dropped.push(name);
}

function clearBits(key: Uint32Array, k: number, mask: Uint32Array, m: number, w: number, bits: number,
  name: string, dropped: string[]): void {
  if (mask[m + w]! & bits) dropped.push(name);
  setWordBits(key, k, mask, m, w, bits, 0, 0);
}

/**
 * Applies OVS's field prerequisites to a parsed match (see the file comment): fields whose
 * prerequisites the match does not meet are cleared from key and mask. Returns the names of the
 * dropped fields (OVS's "normalization changed ofp_match"), in field order.
 * @throws FlowParseError for the two combinations OVS rejects (OFPBMC_BAD_PREREQ): ipv6_label in
 *   an IPv4 match; tp_src/tp_dst/tcp_flags of TCP, UDP or SCTP together with nw_frag=later.
 */
export function finishMatch(key: Uint32Array, keyBase: number, mask: Uint32Array, maskBase: number): string[] {
  const k = keyBase;
  const m = maskBase;
  const dropped: string[] = [];
  const dl = mask[m + W_DL_TYPE]! & 0xffff ? key[k + W_DL_TYPE]! & 0xffff : 0;
  const ip4 = dl === 0x0800;
  const ip6 = dl === 0x86dd;
  const ip = ip4 || ip6;
  const arp = dl === 0x0806 || dl === 0x8035;
  const mpls = dl === 0x8847 || dl === 0x8848;

  if (!mpls) {
    clearBits(key, k, mask, m, W_MPLS0, 0xfffff000, 'mpls_label', dropped);
    clearBits(key, k, mask, m, W_MPLS0, 0x00000e00, 'mpls_tc', dropped);
    clearBits(key, k, mask, m, W_MPLS0, 0x000000ff, 'mpls_ttl', dropped);
    clearBits(key, k, mask, m, W_MPLS0, 0x00000100, 'mpls_bos', dropped);
  }
  if (!ip4 && !arp) {
    clearWords(key, k, mask, m, W_NW_SRC, 1, 'nw_src', dropped);
    clearWords(key, k, mask, m, W_NW_DST, 1, 'nw_dst', dropped);
  }
  if (!ip6) {
    clearWords(key, k, mask, m, W_IPV6_SRC, 4, 'ipv6_src', dropped);
    clearWords(key, k, mask, m, W_IPV6_DST, 4, 'ipv6_dst', dropped);
    if (ip4 && mask[m + W_IPV6_LABEL]) {
      throw new FlowParseError('ipv6_label cannot be matched in an IPv4 match (OVS: OFPBMC_BAD_PREREQ)', 'ipv6_label');
    }
    clearWords(key, k, mask, m, W_IPV6_LABEL, 1, 'ipv6_label', dropped);
  }
  if (!ip) {
    if (!arp) clearBits(key, k, mask, m, W_NW, 0xff000000, 'nw_proto', dropped);
    clearBits(key, k, mask, m, W_NW, 0x00fc0000, 'nw_tos', dropped);
    clearBits(key, k, mask, m, W_NW, 0x00030000, 'nw_ecn', dropped);
    clearBits(key, k, mask, m, W_NW, 0x0000ff00, 'nw_ttl', dropped);
    clearBits(key, k, mask, m, W_NW, 0x000000ff, 'nw_frag', dropped);
  }

  // L4 and the fields stored in L4 words, as nx_put_raw emits them.
  let keepTp = false;
  let keepFlags = false;
  let keepSha = arp;
  let keepTha = arp;
  let keepNd = false;
  let checkFrag = false;
  if (ip && mask[m + W_NW]! & 0xff000000) {
    const proto = key[k + W_NW]! >>> 24;
    if (proto === 6) {
      keepTp = keepFlags = checkFrag = true;
    } else if (proto === 17 || proto === 132) {
      keepTp = checkFrag = true;
    } else if ((ip4 && proto === 1) || (ip6 && proto === 58)) {
      keepTp = true;
      const tp = key[k + W_TP]!;
      const type = tp >>> 16;
      if (ip6 && (tp & 0xffff) === 0 && (type === 135 || type === 136)) {
        keepNd = keepFlags = true;
        keepSha = type === 135;
        keepTha = type === 136;
      }
    }
  }
  if (checkFrag && key[k + W_NW]! & FLOW_NW_FRAG_LATER &&
      (mask[m + W_TP] || (keepFlags && mask[m + W_TCP_FLAGS]! & 0xffff))) {
    const what = mask[m + W_TP] ? (mask[m + W_TP]! >>> 16 ? 'tp_src' : 'tp_dst') : 'tcp_flags';
    throw new FlowParseError(`${what} cannot be matched with nw_frag=later (no L4 header; OVS: OFPBMC_BAD_PREREQ)`, what);
  }
  if (!keepTp) {
    clearBits(key, k, mask, m, W_TP, 0xffff0000, 'tp_src', dropped);
    clearBits(key, k, mask, m, W_TP, 0x0000ffff, 'tp_dst', dropped);
  }
  if (!keepFlags) clearWords(key, k, mask, m, W_TCP_FLAGS, 1, 'tcp_flags', dropped);
  if (!keepSha) clearWords(key, k, mask, m, W_ARP_SHA_HI, 2, ip6 ? 'nd_sll' : 'arp_sha', dropped);
  if (!keepTha) clearWords(key, k, mask, m, W_ARP_THA_HI, 2, ip6 ? 'nd_tll' : 'arp_tha', dropped);
  if (!keepNd) {
    clearWords(key, k, mask, m, W_ND_TARGET, 4, 'nd_target', dropped);
    clearWords(key, k, mask, m, W_IGMP_GROUP, 1, 'nd_reserved', dropped);
  }
  return dropped;
}

/** A parsed match: key and mask (FLOW_WORDS each, key already masked) and the dropped fields. */
export interface ParsedMatch {
  key: Uint32Array;
  mask: Uint32Array;
  /** Fields given but dropped because their prerequisites were not met (see `finishMatch`). */
  dropped: string[];
}

/**
 * Parses an ovs-ofctl match, e.g. `tcp,nw_src=10.0.0.0/24,tp_dst=80`, into a new key and mask.
 * An empty string is the catch-all match.
 * @throws FlowParseError naming the bad token (unknown field, bad value, unsupported field,
 *   or a prerequisite combination OVS rejects).
 */
export function parseMatch(text: string, opts?: ParseMatchOptions): ParsedMatch {
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  for (const t of tokenizeMatch(text)) parseMatchField(t.name, t.value, key, mask, 0, 0, opts);
  const dropped = finishMatch(key, 0, mask, 0);
  return { key, mask, dropped };
}
