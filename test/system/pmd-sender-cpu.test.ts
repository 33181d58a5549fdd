/**
 * A PMD whose ports have fanout=cpu rxqs sleeps near the sender of its lone packets
 * (packages/dpif src/pmd/sender-cpu.ts): after pings from a host process pinned to CPU c its
 * affinity is CPU c alone, it follows the pinger to another CPU, and it keeps off the sender's CPU
 * when packets come close together (a flood). Read from /proc/PID/task/TID/status
 * (Cpus_allowed_list). Root and 2 CPUs or more.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { cpusOf, listOf } from '../../packages/netdev/test/cpu-list.js';
import { execIn, type Topology } from '../../tools/netns/topology.js';
import { cleanupAll, Daemon, hosts, PREFIX, reachable, requireRoot, sleep } from './helpers.js';

/** Cpus_allowed_list of the daemon's PMD thread (its only one here). */
function pmdCpus(pid: number): string {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('pmd')) continue;
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
  }
  throw new Error('no PMD thread');
}

describe('system: a PMD sleeps near the sender of its lone packets (fanout=cpu; root)', function () {
  this.timeout(60_000);
  let d: Daemon;
  let t: Topology;
  let own: string;

  before(async function () {
    requireRoot(this, ['taskset']);
    if (availableParallelism() < 2) {
      console.log('    skipped: needs 2 CPUs or more');
      this.skip();
    }
    t = hosts('f', 2, '10.95.0');
    d = new Daemon(`${PREFIX}brf`);
    d.start(['--pmd-threads', '1']);
    own = pmdCpus(d.pid());
    d.addPorts(t.hosts, () => ['--option', 'n_rxq=2', '--option', 'fanout=cpu']);
    expect(await reachable(t.hosts[0]!, t.hosts[1]!.ip4, 10_000)).to.equal(true);
  });
  after(() => cleanupAll());

  /** 20 pings 20 ms apart from a process pinned to `cpu`; returns the replies. */
  const pingFrom = (cpu: number): number => {
    const out = execIn(t.hosts[0]!, ['taskset', '-c', String(cpu), 'ping', '-n', '-c', '20', '-i', '0.02', '-W', '1', t.hosts[1]!.ip4], { allowFail: true }).stdout;
    return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
  };

  it('follows a pinger from CPU 1 to CPU 0 and back', () => {
    for (const cpu of [1, 0, 1]) {
      expect(pingFrom(cpu)).to.equal(20);
      expect(pmdCpus(d.pid()), `after pings from CPU ${cpu}`).to.equal(String(cpu));
    }
  });

  it('keeps off the sender\'s CPUs under a flood, and follows again after it', () => {
    expect(pingFrom(0)).to.equal(20);
    expect(pmdCpus(d.pid())).to.equal('0');
    // From CPU 1 with no gap: the packets after the first come sub-millisecond apart. Their rxq
    // (n_rxq=2) stands for the CPUs c with c % 2 === 1.
    execIn(t.hosts[0]!, ['taskset', '-c', '1', 'ping', '-n', '-q', '-f', '-c', '2000', '-W', '1', t.hosts[1]!.ip4], { allowFail: true });
    expect(pmdCpus(d.pid())).to.equal(listOf(cpusOf(own).filter((c) => c % 2 !== 1)));
    expect(pingFrom(1)).to.equal(20);
    expect(pmdCpus(d.pid())).to.equal('1');
  });

  it('under a flood that moves onto the PMD\'s CPUs, moves off them', async () => {
    const offOdd = listOf(cpusOf(own).filter((c) => c % 2 !== 1));
    const offEven = listOf(cpusOf(own).filter((c) => c % 2 !== 0));
    /** Polls the PMD's affinity until it is `want` or `ms` passed; the last one read. */
    const settle = async (want: string, ms: number): Promise<string> => {
      let cpus = pmdCpus(d.pid());
      for (const end = Date.now() + ms; cpus !== want && Date.now() < end; cpus = pmdCpus(d.pid())) await sleep(20);
      return cpus;
    };
    // `ip netns exec` and taskset exec the ping: the child's pid is the ping's.
    const flood = spawn('ip', ['netns', 'exec', t.hosts[0]!.ns, 'taskset', '-c', '1', 'ping', '-n', '-q', '-f', '-c', '1000000', '-W', '1', t.hosts[1]!.ip4], { stdio: 'ignore' });
    const exited = new Promise((r) => flood.once('exit', r));
    try {
      expect(await settle(offOdd, 5000), 'a flood from CPU 1').to.equal(offOdd);
      // The same flood, moved to CPU 0: the PMD's wake-ups now come from CPUs it may use. A majority
      // of them moves it, or a lone packet if the move leaves a gap of 1 ms (then it follows and
      // keeps off at the next short sleep); packages/dpif/test/sender-cpu.test.ts tells the two apart.
      execFileSync('taskset', ['-pc', '0', String(flood.pid)], { stdio: 'ignore' });
      expect(await settle(offEven, 5000), 'the flood moved to CPU 0').to.equal(offEven);
    } finally {
      flood.kill();
      await exited;
    }
  });

  it('a port without fanout=cpu: the PMD keeps its own affinity', () => {
    d.ok(['del-port', t.hosts[0]!.outer]);
    d.ok(['del-port', t.hosts[1]!.outer]);
    expect(pmdCpus(d.pid()), 'the last fanout=cpu rxq went').to.equal(own);
    d.addPorts(t.hosts);
    expect(pingFrom(1)).to.equal(20);
    expect(pmdCpus(d.pid())).to.equal(own);
  });
});
