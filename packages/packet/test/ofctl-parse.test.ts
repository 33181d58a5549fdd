import { expect } from 'chai';
import {
  parseMatch, parseMatchField, finishMatch, tokenizeMatch, isMatchFieldName, FlowParseError, FLOW_WORDS,
  W_IN_PORT, W_DL_SRC_HI, W_DL_SRC_LO, W_DL_TYPE, W_VLAN0, W_MPLS0, W_NW_SRC, W_IPV6_SRC, W_IPV6_LABEL, W_NW,
  W_TP, W_TCP_FLAGS, W_ARP_SHA_HI, W_ND_TARGET, W_IGMP_GROUP,
} from '@tsvs/packet';

/** The nonzero mask words of a parsed match, as {word: [key, mask]} in hex. */
function words(text: string): Record<number, [string, string]> {
  const { key, mask } = parseMatch(text);
  const out: Record<number, [string, string]> = {};
  for (let i = 0; i < FLOW_WORDS; i++) {
    if (mask[i] || key[i]) out[i] = [key[i]!.toString(16), mask[i]!.toString(16)];
  }
  return out;
}

function parseError(text: string): FlowParseError {
  try {
    parseMatch(text);
  } catch (e) {
    expect(e).to.be.instanceOf(FlowParseError);
    return e as FlowParseError;
  }
  throw new Error(`no error for ${text}`);
}

