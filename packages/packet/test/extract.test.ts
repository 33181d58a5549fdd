import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as P from '@tsvs/packet';
import {
  extractFlow, formatFlow, flowLimitVlans, flowVlanLimit, FLOW_WORDS,
  EXTRACT_OK, EXTRACT_TOO_SHORT, EXTRACT_BAD_ARGS, OFS_L2_5, OFS_L3, OFS_L4,
} from '@tsvs/packet';
import { extractCases } from './helpers/extract-cases.js';
import {
  frame, eth, etype, vlan, ipv4, ipv6, ext6, frag6, tcp, udp, igmp, arp, nd, lla, mpls, u16, zeros,
} from './helpers/frames.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

function extract(f: Uint8Array, inPort = 1): { status: number; key: Uint32Array; ofs: Int32Array } {
  const key = new Uint32Array(FLOW_WORDS).fill(0xdeadbeef);
  const ofs = new Int32Array(3).fill(12345);
  const status = extractFlow(f, 0, f.length, inPort, key, 0, ofs);
  return { status, key, ofs };
}

describe('extractFlow: OVS 3.1 goldens', () => {
  const cases = JSON.parse(readFileSync(join(fixtures, 'extract-cases.ovs.json'), 'utf8')) as Array<{ name: string; hex: string; flow: string | null }>;

  it('the fixture matches the hand-built frames (regenerate with make-goldens.ts if not)', () => {
    expect(cases.map((c) => [c.name, c.hex])).to.deep.equal(extractCases.map((c) => [c.name, toHex(c.frame)]));
  });

  for (const c of cases) {
    it(`${c.name}`, () => {
      const { status, key } = extract(fromHex(c.hex));
      if (c.flow === null) {
        expect(status).to.equal(EXTRACT_TOO_SHORT);
      } else {
        expect(status).to.equal(EXTRACT_OK);
        expect(formatFlow(key, 0)).to.equal(c.flow);
      }
    });
  }

  it('1500 structured random frames and mutants, vlan-limit 1 and 2, equal OVS', () => {
    const lines = readFileSync(join(fixtures, 'extract-random.ovs.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).to.equal(1500);
    const key = new Uint32Array(FLOW_WORDS);
    const bad: string[] = [];
    try {
      for (const line of lines) {
        const r = JSON.parse(line) as { hex: string; vlanLimit: number; flow: string | null };
        flowLimitVlans(r.vlanLimit);
        const f = fromHex(r.hex);
        const status = extractFlow(f, 0, f.length, 1, key, 0);
        const got = status === EXTRACT_OK ? formatFlow(key, 0) : null;
        if (got !== r.flow) bad.push(`${r.hex} (vlan-limit ${r.vlanLimit})\n  ovs:  ${r.flow}\n  ours: ${got}`);
      }
    } finally {
      flowLimitVlans(1);
    }
    expect(bad.slice(0, 5).join('\n')).to.equal('');
  });
});

describe('extractFlow: key words', () => {
  it('fills every field of a TCP/IPv4 frame at its documented word', () => {
    const f = frame(eth('01:02:03:04:05:06', '0a:0b:0c:0d:0e:0f'), etype(0x0800),
      ipv4({ src: '10.1.2.3', dst: '192.168.9.8', proto: 6, tos: 0xb9, ttl: 17 }, tcp(0x1234, 0xabcd, 0x1c2)));
    const { status, key } = extract(f, 7);
    expect(status).to.equal(EXTRACT_OK);
    const want = new Uint32Array(FLOW_WORDS);
    want[P.W_IN_PORT] = 7;
    want[P.W_DL_DST_HI] = 0x0102;
    want[P.W_DL_DST_LO] = 0x03040506;
    want[P.W_DL_SRC_HI] = 0x0a0b;
    want[P.W_DL_SRC_LO] = 0x0c0d0e0f;
    want[P.W_DL_TYPE] = 0x0800;
    want[P.W_NW_SRC] = 0x0a010203;
    want[P.W_NW_DST] = 0xc0a80908;
    want[P.W_NW] = (6 << 24) | (0xb9 << 16) | (17 << 8);
    want[P.W_TP] = 0x1234abcd;
    want[P.W_TCP_FLAGS] = 0x1c2;
    expect(Array.from(key)).to.deep.equal(Array.from(want));
  });

  it('keeps the TPID with the TCI and sets VLAN_CFI; with vlan-limit 2 fills the second header', () => {
    const f = frame(eth(), vlan(0x88a8, 0x2064), vlan(0x8100, 0x00c8), etype(0x0800), ipv4({ proto: 17 }, udp(1, 2)));
    let { key } = extract(f);
    expect(key[P.W_VLAN0]).to.equal(0x88a83064);
    expect(key[P.W_VLAN0 + 1]).to.equal(0);
    expect(key[P.W_DL_TYPE]).to.equal(0x8100);
    expect(flowVlanLimit()).to.equal(1);
    flowLimitVlans(0);
    try {
      expect(flowVlanLimit()).to.equal(2);
      ({ key } = extract(f));
      expect(key[P.W_VLAN0 + 1]).to.equal(0x810010c8);
      expect(key[P.W_DL_TYPE]).to.equal(0x0800);
      expect(key[P.W_TP]).to.equal(0x00010002);
    } finally {
      flowLimitVlans(1);
    }
  });

  it('ICMPv6 ND: target, sll/tll in arp_sha/arp_tha, option type in tcp_flags, flags in igmp_group', () => {
    const f = frame(eth(), etype(0x86dd), ipv6({ next: 58, hlim: 255 },
      nd(136, 0xe0000000, 'fe80::1:2', [...lla(2, '00:11:22:33:44:55'), ...lla(1, '66:77:88:99:aa:bb')])));
    const { key } = extract(f);
    expect(Array.from(key.subarray(P.W_ND_TARGET, P.W_ND_TARGET + 4))).to.deep.equal([0xfe800000, 0, 0, 0x00010002]);
    expect([key[P.W_ARP_SHA_HI], key[P.W_ARP_SHA_LO]]).to.deep.equal([0x6677, 0x8899aabb]);
    expect([key[P.W_ARP_THA_HI], key[P.W_ARP_THA_LO]]).to.deep.equal([0x0011, 0x22334455]);
    expect(key[P.W_TCP_FLAGS]).to.equal(2);
    expect(key[P.W_IGMP_GROUP]).to.equal(0xe0000000);
    expect(key[P.W_TP]).to.equal(136 << 16);
  });

  it('IGMP group and ICMP type/code in tp_src/tp_dst', () => {
    const { key } = extract(frame(eth(), etype(0x0800), ipv4({ proto: 2 }, igmp(0x16, 0, '239.1.2.3'))));
    expect(key[P.W_TP]).to.equal(0x00160000);
    expect(key[P.W_IGMP_GROUP]).to.equal(0xef010203);
  });

  it('ARP: spa/tpa in nw_src/nw_dst, low opcode byte in nw_proto, sha/tha', () => {
    const { key } = extract(frame(eth(), etype(0x0806), arp(2, 'aa:bb:cc:dd:ee:ff', '1.2.3.4', '11:22:33:44:55:66', '5.6.7.8')));
    expect([key[P.W_NW_SRC], key[P.W_NW_DST], key[P.W_NW]]).to.deep.equal([0x01020304, 0x05060708, 0x02000000]);
    expect([key[P.W_ARP_SHA_HI], key[P.W_ARP_SHA_LO], key[P.W_ARP_THA_HI], key[P.W_ARP_THA_LO]])
      .to.deep.equal([0xaabb, 0xccddeeff, 0x1122, 0x33445566]);
  });

  it('MPLS: at most three label stack entries, outermost first', () => {
    const f = frame(eth(), etype(0x8847), mpls(1, 0, false, 9), mpls(2, 0, false, 9), mpls(3, 0, false, 9), mpls(4, 0, true, 9));
    const { key, ofs } = extract(f);
    expect(Array.from(key.subarray(P.W_MPLS0, P.W_MPLS0 + 3))).to.deep.equal([0x1009, 0x2009, 0x3009]);
    expect([ofs[OFS_L2_5], ofs[OFS_L3], ofs[OFS_L4]]).to.deep.equal([14, 30, -1]);
  });
});

describe('extractFlow: header offsets (ofs)', () => {
  const cases: Array<[string, Uint8Array, [number, number, number]]> = [
    ['tcp/ipv4', frame(eth(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 2))), [-1, 14, 34]],
    ['ipv4 with options behind a VLAN', frame(eth(), vlan(0x8100, 5), etype(0x0800), ipv4({ proto: 17, options: zeros(8) }, udp(1, 2))), [-1, 18, 46]],
    ['802.3 LLC/SNAP', frame(eth(), u16(40), [0xaa, 0xaa, 3, 0, 0, 0], etype(0x0800), ipv4({ proto: 17 }, udp(1, 2))), [-1, 22, 42]],
    ['802.3 LLC (no SNAP): l3 after the length field', frame(eth(), u16(40), [0x42, 0x42, 3], zeros(37)), [-1, 14, -1]],
    ['ipv6 after extension headers', frame(eth(), etype(0x86dd), ipv6({ next: 0 }, [...ext6(44), ...frag6(17, 1), ...udp(1, 2)])), [-1, 14, 70]],
    ['ipv6 later fragment: l4 is after the fragment header', frame(eth(), etype(0x86dd), ipv6({ next: 44 }, [...frag6(17, 8), ...udp(1, 2)])), [-1, 14, 62]],
    ['ipv4 failing the sanity check: no l4', frame(eth(), etype(0x0800), ipv4({ proto: 6, totLen: 200 }, tcp(1, 2, 2))), [-1, 14, -1]],
    ['arp: l3 only', frame(eth(), etype(0x0806), arp(1, '00:00:00:00:00:01', '1.1.1.1', '00:00:00:00:00:00', '2.2.2.2')), [-1, 14, -1]],
    ['too short: nothing', frame(eth()), [-1, -1, -1]],
  ];
  for (const [name, f, want] of cases) {
    it(name, () => {
      const { ofs } = extract(f);
      expect(Array.from(ofs)).to.deep.equal(want);
    });
  }

  it('writes offsets at ofsBase and relative to off', () => {
    const f = frame(eth(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 2)));
    const buf = new Uint8Array(f.length + 100).fill(0xee);
    buf.set(f, 37);
    const key = new Uint32Array(FLOW_WORDS * 3);
    const ofs = new Int32Array(10).fill(99);
    expect(extractFlow(buf, 37, f.length, 3, key, FLOW_WORDS * 2, ofs, 5)).to.equal(EXTRACT_OK);
    expect(Array.from(ofs)).to.deep.equal([99, 99, 99, 99, 99, -1, 14, 34, 99, 99]);
    expect(Array.from(key.subarray(0, FLOW_WORDS * 2)).every((w) => w === 0)).to.equal(true);
    expect(formatFlow(key, FLOW_WORDS * 2)).to.equal(
      'tcp,in_port=3,vlan_tci=0x0000,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01,nw_src=10.0.0.1,nw_dst=10.0.0.2,' +
      'nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1,tp_dst=2,tcp_flags=syn');
  });
});

