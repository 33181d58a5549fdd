/**
 * System test of idle naps (tunable pmd-idle-nap-usecs, packages/dpif src/pmd/pmd-loop.ts): a PMD
 * whose rxqs are sockets, idle just after traffic, naps IDLE_NAPS times (counter idle_naps of
 * `tsvs pmd stats --json`) before it blocks in poll(2) (sleep_iter); the naps end with the
 * traffic; in a connection storm after a UDP flood (stream level: nice 0, see
 * rx-coalescing.test.ts) a PMD that naps, seldom blocking, is back at its wake level (-20); `pmd-idle-nap-usecs=0` stops the naps at
 * runtime and pings still pass; a bad value is refused with one line. Skipped (with a message)
 * unless root.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Host, Topology } from '../../tools/netns/topology.js';
import { IDLE_NAPS } from '@tsvs/dpif';
import { cleanupAll, Daemon, hosts, iperf3Server, ping, PREFIX, reachable, requireRoot, ROOT, sleep, threadNices } from './helpers.js';

/** The vs-OVS bench's connection tool (tools/bench src/vs-ovs/conn.ts): 8 connections in flight. */
const CONN = `${ROOT}tools/bench/dist/vs-ovs/conn.js`;

interface Counters { recv: number; idle_naps: number; sleep_iter: number; rx_naps: number }

