import { expect } from 'chai';
import * as P from '@tsvs/packet';
import { extractFlow, flowWildcardsInitForPacket, isNd, FLOW_WORDS } from '@tsvs/packet';
import { frame, eth, etype, vlan, ipv4, ipv6, frag6, tcp, udp, igmp, arp, nd, mpls, u16, zeros } from './helpers/frames.js';

function maskOf(f: Uint8Array): { key: Uint32Array; mask: Uint32Array } {
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(f, 0, f.length, 1, key, 0);
  const mask = new Uint32Array(FLOW_WORDS + 4).fill(0x5555);
  flowWildcardsInitForPacket(key, 0, mask, 2);
  return { key, mask: mask.subarray(2, 2 + FLOW_WORDS) };
}

/** Word indices whose mask is non-zero, with the mask value. */
function masked(mask: Uint32Array): Record<number, number> {
  const out: Record<number, number> = {};
  mask.forEach((m, i) => {
    if (m) out[i] = m;
  });
  return out;
}

const L2: Record<number, number> = {
  [P.W_IN_PORT]: 0xffffffff, [P.W_DL_DST_HI]: 0xffff, [P.W_DL_DST_LO]: 0xffffffff, [P.W_DL_SRC_HI]: 0xffff,
  [P.W_DL_SRC_LO]: 0xffffffff, [P.W_DL_TYPE]: 0xffff, [P.W_VLAN0]: 0xffffffff,
};

describe('flowWildcardsInitForPacket (OVS flow_wildcards_init_for_packet)', () => {
  it('TCP/IPv4: L2, first VLAN slot, addresses, nw word (frag mask 3), ports, tcp_flags', () => {
    const { mask } = maskOf(frame(eth(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 2))));
    expect(masked(mask)).to.deep.equal({
      ...L2, [P.W_NW_SRC]: 0xffffffff, [P.W_NW_DST]: 0xffffffff, [P.W_NW]: 0xffffff03, [P.W_TP]: 0xffffffff, [P.W_TCP_FLAGS]: 0xffff,
    });
  });

  it('a present VLAN header also masks the next slot ("always show the first zero VLAN")', () => {
    const { mask } = maskOf(frame(eth(), vlan(0x8100, 7), etype(0x0800), ipv4({ proto: 17 }, udp(1, 2))));
    expect(mask[P.W_VLAN0 + 1]).to.equal(0xffffffff);
    expect(mask[P.W_TCP_FLAGS]).to.equal(0);
  });

  it('IGMP masks the group; later fragments mask no transport fields', () => {
    expect(maskOf(frame(eth(), etype(0x0800), ipv4({ proto: 2 }, igmp(0x11, 0, '224.0.0.1')))).mask[P.W_IGMP_GROUP]).to.equal(0xffffffff);
    const later = maskOf(frame(eth(), etype(0x0800), ipv4({ proto: 6, frag: 0x0010 }, tcp(1, 2, 2)))).mask;
    expect([later[P.W_TP], later[P.W_TCP_FLAGS], later[P.W_NW]]).to.deep.equal([0, 0, 0xffffff03]);
  });

  it('ARP: spa, tpa, op byte, sha, tha and nothing of IP', () => {
    const { mask } = maskOf(frame(eth(), etype(0x0806), arp(1, '00:00:00:00:00:01', '1.1.1.1', '00:00:00:00:00:00', '2.2.2.2')));
    expect(masked(mask)).to.deep.equal({
      ...L2, [P.W_NW_SRC]: 0xffffffff, [P.W_NW_DST]: 0xffffffff, [P.W_NW]: 0xff000000,
      [P.W_ARP_SHA_HI]: 0xffff, [P.W_ARP_SHA_LO]: 0xffffffff, [P.W_ARP_THA_HI]: 0xffff, [P.W_ARP_THA_LO]: 0xffffffff,
    });
  });

  it('MPLS: label stack entries up to the bottom of stack', () => {
    const one = maskOf(frame(eth(), etype(0x8847), mpls(1, 0, true, 1), zeros(20))).mask;
    expect(Array.from(one.subarray(P.W_MPLS0, P.W_MPLS0 + 3))).to.deep.equal([0xffffffff, 0, 0]);
    const two = maskOf(frame(eth(), etype(0x8847), mpls(1, 0, false, 1), mpls(2, 0, true, 1), zeros(20))).mask;
    expect(Array.from(two.subarray(P.W_MPLS0, P.W_MPLS0 + 3))).to.deep.equal([0xffffffff, 0xffffffff, 0]);
  });

  it('IPv6: addresses and label; ND adds target, sll, tll; a later fragment only the nw word', () => {
    const v6 = maskOf(frame(eth(), etype(0x86dd), ipv6({ next: 17 }, udp(1, 2)))).mask;
    expect(v6[P.W_IPV6_LABEL]).to.equal(0xffffffff);
    expect(v6[P.W_ND_TARGET]).to.equal(0);
    const ns = maskOf(frame(eth(), etype(0x86dd), ipv6({ next: 58 }, nd(135, 0, 'fe80::1'))));
    expect(isNd(ns.key, 0)).to.equal(true);
    expect([ns.mask[P.W_ND_TARGET + 3], ns.mask[P.W_ARP_SHA_HI], ns.mask[P.W_ARP_THA_LO], ns.mask[P.W_TCP_FLAGS], ns.mask[P.W_IGMP_GROUP]])
      .to.deep.equal([0xffffffff, 0xffff, 0xffffffff, 0, 0]);
    const later = maskOf(frame(eth(), etype(0x86dd), ipv6({ next: 44 }, [...frag6(6, 0x100), ...tcp(1, 2, 2)]))).mask;
    expect([later[P.W_NW], later[P.W_TP]]).to.deep.equal([0xffffff03, 0]);
  });

  it('unknown ethertypes and 802.3 frames: L2 only', () => {
    expect(masked(maskOf(frame(eth(), etype(0x88cc), zeros(30))).mask)).to.deep.equal(L2);
    expect(masked(maskOf(frame(eth(), u16(30), [0x42, 0x42, 3], zeros(30))).mask)).to.deep.equal(L2);
  });
});
