/**
 * The ofctl match parser against OVS 3.1 itself, and the parse/print round trip.
 *
 * Golden: packages/packet/test/fixtures/ofctl-parse.golden.tsv, made by
 * tools/ovs-golden/ofctl-parse-golden.sh (`ovs-ofctl parse-flow "<match>,actions=drop"` for every
 * line of tools/ovs-golden/ofctl-parse-corpus.txt). For each match: formatMatch(parseMatch(m))
 * must equal OVS's normalized match, or both must fail — except the deliberate differences
 * listed in DEVIATIONS.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseMatch, formatMatch, FlowParseError, FLOW_WORDS,
  W_IN_PORT, W_DL_DST_HI, W_DL_SRC_HI, W_DL_TYPE, W_VLAN0, W_MPLS0, W_NW_SRC, W_NW_DST, W_IPV6_SRC,
  W_IPV6_DST, W_IPV6_LABEL, W_NW, W_TP, W_TCP_FLAGS, W_ARP_SHA_HI, W_ARP_THA_HI, W_ND_TARGET, W_IGMP_GROUP,
} from '@tsvs/packet';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ofctl-parse.golden.tsv');
const rows = readFileSync(fixture, 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split('\t') as [string, string]);

/**
 * Matches where tsvs deliberately differs from ovs-ofctl, with the error tsvs gives (or, for
 * vlan_vid=5, what it prints). ovs-ofctl wraps out-of-range values silently (dl_vlan=5000 becomes
 * 904, 10.0.0.300 becomes 10.0.0.44); tsvs rejects every value that does not fit or that OVS's own
 * mf_is_value_valid rejects. Fields the flow key does not have are errors. For vlan_vid=5 (VID
 * without the "present" bit: matches nothing) ovs-ofctl chooses OpenFlow 1.0, whose encoding turns
 * it into "no VLAN"; tsvs keeps the NXM meaning.
 */
const DEVIATIONS: Record<string, string> = {
  'dl_vlan=5000': '!bad value "5000" for dl_vlan',
  'dl_vlan_pcp=9': '!bad value "9" for dl_vlan_pcp',
  'ip,nw_tos=5': '!bad value "5" for nw_tos',
  'ip,ip_dscp=64': '!bad value "64" for ip_dscp',
  'ip,nw_ecn=4': '!bad value "4" for nw_ecn',
  'arp,arp_op=256': '!bad value "256" for arp_op',
  'mpls,mpls_label=0x100000': '!bad value "0x100000" for mpls_label',
  'mpls,mpls_tc=8': '!bad value "8" for mpls_tc',
  'mpls,mpls_bos=2': '!bad value "2" for mpls_bos',
  'ip,nw_src=10.0.0.300': '!bad value "10.0.0.300" for nw_src',
  'dl_src=001:11:22:33:44:55': '!bad value "001:11:22:33:44:55" for dl_src',
  'reg0=5': '!field "reg0" is not supported',
  'tun_id=5': '!field "tun_id" is not supported',
  'metadata=0x1': '!field "metadata" is not supported',
  'ct_state=+trk': '!field "ct_state" is not supported',
  'vlan_vid=5': 'vlan_tci=0x0005/0x1fff',
};

function ours(text: string): string {
  try {
    const r = parseMatch(text);
    return formatMatch(r.key, 0, r.mask, 0);
  } catch (e) {
    if (!(e instanceof FlowParseError)) throw e;
    return '!' + e.message;
  }
}

