/**
 * System tests: worker threads killed over and over while an unpaced flood keeps them inside their
 * critical sections (a PMD in a txq's send lock, a handler in the flow table's writer lock, a
 * revalidator in a ukey lock). Each kill is Worker.terminate(), which stops a thread wherever it
 * is, lock held or not; the daemon restarts it, and whoever next takes a lock the dead thread held
 * must get it (the lock records its owner; a waiter takes over a lock whose owner thread is gone).
 * After every kill a ping must get through within 5 s, and at the end the switch still forwards.
 * One daemon, 1 PMD, 1 handler, 1 revalidator. Skipped (with a message) unless root.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { Host } from '../../tools/netns/topology.js';
import { cleanupAll, Daemon, hosts, inH, iperf3Server, PingMonitor, PREFIX, reachable, requireRoot, sleep } from './helpers.js';

const KILLS = 8;
const PORT = 5231;

describe('system: threads killed again and again under a flood (root)', function () {
  this.timeout(120_000);
  let d: Daemon;
  let h: Host[];

  before(async function () {
    this.timeout(120_000);
    requireRoot(this, ['iperf3']);
    h = [...hosts('k', 4, '10.94.0').hosts];
    d = new Daemon(`${PREFIX}brk`);
    // max-idle 500 ms (the least): the revalidator deletes flows all the time, so it is often inside a lock.
    d.start(['--pmd-threads', '1']);
    d.ok(['set', 'config', 'max-idle=500']);
    d.addPorts(h);
    for (const x of h.slice(1)) expect(await reachable(h[0]!, x.ip4, 10_000), `h0 -> ${x.ip4}`).to.equal(true);
  });
  afterEach(function () {
    if (d && this.currentTest?.state === 'failed') console.log(`--- daemon log (last lines)\n${d.logTail(30)}`);
  });
  after(() => cleanupAll());

  for (const kind of ['pmd', 'handler', 'revalidator']) {
    it(`a ${kind} thread killed ${KILLS} times under a TCP and UDP flood: traffic resumes after every kill`, async () => {
      const state = (): { restarts: number; alive: number; count: number } =>
        (JSON.parse(d.ok(['show', '--json'])) as { threads: Record<string, { restarts: number; alive: number; count: number }> }).threads[kind]!;
      const restarts = (): number => state().restarts;
      const before = restarts();
      // TCP at full speed h2 -> h3 keeps the PMD sending; UDP with a new source port per datagram
      // batch (iperf3 -P 8) keeps upcalls, flow puts and idle deletes going.
      const srv = await iperf3Server(h[3]!, PORT, false);
      const srvU = await iperf3Server(h[1]!, PORT + 1, false);
      const tcp = spawn('ip', ['netns', 'exec', h[2]!.ns, 'iperf3', '-c', h[3]!.ip4, '-p', String(PORT), '-t', '60'], { stdio: 'ignore' });
      const udp = spawn('ip', ['netns', 'exec', h[0]!.ns, 'iperf3', '-c', h[1]!.ip4, '-p', String(PORT + 1), '-u', '-b', '20M', '-l', '200', '-P', '8', '-t', '60'], { stdio: 'ignore' });
      const mon = new PingMonitor(h[0]!, h[2]!.ip4, 0.02);
      try {
        await sleep(1000);
        // A refused or failed client exits at once: the kills would then be under no flood.
        expect([tcp.exitCode, udp.exitCode], 'both iperf3 clients still running').to.deep.equal([null, null]);
        for (let i = 0; i < KILLS; i++) {
          await d.rpc('thread/crash', { kind, slot: 0, how: 'terminate' });
          const killed = Date.now();
          expect(await mon.replyAfter(killed + 100, 5000), `ping resumes after kill ${i + 1}`).to.equal(true);
          // The next kill needs the restarted thread (a handler's restart may take longer than a ping).
          const end = Date.now() + 10_000;
          let st = state();
          while (st.alive < st.count && Date.now() < end) {
            await sleep(50);
            st = state();
          }
          expect(st.alive, `running again after kill ${i + 1}`).to.equal(st.count);
          expect(st.restarts, `one death counted per kill`).to.equal(before + i + 1);
          await sleep(100 + 50 * i);
        }
      } finally {
        mon.stop();
        for (const p of [tcp, udp, srv, srvU]) p.kill('SIGKILL');
      }
      expect(restarts()).to.equal(before + KILLS);
      // The switch still learns, sets up flows and forwards between every pair.
      inH(h[3]!, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
      for (const x of h.slice(1)) expect(await reachable(h[0]!, x.ip4, 5000), `h0 -> ${x.ip4} after the kills`).to.equal(true);
      expect(await reachable(h[3]!, h[2]!.ip4, 5000)).to.equal(true);
    });
  }
});