describe('ofctl match parser: words', () => {
  it('tcp,in_port=1,nw_src=10.0.0.0/24,tp_dst=80', () => {
    expect(words('tcp,in_port=1,nw_src=10.0.0.0/24,tp_dst=80')).to.deep.equal({
      [W_IN_PORT]: ['1', 'ffffffff'],
      [W_DL_TYPE]: ['800', 'ffff'],
      [W_NW_SRC]: ['a000000', 'ffffff00'],
      [W_NW]: ['6000000', 'ff000000'],
      [W_TP]: ['50', 'ffff'],
    });
  });

  it('masks hold what OVS struct flow_wildcards holds', () => {
    // dl_vlan: VID and CFI (match_set_dl_vlan); dl_vlan_pcp adds PCP and CFI; dl_vlan=0xffff: no VLAN.
    expect(words('dl_vlan=10')[W_VLAN0]).to.deep.equal(['100a', '1fff']);
    expect(words('dl_vlan=10,dl_vlan_pcp=5')[W_VLAN0]).to.deep.equal(['b00a', 'ffff']);
    expect(words('dl_vlan_pcp=5')[W_VLAN0]).to.deep.equal(['b000', 'f000']);
    expect(words('dl_vlan=0xffff')[W_VLAN0]).to.deep.equal(['0', 'ffff']);
    expect(words('vlan_tci=0x1005/0x1fff')[W_VLAN0]).to.deep.equal(['1005', '1fff']);
    expect(words('vlan_vid=0x1005/0x1f00')[W_VLAN0]).to.deep.equal(['1000', '1f00']);
    // Wildcarding one half keeps the other (match_set_any_vid / match_set_any_pcp).
    expect(words('dl_vlan=10,dl_vlan_pcp=5,dl_vlan=*')[W_VLAN0]).to.deep.equal(['b000', 'f000']);
    expect(words('dl_vlan=10,dl_vlan_pcp=5,dl_vlan_pcp=*')[W_VLAN0]).to.deep.equal(['100a', '1fff']);
    // TCP flags: exact names have the full 16-bit mask, +/- forms only the named bits.
    expect(words('tcp,tcp_flags=syn')[W_TCP_FLAGS]).to.deep.equal(['2', 'ffff']);
    expect(words('tcp,tcp_flags=+syn-ack')[W_TCP_FLAGS]).to.deep.equal(['2', '12']);
    expect(words('tcp,tcp_flags=0x12/0xfff')[W_TCP_FLAGS]).to.deep.equal(['12', 'fff']);
    // ICMP type/code are exact 16-bit tp_src/tp_dst matches (match_set_icmp_type).
    expect(words('icmp,icmp_type=8,icmp_code=0')[W_TP]).to.deep.equal(['80000', 'ffffffff']);
    // nw_tos is the DSCP bits, ip_dscp the same shifted, nw_ecn the low 2 bits, nw_ttl byte 1.
    expect(words('ip,nw_tos=184')[W_NW]).to.deep.equal(['b80000', 'fc0000']);
    expect(words('ip,ip_dscp=46,nw_ecn=1')[W_NW]).to.deep.equal(['b90000', 'ff0000']);
    expect(words('ip,nw_ttl=64')[W_NW]).to.deep.equal(['4000', 'ff00']);
    // nw_frag: no/first/later set FLOW_NW_FRAG_MASK; yes/not_later carry OVS's forced upper bits.
    expect(words('ip,nw_frag=later')[W_NW]).to.deep.equal(['3', '3']);
    expect(words('ip,nw_frag=yes')[W_NW]).to.deep.equal(['1', 'fd']);
    expect(words('ip,nw_frag=not_later')[W_NW]).to.deep.equal(['0', 'fe']);
    // ipv6_label: exact is all 32 bits; a mask covering the 20 label bits counts as exact.
    expect(words('ipv6,ipv6_label=0x12345')[W_IPV6_LABEL]).to.deep.equal(['12345', 'ffffffff']);
    expect(words('ipv6,ipv6_label=0x12345/0xfffff')[W_IPV6_LABEL]).to.deep.equal(['12345', 'ffffffff']);
    expect(words('ipv6,ipv6_label=0x12345/0xff')[W_IPV6_LABEL]).to.deep.equal(['45', 'ff']);
    // MPLS fields share the first label stack entry.
    expect(words('mpls,mpls_label=5,mpls_tc=3,mpls_bos=1,mpls_ttl=64')[W_MPLS0]).to.deep.equal(['5740', 'ffffffff']);
    // ARP: arp_op is nw_proto; arp_spa is nw_src; nd_sll shares arp_sha.
    expect(words('arp,arp_op=2,arp_spa=1.2.3.4')[W_NW]).to.deep.equal(['2000000', 'ff000000']);
    expect(words('arp,arp_spa=1.2.3.4')[W_NW_SRC]).to.deep.equal(['1020304', 'ffffffff']);
    expect(words('arp,nd_sll=00:11:22:33:44:55')[W_ARP_SHA_HI]).to.deep.equal(['11', 'ffff']);
    // ND: target, reserved, options type (stored in tcp_flags).
    const nd = words('icmp6,icmp_type=135,nd_target=fe80::1,nd_reserved=7,nd_options_type=1');
    expect(nd[W_ND_TARGET]).to.deep.equal(['fe800000', 'ffffffff']);
    expect(nd[W_IGMP_GROUP]).to.deep.equal(['7', 'ffffffff']);
    expect(nd[W_TCP_FLAGS]).to.deep.equal(['1', 'ffff']);
  });

  it('keys come out masked, addresses in network order', () => {
    const w = words('dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,ipv6,ipv6_src=2001:db8::1/32');
    expect(w[W_DL_SRC_HI]).to.deep.equal(['11', 'ffff']);
    expect(w[W_DL_SRC_LO]).to.deep.equal(['22000000', 'ff000000']);
    expect(w[W_IPV6_SRC]).to.deep.equal(['20010db8', 'ffffffff']);
    expect(w[W_IPV6_SRC + 3]).to.equal(undefined);
  });

  it('in_port: numbers, reserved names (any case), OpenFlow 1.1 numbers, and a port map', () => {
    expect(parseMatch('in_port=LOCAL').key[W_IN_PORT]).to.equal(0xfffe);
    expect(parseMatch('in_port=controller').key[W_IN_PORT]).to.equal(0xfffd);
    expect(parseMatch('in_port=4294967294').key[W_IN_PORT]).to.equal(0xfffe);
    expect(parseMatch('in_port_oxm=7').key[W_IN_PORT]).to.equal(7);
    const portByName = (n: string): number | undefined => ({ eth0: 3, 'p-9': 9 } as Record<string, number>)[n];
    expect(parseMatch('in_port=eth0', { portByName }).key[W_IN_PORT]).to.equal(3);
    expect(parseMatch('in_port="p-9"', { portByName }).key[W_IN_PORT]).to.equal(9);
    expect(parseError('in_port=eth1').message).to.equal('bad value "eth1" for in_port: not a port number or name');
  });

  it('"*" and empty values wildcard; later items override earlier ones', () => {
    expect(words('tcp,tp_dst=80,tp_dst=*')[W_TP]).to.equal(undefined);
    expect(words('tcp,tp_dst=80,tp_dst=')[W_TP]).to.equal(undefined);
    expect(words('tcp,tp_dst=80/0')[W_TP]).to.equal(undefined);
    expect(words('ip,nw_src=1.2.3.4,nw_src=5.6.7.8')[W_NW_SRC]).to.deep.equal(['5060708', 'ffffffff']);
    expect(parseMatch('').mask.every((w) => w === 0)).to.equal(true);
  });
});

