/**
 * System test of rx coalescing (tunable pmd-rx-usecs, packages/dpif src/pmd/pmd-loop.ts): under a
 * UDP flood between two namespace hosts the PMD naps between partial rx bursts (counter rx_naps of
 * `tsvs pmd stats --json`), with `pmd-rx-usecs=0` it never does, and the flood is forwarded either
 * way. A ping (lone packets) never makes it nap, and the PMD sleeps after one empty poll (no
 * idle spin: PMD_IDLE_SPIN_US). While it naps in a flood the PMD runs at the
 * process's nice, not its own -20 (the flood's receiver needs the CPU); asleep again, at -20.
 * Partial output batches are held through naps (counter tx_held), so the flood leaves in fuller
 * batches than without naps; a ping's replies are never held.
 * Skipped (with a message) unless root.
 */
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import type { Host, Topology } from '../../tools/netns/topology.js';
import { cleanupAll, customSlices, Daemon, hosts, inH, iperf3Server, ping, PREFIX, reachable, requireRoot, threadNices, threadSlices } from './helpers.js';

interface Counters { recv: number; rx_naps: number; tx_held: number; sent_pkts: number; sent_batches: number }

const PORT = 5411;

/** iperf3 UDP with 64-byte payloads at unlimited rate from a to b for `seconds`; packets b received. */
async function udpFlood(a: Host, b: Host, seconds: number): Promise<number> {
  const server = await iperf3Server(b, PORT);
  try {
    const out = inH(a, ['iperf3', '-c', b.ip4, '-p', String(PORT), '-u', '-l', '64', '-b', '0', '-t', String(seconds), '-J']);
    const s = (JSON.parse(out) as { end: { sum: { packets: number; lost_packets: number } } }).end.sum;
    return s.packets - s.lost_packets;
  } finally {
    server.kill('SIGKILL');
  }
}

