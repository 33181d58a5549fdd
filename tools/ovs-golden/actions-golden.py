#!/usr/bin/env python3
"""Datapath-action golden cases from a running OVS 3.1 userspace datapath.

Run by actions-golden.sh (which builds the private OVS and the namespaces, and runs this inside
the far-end namespace tsvsg-far). For every case: install the case's OpenFlow rules on br0 (plus
priority 0 drop), clear the datapath flows, send the input frame into tsvsg0f, capture for a moment
on tsvsg0f/1f/2f (frames arriving from OVS; VLAN tags that the kernel moved to metadata are put
back from PACKET_AUXDATA, as libpcap does), then record the datapath flow OVS installed
(`dpctl/dump-flows`) and the datapath actions of `ofproto/trace` for the same frame.

Output (JSON): {ovs_version, odp_ports: {name: odp port}, in_port, cases: [{name, source, openflow,
input, dump_flows_actions, trace_actions, outputs: {odp port: [hex, ...]}, note?}]}.
Frames are lowercase hex. `outputs` lists, per odp port, the frames in arrival order.
"""
import argparse
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

SOL_PACKET = 263
PACKET_AUXDATA = 8
ETH_P_ALL = 3
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40

# ----------------------------------------------------------------------------- frames

def read_pcap(path):
    """Classic pcap records as bytes (any byte order, usec or nsec)."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError(f'{path}: not a classic pcap file')
    out, p = [], 24
    while p + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + 'IIII', data[p:p + 16])
        out.append(data[p + 16:p + 16 + incl])
        p += 16 + incl
    return out


def csum_fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def csum_sum(b):
    if len(b) % 2:
        b += b'\0'
    return sum(struct.unpack(f'!{len(b) // 2}H', b))


def csum(b):
    return ~csum_fold(csum_sum(b)) & 0xffff


def mac(s):
    return bytes(int(x, 16) for x in s.split(':'))


def ip4(s):
    return socket.inet_aton(s)


def ipv4_packet(src, dst, proto, l4, ttl=64, tos=0, ident=0x1234):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, tos, 20 + len(l4), ident, 0x4000, ttl, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return hdr + l4


def pseudo4(src, dst, proto, length):
    return ip4(src) + ip4(dst) + struct.pack('!BBH', 0, proto, length)


def udp_segment(src, dst, sport, dport, payload, zero_csum=False):
    seg = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    if zero_csum:
        return seg
    c = csum(pseudo4(src, dst, 17, len(seg)) + seg) or 0xffff
    return seg[:6] + struct.pack('!H', c) + seg[8:]


def tcp_segment(src, dst, sport, dport, payload, flags=0x18):
    seg = struct.pack('!HHIIBBHHH', sport, dport, 1000, 2000, 5 << 4, flags, 65535, 0, 0) + payload
    c = csum(pseudo4(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack('!H', c) + seg[18:]


def eth_frame(payload, dl_type=0x0800, dst='02:00:00:00:00:02', src='02:00:00:00:00:01'):
    return mac(dst) + mac(src) + struct.pack('!H', dl_type) + payload


def crafted_edge(proto, new_src):
    """A UDP/TCP frame whose checksum, once nw_src becomes `new_src`, is 0 by RFC 1624 arithmetic
    (OVS then writes 0xffff for UDP and leaves 0x0000 for TCP): payload word `w` is chosen so that
    the sum over the rewritten segment (checksum field zero) folds to 0xffff."""
    src, dst = '192.0.2.1', '198.51.100.2'

    def segment(filler, w, ip_src, zero):
        payload = struct.pack('!HH', filler, w) + b'tsvs-edge'
        if proto == 17:
            return udp_segment(ip_src, dst, 4000, 5000, payload, zero_csum=zero)
        seg = tcp_segment(ip_src, dst, 4000, 5000, payload)
        return seg[:16] + b'\0\0' + seg[18:] if zero else seg

    for filler in range(1000):
        seg0 = segment(filler, 0, new_src, True)
        w = (0xffff - csum_fold(csum_sum(pseudo4(new_src, dst, proto, len(seg0)) + seg0))) % 0xffff
        seg1 = segment(filler, w, new_src, True)
        if csum_fold(csum_sum(pseudo4(new_src, dst, proto, len(seg1)) + seg1)) != 0xffff:
            continue
        seg = segment(filler, w, src, False)
        c = struct.unpack('!H', seg[6:8] if proto == 17 else seg[16:18])[0]
        if c not in (0, 0xffff):
            return eth_frame(ipv4_packet(src, dst, proto, seg))
    raise RuntimeError('no edge frame found')


def build_frames(pcaps):
    cache = {}

    def pc(name, n):
        if name not in cache:
            cache[name] = read_pcap(os.path.join(pcaps, name))
        return (cache[name][n - 1], f'{name}#{n}')

    f = {
        'tcp4': pc('tcp.pcap', 1),
        'tcp4_ack': pc('tcp.pcap', 3),
        'tcp4_http': pc('print-flags.pcap', 4),
        'tcp4_dns': pc('dns_tcp.pcap', 4),
        'udp4': pc('dns_udp.pcap', 1),
        'udp4_b': pc('dns_udp.pcap', 2),
        'icmp4': pc('icmp.pcap', 1),
        'tcp4_ipopts': pc('ipv4-options.pcap', 4),
        'udp4_firstfrag': pc('fragmented-1.pcap', 3),
        'udp4_laterfrag': pc('fragmented-1.pcap', 2),
        'tcp4_firstfrag': pc('fragmented-syn.pcap', 1),
        'arp': pc('arp.pcap', 1),
        'vlan0_tcp4': pc('http-vlan-0.pcap', 4),
        'vlan0_tcp4_syn': pc('http-vlan-0.pcap', 1),
        'vlan_arp': pc('icmp_dot1q.pcap', 1),
        'qinq_arp': pc('802.1ad_QinQ.pcap', 1),
        'tcp6': pc('ipv6-http-atomic-frag.pcap', 3),
        'tcp6_data': pc('ipv6-http-atomic-frag.pcap', 7),
        'tcp6_atomicfrag': pc('ipv6-http-atomic-frag.pcap', 13),
        'tcp6_dstopts': pc('ipv6-http-atomic-frag.pcap', 4),
        'udp6': pc('dhcpv6.pcap', 1),
        'udp6_b': pc('dhcpv6.pcap', 2),
        'icmp6': pc('icmp6-neighbor-solicit.pcap', 1),
        'udp6_rh': pc('ipv6-routing-header.pcap', 3),
        'udp6_firstfrag': pc('ipv6-fragmented-dns.pcap', 6),
        'udp6_laterfrag': pc('ipv6-fragmented-dns.pcap', 4),
        'udp4_csum0': (eth_frame(ipv4_packet('192.0.2.1', '198.51.100.2', 17,
                                             udp_segment('192.0.2.1', '198.51.100.2', 4000, 5000, b'no checksum here', zero_csum=True))),
                       'crafted: IPv4/UDP with checksum 0 (none)'),
        'udp4_edge': (crafted_edge(17, '10.9.8.7'), 'crafted: IPv4/UDP whose checksum becomes 0 after nw_src=10.9.8.7'),
        'tcp4_edge': (crafted_edge(6, '10.9.8.7'), 'crafted: IPv4/TCP whose checksum becomes 0 after nw_src=10.9.8.7'),
        'tcp4_short': (eth_frame(ipv4_packet('192.0.2.1', '198.51.100.2', 6, tcp_segment('192.0.2.1', '198.51.100.2', 80, 8080, b''))),
                       'crafted: IPv4/TCP, no payload'),
    }
    return f


# (name, frame key, OpenFlow rules (in_port=1 is the injection port; ports 2 and 3 are outputs), note)
CASES = [
    ('ipv4-tcp-mod-nw-src', 'tcp4', ['in_port=1,ip,actions=mod_nw_src:10.9.8.7,output:2'], None),
    ('ipv4-tcp-mod-nw-dst-tp-dst', 'tcp4_http', ['in_port=1,tcp,actions=mod_nw_dst:192.168.77.1,mod_tp_dst:8080,output:2'], None),
    ('ipv4-tcp-mod-tp-both', 'tcp4_ack', ['in_port=1,tcp,actions=mod_tp_src:1234,mod_tp_dst:4321,output:2'], None),
    ('ipv4-tcp-short-mod-all', 'tcp4_short', ['in_port=1,tcp,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_tp_src:1,mod_tp_dst:2,output:2'], None),
    ('ipv4-udp-mod-nw-both', 'udp4', ['in_port=1,ip,actions=mod_nw_src:172.16.0.1,mod_nw_dst:172.16.0.2,output:2'], None),
    ('ipv4-udp-mod-tp-dst', 'udp4_b', ['in_port=1,udp,actions=mod_tp_dst:5353,output:2'], None),
    ('ipv4-udp-csum0-mod-nw-tp', 'udp4_csum0', ['in_port=1,udp,actions=mod_nw_src:10.1.1.1,mod_tp_src:53,output:2'], 'UDP checksum 0 stays 0'),
    ('ipv4-udp-csum-edge', 'udp4_edge', ['in_port=1,ip,actions=mod_nw_src:10.9.8.7,output:2'], 'UDP checksum result 0 is sent as 0xffff'),
    ('ipv4-tcp-csum-edge', 'tcp4_edge', ['in_port=1,ip,actions=mod_nw_src:10.9.8.7,output:2'], 'TCP checksum result 0x0000 stays'),
    ('ipv4-icmp-mod-nw-src', 'icmp4', ['in_port=1,ip,actions=mod_nw_src:10.0.0.99,output:2'], None),
    ('ipv4-dec-ttl', 'tcp4', ['in_port=1,ip,actions=dec_ttl,output:2'], None),
    ('ipv4-mod-nw-tos', 'tcp4_dns', ['in_port=1,ip,actions=mod_nw_tos:40,output:2'], None),
    ('ipv4-mod-nw-ecn', 'udp4', ['in_port=1,ip,actions=mod_nw_ecn:3,output:2'], None),
    ('ipv4-set-nw-src-masked', 'udp4_b', ['in_port=1,ip,actions=set_field:10.20.0.0/255.255.0.0->nw_src,output:2'], None),
    ('ipv4-options-mod-nw-dst-ttl', 'tcp4_ipopts', ['in_port=1,ip,actions=mod_nw_dst:10.0.0.2,set_field:9->nw_ttl,output:2'], None),
    ('ipv4-first-frag-udp-mod-nw-src', 'udp4_firstfrag', ['in_port=1,ip,actions=mod_nw_src:10.3.3.3,output:2'], None),
    ('ipv4-later-frag-mod-nw-src', 'udp4_laterfrag', ['in_port=1,ip,actions=mod_nw_src:10.3.3.3,output:2'],
     'deviation: OVS rewrites bytes 6-7 of the later fragment payload as if a UDP checksum'),
    ('ipv4-first-frag-tcp-mod-nw-dst-tp-dst', 'tcp4_firstfrag', ['in_port=1,tcp,actions=mod_nw_dst:10.4.4.4,mod_tp_dst:81,output:2'], None),
    ('eth-mod-dl-both', 'arp', ['in_port=1,actions=mod_dl_src:02:aa:bb:cc:dd:ee,mod_dl_dst:02:11:22:33:44:55,output:2'], None),
    ('eth-mod-dl-dst', 'udp4', ['in_port=1,actions=mod_dl_dst:02:11:22:33:44:55,output:2'], None),
    ('vlan-push', 'tcp4', ['in_port=1,actions=mod_vlan_vid:10,output:2'], None),
    ('vlan-push-pcp', 'udp4', ['in_port=1,actions=mod_vlan_vid:100,mod_vlan_pcp:5,output:2'], None),
    ('vlan-push-88a8', 'icmp4', ['in_port=1,actions=push_vlan:0x88a8,set_field:4117->vlan_vid,output:2'], None),
    ('vlan-pop', 'vlan0_tcp4', ['in_port=1,vlan_vid=0x1000/0x1000,actions=strip_vlan,output:2'], None),
    ('vlan-pop-then-mod-nw-dst', 'vlan0_tcp4_syn', ['in_port=1,vlan_vid=0x1000/0x1000,tcp,actions=strip_vlan,mod_nw_dst:10.7.7.7,mod_tp_src:9999,output:2'], None),
    ('vlan-change-vid', 'vlan_arp', ['in_port=1,vlan_vid=0x1000/0x1000,actions=set_field:4138->vlan_vid,output:2'], None),
    ('vlan-mod-vid-on-tagged', 'vlan_arp', ['in_port=1,actions=mod_vlan_vid:42,output:2'], 'OpenFlow 1.5 mod_vlan_vid pushes a new tag'),
    ('vlan-push-on-tagged', 'vlan_arp', ['in_port=1,actions=push_vlan:0x88a8,set_field:4196->vlan_vid,output:2'], None),
    ('qinq-pop-outer', 'qinq_arp', ['in_port=1,vlan_vid=0x1000/0x1000,actions=strip_vlan,output:2'], None),
    ('ipv6-tcp-set-src', 'tcp6', ['in_port=1,ipv6,actions=set_field:2001:db8::1->ipv6_src,output:2'], None),
    ('ipv6-udp-set-dst', 'udp6', ['in_port=1,ipv6,actions=set_field:2001:db8:ffff::2->ipv6_dst,output:2'], None),
    ('ipv6-icmp6-set-src', 'icmp6', ['in_port=1,ipv6,actions=set_field:fe80::1234->ipv6_src,output:2'], None),
    ('ipv6-dec-ttl-label-tclass', 'tcp6_data', ['in_port=1,ipv6,actions=dec_ttl,set_field:0x12345->ipv6_label,mod_nw_tos:32,output:2'], None),
    ('ipv6-dstopts-tcp-set-both', 'tcp6_dstopts', ['in_port=1,ipv6,actions=set_field:2001:db8::a->ipv6_src,set_field:2001:db8::b->ipv6_dst,output:2'], None),
    ('ipv6-atomic-frag-set-src', 'tcp6_atomicfrag', ['in_port=1,ipv6,actions=set_field:2001:db8::1->ipv6_src,output:2'],
     'deviation: OVS does not update the TCP checksum of an atomic fragment'),
    ('ipv6-routing-hdr-set-src', 'udp6_rh', ['in_port=1,ipv6,actions=set_field:2001:db8::5->ipv6_src,output:2'],
     'deviation: OVS does not update the UDP checksum when a routing header has segments left'),
    ('ipv6-routing-hdr-set-dst', 'udp6_rh', ['in_port=1,ipv6,actions=set_field:2001:db8::6->ipv6_dst,output:2'], None),
    ('ipv6-first-frag-set-src', 'udp6_firstfrag', ['in_port=1,ipv6,actions=set_field:2001:db8::7->ipv6_src,output:2'], None),
    ('ipv6-later-frag-set-src', 'udp6_laterfrag', ['in_port=1,ipv6,actions=set_field:2001:db8::8->ipv6_src,output:2'], None),
    ('ipv6-udp-mod-tp-both', 'udp6_b', ['in_port=1,udp6,actions=mod_tp_src:5000,mod_tp_dst:6000,output:2'], None),
    ('multi-output-same', 'udp4', ['in_port=1,actions=output:2,output:3'], None),
    ('multi-output-mod-between', 'tcp4_http',
     ['in_port=1,tcp,actions=output:2,mod_nw_src:10.5.5.5,mod_tp_src:5555,output:3,mod_vlan_vid:7,in_port'], None),
    ('multi-output-vlan-between', 'udp4_b', ['in_port=1,actions=mod_vlan_vid:3,output:2,pop_vlan,mod_dl_dst:02:00:00:00:00:99,output:3'], None),
    ('drop', 'udp4', ['in_port=1,actions=drop'], None),
]

# ----------------------------------------------------------------------------- OVS

def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'{" ".join(args)}: exit {r.returncode}: {r.stderr.strip()}')
    return r.stdout


class Ovs:
    def __init__(self, ctl, db):
        self.ctl, self.db = ctl, db

    def appctl(self, *args):
        return run(['ovs-appctl', '-t', self.ctl, *args])

    def ofctl(self, *args):
        return run(['ovs-ofctl', '-O', 'OpenFlow15', *args])

    def odp_ports(self):
        ports = {}
        for line in self.appctl('dpctl/show').splitlines():
            line = line.strip()
            if line.startswith('port '):
                num, rest = line[5:].split(':', 1)
                ports[rest.strip().split(' ')[0]] = int(num)
        return ports


def open_sock(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def recv_frame(s):
    """One received frame with its VLAN tag restored from PACKET_AUXDATA, or None for outgoing ones."""
    data, anc, _, addr = s.recvmsg(65600, socket.CMSG_SPACE(32))
    if addr[2] == PACKET_OUTGOING:
        return None
    for level, typ, cdata in anc:
        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 20:
            status, _, _, _, _, tci, tpid = struct.unpack('IIIHHHH', cdata[:20])
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                data = data[:12] + struct.pack('!HH', tpid, tci) + data[12:]
    return data


def drain(socks):
    for s in socks:
        while True:
            try:
                s.recvmsg(65600, socket.CMSG_SPACE(32))
            except BlockingIOError:
                break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ctl', required=True)
    ap.add_argument('--db', required=True)
    ap.add_argument('--pcaps', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    ovs = Ovs(a.ctl, a.db)
    frames = build_frames(a.pcaps)
    odp = ovs.odp_ports()
    far = {odp[f'tsvsg{i}']: f'tsvsg{i}f' for i in range(3)}
    in_port = odp['tsvsg0']
    socks = {port: open_sock(name) for port, name in far.items()}
    inject = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    inject.bind(('tsvsg0f', 0))
    version = run(['ovs-vswitchd', '--version']).splitlines()[0].strip()
    cases = []
    for name, fkey, rules, note in CASES:
        frame, source = frames[fkey]
        ovs.ofctl('del-flows', 'br0')
        for r in ['priority=0,actions=drop'] + rules:
            ovs.ofctl('add-flow', 'br0', r)
        # Through ofproto, so that the revalidators forget the flows too (dpctl/del-flows would
        # leave their ukeys behind and a new flow with the same UFID would not be installed).
        ovs.appctl('revalidator/purge')
        time.sleep(0.05)
        drain(socks.values())
        inject.send(frame)
        outputs = {}
        deadline = time.monotonic() + 0.6
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select(list(socks.values()), [], [], left)
            for port, s in socks.items():
                if s in r:
                    while True:
                        try:
                            fr = recv_frame(s)
                        except BlockingIOError:
                            break
                        if fr is not None:
                            outputs.setdefault(str(port), []).append(fr.hex())
        flows = [l for l in ovs.appctl('dpctl/dump-flows', '--no-names').splitlines() if f'in_port({in_port})' in l]
        dump_actions = [l.split(' actions:', 1)[1].strip() for l in flows]
        trace = ovs.appctl('ofproto/trace', 'br0', 'in_port=1', frame.hex())
        trace_actions = [l[len('Datapath actions: '):].strip() for l in trace.splitlines() if l.startswith('Datapath actions: ')]
        if len(dump_actions) != 1 or len(trace_actions) != 1 or dump_actions[0] != trace_actions[0]:
            print(f'{name}: dump-flows {dump_actions} vs trace {trace_actions}', file=sys.stderr)
        c = {
            'name': name,
            'source': source,
            'openflow': rules,
            'input': frame.hex(),
            'dump_flows_actions': dump_actions[0] if len(dump_actions) == 1 else dump_actions,
            'trace_actions': trace_actions[0] if len(trace_actions) == 1 else trace_actions,
            'outputs': {k: outputs[k] for k in sorted(outputs, key=int)},
        }
        if note:
            c['note'] = note
        cases.append(c)
        print(f'{name}: {c["dump_flows_actions"]} -> {sorted((k, len(v)) for k, v in outputs.items())}', file=sys.stderr)
    doc = {
        'generator': 'tools/ovs-golden/actions-golden.sh',
        'ovs_version': version,
        'bridge': 'br0 datapath_type=netdev fail-mode=secure; ofports 1..3 = tsvsg0..2 (veth); frames injected on tsvsg0',
        'odp_ports': {f'tsvsg{i}': odp[f'tsvsg{i}'] for i in range(3)},
        'in_port': in_port,
        'cases': cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
