/**
 * Hand-built frames, one per branch of OVS miniflow_extract that the tests pin down. OVS 3.1's own
 * `Flow:` text for each is in ../fixtures/extract-cases.ovs.json (made by ../fixtures/make-goldens.ts).
 */
import {
  frame, eth, etype, vlan, ipv4, ipv6, ext6, frag6, tcp, udp, sctp, icmp, igmp, arp, nd, lla, mpls,
  hex, zeros, u16, type Bytes,
} from './frames.js';

export interface ExtractCase {
  name: string;
  frame: Uint8Array;
}

const E = (): Bytes => eth();
const ND_DST = '33:33:00:00:00:01';

export const extractCases: ExtractCase[] = [
  { name: 'tcp4 syn+ack', frame: frame(E(), etype(0x0800), ipv4({ proto: 6, tos: 0xb9 }, tcp(12345, 80, 0x012))) },
  { name: 'tcp4 all flags and ns', frame: frame(E(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 0xfff))) },
  { name: 'tcp4 with options (data offset 8)', frame: frame(E(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 0x002, 8))) },
  { name: 'tcp4 data offset 4 (too small)', frame: frame(E(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 0x002, 4))) },
  { name: 'tcp4 data offset beyond packet', frame: frame(E(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 0x002, 5).slice(0, 12).concat([0xf0, 0x02], zeros(6)))) },
  { name: 'tcp4 header truncated', frame: frame(E(), etype(0x0800), ipv4({ proto: 6 }, tcp(1, 2, 0x002).slice(0, 19))) },
  { name: 'udp4 with padding', frame: frame(E(), etype(0x0800), ipv4({ proto: 17 }, udp(53, 40000)), zeros(18)) },
  { name: 'udp4 total length cuts udp header', frame: frame(E(), etype(0x0800), ipv4({ proto: 17, totLen: 27 }, udp(53, 40000))) },
  { name: 'udp4 in 802.1Q pcp 5 vid 100', frame: frame(E(), vlan(0x8100, 0xa064), etype(0x0800), ipv4({ proto: 17 }, udp(1000, 2000))) },
  { name: 'vlan vid 0 (priority tag)', frame: frame(E(), vlan(0x8100, 0x2000), etype(0x0800), ipv4({ proto: 17 }, udp(1, 2))) },
  { name: 'vlan with DEI bit', frame: frame(E(), vlan(0x8100, 0x1005), etype(0x0806), arp(1, '00:00:00:00:00:02', '10.0.0.1', '00:00:00:00:00:00', '10.0.0.2')) },
  { name: 'qinq 802.1ad outer (vlan-limit 1: inner TPID is dl_type)', frame: frame(E(), vlan(0x88a8, 0x0064), vlan(0x8100, 0x00c8), etype(0x0800), ipv4({ proto: 17 }, udp(1, 2))) },
  { name: 'vlan header cut short', frame: frame(E(), u16(0x8100), [0x00, 0x64]) },
  { name: 'sctp4', frame: frame(E(), etype(0x0800), ipv4({ proto: 132 }, sctp(2905, 80))) },
  { name: 'sctp4 truncated', frame: frame(E(), etype(0x0800), ipv4({ proto: 132 }, sctp(2905, 80).slice(0, 11))) },
  { name: 'icmp4 echo', frame: frame(E(), etype(0x0800), ipv4({ proto: 1 }, icmp(8, 0))) },
  { name: 'icmp4 first fragment', frame: frame(E(), etype(0x0800), ipv4({ proto: 1, frag: 0x2000 }, icmp(8, 0))) },
  { name: 'icmp4 later fragment', frame: frame(E(), etype(0x0800), ipv4({ proto: 1, frag: 0x00b9 }, icmp(8, 0))) },
  { name: 'ipv4 DF only is not a fragment', frame: frame(E(), etype(0x0800), ipv4({ proto: 17, frag: 0x4000 }, udp(1, 2))) },
  { name: 'igmp with router alert option', frame: frame(eth('01:00:5e:00:00:01'), etype(0x0800), ipv4({ proto: 2, ttl: 1, dst: '224.0.0.1', options: [0x94, 0x04, 0, 0] }, igmp(0x11, 100, '224.0.0.1'))) },
  { name: 'ipv4 gre (other protocol)', frame: frame(E(), etype(0x0800), ipv4({ proto: 47, tos: 3 }, zeros(8))) },
  { name: 'ipv4 total length beyond frame', frame: frame(E(), etype(0x0800), ipv4({ proto: 6, totLen: 100 }, tcp(1, 2, 2))) },
  { name: 'ipv4 ihl 4', frame: frame(E(), etype(0x0800), ipv4({ proto: 6, ihl: 4 }, tcp(1, 2, 2))) },
  { name: 'ipv4 header shorter than 20', frame: frame(E(), etype(0x0800), ipv4({ proto: 6 }).slice(0, 19)) },
  { name: 'ipv4 ihl beyond total length', frame: frame(E(), etype(0x0800), ipv4({ proto: 6, ihl: 15, totLen: 40 }, zeros(40))) },
  { name: 'arp request', frame: frame(eth('ff:ff:ff:ff:ff:ff'), etype(0x0806), arp(1, '00:00:00:00:00:02', '192.168.0.1', '00:00:00:00:00:00', '192.168.0.2')) },
  { name: 'arp opcode 0x0101 (above 0xff)', frame: frame(eth('ff:ff:ff:ff:ff:ff'), etype(0x0806), arp(0x101, '00:00:00:00:00:02', '192.168.0.1', '00:00:00:00:00:00', '192.168.0.2')) },
  { name: 'arp for ipv6 protocol (not parsed)', frame: frame(eth('ff:ff:ff:ff:ff:ff'), etype(0x0806), arp(1, '00:00:00:00:00:02', '192.168.0.1', '00:00:00:00:00:00', '192.168.0.2').map((b, i) => (i === 2 ? 0x86 : i === 3 ? 0xdd : b))) },
  { name: 'arp truncated to 27 bytes', frame: frame(eth('ff:ff:ff:ff:ff:ff'), etype(0x0806), arp(2, '00:00:00:00:00:02', '192.168.0.1', '00:00:00:00:00:01', '192.168.0.2').slice(0, 27)) },
  { name: 'rarp reply', frame: frame(eth('ff:ff:ff:ff:ff:ff'), etype(0x8035), arp(4, '00:00:00:00:00:02', '0.0.0.0', '00:00:00:00:00:03', '10.1.2.3')) },
  { name: '802.3 llc (stp)', frame: frame(eth('01:80:c2:00:00:00'), u16(38), [0x42, 0x42, 0x03], zeros(35)) },
  { name: '802.3 llc/snap ipv4', frame: frame(E(), u16(48), [0xaa, 0xaa, 0x03, 0, 0, 0], etype(0x0800), ipv4({ proto: 17 }, udp(7, 9))) },
  { name: '802.3 llc/snap with non-zero oui (cdp)', frame: frame(eth('01:00:0c:cc:cc:cc'), u16(48), [0xaa, 0xaa, 0x03, 0, 0, 0x0c], u16(0x2000), zeros(20)) },
  { name: '802.3 llc/snap with type below 0x600', frame: frame(E(), u16(48), [0xaa, 0xaa, 0x03, 0, 0, 0], u16(0x0100), zeros(20)) },
  { name: '802.3 with 7 bytes after length', frame: frame(E(), u16(7), [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08]) },
  { name: 'mpls two labels', frame: frame(E(), etype(0x8847), mpls(20, 0, false, 10), mpls(2, 1, true, 64), ipv4({ proto: 17 }, udp(1, 2))) },
  { name: 'mpls multicast, four labels', frame: frame(E(), etype(0x8848), mpls(1, 7, false, 1), mpls(2, 0, false, 2), mpls(3, 0, false, 3), mpls(4, 0, true, 4)) },
  { name: 'mpls in vlan', frame: frame(E(), vlan(0x8100, 0x0005), etype(0x8847), mpls(16, 0, true, 255), zeros(20)) },
  { name: 'mpls cut inside first label', frame: frame(E(), etype(0x8847), [0, 1, 1]) },
  { name: 'ipv6 tcp after hop-by-hop and dest options', frame: frame(E(), etype(0x86dd), ipv6({ next: 0, tclass: 0xa5, label: 0x12345 }, [...ext6(60), ...ext6(6, 1), ...tcp(443, 5000, 0x018)])) },
  { name: 'ipv6 udp first fragment', frame: frame(E(), etype(0x86dd), ipv6({ next: 44 }, [...frag6(17, 0x0001), ...udp(53, 53)])) },
  { name: 'ipv6 udp later fragment', frame: frame(E(), etype(0x86dd), ipv6({ next: 44 }, [...frag6(17, 0x00b9), ...udp(53, 53)])) },
  { name: 'ipv6 atomic fragment (offset 0, M 0)', frame: frame(E(), etype(0x86dd), ipv6({ next: 44 }, [...frag6(6, 0), ...tcp(80, 1234, 0x010)])) },
  { name: 'ipv6 routing header then AH then icmp6', frame: frame(E(), etype(0x86dd), ipv6({ next: 43 }, [...ext6(51), 58, 1, ...zeros(6), ...icmp(128, 0)])) },
  { name: 'ipv6 extension header longer than payload', frame: frame(E(), etype(0x86dd), ipv6({ next: 0 }, [6, 3, ...zeros(14)])) },
  { name: 'ipv6 payload length beyond frame', frame: frame(E(), etype(0x86dd), ipv6({ next: 17, plen: 100 }, udp(1, 2))) },
  { name: 'ipv6 header cut short', frame: frame(E(), etype(0x86dd), ipv6({ next: 17 }).slice(0, 39)) },
  { name: 'ipv6 no next header with padding', frame: frame(E(), etype(0x86dd), ipv6({ next: 59 }), zeros(6)) },
  { name: 'icmp6 echo request', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, icmp(128, 0, [0x12, 0x34, 0, 1]))) },
  { name: 'icmp6 neighbor solicitation with sll', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255, src: 'fe80::1', dst: 'ff02::1:ff00:2' }, nd(135, 0, 'fe80::2', lla(1, '00:00:00:00:00:02')))) },
  { name: 'icmp6 neighbor advertisement with tll and flags', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255, src: 'fe80::2', dst: 'ff02::1' }, nd(136, 0x60000000, 'fe80::2', lla(2, '00:00:00:00:00:03')))) },
  { name: 'icmp6 ns without options', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(135, 0, '2001:db8::5'))) },
  { name: 'icmp6 ns with target cut short', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(135, 0, '2001:db8::5').slice(0, 20))) },
  { name: 'icmp6 ns with duplicate sll (invalid)', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(135, 7, 'fe80::2', [...lla(1, '00:00:00:00:00:02'), ...lla(1, '00:00:00:00:00:04')]))) },
  { name: 'icmp6 na with tll then sll (first option type wins)', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(136, 0, 'fe80::2', [...lla(2, '00:00:00:00:00:03'), ...lla(1, '00:00:00:00:00:02')]))) },
  { name: 'icmp6 ns with zero-length option', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(135, 0, 'fe80::2', [...lla(1, '00:00:00:00:00:02'), 1, 0, ...zeros(6)]))) },
  { name: 'icmp6 ns with 16-byte sll option (ignored)', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(135, 0, 'fe80::2', [1, 2, ...zeros(14)]))) },
  { name: 'icmp6 ns code 1 (not nd)', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, nd(135, 0, 'fe80::2', lla(1, '00:00:00:00:00:02')).map((b, i) => (i === 1 ? 1 : b)))) },
  { name: 'icmp6 router solicitation (not nd for ovs)', frame: frame(eth(ND_DST), etype(0x86dd), ipv6({ next: 58, hlim: 255 }, [133, 0, 0, 0, ...zeros(4), ...lla(1, '00:00:00:00:00:02')])) },
  { name: 'lldp (unknown ethertype)', frame: frame(eth('01:80:c2:00:00:0e'), etype(0x88cc), hex('0207040000000000020403020001')) },
  { name: 'exactly 14 bytes', frame: frame(E(), etype(0x0800)) },
];
