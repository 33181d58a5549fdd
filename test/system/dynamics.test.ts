/**
 * System tests, part 2: changes under live traffic, on a real tsvs daemon (started through the CLI)
 * switching namespace hosts over veth `system` ports: an OpenFlow drop rule added during a ping
 * stops it within 1 s and its removal restores it; idle datapath flows expire; a MAC moving between
 * ports; a port deleted and added again; `tsvs set threads`; a worker thread killed (the daemon
 * restarts it); the whole daemon killed with SIGKILL and started again.
 * One daemon and one set of hosts for the file. Skipped (with a message) unless root.
 */
import { expect } from 'chai';
import type { Host } from '../../tools/netns/topology.js';
import { cleanupAll, Daemon, newSwitch, type SystemSwitch, dpFlowList, hosts, isL2Flow, inH, ping, PingMonitor, PREFIX, reachable, requireRoot, sleep, tcpTransfer, tsvsOnly } from './helpers.js';

/** Datapath flows the revalidators deleted for being idle (`tsvs upcall show --json`). */
function idleDeleted(d: SystemSwitch): number {
  return (JSON.parse(d.ok(['upcall', 'show', '--json'])) as { deleted: { idle: number } }).deleted.idle;
}

describe('system: changes under traffic (root)', function () {
  this.timeout(60_000);
  let d: SystemSwitch;
  let h: Host[];

  before(async function () {
    this.timeout(120_000);
    requireRoot(this);
    h = [...hosts('b', 4, '10.93.0').hosts];
    d = newSwitch(`${PREFIX}brb`);
    if (d instanceof Daemon) d.start(['--pmd-threads', '1']);
    else d.start();
    d.addPorts(h);
    for (const x of h.slice(1)) expect(await reachable(h[0]!, x.ip4, 10_000), `h0 -> ${x.ip4}`).to.equal(true);
  });
  afterEach(function () {
    if (d && this.currentTest?.state === 'failed') console.log(`--- daemon log (last lines)\n${d.logTail()}`);
  });
  after(() => cleanupAll());

  it('a drop rule added during a ping stops it within 1 s; deleting it restores the ping', async () => {
    const mon = new PingMonitor(h[0]!, h[1]!.ip4, 0.02);
    try {
      expect(await mon.replyAfter(Date.now(), 3000), 'ping runs before the rule').to.equal(true);
      d.ok(['add-flow', `priority=200,icmp,nw_src=${h[0]!.ip4},nw_dst=${h[1]!.ip4},actions=drop`]);
      const added = Date.now();
      expect(d.ok(['dump-flows'])).to.match(/priority=200,icmp,nw_src=10\.93\.0\.1,nw_dst=10\.93\.0\.2 actions=drop/);
      await sleep(2500);
      expect(mon.between(added + 1000), 'replies more than 1 s after add-flow returned').to.equal(0);
      d.ok(['del-flows', `icmp,nw_src=${h[0]!.ip4},nw_dst=${h[1]!.ip4}`]);
      const removed = Date.now();
      expect(d.ok(['dump-flows'])).to.not.contain('actions=drop');
      expect(await mon.replyAfter(removed, 3000), 'ping resumes after del-flows').to.equal(true);
      // The rest of the traffic was never affected: h0 still reaches h2.
      expect(ping(h[0]!, h[2]!.ip4, 2, 0.1).received).to.equal(2);
    } finally {
      mon.stop();
    }
  });

  it('idle datapath flows expire (max-idle 500 ms)', async () => {
    d.ok(['set', 'config', 'max-idle=500']);
    const [a, b] = [h[2]!, h[3]!];
    // This test's own flows: the ping's IPv4 megaflows a -> b and b -> a. Matched exactly, so other
    // traffic (the ARP that follows a ping, IPv6 MLD reports on link changes) cannot mask the result.
    const ours = (): string[] => dpFlowList(d)
      .filter((f) => isL2Flow(f, a.mac, b.mac, '0x0800') || isL2Flow(f, b.mac, a.mac, '0x0800'))
      .map((f) => f.match);
    const idleBefore = d.kind === 'tsvs' ? idleDeleted(d) : 0;
    const mon = new PingMonitor(a, b.ip4, 0.02);
    let during: string[];
    try {
      expect(await mon.replyAfter(Date.now(), 3000)).to.equal(true);
      // Checked while the traffic runs: a CLI call may take longer than max-idle on a loaded host.
      during = ours();
    } finally {
      mon.stop();
    }
    expect(during.filter((m) => m.includes(`src=${a.mac}`)), `IPv4 flow ${a.mac} -> ${b.mac} during the ping`).to.not.be.empty;
    expect(during.filter((m) => m.includes(`src=${b.mac}`)), `IPv4 flow ${b.mac} -> ${a.mac} during the ping`).to.not.be.empty;
    try {
      const end = Date.now() + 5000;
      let left = ours();
      while (left.length > 0 && Date.now() < end) {
        await sleep(100);
        left = ours();
      }
      expect(left, 'the ping\'s flows 5 s after it stopped').to.deep.equal([]);
      // Gone because idle (not flushed or revalidated away): the revalidators counted both.
      if (d.kind === 'tsvs') expect(idleDeleted(d) - idleBefore).to.be.at.least(2);
    } finally {
      d.ok(['set', 'config', 'max-idle=10000']);
    }
  });

  it('a MAC moving to another port: traffic follows it', async () => {
    const [a, from, to] = [h[0]!, h[2]!, h[3]!];
    expect(ping(a, from.ip4, 3, 0.05).received, 'before the move').to.equal(3);
    // The host behind `from` moves to `to`'s port (a VM migrating): same MAC and address, and the
    // asker keeps its ARP entry, so only the switch's MAC learning can get the frames there.
    inH(from, ['ip', 'link', 'set', 'eth0', 'down']);
    inH(to, ['ip', 'link', 'set', 'eth0', 'address', from.mac]);
    inH(to, ['ip', 'addr', 'flush', 'dev', 'eth0']);
    inH(to, ['ip', 'addr', 'add', `${from.ip4}/24`, 'dev', 'eth0']);
    try {
      // The moved host speaks first (as after a migration): the switch sees its MAC on the new port.
      expect(await reachable(to, a.ip4, 5000), 'moved host -> asker').to.equal(true);
      expect(inH(a, ['ip', '-4', 'neigh', 'show', from.ip4])).to.contain(from.mac);
      expect(await reachable(a, from.ip4, 3000), 'asker -> moved host').to.equal(true);
      expect(ping(a, from.ip4, 5, 0.05).received).to.equal(5);
    } finally {
      inH(to, ['ip', 'addr', 'flush', 'dev', 'eth0']);
      inH(to, ['ip', 'link', 'set', 'eth0', 'address', to.mac]);
      inH(to, ['ip', 'addr', 'add', `${to.ip4}/24`, 'dev', 'eth0']);
      inH(to, ['ip', 'addr', 'add', `${to.ip6}/64`, 'dev', 'eth0', 'nodad']);
      inH(from, ['ip', 'link', 'set', 'eth0', 'up']);
    }
    // And back: the original host answers from its own port again.
    expect(await reachable(from, a.ip4, 5000)).to.equal(true);
    expect(await reachable(a, from.ip4, 3000)).to.equal(true);
    expect(await reachable(a, to.ip4, 5000)).to.equal(true);
  });

  it('a port deleted under traffic stops it; added again, traffic resumes', async () => {
    const mon = new PingMonitor(h[0]!, h[1]!.ip4, 0.02);
    try {
      expect(await mon.replyAfter(Date.now(), 3000)).to.equal(true);
      d.ok(['del-port', h[1]!.outer]);
      const deleted = Date.now();
      expect(d.ok(['show'])).to.not.contain(h[1]!.outer);
      await sleep(1500);
      expect(mon.between(deleted + 500), 'replies while the port is gone').to.equal(0);
      d.addPorts([h[1]!]);
      const added = Date.now();
      expect(d.ok(['show'])).to.contain(h[1]!.outer);
      expect(await mon.replyAfter(added, 5000), 'ping resumes after add-port').to.equal(true);
    } finally {
      mon.stop();
    }
  });

  it('`tsvs set threads` under traffic: a TCP stream survives intact, pings continue', async function () {
    tsvsOnly(this, d, 'tsvs set threads');
    const mon = new PingMonitor(h[0]!, h[1]!.ip4, 0.02);
    try {
      // ~6 MB paced at 2 MiB/s: about 3 s of traffic spanning both changes.
      const transfer = tcpTransfer(h[2]!, h[3]!, 6 * 1024 * 1024, 2048, 7011);
      await sleep(800);
      d.ok(['set', 'threads', '--pmd', '2']);
      expect((JSON.parse(d.ok(['show', '--json'])) as { threads: { pmd: { count: number } } }).threads.pmd.count).to.equal(2);
      const t1 = Date.now();
      expect(await mon.replyAfter(t1, 3000), 'ping after --pmd 2').to.equal(true);
      d.ok(['set', 'threads', '--pmd', '1']);
      const t2 = Date.now();
      expect(await mon.replyAfter(t2, 3000), 'ping after --pmd 1').to.equal(true);
      const r = await transfer;
      expect(r.received).to.deep.equal(r.sent);
    } finally {
      mon.stop();
    }
  });

  for (const kind of ['pmd', 'handler', 'revalidator']) {
    it(`a ${kind} thread killed under traffic is restarted and traffic resumes`, async function () {
      tsvsOnly(this, d, 'thread/crash');
      const restartsBefore = (JSON.parse(d.ok(['show', '--json'])) as { threads: Record<string, { restarts?: number }> }).threads[kind]?.restarts ?? 0;
      const mon = new PingMonitor(h[0]!, h[1]!.ip4, 0.02);
      try {
        const transfer = tcpTransfer(h[2]!, h[3]!, 4 * 1024 * 1024, 2048, 7012);
        await sleep(700);
        // The closest thing to kill -9 for one thread: Worker.terminate() from the main thread.
        await d.rpc('thread/crash', { kind, slot: 0, how: 'terminate' });
        const killed = Date.now();
        expect(await mon.replyAfter(killed + 100, 5000), 'ping resumes').to.equal(true);
        const r = await transfer;
        expect(r.received, 'TCP stream across the restart').to.deep.equal(r.sent);
        const restartsAfter = (JSON.parse(d.ok(['show', '--json'])) as { threads: Record<string, { restarts?: number }> }).threads[kind]?.restarts ?? 0;
        expect(restartsAfter).to.equal(restartsBefore + 1);
      } finally {
        mon.stop();
      }
    });
  }

  it('the daemon killed with SIGKILL and started again: its ports come back and traffic resumes', async function () {
    tsvsOnly(this, d, 'restart from the tsvs config');
    const pid = d.pid();
    process.kill(pid, 'SIGKILL');
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(20);
    }
    expect(ping(h[0]!, h[1]!.ip4, 2, 0.1).received, 'no switch, no ping').to.equal(0);
    (d as Daemon).start();
    const show = d.ok(['show']);
    for (const x of h) expect(show, 'ports restored from the config').to.contain(x.outer);
    expect(await reachable(h[0]!, h[1]!.ip4, 10_000)).to.equal(true);
    expect(await reachable(h[3]!, h[2]!.ip4, 10_000)).to.equal(true);
  });
});
