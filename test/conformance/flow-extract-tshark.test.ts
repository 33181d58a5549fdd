/**
 * Cross-check of the extracted flow key against tshark's independent dissection
 * (../shared/pcaps/*.truth.jsonl, `outer` object: outermost headers only; see the pcaps README).
 *
 * Extraction runs here with vlan-limit 2 (both VLAN headers the key can hold) so that tags can be
 * compared. Every field both know is compared: Ethernet addresses and type, VLAN VID/PCP, ARP,
 * MPLS label stack entries, IPv4/IPv6 header fields and fragment state, TCP/UDP/SCTP ports, TCP
 * flags, ICMP/ICMPv6 type and code, ND target and link-layer address options.
 *
 * Where OVS and tshark legitimately differ, the difference must fall under one of these rules
 * (each is checked against the frame bytes, not assumed, and counted; the counts for this data set
 * are pinned in the last test):
 *  - dei:        OVS sets the CFI/DEI bit of every present tag (it means "tag present" in OVS), so
 *                the DEI value is not compared.
 *  - vlan>2:     a flow key holds 2 VLAN headers (FLOW_MAX_VLAN_HEADERS); a third tag's TPID is
 *                dl_type and nothing behind it is parsed.
 *  - mpls>3:     a key holds 3 label stack entries.
 *  - ah:         OVS walks past an IPv6 AH header to the protocol behind it; tshark's
 *                ipv6.ext.nxt chain ends at the AH header (protocol 51).
 *  - l3-invalid: OVS rejects an IPv4/IPv6 header that tshark dissects (total/payload length beyond
 *                the captured bytes: snaplen cuts, fuzzed lengths; IPv4 header length below 20 or
 *                beyond the total length; an IPv6 extension header running past the payload):
 *                OVS then keeps only dl_type (and IPv6 addresses).
 *  - l4-short:   the transport header is shorter than OVS needs within the IP total length
 *                (TCP: data offset < 5 or beyond the segment; UDP/ICMP/IGMP < 8; SCTP < 12): OVS leaves
 *                the ports 0, tshark reads what is there (e.g. a first fragment with 8 bytes of TCP).
 *  - nd-options: OVS reads link-layer address options only in Neighbor Solicitations and
 *                Advertisements (code 0); tshark also shows those of router advertisements etc.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '@tsvs/capture';
import * as P from '@tsvs/packet';
import { extractFlow, flowLimitVlans, formatEth, formatIp4, formatIp6, FLOW_WORDS, EXTRACT_OK, OFS_L3, OFS_L4 } from '@tsvs/packet';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PCAPS = resolve(ROOT, '../shared/pcaps');

type Outer = Record<string, unknown>;
interface Truth { 'frame.number': number; outer: Outer; malformed?: boolean }

interface Diff { field: string; tshark: unknown; ours: unknown }

const mac = (k: Uint32Array, w: number): string => formatEth(k[w]!, k[w + 1]!);
const ip6At = (k: Uint32Array, w: number): string => formatIp6(k[w]!, k[w + 1]!, k[w + 2]!, k[w + 3]!);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Field-by-field comparison of the key with tshark's `outer`; returns the differences. */
function compare(t: Outer, k: Uint32Array): Diff[] {
  const d: Diff[] = [];
  const eq = (field: string, ours: unknown): void => {
    if (!(field in t)) return;
    if (t[field] !== ours) d.push({ field, tshark: t[field], ours });
  };
  eq('eth.src', mac(k, P.W_DL_SRC_HI));
  eq('eth.dst', mac(k, P.W_DL_DST_HI));
  const ids = arr(t['vlan.id']);
  if (ids.length > 2) {
    // The key holds two VLAN headers: the third tag's TPID is dl_type and nothing behind it is parsed.
    d.push({ field: 'vlan>2', tshark: ids.length, ours: k[P.W_DL_TYPE] });
    return d;
  }
  const pcps = arr(t['vlan.pcp']);
  for (let i = 0; i < Math.min(ids.length, 2); i++) {
    const tci = k[P.W_VLAN0 + i]! & 0xffff;
    if (ids[i] !== (tci & 0xfff)) d.push({ field: `vlan.id[${i}]`, tshark: ids[i], ours: tci & 0xfff });
    if (pcps[i] !== tci >>> 13) d.push({ field: `vlan.pcp[${i}]`, tshark: pcps[i], ours: tci >>> 13 });
  }
  const dlType = k[P.W_DL_TYPE]!;
  const etypes = arr(t['vlan.etype']);
  if ('eth.len' in t || 'vlan.len' in t) {
    if (t['llc.dsap'] !== 0xaa && dlType !== 0x05ff) d.push({ field: 'dl_type (802.3)', tshark: 'llc', ours: dlType });
  } else {
    const want = ids.length ? etypes[etypes.length - 1] : t['eth.type'];
    if (want !== undefined && want !== dlType) d.push({ field: 'dl_type', tshark: want, ours: dlType });
  }
  const nw = k[P.W_NW]!;
  const proto = nw >>> 24;
  const tos = (nw >>> 16) & 0xff;
  const ttl = (nw >>> 8) & 0xff;
  const frag = nw & 3;
  eq('arp.opcode', proto);
  eq('arp.src.proto_ipv4', formatIp4(k[P.W_NW_SRC]!));
  eq('arp.dst.proto_ipv4', formatIp4(k[P.W_NW_DST]!));
  eq('arp.src.hw_mac', mac(k, P.W_ARP_SHA_HI));
  eq('arp.dst.hw_mac', mac(k, P.W_ARP_THA_HI));
  const labels = arr(t['mpls.label']);
  if (labels.length > 3) d.push({ field: 'mpls>3', tshark: labels.length, ours: 3 }); // the key holds 3 entries
  for (let i = 0; i < Math.min(labels.length, 3); i++) {
    const lse = k[P.W_MPLS0 + i]!;
    const want = [labels[i], arr(t['mpls.exp'])[i], arr(t['mpls.bottom'])[i], arr(t['mpls.ttl'])[i]];
    const ours = [lse >>> 12, (lse >>> 9) & 7, (lse >>> 8) & 1, lse & 0xff];
    if (JSON.stringify(want) !== JSON.stringify(ours)) d.push({ field: `mpls[${i}]`, tshark: want, ours });
  }
  if ('ip.src' in t) {
    eq('ip.src', formatIp4(k[P.W_NW_SRC]!));
    eq('ip.dst', formatIp4(k[P.W_NW_DST]!));
    eq('ip.proto', proto);
    eq('ip.tos', tos);
    eq('ip.ttl', ttl);
    const off = t['ip.frag_offset'] as number;
    const want = (t['ip.flags.mf'] === 1 || off > 0 ? 1 : 0) | (off > 0 ? 2 : 0);
    if (want !== frag) d.push({ field: 'nw_frag', tshark: want, ours: frag });
  }
  if ('ipv6.src' in t) {
    eq('ipv6.src', ip6At(k, P.W_IPV6_SRC));
    eq('ipv6.dst', ip6At(k, P.W_IPV6_DST));
    eq('ipv6.tclass', tos);
    eq('ipv6.hlim', ttl);
    eq('ipv6.flow', k[P.W_IPV6_LABEL]);
    const off = arr(t['ipv6.fraghdr.offset'])[0] as number | undefined;
    const more = arr(t['ipv6.fraghdr.more'])[0] as number | undefined;
    const later = off !== undefined && off > 0;
    const exts = arr(t['ipv6.ext.nxt']);
    const wantProto = later ? 44 : (exts.length ? exts[exts.length - 1] : t['ipv6.nxt']);
    if (wantProto !== proto) d.push({ field: 'ipv6 upper protocol', tshark: wantProto, ours: proto });
    const wantFrag = off === undefined ? 0 : (off > 0 || more === 1 ? 1 : 0) | (later ? 2 : 0);
    if (wantFrag !== frag) d.push({ field: 'nw_frag', tshark: wantFrag, ours: frag });
  }
  const tp = k[P.W_TP]!;
  for (const p of ['tcp', 'udp', 'sctp']) {
    eq(`${p}.srcport`, tp >>> 16);
    eq(`${p}.dstport`, tp & 0xffff);
  }
  eq('tcp.flags', k[P.W_TCP_FLAGS]);
  eq('icmp.type', tp >>> 16);
  eq('icmp.code', tp & 0xffff);
  eq('icmpv6.type', tp >>> 16);
  eq('icmpv6.code', tp & 0xffff);
  eq('icmpv6.nd.ns.target_address', ip6At(k, P.W_ND_TARGET));
  eq('icmpv6.nd.na.target_address', ip6At(k, P.W_ND_TARGET));
  const lla = arr(t['icmpv6.opt.linkaddr']);
  if (lla.length) {
    const ours = [mac(k, P.W_ARP_SHA_HI), mac(k, P.W_ARP_THA_HI)].filter((m) => m !== '00:00:00:00:00:00');
    if (JSON.stringify([...lla].sort()) !== JSON.stringify(ours.sort())) d.push({ field: 'icmpv6.opt.linkaddr', tshark: lla, ours });
  }
  return d;
}

