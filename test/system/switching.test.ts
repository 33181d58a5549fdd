/**
 * System tests, part 1: a real tsvs daemon started through the CLI switches real hosts in network
 * namespaces over veth pairs (`system` ports, default NORMAL flow): ping both ways, ARP and IPv6
 * neighbour discovery, a 20 MB TCP transfer checked by SHA-256, UDP datagrams of every size up to
 * the MTU, and VLANs (two access VLANs isolated from each other, a trunk carrying both).
 * One daemon and one set of hosts for the whole file. Skipped (with a message) unless root.
 */
import { expect } from 'chai';
import { inHost, type Host, type Topology } from '../../tools/netns/topology.js';
import { cleanupAll, Daemon, newSwitch, type SystemSwitch, hosts, inH, ping, PREFIX, reachable, requireRoot, spawnText, tcpTransfer, trafficProc, VLAN_RAW } from './helpers.js';

describe('system: switching namespace hosts over veth system ports (root)', function () {
  this.timeout(60_000);
  let d: SystemSwitch;
  let t: Topology;
  let h: Host[];

  before(function () {
    this.timeout(120_000);
    requireRoot(this);
    t = hosts('a', 3, '10.91.0');
    h = [...t.hosts];
    d = newSwitch(`${PREFIX}bra`);
    if (d instanceof Daemon) d.start(['--pmd-threads', '1']);
    else d.start();
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
    // The trunk host speaks 802.1Q from userspace (vlan-raw.mjs): the kernel here may lack 8021q.
    const raw = async (x: Host, args: string[], ready?: string) => {
      const argv = inHost(x, [process.execPath, VLAN_RAW, ...args]);
      return spawnText(argv, ready);
    };
    const probe = async (vlan: number, ip: string, target: string): Promise<{ arp: { vlan: number; mac: string }[]; echo: { vlan: number; mac: string }[] }> =>
      JSON.parse(await (await raw(v[4]!, ['probe', 'eth0', String(vlan), v[4]!.mac, ip, target])).done);

    before(function () {
      this.timeout(60_000);
      v = [...hosts('v', 5, '10.92.0').hosts];
      // v0, v1: access VLAN 10 in S.10/24; v2, v3: access VLAN 20 in S.20/24; v4: trunk of 10 and 20.
      // Traps: v2 also has an S.10 address and v0 an S.20 one, so that a leak between the VLANs
      // would make a ping or an ARP request succeed.
      const addrs: string[][] = [[`${S}.10.1`, `${S}.20.1`], [`${S}.10.2`], [`${S}.20.3`, `${S}.10.3`], [`${S}.20.4`], []];
      for (const [i, x] of v.entries()) {
        inH(x, ['ip', 'addr', 'flush', 'dev', 'eth0']);
        for (const a of addrs[i]!) inH(x, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
      }
      d.addPorts(v.slice(0, 4), (x) => ['--tag', x.index < 2 ? '10' : '20']);
      d.addPorts([v[4]!], () => ['--trunks', '10,20']);
    });

    it('hosts on the same access VLAN reach each other', async () => {
      expect(await reachable(v[0]!, `${S}.10.2`, 10_000), 'VLAN 10: v0 -> v1').to.equal(true);
      expect(await reachable(v[3]!, `${S}.20.3`, 10_000), 'VLAN 20: v3 -> v2').to.equal(true);
    });

    it('the trunk port carries both VLANs tagged: ARP and ping from the trunk reach each VLAN\'s hosts', async () => {
      const p10 = await probe(10, `${S}.10.9`, `${S}.10.1`);
      expect(p10.arp, 'ARP reply from v0, tagged 10').to.deep.equal([{ vlan: 10, mac: v[0]!.mac }]);
      expect(p10.echo, 'echo replies from v0, tagged 10').to.deep.equal([1, 2, 3].map(() => ({ vlan: 10, mac: v[0]!.mac })));
      const p20 = await probe(20, `${S}.20.9`, `${S}.20.4`);
      expect(p20.arp, 'ARP reply from v3, tagged 20').to.deep.equal([{ vlan: 20, mac: v[3]!.mac }]);
      expect(p20.echo, 'echo replies from v3, tagged 20').to.deep.equal([1, 2, 3].map(() => ({ vlan: 20, mac: v[3]!.mac })));
    });

    it('frames from each access VLAN reach the trunk tagged with that VLAN only', async () => {
      const cap = await raw(v[4]!, ['capture', 'eth0', '1500'], 'ready');
      // ARP requests for absent addresses: broadcasts in each VLAN.
      ping(v[1]!, `${S}.10.77`, 1, 0.2);
      ping(v[3]!, `${S}.20.77`, 1, 0.2);
      const frames = (JSON.parse(await cap.done) as { frames: { vlan: number; src: string; arp_tpa?: string }[] }).frames;
      const from = (mac: string) => frames.filter((f) => f.src === mac && f.arp_tpa !== undefined);
      expect(from(v[1]!.mac).length, 'ARP requests of v1 seen on the trunk').to.be.greaterThan(0);
      expect(from(v[3]!.mac).length, 'ARP requests of v3 seen on the trunk').to.be.greaterThan(0);
      expect(new Set(from(v[1]!.mac).map((f) => f.vlan))).to.deep.equal(new Set([10]));
      expect(new Set(from(v[3]!.mac).map((f) => f.vlan))).to.deep.equal(new Set([20]));
    });

    it('the access VLANs are isolated from each other, also through the trunk', async () => {
      // Addresses in the same IP subnet but on the other VLAN: ARP must never get across.
      expect(ping(v[0]!, `${S}.10.3`, 2, 0.2).received, 'VLAN 10 v0 -> VLAN 20 v2').to.equal(0);
      expect(ping(v[1]!, `${S}.10.3`, 2, 0.2).received, 'VLAN 10 v1 -> VLAN 20 v2').to.equal(0);
      expect(ping(v[3]!, `${S}.20.1`, 2, 0.2).received, 'VLAN 20 v3 -> VLAN 10 v0').to.equal(0);
      expect((await probe(10, `${S}.10.9`, `${S}.10.3`)).arp, 'trunk VLAN 10 -> VLAN 20 host').to.deep.equal([]);
      expect((await probe(20, `${S}.20.9`, `${S}.20.1`)).arp, 'trunk VLAN 20 -> VLAN 10 host').to.deep.equal([]);
      expect((await probe(30, `${S}.10.9`, `${S}.10.1`)).arp, 'VLAN 30 is not on the trunk').to.deep.equal([]);
      // ...while the same hosts still reach their own VLAN (the negative results are not an outage).
      expect(ping(v[0]!, `${S}.10.2`, 2, 0.1).received).to.equal(2);
      expect(ping(v[3]!, `${S}.20.3`, 2, 0.1).received).to.equal(2);
      expect((await probe(10, `${S}.10.9`, `${S}.10.2`)).arp).to.deep.equal([{ vlan: 10, mac: v[1]!.mac }]);
    });
  });
});