describe('extractFlow: rejected input', () => {
  it('frames shorter than 14 bytes: EXTRACT_TOO_SHORT, only in_port set', () => {
    for (let n = 0; n < 14; n++) {
      const { status, key } = extract(frame(eth(), etype(0x0800)).subarray(0, n), 9);
      expect(status, `len ${n}`).to.equal(EXTRACT_TOO_SHORT);
      expect(key[0]).to.equal(9);
      expect(Array.from(key.subarray(1)).every((w) => w === 0)).to.equal(true);
    }
  });

  it('bad arguments: EXTRACT_BAD_ARGS and nothing written', () => {
    const f = frame(eth(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 2)));
    const key = new Uint32Array(FLOW_WORDS + 1).fill(7);
    const ofs = new Int32Array(3).fill(7);
    const bad: Array<[number, number, number, Int32Array | undefined, number]> = [
      [0, f.length + 1, 0, undefined, 0], // beyond the buffer
      [1, f.length, 0, undefined, 0],
      [-1, 10, 0, undefined, 0],
      [0.5, 20, 0, undefined, 0],
      [0, Number.NaN, 0, undefined, 0],
      [0, f.length, 2, undefined, 0], // key too small at this base
      [0, f.length, -1, undefined, 0],
      [0, f.length, 0, ofs, 1], // ofs too small at this base
    ];
    for (const [off, len, kb, o, ob] of bad) {
      expect(extractFlow(f, off, len, 1, key, kb, o, ob), `${off},${len},${kb},${ob}`).to.equal(EXTRACT_BAD_ARGS);
    }
    expect(Array.from(key).every((w) => w === 7)).to.equal(true);
    expect(Array.from(ofs).every((w) => w === 7)).to.equal(true);
    expect(P.extractStatusText(EXTRACT_TOO_SHORT)).to.match(/too short/);
  });
});