describe('ofctl match parser: prerequisites (applied like ovs-ofctl, order-independent)', () => {
  it('drops fields whose prerequisites the match does not meet, and lists them', () => {
    expect(parseMatch('tp_dst=80').dropped).to.deep.equal(['tp_dst']);
    expect(parseMatch('tp_dst=80,tcp').dropped).to.deep.equal([]);
    expect(parseMatch('ipv6,tp_src=80').dropped).to.deep.equal(['tp_src']);
    expect(parseMatch('nw_src=1.2.3.4,nw_ttl=3').dropped).to.deep.equal(['nw_src', 'nw_ttl']);
    expect(parseMatch('mpls_label=5').dropped).to.deep.equal(['mpls_label']);
    expect(parseMatch('arp,nw_tos=4,tp_src=1').dropped).to.deep.equal(['nw_tos', 'tp_src']);
    expect(parseMatch('udp,tcp_flags=+syn').dropped).to.deep.equal(['tcp_flags']);
    expect(parseMatch('icmp6,icmp_type=136,nd_target=::1,nd_sll=00:11:22:33:44:55').dropped).to.deep.equal(['nd_sll']);
    expect(parseMatch('icmp6,icmp_type=128,nd_target=::1').dropped).to.deep.equal(['nd_target']);
    const r = parseMatch('tp_dst=80');
    expect(r.key.every((w) => w === 0) && r.mask.every((w) => w === 0)).to.equal(true);
  });

  it('keeps a field stored where the protocol reads it (OVS data-location semantics)', () => {
    // udp_dst on a TCP match is tp_dst; icmp_type on a TCP match is tp_src; arp_spa on IP is nw_src.
    expect(parseMatch('tcp,udp_dst=53').dropped).to.deep.equal([]);
    expect(parseMatch('tcp,icmp_type=3').mask[W_TP]).to.equal(0xffff0000);
    expect(parseMatch('ip,arp_spa=1.2.3.4').mask[W_NW_SRC]).to.equal(0xffffffff);
  });

  it('throws where OVS rejects the flow (OFPBMC_BAD_PREREQ)', () => {
    const e1 = parseError('tcp,nw_frag=later,tp_dst=80');
    expect(e1.token).to.equal('tp_dst');
    expect(e1.message).to.match(/^tp_dst cannot be matched with nw_frag=later/);
    expect(parseError('ip,ipv6_label=5').token).to.equal('ipv6_label');
    // ICMP has no such rule, and nw_frag=later without L4 fields is fine.
    expect(parseMatch('icmp,nw_frag=later,icmp_type=8').dropped).to.deep.equal([]);
    expect(parseMatch('tcp,nw_frag=later').dropped).to.deep.equal([]);
  });
});

