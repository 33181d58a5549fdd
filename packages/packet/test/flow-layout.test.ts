import { expect } from 'chai';
import * as L from '@tsvs/packet';

describe('flow key layout', () => {
  it('gives every field its own words inside FLOW_WORDS', () => {
    const spans: Array<[string, number, number]> = [
      ['in_port', L.W_IN_PORT, 1], ['dl_dst_hi', L.W_DL_DST_HI, 1], ['dl_dst_lo', L.W_DL_DST_LO, 1],
      ['dl_src_hi', L.W_DL_SRC_HI, 1], ['dl_src_lo', L.W_DL_SRC_LO, 1], ['dl_type', L.W_DL_TYPE, 1],
      ['vlan0', L.W_VLAN0, 1], ['vlan1', L.W_VLAN1, 1], ['mpls', L.W_MPLS0, 3],
      ['nw_src', L.W_NW_SRC, 1], ['nw_dst', L.W_NW_DST, 1], ['ipv6_src', L.W_IPV6_SRC, 4],
      ['ipv6_dst', L.W_IPV6_DST, 4], ['ipv6_label', L.W_IPV6_LABEL, 1], ['nw', L.W_NW, 1], ['tp', L.W_TP, 1],
      ['tcp_flags', L.W_TCP_FLAGS, 1], ['arp_sha', L.W_ARP_SHA_HI, 2], ['arp_tha', L.W_ARP_THA_HI, 2],
      ['nd_target', L.W_ND_TARGET, 4], ['igmp_group', L.W_IGMP_GROUP, 1],
    ];
    const owner = new Array<string | undefined>(L.FLOW_WORDS);
    for (const [name, at, n] of spans) {
      for (let w = at; w < at + n; w++) {
        expect(w, name).to.be.lessThan(L.FLOW_WORDS);
        expect(owner[w], `word ${w} claimed by ${owner[w]} and ${name}`).to.equal(undefined);
        owner[w] = name;
      }
    }
  });
});