describe('system: idle naps (pmd-idle-nap-usecs) after traffic (root)', function () {
  this.timeout(60_000);
  let d: Daemon;
  let t: Topology;
  let h: Host[];

  const stats = (): Counters => d.pmdCounters<Counters>();

  before(function () {
    this.timeout(120_000);
    requireRoot(this, ['iperf3']);
    t = hosts('n', 2, '10.96.0');
    h = [...t.hosts];
    d = new Daemon(`${PREFIX}brn`);
    d.start(['--pmd-threads', '1']);
    d.addPorts(h);
  });
  after(function () {
    if (d && this.currentTest?.state === 'failed') console.log(d.logTail());
    cleanupAll();
  });

  it('is on by default (20 µs): after each ping the PMD naps IDLE_NAPS times, then blocks', async () => {
    expect(d.ok(['show'])).to.match(/pmd-idle-nap-usecs\s+20 µs/);
    expect(await reachable(h[0]!, h[1]!.ip4, 10_000)).to.equal(true);
    d.ok(['pmd', 'stats', '--clear']);
    expect(ping(h[0]!, h[1]!.ip4, 20, 0.02).received).to.equal(20);
    const c = stats();
    expect(c.recv).to.be.at.least(40);
    // Each ping's request and reply are one wake-up (the reply comes back inside the PMD's send)
    // or two; each wake-up ends with IDLE_NAPS naps, unless a frame comes first.
    expect(c.idle_naps, `${c.idle_naps} naps, ${c.sleep_iter} sleeps`).to.be.at.least(20 * IDLE_NAPS / 2);
    expect(c.idle_naps).to.be.at.most(c.recv * IDLE_NAPS);
    expect(c.sleep_iter, 'it blocked between the pings').to.be.at.least(20);
    expect(c.rx_naps, 'lone packets are not a stream').to.equal(0);
  });

  it('the naps end with the traffic: none in half a second of silence', async () => {
    expect(ping(h[0]!, h[1]!.ip4, 3, 0.05).received).to.equal(3);
    await sleep(100);
    const a = stats();
    await sleep(500);
    const b = stats();
    expect(b.recv, 'silence').to.equal(a.recv);
    expect(b.idle_naps - a.idle_naps, 'naps in silence').to.equal(0);
  });

  it('after a stream, a PMD that naps through a connection storm is back at its wake level (-20)', async () => {
    const pid = d.pid();
    const pmd = threadNices(pid).filter(([, n]) => n === -20).map(([tid]) => tid);
    expect(pmd, 'one PMD at -20').to.have.length(1);
    const niceOf = (): number | undefined => threadNices(pid).find(([tid]) => tid === pmd[0])?.[1];
    const iperf = await iperf3Server(h[1]!, 5412);
    const server = spawn('ip', ['netns', 'exec', h[1]!.ns, 'node', CONN, 'server', '5413'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
        server.once('exit', () => reject(new Error('conn.js server exited before "ready"')));
      });
      // The flood puts the PMD at the stream level (rx naps). The connections after it (8 in
      // flight, as in the vs-OVS bench) bring a partial burst now and then (an rx nap: the stream
      // level again) with gaps mostly shorter than the idle naps: the PMD seldom blocks.
      const flood = spawn('ip', ['netns', 'exec', h[0]!.ns, 'iperf3', '-c', h[1]!.ip4, '-p', '5412', '-u', '-l', '64', '-b', '0', '-t', '1'], { stdio: 'ignore' });
      expect(await new Promise((r) => flood.once('exit', r)), 'iperf3 exit status').to.equal(0);
      const client = spawn('ip', ['netns', 'exec', h[0]!.ns, 'node', CONN, 'client', h[1]!.ip4, '5413', '1000000', '4000', '8'], { stdio: 'ignore' });
      let running = true;
      const exited = new Promise((r) => client.once('exit', r)).finally(() => { running = false; });
      // Sampled only while the storm runs (at least STORM frames sent by the client's host in the
      // 100 ms before the sample: the kernel's counter of its outer veth end, read without a CLI
      // call), not at fixed times after the start: a busy machine starts the client late, and a
      // sample in the idle gap before it or after it says nothing about the storm.
      const STORM = 500;
      const frames = (): number => Number(readFileSync(`/sys/class/net/${h[0]!.outer}/statistics/rx_packets`, 'utf8'));
      const seen: number[] = [];
      const s0 = stats().sleep_iter;
      let last = frames();
      while (running) {
        await sleep(100);
        const f = frames();
        if (f - last >= STORM && running) seen.push(niceOf()!);
        last = f;
      }
      await exited;
      const blocked = stats().sleep_iter - s0;
      // Measured with 2.5 s storms (15-21 samples a run; this one runs 4 s): 94-100 % at -20 (79 % with the whole suite
      // beside two busy loops); with idleNap not settling, 20 % and 76 %: only a blocking sleep
      // restored the level, and a busy machine blocks more often. So this catches the regression on
      // a quiet machine, not in every run on a busy one.
      const at20 = seen.filter((n) => n === -20).length;
      expect(seen.length, `samples in the storm: ${seen.join(' ')}`).to.be.at.least(8);
      expect(at20 * 3, `nice values in the storm (${blocked} blocking sleeps in the whole run): ${seen.join(' ')}`).to.be.at.least(seen.length * 2);
    } finally {
      iperf.kill('SIGKILL');
      server.kill('SIGKILL');
    }
  });

  it('pmd-idle-nap-usecs=0 stops the naps at runtime; pings still pass', () => {
    expect(d.ok(['set', 'config', 'pmd-idle-nap-usecs=0'])).to.contain('pmd-idle-nap-usecs=0 (was 20)');
    d.ok(['pmd', 'stats', '--clear']);
    expect(ping(h[0]!, h[1]!.ip4, 20, 0.02).received).to.equal(20);
    const c = stats();
    expect(c.recv).to.be.at.least(40);
    expect(c.idle_naps, 'naps').to.equal(0);
    expect(c.sleep_iter).to.be.at.least(20);
  });

  it('and back on: the naps come back', () => {
    expect(d.ok(['set', 'config', 'pmd-idle-nap-usecs=30'])).to.contain('pmd-idle-nap-usecs=30 (was 0)');
    d.ok(['pmd', 'stats', '--clear']);
    expect(ping(h[0]!, h[1]!.ip4, 10, 0.02).received).to.equal(10);
    expect(stats().idle_naps).to.be.at.least(10 * IDLE_NAPS / 2);
  });

  it('a bad value is refused with one line and changes nothing', () => {
    const r = d.cli(['set', 'config', 'pmd-idle-nap-usecs=5000']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.contain('pmd-idle-nap-usecs must be at most 1000');
    expect(d.ok(['show'])).to.match(/pmd-idle-nap-usecs\s+30 µs/);
  });
});