describe('ofctl match parser vs ovs-ofctl parse-flow (OVS 3.1 golden)', () => {
  it('the golden file is there and covers the corpus', () => {
    expect(rows.length).to.be.greaterThan(200);
    expect(rows.filter(([, o]) => o.startsWith('!')).length).to.be.greaterThan(15);
  });

  for (const [input, ovs] of rows) {
    const dev = DEVIATIONS[input];
    it(`${input}  =>  ${dev !== undefined ? `(tsvs differs) ${dev}` : ovs}`, () => {
      const got = ours(input);
      if (dev !== undefined) {
        expect(ovs.startsWith('!'), 'OVS accepts the deviations').to.equal(false);
        if (dev.startsWith('!')) expect(got.startsWith(dev), got).to.equal(true);
        else expect(got).to.equal(dev);
      } else if (ovs.startsWith('!')) {
        expect(got.startsWith('!'), `OVS rejects it (${ovs}) but tsvs gives "${got}"`).to.equal(true);
      } else {
        expect(got).to.equal(ovs);
        // OVS's normal form is a fixed point: it parses back to the same match.
        expect(ours(ovs)).to.equal(ovs);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Round trip: parseMatch(formatMatch(k, m)) == (k & m, m) for random matches that OVS's
// prerequisites allow and whose masks the ofctl syntax can express.

interface Gen {
  key: Uint32Array;
  mask: Uint32Array;
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });

/** A value/mask pair over `bits` (pre-shifted into place by the setter). */
function maybe<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.option(arb, { nil: null, freq: 2 });
}

const ethArb = fc.record({ hi: u16, lo: u32, mhi: u16, mlo: u32 });
const ip6Arb = fc.tuple(u32, u32, u32, u32, fc.oneof(fc.integer({ min: 0, max: 128 }), fc.tuple(u32, u32, u32, u32)));

function setEth(g: Gen, w: number, e: { hi: number; lo: number; mhi: number; mlo: number } | null): void {
  if (!e) return;
  g.mask[w] = e.mhi;
  g.mask[w + 1] = e.mlo;
  g.key[w] = e.hi & e.mhi;
  g.key[w + 1] = (e.lo & e.mlo) >>> 0;
}

function setIp6(g: Gen, w: number, a: [number, number, number, number, number | [number, number, number, number]] | null): void {
  if (!a) return;
  const m = a[4];
  for (let i = 0; i < 4; i++) {
    const mi = typeof m === 'number' ? (m >= 32 * (i + 1) ? 0xffffffff : m <= 32 * i ? 0 : (0xffffffff << (32 * (i + 1) - m)) >>> 0) : m[i]!;
    g.mask[w + i] = mi;
    g.key[w + i] = ((a[i] as number) & mi) >>> 0;
  }
}

const l3Arb = fc.record({
  dlType: fc.constantFrom(0, 0x0800, 0x86dd, 0x0806, 0x8035, 0x8847, 0x8848, 0x88cc, 0x05ff, 0x8100),
  inPort: maybe(u16),
  src: maybe(ethArb),
  dst: maybe(ethArb),
  vlan: maybe(fc.tuple(u16, u16)),
  nwSrc: maybe(fc.tuple(u32, u32)),
  nwDst: maybe(fc.tuple(u32, u32)),
  ip6Src: maybe(ip6Arb),
  ip6Dst: maybe(ip6Arb),
  label: maybe(fc.tuple(fc.integer({ min: 0, max: 0xfffff }), u32)),
  proto: maybe(fc.constantFrom(1, 6, 17, 132, 58, 2, 47, 0, 255)),
  dscp: maybe(fc.integer({ min: 0, max: 63 })),
  ecn: maybe(fc.integer({ min: 0, max: 3 })),
  ttl: maybe(u8),
  frag: maybe(fc.constantFrom([0, 3], [1, 3], [3, 3], [1, 0xfd], [0, 0xfe])),
  mpls: fc.tuple(maybe(fc.integer({ min: 0, max: 0xfffff })), maybe(fc.integer({ min: 0, max: 7 })), maybe(u8), maybe(fc.integer({ min: 0, max: 1 }))),
  arpOp: maybe(u8),
  sha: maybe(ethArb),
  tha: maybe(ethArb),
  tpSrc: maybe(fc.tuple(u16, u16)),
  tpDst: maybe(fc.tuple(u16, u16)),
  flags: maybe(fc.tuple(fc.integer({ min: 0, max: 0xfff }), fc.oneof(fc.constant(0xffff), fc.integer({ min: 1, max: 0xffe })))),
  icmpType: maybe(fc.oneof(fc.constantFrom(135, 136), u8)),
  icmpCode: maybe(fc.oneof(fc.constant(0), u8)),
  ndTarget: maybe(ip6Arb),
  ndReserved: maybe(u32),
  ndOptions: maybe(u8),
});

type L3 = typeof l3Arb extends fc.Arbitrary<infer T> ? T : never;

function build(r: L3): Gen {
  const g: Gen = { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS) };
  const { key, mask } = g;
  if (r.inPort !== null) { key[W_IN_PORT] = r.inPort; mask[W_IN_PORT] = 0xffffffff; }
  setEth(g, W_DL_SRC_HI, r.src);
  setEth(g, W_DL_DST_HI, r.dst);
  if (r.vlan) { mask[W_VLAN0] = r.vlan[1]; key[W_VLAN0] = r.vlan[0] & r.vlan[1]; }
  if (r.dlType) { key[W_DL_TYPE] = r.dlType; mask[W_DL_TYPE] = 0xffff; }
  const ip4 = r.dlType === 0x0800;
  const ip6 = r.dlType === 0x86dd;
  const arp = r.dlType === 0x0806 || r.dlType === 0x8035;
  let nw = 0;
  let nwm = 0;
  if (ip4 || arp) {
    if (r.nwSrc) { mask[W_NW_SRC] = r.nwSrc[1]; key[W_NW_SRC] = (r.nwSrc[0] & r.nwSrc[1]) >>> 0; }
    if (r.nwDst) { mask[W_NW_DST] = r.nwDst[1]; key[W_NW_DST] = (r.nwDst[0] & r.nwDst[1]) >>> 0; }
  }
  if (ip6) {
    setIp6(g, W_IPV6_SRC, r.ip6Src);
    setIp6(g, W_IPV6_DST, r.ip6Dst);
    if (r.label) {
      // A mask covering all 20 label bits parses as exact (all 32 bits), as in OVS.
      const lm = (r.label[1] & 0xfffff) === 0xfffff ? 0xffffffff : r.label[1];
      mask[W_IPV6_LABEL] = lm;
      key[W_IPV6_LABEL] = (r.label[0] & lm) >>> 0;
    }
  }
  if (arp && r.arpOp !== null) { nw |= r.arpOp << 24; nwm |= 0xff000000; }
  if (arp) { setEth(g, W_ARP_SHA_HI, r.sha); setEth(g, W_ARP_THA_HI, r.tha); }
  let proto = -1;
  let later = false;
  if (ip4 || ip6) {
    if (r.proto !== null) { proto = r.proto; nw |= proto << 24; nwm |= 0xff000000; }
    if (r.dscp !== null) { nw |= r.dscp << 18; nwm |= 0x00fc0000; }
    if (r.ecn !== null) { nw |= r.ecn << 16; nwm |= 0x00030000; }
    if (r.ttl !== null) { nw |= r.ttl << 8; nwm |= 0x0000ff00; }
    if (r.frag) { nw |= r.frag[0]; nwm |= r.frag[1]; later = (r.frag[0] & 2) !== 0; }
  }
  if (r.dlType === 0x8847 || r.dlType === 0x8848) {
    const [label, tc, ttl, bos] = r.mpls;
    let v = 0;
    let vm = 0;
    if (label !== null) { v |= label << 12; vm |= 0xfffff000; }
    if (tc !== null) { v |= tc << 9; vm |= 0xe00; }
    if (ttl !== null) { v |= ttl; vm |= 0xff; }
    if (bos !== null) { v |= bos << 8; vm |= 0x100; }
    key[W_MPLS0] = v >>> 0;
    mask[W_MPLS0] = vm >>> 0;
  }
  const portsOk = (proto === 6 || proto === 17 || proto === 132) && !later;
  if (portsOk) {
    if (r.tpSrc) { nwTp(g, 16, r.tpSrc[0], r.tpSrc[1]); }
    if (r.tpDst) { nwTp(g, 0, r.tpDst[0], r.tpDst[1]); }
    if (proto === 6 && r.flags) { mask[W_TCP_FLAGS] = r.flags[1]; key[W_TCP_FLAGS] = r.flags[0] & r.flags[1]; }
  }
  const icmp = (ip4 && proto === 1) || (ip6 && proto === 58);
  if (icmp) {
    if (r.icmpType !== null) nwTp(g, 16, r.icmpType, 0xffff);
    if (r.icmpCode !== null) nwTp(g, 0, r.icmpCode, 0xffff);
    const type = key[W_TP]! >>> 16;
    if (ip6 && (key[W_TP]! & 0xffff) === 0 && (type === 135 || type === 136)) {
      setIp6(g, W_ND_TARGET, r.ndTarget);
      if (type === 135) setEth(g, W_ARP_SHA_HI, r.sha);
      else setEth(g, W_ARP_THA_HI, r.tha);
      if (r.ndReserved !== null) { key[W_IGMP_GROUP] = r.ndReserved; mask[W_IGMP_GROUP] = 0xffffffff; }
      if (r.ndOptions !== null) { key[W_TCP_FLAGS] = r.ndOptions; mask[W_TCP_FLAGS] = 0xffff; }
    }
  }
  key[W_NW] = (nw & nwm) >>> 0;
  mask[W_NW] = nwm >>> 0;
  return g;
}

function nwTp(g: Gen, shift: number, v: number, m: number): void {
  const field = (0xffff << shift) >>> 0;
  g.mask[W_TP] = ((g.mask[W_TP]! & ~field) | (m << shift)) >>> 0;
  g.key[W_TP] = ((g.key[W_TP]! & ~field) | ((v & m) << shift)) >>> 0;
}

describe('ofctl match: parseMatch(formatMatch(k, m)) == (k & m, m)', () => {
  it('holds for random matches (fast-check)', () => {
    let nonTrivial = 0;
    fc.assert(fc.property(l3Arb, (r) => {
      const { key, mask } = build(r);
      const text = formatMatch(key, 0, mask, 0);
      const back = parseMatch(text);
      expect(back.dropped, text).to.deep.equal([]);
      expect([...back.mask].map((w) => w.toString(16)), text).to.deep.equal([...mask].map((w) => w.toString(16)));
      expect([...back.key].map((w) => w.toString(16)), text).to.deep.equal([...key].map((w) => w.toString(16)));
      if (text.split(',').length >= 4) nonTrivial++;
    }), { numRuns: 3000 });
    expect(nonTrivial).to.be.greaterThan(500);
  });

  it('the key bits outside the mask do not matter', () => {
    fc.assert(fc.property(l3Arb, fc.array(fc.tuple(fc.constantFrom(W_NW_SRC, W_NW_DST, W_DL_SRC_HI + 1, W_DL_DST_HI + 1, W_IPV6_SRC + 3), u32), { maxLength: 3 }), (r, noise) => {
      const { key, mask } = build(r);
      const expected = formatMatch(key, 0, mask, 0);
      for (const [w, bits] of noise) key[w] = (key[w]! | (bits & ~mask[w]!)) >>> 0;
      const back = parseMatch(formatMatch(key, 0, mask, 0));
      expect(formatMatch(back.key, 0, back.mask, 0)).to.equal(expected);
    }), { numRuns: 500 });
  });
});