describe('ofctl match parser: errors name the bad token', () => {
  const cases: Array<[string, string, string]> = [
    ['nw_sourc=1.2.3.4', 'unknown field "nw_sourc"', 'nw_sourc'],
    ['ip,nw_src=10.0.0.300', 'bad value "10.0.0.300" for nw_src', '10.0.0.300'],
    ['ip,ip_src=10.0.0.0/33', 'bad value "10.0.0.0/33" for ip_src', '10.0.0.0/33'],
    ['dl_vlan=5000', 'bad value "5000" for dl_vlan: 0..4095, or 0xffff for no VLAN', '5000'],
    ['ip,nw_tos=5', 'bad value "5" for nw_tos: a multiple of 4 (DSCP << 2)', '5'],
    ['tcp,tp_dst=65536', 'bad value "65536" for tp_dst: not a number that fits 16 bits', '65536'],
    ['dl_type=0x800/0xff00', 'bad value "0x800/0xff00" for dl_type: this field cannot be masked', '0x800/0xff00'],
    ['ip,nw_frag=maybe', 'bad value "maybe" for nw_frag: one of no, yes, first, later, not_later', 'maybe'],
    ['tcp,tcp_flags=+syn-syn', 'bad value "+syn-syn" for tcp_flags: TCP flag "syn" given twice', '+syn-syn'],
    ['dl_src=00-11-22-33-44-55', 'bad value "00-11-22-33-44-55" for dl_src', '00-11-22-33-44-55'],
    ['ipv6,ipv6_src=1::2::3', 'bad value "1::2::3" for ipv6_src', '1::2::3'],
    ['reg0=5', 'field "reg0" is not supported by tsvs (the flow key has no such field)', 'reg0'],
    ['tun_metadata3=1', 'field "tun_metadata3" is not supported by tsvs (the flow key has no such field)', 'tun_metadata3'],
    ['reg0[1..3]=5', 'subfield "reg0[1..3]" is not supported by tsvs', 'reg0[1..3]'],
    ['priority=5', 'unknown field "priority"', 'priority'],
  ];
  for (const [text, message, token] of cases) {
    it(text, () => {
      const e = parseError(text);
      expect(e.message).to.equal(message);
      expect(e.token).to.equal(token);
      expect(e.message).to.not.include('\n');
    });
  }
});

describe('ofctl match parser: tokenizer and reuse by a rule parser', () => {
  it('splits like ofputil_parse_key_value: commas or blanks, = or :, name(value)', () => {
    const t = (s: string): Array<[string, string]> => tokenizeMatch(s).map((x) => [x.name, x.value]);
    expect(t('tcp, nw_src=10.0.0.1  tp_dst:80')).to.deep.equal([['tcp', ''], ['nw_src', '10.0.0.1'], ['tp_dst', '80']]);
    expect(t('a(b,c(d)),e=f(g,h),i')).to.deep.equal([['a', 'b,c(d)'], ['e', 'f(g,h)'], ['i', '']]);
    expect(t('x(1)->y,z')).to.deep.equal([['x', '1)->y'], ['z', '']]);
    expect(t(' ,, ')).to.deep.equal([]);
    expect(tokenizeMatch('tcp,tp_dst=80')[1]!.at).to.equal(4);
  });

  it('parseMatchField + finishMatch let a caller handle rule-level keys itself', () => {
    const key = new Uint32Array(2 * FLOW_WORDS);
    const mask = new Uint32Array(2 * FLOW_WORDS);
    const rule: Record<string, string> = {};
    for (const t of tokenizeMatch('priority=100,tcp,table=3,tp_dst=22,tp_src=7')) {
      if (isMatchFieldName(t.name)) parseMatchField(t.name, t.value, key, mask, FLOW_WORDS, FLOW_WORDS);
      else rule[t.name] = t.value;
    }
    expect(finishMatch(key, FLOW_WORDS, mask, FLOW_WORDS)).to.deep.equal([]);
    expect(rule).to.deep.equal({ priority: '100', table: '3' });
    expect(key[FLOW_WORDS + W_TP]).to.equal((7 << 16) | 22);
    expect(key.subarray(0, FLOW_WORDS).every((w) => w === 0)).to.equal(true);
    expect(isMatchFieldName('tcp6') && isMatchFieldName('dl_src') && isMatchFieldName('eth')).to.equal(true);
    expect(isMatchFieldName('actions') || isMatchFieldName('reg0')).to.equal(false);
  });
});
