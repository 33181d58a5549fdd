/**
 * The local port's type (`localPortType`): `memory` by default; `internal` makes odp port 0 a TAP
 * interface on the host named after the datapath (root). Checked with a real PMD thread: the
 * interface exists while the datapath is open, frames the host transmits on it are received on odp
 * port 0 and forwarded by a flow with in_port(0) (exact bytes out of a memory port), and the
 * interface is gone after `close()`; an `internal` port added and deleted with portAdd/portDel
 * disappears with portDel (the datapath destroys fd-backed ports it releases).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PcapWriter } from '@tsvs/capture';
import { DPIF_FP_CREATE, Datapath, DpifError, parseOdpActions } from '@tsvs/dpif';
import { nativeNetdev, type MemoryNetdev } from '@tsvs/netdev';
import { W_NW_DST } from '@tsvs/packet';
import { ipFrame, keyOf, maskOf, waitFor, waitQuiet } from './datapath-helpers.js';

const isRoot = process.getuid?.() === 0;
const linkExists = (name: string): boolean => spawnSync('ip', ['link', 'show', name]).status === 0;

/** Transmits `frames` on host interface `ifname` (a packet socket; the host side of a TAP). */
function hostSend(ifname: string, frames: Uint8Array[]): void {
  const a = nativeNetdev();
  const fd = a.openTx(ifname);
  try {
    const data = new Uint8Array(2048 * frames.length);
    const offs = new Int32Array(frames.length), lens = new Int32Array(frames.length);
    frames.forEach((f, i) => {
      data.set(f, i * 2048);
      offs[i] = i * 2048;
      lens[i] = f.length;
    });
    expect(a.send(fd, data, offs, lens, frames.length, new Int32Array(4))).to.equal(frames.length);
  } finally {
    a.close(fd);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('datapath: the local port type', function () {
  this.timeout(30000);
  let dp: Datapath | null = null;
  afterEach(async () => {
    await dp?.close();
    dp = null;
  });

  it('is a memory port by default; an unknown type is refused', async () => {
    dp = await Datapath.open({ name: 'lpmem', nPmds: 1, maxPmds: 2, flowTable: { capacity: 64 } });
    expect(dp.portQueryByNumber(0)).to.deep.include({ name: 'lpmem', type: 'memory' });
    let err: unknown;
    try {
      await Datapath.open({ name: 'lpbad', nPmds: 1, localPortType: 'tap' as 'memory' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DpifError);
    expect((err as Error).message).to.equal("local port type 'tap' must be memory or internal");
  });

  describe('internal (root)', function () {
    before(function () {
      if (!isRoot) {
        console.log('    skipped: an internal (TAP) local port needs CAP_NET_ADMIN (run as root)');
        this.skip();
      }
    });

    it('is a TAP named after the datapath: host frames arrive on odp port 0 and are forwarded; gone after close', async () => {
      const name = `lp${process.pid}`.slice(0, 15);
      expect(linkExists(name)).to.equal(false);
      dp = await Datapath.open({ name, nPmds: 1, maxPmds: 2, localPortType: 'internal', flowTable: { capacity: 64 } });
      const d = dp;
      expect(d.portQueryByNumber(0)).to.deep.include({ name, type: 'internal', nRxq: 1 });
      expect(spawnSync('ip', ['-d', 'link', 'show', name]).stdout.toString()).to.match(/\btun type tap\b/);
      const p1 = await d.portAdd({ name: 'p1', type: 'memory', options: { tx_ring: 'true' } });
      const frames = [ipFrame({ dst: 0x0a000901, srcMac: [2, 0x4c, 0, 0, 0, 1] }), ipFrame({ dst: 0x0a000901, srcMac: [2, 0x4c, 0, 0, 0, 1], len: 300 })];
      const put = d.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(frames[0]!, 0), mask: maskOf({ [W_NW_DST]: ~0 }), actions: parseOdpActions(String(p1)) });
      expect(put.error).to.equal(0);
      spawnSync('sysctl', ['-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
      expect(spawnSync('ip', ['link', 'set', name, 'up']).status).to.equal(0);
      hostSend(name, frames);
      const out: string[] = [];
      const tx = d.netdev(p1) as MemoryNetdev;
      await waitFor(() => {
        out.push(...tx.txDrainFrames().map(hex));
        return out.length >= 2;
      }, 5000, 'the host frames forwarded from port 0 to p1');
      expect(out).to.deep.equal(frames.map(hex));
      expect(d.portStats(0).rx_packets).to.be.at.least(2);
      expect(d.flowGet(put.ufid).flow?.stats.packets).to.equal(2);
      await d.close();
      dp = null;
      expect(linkExists(name), 'the TAP is deleted by close()').to.equal(false);
    });

    // The TAP's empty poll is a read(): a PMD polls it only every RXQ_SYSCALL_POLL_EVERY
    // iterations while it stays empty, and every rxq in its first iteration after a sleep.
    it('its frames get through while another port keeps the PMD busy, and right after a sleep when idle', async () => {
      const name = `lb${process.pid}`.slice(0, 15);
      const dir = mkdtempSync(join(tmpdir(), 'tsvs-lp-'));
      try {
        // No idle spin (as the daemon runs it): the PMD sleeps after one empty iteration.
        dp = await Datapath.open({ name, nPmds: 1, maxPmds: 2, localPortType: 'internal', idleSpinUs: 0, pool: { nBufs: 4096 }, flowTable: { capacity: 64 } });
        const d = dp;
        const out1 = await d.portAdd({ name: 'p1', type: 'memory', options: { tx_ring: 'true' } });
        const sink = await d.portAdd({ name: 'p3', type: 'memory' });
        const host = (seq: number): Uint8Array => ipFrame({ dst: 0x0a000901, srcMac: [2, 0x4c, 0, 0, 0, 1], sport: 1000 + seq });
        expect(d.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(host(0), 0), mask: maskOf({ [W_NW_DST]: ~0 }), actions: parseOdpActions(String(out1)) }).error).to.equal(0);
        spawnSync('sysctl', ['-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
        expect(spawnSync('ip', ['link', 'set', name, 'up']).status).to.equal(0);
        const tx = d.netdev(out1) as MemoryNetdev;
        const forwarded = async (want: number, what: string): Promise<string[]> => {
          const got: string[] = [];
          await waitFor(() => {
            got.push(...tx.txDrainFrames().map(hex));
            return got.length >= want;
          }, 5000, what);
          return got;
        };

        // Idle: a frame wakes the PMD, which reads it in the first iteration after that sleep (and
        // sleeps again after the next, empty one). Were the TAP still skipped then (its last empty
        // poll before the sleep set the skip), the PMD would run about RXQ_SYSCALL_POLL_EVERY
        // iterations first.
        for (let i = 0; i < 3; i++) {
          await waitQuiet(() => d.pmdStats()[0]!.counters.iterations);
          const it0 = d.pmdStats()[0]!.counters.iterations;
          hostSend(name, [host(100 + i)]);
          expect(await forwarded(1, 'a host frame forwarded by an idle PMD')).to.deep.equal([hex(host(100 + i))]);
          await waitQuiet(() => d.pmdStats()[0]!.counters.iterations);
          expect(d.pmdStats()[0]!.counters.iterations - it0, `iterations for idle frame ${i + 1}`).to.be.at.most(4);
        }

        // Busy: a generator on p2 keeps the PMD polling without a sleep; host frames still arrive.
        const genFrame = ipFrame({ dst: 0x0a000042 });
        const pcap = join(dir, 'gen.pcap');
        const w = new PcapWriter(pcap, { append: false });
        w.write(genFrame, 0, 0);
        w.close();
        const p2 = await d.portAdd({ name: 'p2', type: 'memory', options: { gen_pcap: pcap } });
        d.flowPut({ flags: DPIF_FP_CREATE, key: keyOf(genFrame, p2), mask: maskOf(), actions: parseOdpActions(String(sink)) });
        const gen = d.netdev(p2) as MemoryNetdev;
        gen.generate(Infinity);
        await waitFor(() => d.portStats(sink).tx_packets > 10000, 5000, 'the generator running');
        const busy0 = d.pmdStats()[0]!.counters;
        const frames = Array.from({ length: 20 }, (_, i) => host(i + 1));
        for (let i = 0; i < 20; i += 5) hostSend(name, frames.slice(i, i + 5));
        expect(await forwarded(20, 'host frames forwarded by a busy PMD')).to.deep.equal(frames.map(hex));
        const busy1 = d.pmdStats()[0]!.counters;
        gen.stopGenerator();
        expect(busy1.recv - busy0.recv, 'the PMD was busy with p2 meanwhile').to.be.greaterThan(1000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an internal port deleted with portDel disappears', async () => {
      dp = await Datapath.open({ name: 'lpdel', nPmds: 1, maxPmds: 2, flowTable: { capacity: 64 } });
      const name = `lq${process.pid}`.slice(0, 15);
      const n = await dp.portAdd({ name, type: 'internal' });
      expect(linkExists(name)).to.equal(true);
      await dp.portDel(n);
      expect(linkExists(name), 'the TAP is deleted by portDel').to.equal(false);
    });
  });
});