describe('system: rx coalescing (pmd-rx-usecs) under a UDP flood (root)', function () {
  this.timeout(60_000);
  let d: Daemon;
  let t: Topology;
  let h: Host[];
  /** Packets per output batch in the flood with naps (compared with pmd-rx-usecs=0). */
  let napBatch = 0;

  const stats = (): Counters => d.pmdCounters<Counters>();

  before(function () {
    this.timeout(120_000);
    requireRoot(this, ['iperf3']);
    t = hosts('r', 2, '10.93.0');
    h = [...t.hosts];
    d = new Daemon(`${PREFIX}brr`);
    d.start(['--pmd-threads', '1']);
    d.addPorts(h);
  });
  after(function () {
    if (d && this.currentTest?.state === 'failed') console.log(d.logTail());
    cleanupAll();
  });

  it('is on by default (80 µs) and a ping never naps', async () => {
    expect(d.ok(['show'])).to.match(/pmd-rx-usecs\s+80 µs/);
    expect(await reachable(h[0]!, h[1]!.ip4, 10_000)).to.equal(true);
    d.ok(['pmd', 'stats', '--clear']);
    expect(ping(h[0]!, h[1]!.ip4, 20, 0.01).received).to.equal(20);
    const c = stats();
    expect(c.recv).to.be.at.least(40);
    expect(c.rx_naps).to.equal(0);
    expect(c.tx_held).to.equal(0);
  });

  it('the PMD does not spin before sleeping: a few loop iterations per wake-up for a ping', () => {
    d.ok(['pmd', 'stats', '--clear']);
    expect(ping(h[0]!, h[1]!.ip4, 20, 0.02).received).to.equal(20);
    const c = stats() as Counters & { iterations: number; sleep_iter: number; idle_naps: number };
    expect(c.sleep_iter, 'it slept between the pings').to.be.at.least(20);
    // With the old 20 µs spin every wake-up cost at least 16 empty iterations. Each idle nap
    // (pmd-idle-nap-usecs) follows one empty iteration: those are not spinning.
    const spun = c.iterations - c.idle_naps;
    expect(spun / c.sleep_iter, `${c.iterations} iterations, ${c.idle_naps} idle naps, ${c.sleep_iter} sleeps`).to.be.below(6);
  });

  it('a UDP flood makes the PMD nap between partial bursts, and is forwarded', async () => {
    d.ok(['pmd', 'stats', '--clear']);
    const delivered = await udpFlood(h[0]!, h[1]!, 2);
    const c = stats();
    expect(delivered, 'datagrams delivered').to.be.above(1000);
    expect(c.recv).to.be.at.least(delivered);
    expect(c.rx_naps, 'naps').to.be.above(0);
    expect(c.tx_held, 'partial output batches held through a nap').to.be.above(0);
    napBatch = c.sent_pkts / c.sent_batches;
  });

  it('while it naps in a flood the PMD runs at the process\'s nice; idle again, it is back at -20', async () => {
    const pid = d.pid();
    const pmd = threadNices(pid).filter(([, n]) => n === -20).map(([tid]) => tid);
    expect(pmd, 'one PMD at -20 before the flood').to.have.length(1);
    const server = await iperf3Server(h[1]!, PORT + 1);
    const client = spawn('ip', ['netns', 'exec', h[0]!.ns, 'iperf3', '-c', h[1]!.ip4, '-p', String(PORT + 1), '-u', '-l', '64', '-b', '0', '-t', '2'], { stdio: 'ignore' });
    const seen = new Set<number>();
    const slices = new Set<number>();
    const sliceOf = (): number | undefined => threadSlices(pid)?.find(([tid]) => tid === pmd[0])?.[1];
    try {
      const done = new Promise((r) => client.once('exit', r));
      let exited = false;
      void done.then(() => { exited = true; });
      while (!exited) {
        const n = threadNices(pid).find(([tid]) => tid === pmd[0])?.[1];
        if (n !== undefined) seen.add(n);
        const s = sliceOf();
        if (s !== undefined && n === 0) slices.add(s);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      client.kill('SIGKILL');
      server.kill('SIGKILL');
    }
    expect([...seen], 'nice values of the PMD during the flood').to.include(0);
    // Idle: it sleeps again, and sets -20 before it does.
    expect(ping(h[0]!, h[1]!.ip4, 3, 0.2).received).to.equal(3);
    expect(threadNices(pid).find(([tid]) => tid === pmd[0])?.[1]).to.equal(-20);
    if (customSlices() && sliceOf() !== undefined) {
      // In the stream the default slice, asleep again the short one (PMD_WAKE_SLICE_US).
      expect([...slices].some((s) => s !== 100_000), `slices at nice 0: ${[...slices].join(' ')}`).to.equal(true);
      expect(sliceOf()).to.equal(100_000);
    }
  });

  it('pmd-rx-usecs=0 stops the naps at runtime; the flood is still forwarded', async () => {
    expect(d.ok(['set', 'config', 'pmd-rx-usecs=0'])).to.contain('pmd-rx-usecs=0 (was 80)');
    d.ok(['pmd', 'stats', '--clear']);
    const delivered = await udpFlood(h[0]!, h[1]!, 2);
    const c = stats();
    expect(delivered, 'datagrams delivered').to.be.above(1000);
    expect(c.recv).to.be.at.least(delivered);
    expect(c.rx_naps, 'naps').to.equal(0);
    expect(c.tx_held).to.equal(0);
    // Measured 17-25 packets per output batch with naps, 8 without.
    expect(napBatch, 'packets per output batch with naps, against without').to.be.above(c.sent_pkts / c.sent_batches);
  });

  it('a bad value is refused with one line and changes nothing', () => {
    const r = d.cli(['set', 'config', 'pmd-rx-usecs=5000']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.contain('pmd-rx-usecs must be at most 1000');
    expect(d.ok(['show'])).to.match(/pmd-rx-usecs\s+0 µs/);
  });
});
