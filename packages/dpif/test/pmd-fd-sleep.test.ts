/**
 * A PMD whose poll list has socket rxqs (system ports) sleeps in poll(2) on them plus its doorbell
 * slot's wake eventfd (src/pmd/fd-sleep.ts), not on the doorbell through the fd watcher. On veth
 * pairs into two network namespaces (root; skipped otherwise), with sleeps made long
 * (maxSleepMs 30 s: only the 5 s usage-interval rotation still ends a sleep), so that a wake-up
 * that does not happen shows as a reply or a frame that comes seconds late or never:
 * - idle, the PMD's slot says it sleeps in poll(2), with a wake fd registered;
 * - pings between the namespaces, each of which finds the PMD asleep, all get replies;
 * - a frame injected on the local port (a memory port: its producer rings the doorbell, which
 *   writes the wake fd) and a control request each wake it.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { DPIF_FP_CREATE, Datapath, parseOdpActions } from '@tsvs/dpif';
import type { MemoryNetdev } from '@tsvs/netdev';
import { FLOW_WORDS, W_IN_PORT } from '@tsvs/packet';
import { BELL_SLEEPING_FD } from '@tsvs/shm';
import { up } from '../../../tools/netns/topology.js';
import type { Topology } from '../../../tools/netns/topology.js';
import { ipFrame, sleep } from './datapath-helpers.js';

const isRoot = process.getuid?.() === 0;

/** `in_port(inPort),eth()`: every frame from the port. */
function inPortFlow(inPort: number): { key: Uint32Array; mask: Uint32Array } {
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  key[W_IN_PORT] = inPort;
  mask[W_IN_PORT] = 0xffffffff;
  return { key, mask };
}

/** The doorbell slots of `dp`'s bank whose owner sleeps in poll(2) now. */
function pollSleepers(dp: Datapath): number[] {
  const out: number[] = [];
  for (let s = 0; s < dp.bank.nSlots; s++) if (dp.bank.inUse(s) && dp.bank.sleeping(s) === BELL_SLEEPING_FD) out.push(s);
  return out;
}

/** Waits until `cond()` holds, at most `ms`; returns whether it did. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

describe('PMD sleeping in poll(2) on its socket rxqs (root)', function () {
  this.timeout(60000);
  let topo: Topology;
  let dp: Datapath;
  let p1 = 0, p2 = 0;
  before(async function () {
    if (!isRoot) {
      console.log('    skipped: needs root (veth pairs, network namespaces, packet sockets)');
      this.skip();
    }
    topo = up({ hosts: 2, prefix: `pf${process.pid % 100000}` });
    dp = await Datapath.open({ name: 'pfs0', nPmds: 1, maxSleepMs: 30000, pool: { nBufs: 2048 }, flowTable: { capacity: 1024 } });
    p1 = await dp.portAdd({ name: topo.hosts[0]!.outer, type: 'system' });
    p2 = await dp.portAdd({ name: topo.hosts[1]!.outer, type: 'system' });
    for (const [from, to] of [[p1, p2], [p2, p1], [0, p2]] as const) {
      dp.flowPut({ flags: DPIF_FP_CREATE, ...inPortFlow(from), actions: parseOdpActions(String(to)) });
    }
  });
  after(async () => {
    await dp?.close();
    topo?.down();
  });

  it('sleeps in poll(2) when idle, with a wake fd on its doorbell slot', async () => {
    expect(await until(() => pollSleepers(dp).length === 1, 3000), 'no PMD asleep in poll(2)').to.equal(true);
    const slot = pollSleepers(dp)[0]!;
    expect(dp.bank.wakeFd(slot)).to.be.at.least(0);
  });

  it('wakes for every ping between the namespaces (each finds it asleep)', () => {
    const [a, b] = [topo.hosts[0]!, topo.hosts[1]!];
    // 300 ms apart: the PMD is back in poll(2) before each one. -W 1: a reply held up by a
    // missed wake-up (until the next usage interval, up to 5 s) counts as lost.
    const r = spawnSync('ip', ['netns', 'exec', a.ns, 'ping', '-n', '-c', '6', '-i', '0.3', '-W', '1', b.ip4], { encoding: 'utf8' });
    expect(r.stdout, r.stdout + r.stderr).to.match(/6 packets transmitted, 6 received/);
    expect(dp.portStats(p2).tx_packets).to.be.at.least(6);
  });

  it('wakes for a frame injected on the memory port and for control requests while in poll(2)', async () => {
    const local = dp.netdev(0) as MemoryNetdev;
    const frame = ipFrame({ dstMac: [0x02, 0, 0, 0, 0x77, 0x77] });
    // Each round starts with the PMD asleep in poll(2); a missed wake-up would leave the frame or
    // the request waiting for the next usage interval (5 s): 1.5 s each tells the two apart.
    for (let i = 0; i < 5; i++) {
      expect(await until(() => pollSleepers(dp).length === 1, 3000), `round ${i}: PMD not asleep`).to.equal(true);
      const before = dp.portStats(p2).tx_packets;
      expect(local.inject(frame)).to.equal(1);
      expect(await until(() => dp.portStats(p2).tx_packets > before, 1500), `round ${i}: injected frame not forwarded`).to.equal(true);
      expect(await until(() => pollSleepers(dp).length === 1, 3000), `round ${i}: PMD not asleep again`).to.equal(true);
      const t0 = Date.now();
      await dp.setPmdSleep(20, 30000);
      expect(Date.now() - t0, `round ${i}: control request`).to.be.lessThan(1500);
    }
  });
});
