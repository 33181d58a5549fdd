/**
 * System tests, part 1: a real tsvs daemon started through the CLI switches real hosts in network
 * namespaces over veth pairs (`system` ports, default NORMAL flow): ping both ways, ARP and IPv6
 * neighbour discovery, a 20 MB TCP transfer checked by SHA-256, UDP datagrams of every size up to
 * the MTU, and VLANs (two access VLANs isolated from each other, a trunk carrying both).
 * One daemon and one set of hosts for the whole file. Skipped (with a message) unless root.
 */
import { expect } from 'chai';
import type { Host, Topology } from '../../tools/netns/topology.js';
import { cleanupAll, Daemon, hosts, inH, ping, PREFIX, reachable, requireRoot, tcpTransfer, trafficProc } from './helpers.js';

describe('system: switching namespace hosts over veth system ports (root)', function () {
  this.timeout(60_000);
  let d: Daemon;
  let t: Topology;
  let h: Host[];

  before(function () {
    this.timeout(120_000);
    requireRoot(this);
    t = hosts('a', 3, '10.91.0');
    h = [...t.hosts];
    d = new Daemon(`${PREFIX}bra`);
    d.start(['--pmd-threads', '1']);
    d.addPorts(h);
  });
  after(function () {
    if (d && this.currentTest?.state === 'failed') console.log(d.logTail());
    cleanupAll();
  });

  it('ping both ways, IPv4 and IPv6', async () => {
    expect(await reachable(h[0]!, h[1]!.ip4, 10_000), 'first IPv4 reply h0 -> h1').to.equal(true);
    expect(ping(h[0]!, h[1]!.ip4, 5, 0.05).received).to.equal(5);
    expect(ping(h[1]!, h[0]!.ip4, 5, 0.05).received).to.equal(5);
    expect(await reachable(h[0]!, h[1]!.ip6, 10_000), 'first IPv6 reply h0 -> h1').to.equal(true);
    expect(ping(h[0]!, h[1]!.ip6, 5, 0.05).received).to.equal(5);
    expect(ping(h[1]!, h[0]!.ip6, 5, 0.05).received).to.equal(5);
  });

  it('ARP: a flushed neighbour entry is resolved to the right MAC, and the target learns the asker', async () => {
    for (const x of [h[0]!, h[2]!]) inH(x, ['ip', '-4', 'neigh', 'flush', 'dev', 'eth0']);
    expect(await reachable(h[0]!, h[2]!.ip4, 5000)).to.equal(true);
    expect(inH(h[0]!, ['ip', '-4', 'neigh', 'show', h[2]!.ip4, 'dev', 'eth0'])).to.contain(`lladdr ${h[2]!.mac}`);
    expect(inH(h[2]!, ['ip', '-4', 'neigh', 'show', h[0]!.ip4, 'dev', 'eth0'])).to.contain(`lladdr ${h[0]!.mac}`);
  });

  it('IPv6 neighbour discovery: a flushed neighbour entry is resolved to the right MAC', async () => {
    for (const x of [h[1]!, h[2]!]) inH(x, ['ip', '-6', 'neigh', 'flush', 'dev', 'eth0']);
    expect(await reachable(h[2]!, h[1]!.ip6, 5000)).to.equal(true);
    expect(inH(h[2]!, ['ip', '-6', 'neigh', 'show', h[1]!.ip6, 'dev', 'eth0'])).to.contain(`lladdr ${h[1]!.mac}`);
    expect(inH(h[1]!, ['ip', '-6', 'neigh', 'show', h[2]!.ip6, 'dev', 'eth0'])).to.contain(`lladdr ${h[2]!.mac}`);
  });

  it('a 20 MB TCP transfer arrives complete with the same SHA-256', async () => {
    const r = await tcpTransfer(h[0]!, h[1]!, 20 * 1024 * 1024);
    expect(r.sent.bytes).to.equal(20 * 1024 * 1024);
    expect(r.received).to.deep.equal(r.sent);
  });

  it('UDP: datagrams of 1..1472 bytes are echoed back byte-identical', async () => {
    const echo = await trafficProc(h[2]!, ['udp-echo', '7002'], 'listening');
    try {
      const out = await (await trafficProc(h[0]!, ['udp-check', h[2]!.ip4, '7002', '300'])).output;
      const r = JSON.parse(out.trim()) as { sent: number; echoed: number; tries: number; mismatched: number };
      expect(r.mismatched).to.equal(0);
      expect(r.echoed).to.equal(300);
    } finally {
      echo.proc.kill('SIGKILL');
    }
  });

  describe('VLANs: two access VLANs isolated, a trunk carrying both', () => {
    let v: Host[];
    const S = '10.92';
    before(function () {
      this.timeout(60_000);
      v = [...hosts('v', 5, '10.92.0').hosts];
      // v0, v1: access VLAN 10 in S.10/24; v2, v3: access VLAN 20 in S.20/24; v4: trunk of 10 and 20
      // with eth0.10 / eth0.20. Traps: v2 also has an S.10 address and v0 an S.20 one, so that a
      // leak between the VLANs would make a ping succeed.
      const addrs: string[][] = [[`${S}.10.1`, `${S}.20.1`], [`${S}.10.2`], [`${S}.20.3`, `${S}.10.3`], [`${S}.20.4`], []];
      for (const [i, x] of v.entries()) {
        inH(x, ['ip', 'addr', 'flush', 'dev', 'eth0']);
        for (const a of addrs[i]!) inH(x, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
      }
      for (const id of [10, 20]) {
        inH(v[4]!, ['ip', 'link', 'add', 'link', 'eth0', 'name', `eth0.${id}`, 'type', 'vlan', 'id', String(id)]);
        inH(v[4]!, ['ip', 'addr', 'add', `${S}.${id}.5/24`, 'dev', `eth0.${id}`]);
        inH(v[4]!, ['ip', 'link', 'set', `eth0.${id}`, 'up']);
      }
      d.addPorts(v.slice(0, 4), (x) => ['--tag', x.index < 2 ? '10' : '20']);
      d.addPorts([v[4]!], () => ['--trunks', '10,20']);
    });

    it('hosts on the same access VLAN reach each other', async () => {
      expect(await reachable(v[0]!, `${S}.10.2`, 10_000), 'VLAN 10: v0 -> v1').to.equal(true);
      expect(await reachable(v[3]!, `${S}.20.3`, 10_000), 'VLAN 20: v3 -> v2').to.equal(true);
    });

    it('the trunk port carries both VLANs, each to its own VLAN interface', async () => {
      expect(await reachable(v[4]!, `${S}.10.1`, 10_000, ['-I', 'eth0.10']), 'trunk eth0.10 -> v0').to.equal(true);
      expect(await reachable(v[4]!, `${S}.20.4`, 10_000, ['-I', 'eth0.20']), 'trunk eth0.20 -> v3').to.equal(true);
      expect(await reachable(v[1]!, `${S}.10.5`, 5000), 'v1 -> trunk eth0.10').to.equal(true);
      expect(await reachable(v[2]!, `${S}.20.5`, 5000), 'v2 -> trunk eth0.20').to.equal(true);
    });

    it('the access VLANs are isolated from each other (and the trunk does not bridge them)', () => {
      // Addresses in the same IP subnet but on the other VLAN: ARP must never get across.
      expect(ping(v[0]!, `${S}.10.3`, 3, 0.2).received, 'VLAN 10 v0 -> VLAN 20 v2').to.equal(0);
      expect(ping(v[1]!, `${S}.10.3`, 3, 0.2).received, 'VLAN 10 v1 -> VLAN 20 v2').to.equal(0);
      expect(ping(v[3]!, `${S}.20.1`, 3, 0.2).received, 'VLAN 20 v3 -> VLAN 10 v0').to.equal(0);
      expect(ping(v[4]!, `${S}.10.3`, 3, 0.2, ['-I', 'eth0.10']).received, 'trunk VLAN 10 -> VLAN 20 v2').to.equal(0);
      // ...while the same hosts still reach their own VLAN (the negative results are not an outage).
      expect(ping(v[0]!, `${S}.10.2`, 2, 0.1).received).to.equal(2);
      expect(ping(v[3]!, `${S}.20.3`, 2, 0.1).received).to.equal(2);
    });
  });
});