/**
 * Walks an IPv6 extension header chain as OVS does (hop-by-hop 0, routing 43, dest options 60,
 * AH 51, fragment 44) from the fixed header at `l3`; returns whether it ran out of payload and
 * whether an AH header was crossed.
 */
function walkIpv6(f: Uint8Array, l3: number): { ok: boolean; ah: boolean } {
  const end = l3 + 40 + ((f[l3 + 4]! << 8) | f[l3 + 5]!);
  let next = f[l3 + 6]!;
  let p = l3 + 40;
  let ah = false;
  while (next === 0 || next === 43 || next === 60 || next === 51 || next === 44) {
    if (end - p < 8) return { ok: false, ah };
    if (next === 44) {
      const later = ((f[p + 2]! << 8) | f[p + 3]!) & 0xfff8;
      next = f[p]!;
      p += 8;
      if (later) break;
      continue;
    }
    const len = next === 51 ? (f[p + 1]! + 2) * 4 : (f[p + 1]! + 1) * 8;
    ah ||= next === 51;
    next = f[p]!;
    if (end - p < len) return { ok: false, ah };
    p += len;
  }
  return { ok: true, ah };
}

/** Which documented rule explains a difference, judged from the frame bytes; null if none. */
function explain(diff: Diff, f: Uint8Array, k: Uint32Array, ofs: Int32Array, t: Outer): string | null {
  if (diff.field === 'vlan>2' || diff.field === 'mpls>3') return diff.field;
  const dl = k[P.W_DL_TYPE]!;
  const l3 = ofs[OFS_L3]!;
  const l4 = ofs[OFS_L4]!;
  const size = f.length - l3;
  if (dl === 0x0800 && l4 === -1) {
    // OVS ipv4_sanity_check() failed: it keeps nothing of L3.
    const ihl = (f[l3]! & 15) * 4;
    const tot = (f[l3 + 2]! << 8) | f[l3 + 3]!;
    if (size < 20 || ihl < 20 || size < ihl || tot > size || ihl > tot) return 'l3-invalid';
  }
  if (dl === 0x86dd && l4 === -1 && !/^ipv6\.(src|dst)$/.test(diff.field)) {
    // ipv6_sanity_check() failed (nothing kept) or the extension chain ran out (addresses kept).
    if (size < 40 || ((f[l3 + 4]! << 8) | f[l3 + 5]!) + 40 > size || !walkIpv6(f, l3).ok) return 'l3-invalid';
  }
  if (dl === 0x86dd && diff.field === 'ipv6 upper protocol' && diff.tshark === 51 && walkIpv6(f, l3).ah) return 'ah';
  if (l4 >= 0 && /^(tcp|udp|sctp|icmp|icmpv6)\./.test(diff.field)) {
    const proto = k[P.W_NW]! >>> 24;
    const ipEnd = dl === 0x0800 ? l3 + ((f[l3 + 2]! << 8) | f[l3 + 3]!) : l3 + 40 + ((f[l3 + 4]! << 8) | f[l3 + 5]!);
    const seg = ipEnd - l4;
    const doff = seg > 12 ? f[l4 + 12]! >> 4 : 0;
    const short = proto === 6 ? seg < 20 || doff < 5 || doff * 4 > seg : seg < (proto === 132 ? 12 : 8);
    if (short && k[P.W_TP] === 0) return 'l4-short';
  }
  if (diff.field === 'icmpv6.opt.linkaddr' && !((t['icmpv6.type'] === 135 || t['icmpv6.type'] === 136) && t['icmpv6.code'] === 0)) {
    return 'nd-options';
  }
  return null;
}

describe('conformance: flow keys agree with tshark (outer headers) where OVS and tshark overlap', () => {
  const files = readdirSync(PCAPS).filter((f) => f.endsWith('.truth.jsonl')).map((f) => f.slice(0, -'.truth.jsonl'.length)).sort();
  const rules: Record<string, number> = {};
  let frames = 0;
  let agreeing = 0;

  before(() => flowLimitVlans(2));
  after(() => flowLimitVlans(1));

  for (const name of files) {
    it(name, () => {
      const truth = readFileSync(join(PCAPS, `${name}.truth.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Truth);
      const cap = readCapture(join(PCAPS, name));
      expect(cap.count).to.equal(truth.length);
      const key = new Uint32Array(FLOW_WORDS);
      const ofs = new Int32Array(3);
      const unexplained: string[] = [];
      for (let i = 0; i < cap.count; i++) {
        const rec = cap.record(i);
        const t = truth[i]!.outer;
        if (rec.linktype !== 1 || Object.keys(t).length === 0) continue;
        if (extractFlow(rec.data, 0, rec.data.length, 1, key, 0, ofs) !== EXTRACT_OK) continue;
        frames++;
        const diffs = compare(t, key);
        if (diffs.length === 0) agreeing++;
        for (const diff of diffs) {
          const rule = explain(diff, rec.data, key, ofs, t);
          if (rule === null) unexplained.push(`frame ${rec.frame}: ${diff.field} tshark=${JSON.stringify(diff.tshark)} ours=${JSON.stringify(diff.ours)}`);
          else rules[rule] = (rules[rule] ?? 0) + 1;
        }
      }
      expect(unexplained.join('\n')).to.equal('');
    });
  }

  it('summary: 883 of 924 frames agree on every field; the other differences are all by rule', () => {
    // Deterministic for this data set; a change here means extraction (or the data) changed.
    expect({ frames, agreeing }).to.deep.equal({ frames: 924, agreeing: 883 });
    expect(rules).to.deep.equal({ 'l3-invalid': 122, 'l4-short': 9, 'nd-options': 4, ah: 2, 'vlan>2': 14 });
  });
});

