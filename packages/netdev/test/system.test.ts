import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { attachNetdev, createNetdev, InternalNetdev, NetdevError, nativeNetdev, SystemNetdev } from '@tsvs/netdev';
import { DoorbellBank, PacketPool } from '@tsvs/shm';
import { up } from '../../../tools/netns/topology.js';
import type { Topology } from '../../../tools/netns/topology.js';
import {
  captureFrames, captureInNs, collector, flowOf, GEN_SRC, hex, isRoot, packetSockets, rawScript, sendFromNs, sleep, threadIds, udpFrame, waitUntil,
} from './system-helpers.js';

/** Receives from every rxq what is queued now (one pass); returns the frames from `src` (hex); frees all. */
function sweep(port: SystemNetdev, pool: PacketPool, src = GEN_SRC): string[] {
  const ids = new Uint32Array(32);
  const got: string[] = [];
  for (let q = 0; q < port.nRxq; q++) {
    for (let r = port.rxqRecv(q, ids, 32); r > 0; r = port.rxqRecv(q, ids, 32)) {
      for (let i = 0; i < r; i++) {
        const o = pool.frameOffset(ids[i]!);
        const h = hex(pool.data.subarray(o, o + pool.frameLen(ids[i]!)));
        if (h.slice(12, 24) === src) got.push(h);
      }
      pool.freeBatch(ids, 0, r);
    }
  }
  return got;
}

/** Receives from every rxq until `want` frames from GEN_SRC / `src` came or `ms` passed; frees all. */
async function drain(port: SystemNetdev | InternalNetdev, pool: PacketPool, want: number, ms = 3000, src = GEN_SRC): Promise<string[][]> {
  const ids = new Uint32Array(32);
  const got: string[][] = Array.from({ length: port.nRxq }, () => []);
  const end = Date.now() + ms;
  let n = 0;
  while (n < want && Date.now() < end) {
    let k = 0;
    for (let q = 0; q < port.nRxq; q++) {
      const r = port.rxqRecv(q, ids, 32);
      for (let i = 0; i < r; i++) {
        const o = pool.frameOffset(ids[i]!);
        const h = hex(pool.data.subarray(o, o + pool.frameLen(ids[i]!)));
        if (h.slice(12, 24) === src) { got[q]!.push(h); n++; }
      }
      pool.freeBatch(ids, 0, r);
      k += r;
    }
    if (k === 0) await sleep(2);
  }
  return got;
}

/** Puts frames into pool buffers and returns their ids. */
function toBuffers(pool: PacketPool, frames: readonly Uint8Array[]): Uint32Array {
  const ids = new Uint32Array(frames.length);
  frames.forEach((f, i) => {
    const id = pool.alloc();
    pool.write(id, f, 0, f.length);
    ids[i] = id;
  });
  return ids;
}

describe('netdev/system (AF_PACKET on veth pairs; root)', function () {
  this.timeout(30000);
  let topo: Topology;
  before(function () {
    if (!isRoot) {
      console.log('    skipped: the system port tests need root (packet sockets, network namespaces)');
      this.skip();
    }
    topo = up({ hosts: 2, prefix: `nd${process.pid}` });
  });
  after(() => topo?.down());

  it('loads the addon in 3 worker threads at once; n_rxq=3 fanout feeds each, no frame twice, clean exits', async () => {
    const h = topo.hosts[0]!;
    const pool = PacketPool.create({ nBufs: 2048 });
    const bank = DoorbellBank.create(8);
    const port = createNetdev({ name: h.outer, type: 'system', options: { n_rxq: '3' } }, { pool, bank }) as SystemNetdev;
    expect(port.fanoutGroup).to.be.a('number');
    const count = new SharedArrayBuffer(4);
    const frames = Array.from({ length: 300 }, (_, i) => udpFrame(i % 60, i));
    let ready = 0;
    let go!: () => void;
    const allReady = new Promise<void>((r) => (go = r));
    const workers = [0, 1, 2].map((rxq) => collector(
      { pool: pool.descriptor(), port: port.descriptor(), rxq, count, want: frames.length, ms: 8000, srcMac: GEN_SRC },
      () => { if (++ready === 3) go(); },
    ));
    await allReady;
    expect(sendFromNs(h.ns, h.inner, frames).sent).to.equal(300);
    const res = await Promise.all(workers);
    for (const r of res) {
      expect(r.exitCode).to.equal(0);
      expect(r.frames.length, 'every rxq gets a share').to.be.greaterThan(0);
    }
    const all = res.flatMap((r) => r.frames);
    expect(all.sort()).to.deep.equal(frames.map(hex).sort());
    // A flow always lands on the same rxq (hash fanout).
    const rxqOfFlow = new Map<number, number>();
    res.forEach((r, q) => r.frames.forEach((f) => {
      expect(rxqOfFlow.get(flowOf(f)) ?? q).to.equal(q);
      rxqOfFlow.set(flowOf(f), q);
    }));
    expect(port.stats().rx_packets).to.be.at.least(300);
    port.destroy();
    expect(pool.sharedFreeCount()).to.equal(2048);
  });

  // n_rxq_desc: the default RX ring, and recvmmsg.
  for (const [rxRing, frames] of [[undefined, 512], ['0', 0]] as const) {
    it(`receives frames sent from inside the namespace with exact bytes (VLAN and QinQ tags put back; n_rxq_desc=${rxRing ?? 'default'})`, async () => {
      const h = topo.hosts[0]!;
      const pool = PacketPool.create({ nBufs: 512 });
      const port = SystemNetdev.create({ name: h.outer, type: 'system', options: rxRing === undefined ? {} : { n_rxq_desc: rxRing } }, { pool });
      expect(port.rxqRing(0)).to.equal(frames);
      const input = [...captureFrames('VlanPackets.pcap'), ...captureFrames('802.1ad_QinQ.pcap'), ...captureFrames('dns_udp.pcap'),
        ...captureFrames('ipv6_options.pcap'), ...captureFrames('arp.pcap'), ...captureFrames('LLDP_and_CDP.pcap')];
      expect(input.some((f) => f[12] === 0x81 && f[13] === 0x00)).to.equal(true);
      expect(input.some((f) => f[12] === 0x88 && f[13] === 0xa8)).to.equal(true);
      // Noise from the namespace's own stack has the host's MAC as source; captured frames never do.
      const hostMac = h.mac.replaceAll(':', '');
      expect(input.every((f) => hex(f).slice(12, 24) !== hostMac)).to.equal(true);
      expect(sendFromNs(h.ns, h.inner, input).sent).to.equal(input.length);
      const ids = new Uint32Array(32);
      const got: string[] = [];
      const end = Date.now() + 3000;
      while (got.length < input.length && Date.now() < end) {
        const n = port.rxqRecv(0, ids, 32);
        for (let i = 0; i < n; i++) {
          const o = pool.frameOffset(ids[i]!);
          const f = hex(pool.data.subarray(o, o + pool.frameLen(ids[i]!)));
          if (f.slice(12, 24) !== hostMac) got.push(f);
        }
        pool.freeBatch(ids, 0, n);
        if (n === 0) await sleep(2);
      }
      expect(got).to.deep.equal(input.map(hex));
      const s = port.rxqStats(0);
      expect(s.packets).to.be.at.least(input.length);
      expect(s.errors).to.equal(0);
      port.destroy();
    });
  }

  // n_txq_desc: the default ring, sendmmsg, and a ring of 32 frames that the 150 frames wrap 4 times.
  for (const [txRing, frames] of [[undefined, 512], ['0', 0], ['32', 32]] as const) {
    it(`frames it sends arrive inside the namespace with exact bytes; counters exact (n_txq_desc=${txRing ?? 'default'})`, async () => {
      const h = topo.hosts[1]!;
      const pool = PacketPool.create({ nBufs: 512 });
      const options: Record<string, string> = { n_txq: '2', ...(txRing === undefined ? {} : { n_txq_desc: txRing }) };
      const port = SystemNetdev.create({ name: h.outer, type: 'system', options }, { pool });
      expect([port.txqRing(0), port.txqRing(1)]).to.deep.equal([frames, frames]);
      const input = [...captureFrames('VlanPackets.pcap'), ...captureFrames('dns_tcp.pcap'), ...captureFrames('IcmpPackets.pcap'),
        ...Array.from({ length: 100 }, (_, i) => udpFrame(i, i, 60 + i * 10))];
      const got = await captureInNs(h.ns, h.inner, input.length, () => {
        const ids = toBuffers(pool, input);
        let sent = 0;
        for (let i = 0; i < ids.length; i += 32) sent += port.send(1, ids.subarray(i, i + 32), Math.min(32, ids.length - i));
        expect(sent).to.equal(input.length);
      });
      expect(got).to.deep.equal(input.map(hex));
      expect(port.txqStats(1)).to.deep.equal({ packets: input.length, bytes: input.reduce((s, f) => s + f.length, 0), drops: 0, errors: 0 });
      expect(port.txqStats(0).packets).to.equal(0);
      port.destroy();
      expect(pool.sharedFreeCount()).to.equal(512);
    });
  }

  it('n_rxq=2 spreads flows over both queues, each flow on one', async () => {
    const h = topo.hosts[0]!;
    const pool = PacketPool.create({ nBufs: 1024 });
    const port = SystemNetdev.create({ name: h.outer, type: 'system', options: { n_rxq: '2' } }, { pool });
    const frames = Array.from({ length: 256 }, (_, i) => udpFrame(i % 64, i));
    sendFromNs(h.ns, h.inner, frames);
    const got = await drain(port, pool, frames.length);
    expect(got[0]!.length + got[1]!.length).to.equal(256);
    const flows = got.map((fs) => new Set(fs.map(flowOf)));
    expect(flows[0]!.size).to.be.greaterThan(5);
    expect(flows[1]!.size).to.be.greaterThan(5);
    for (const f of flows[0]!) expect(flows[1]!.has(f), `flow ${f} on both rxqs`).to.equal(false);
    expect(flows[0]!.size + flows[1]!.size).to.equal(64);
    port.destroy();
  });

  it('fanout=cpu: a frame sent from CPU c arrives on rxq c % n_rxq (the sender\'s CPU on a veth)', async function () {
    if (availableParallelism() < 2) this.skip();
    const h = topo.hosts[0]!;
    const pool = PacketPool.create({ nBufs: 1024 });
    const port = SystemNetdev.create({ name: h.outer, type: 'system', options: { n_rxq: '2', fanout: 'cpu' } }, { pool });
    expect([port.rxqCpuStride(0), port.rxqCpuStride(1)]).to.deep.equal([2, 2]);
    for (const cpu of [1, 0]) {
      // 64 flows: with the hash mode they would spread over both rxqs.
      const frames = Array.from({ length: 64 }, (_, i) => udpFrame(i, cpu));
      sendFromNs(h.ns, h.inner, frames, cpu);
      const got = await drain(port, pool, frames.length);
      expect(got.map((fs) => fs.length), `sent from CPU ${cpu}`).to.deep.equal(cpu === 0 ? [64, 0] : [0, 64]);
    }
    port.destroy();
    const hash = SystemNetdev.create({ name: h.outer, type: 'system', options: { n_rxq: '2' } }, { pool });
    expect(hash.rxqCpuStride(0)).to.equal(0);
    hash.destroy();
  });

  for (const nRxq of [1, 2]) {
    it(`does not receive its own transmissions (n_rxq=${nRxq}), while frames from the wire still come in`, async () => {
      const h = topo.hosts[1]!;
      const pool = PacketPool.create({ nBufs: 512 });
      const port = SystemNetdev.create({ name: h.outer, type: 'system', options: { n_rxq: String(nRxq) } }, { pool });
      const mine = Array.from({ length: 64 }, (_, i) => udpFrame(i, 7000 + i));
      expect(port.send(0, toBuffers(pool, mine), mine.length)).to.equal(64);
      const wire = Array.from({ length: 8 }, (_, i) => udpFrame(100 + i, 9000 + i));
      sendFromNs(h.ns, h.inner, wire);
      // An own frame would reach our sockets during send itself (the kernel hands outgoing frames to
      // packet taps in dev_queue_xmit), so before any wire frame: once 8 frames came, one more pass
      // finds any still queued.
      const got = [...(await drain(port, pool, 8, 20000)).flat(), ...sweep(port, pool)];
      expect(got.sort()).to.deep.equal(wire.map(hex).sort());
      port.destroy();
    });
  }

  it('counts a frame longer than the MTU as a tx error and a frame longer than a buffer as an rx error', async () => {
    const h = topo.hosts[0]!;
    const pool = PacketPool.create({ nBufs: 256, dataRoom: 3200 });
    spawnSync('ip', ['link', 'set', h.outer, 'mtu', '3000']);
    spawnSync('ip', ['-n', h.ns, 'link', 'set', h.inner, 'mtu', '3000']);
    try {
      const port = SystemNetdev.create({ name: h.outer, type: 'system' }, { pool });
      expect(port.mtu()).to.equal(3000);
      // Both longer than a TX ring frame (2006 bytes): sent with sendmsg in their place.
      const tooBig = udpFrame(1, 1, 3100), ok = udpFrame(2, 2, 3014);
      const got = await captureInNs(h.ns, h.inner, 1, () => {
        expect(port.send(0, toBuffers(pool, [tooBig, ok]), 2)).to.equal(1);
      });
      expect(got).to.deep.equal([hex(ok)]);
      expect(port.txqStats(0)).to.deep.include({ packets: 1, errors: 1 });
      port.destroy();
      // 2048 bytes do not fit a 1600-byte data room: an rx error; the frame after it comes in.
      const small = PacketPool.create({ nBufs: 256, dataRoom: 1600 });
      const rx = SystemNetdev.create({ name: h.outer, type: 'system' }, { pool: small });
      sendFromNs(h.ns, h.inner, [udpFrame(3, 3, 2048), udpFrame(4, 4, 100)]);
      expect((await drain(rx, small, 1, 2000)).flat()).to.deep.equal([hex(udpFrame(4, 4, 100))]);
      expect(rx.rxqStats(0).errors).to.equal(1);
      rx.destroy();
      expect(small.sharedFreeCount()).to.equal(256);
      expect(pool.sharedFreeCount()).to.equal(256);
    } finally {
      spawnSync('ip', ['link', 'set', h.outer, 'mtu', '1500']);
      spawnSync('ip', ['-n', h.ns, 'link', 'set', h.inner, 'mtu', '1500']);
    }
  });

  // The ring's frames carry a virtio_net_hdr, with which the kernel skips its MTU check: the addon
  // makes it, and must agree with the kernel's own check on the sendmmsg path (n_txq_desc=0).
  for (const txRing of ['512', '0']) {
    it(`refuses what the kernel refuses at MTU 1500, in place, the frames around it sent (n_txq_desc=${txRing})`, async () => {
      const h = topo.hosts[1]!;
      const pool = PacketPool.create({ nBufs: 256 });
      const port = SystemNetdev.create({ name: h.outer, type: 'system', options: { n_txq_desc: txRing } }, { pool });
      const tagged = udpFrame(5, 5, 1518); // 1500 + 14 + an 802.1Q tag: allowed
      tagged.set([0x81, 0x00, 0x00, 0x0a, 0x08, 0x00], 12);
      const frames = [udpFrame(1, 1, 1000), udpFrame(2, 2, 1515), udpFrame(3, 3, 1514), tagged, udpFrame(4, 4, 1519), udpFrame(6, 6, 60)];
      const got = await captureInNs(h.ns, h.inner, 4, () => {
        expect(port.send(0, toBuffers(pool, frames), frames.length)).to.equal(4);
      });
      expect(got).to.deep.equal([frames[0]!, frames[2]!, frames[3]!, frames[5]!].map(hex));
      expect(port.txqStats(0)).to.deep.include({ packets: 4, errors: 2, drops: 0 });
      port.destroy();
      expect(pool.sharedFreeCount()).to.equal(256);
    });
  }

  // The ring path reads the MTU at most every 10 ms (tx_ring.c max_len), not per burst.
  it('follows an MTU change on a live port (ip link set mtu) on the TX ring', async () => {
    const h = topo.hosts[1]!;
    const pool = PacketPool.create({ nBufs: 256 });
    const port = SystemNetdev.create({ name: h.outer, type: 'system' }, { pool });
    try {
      const full = udpFrame(1, 1, 1514), small = udpFrame(2, 2, 1414), after = udpFrame(3, 3, 60);
      expect(await captureInNs(h.ns, h.inner, 1, () => {
        expect(port.send(0, toBuffers(pool, [full]), 1)).to.equal(1);
      })).to.deep.equal([hex(full)]);
      spawnSync('ip', ['link', 'set', h.outer, 'mtu', '1400']);
      await new Promise((r) => setTimeout(r, 50));
      const frames = [full, small, after];
      const got = await captureInNs(h.ns, h.inner, 2, () => {
        expect(port.send(0, toBuffers(pool, frames), frames.length)).to.equal(2);
      });
      expect(got).to.deep.equal([small, after].map(hex));
      expect(port.txqStats(0)).to.deep.include({ packets: 3, errors: 1 });
    } finally {
      spawnSync('ip', ['link', 'set', h.outer, 'mtu', '1500']);
      port.destroy();
    }
    expect(pool.sharedFreeCount()).to.equal(256);
  });

  // A 64-frame RX ring, and recvmmsg with rcvbuf=0: the kernel default (~200 KiB, a few hundred
  // small frames); nobody reads meanwhile.
  for (const options of [{ n_rxq_desc: '64' }, { n_rxq_desc: '0', rcvbuf: '0' }] as Record<string, string>[]) {
    it(`counts kernel drops when the socket buffer overflows (received + dropped = sent; ${JSON.stringify(options)})`, async () => {
      const h = topo.hosts[0]!;
      const pool = PacketPool.create({ nBufs: 4096 });
      const port = SystemNetdev.create({ name: h.outer, type: 'system', options }, { pool });
      expect(port.rxqRing(0)).to.equal(options.n_rxq_desc === '0' ? 0 : 64);
      const frames = Array.from({ length: 3000 }, (_, i) => udpFrame(i % 16, i));
      expect(sendFromNs(h.ns, h.inner, frames).sent).to.equal(3000);
      // Every frame is in the socket or counted as dropped once sending returned (softirq delivery
      // may still be under way under load): read until they add up.
      const got: string[] = [];
      await waitUntil(() => {
        got.push(...sweep(port, pool));
        return got.length + port.rxqStats(0).drops >= 3000;
      }, 20000, 'received + dropped to reach 3000');
      const s = port.rxqStats(0);
      expect(s.drops).to.be.greaterThan(0);
      expect(got.length).to.be.lessThan(3000);
      expect(got.length + s.drops).to.equal(3000);
      expect(port.stats().rx_dropped).to.equal(s.drops);
      port.destroy();
    });
  }

  it('wakes a PMD asleep on its doorbell when a frame comes (the watcher rings it)', async () => {
    const h = topo.hosts[1]!;
    const pool = PacketPool.create({ nBufs: 256 });
    const bank = DoorbellBank.create(2);
    const port = SystemNetdev.create({ name: h.outer, type: 'system' }, { pool, bank });
    // Word 0: frames collected; word 1: sleeps the worker began with its rxq armed.
    const count = new SharedArrayBuffer(8);
    // Sleeps last up to 20 s and the worker gives up after 25 s: with no timed-out sleep, only a
    // ring can have made it see the frame.
    const w = collector({ pool: pool.descriptor(), port: port.descriptor(), rxq: 0, count, want: 1, ms: 25000, sleepCap: 20000, srcMac: GEN_SRC });
    await waitUntil(() => Atomics.load(new Int32Array(count), 1) > 0, 20000, 'the collector to sleep with its rxq armed');
    sendFromNs(h.ns, h.inner, [udpFrame(5, 5)]);
    const r = await w;
    expect(r.frames).to.deep.equal([hex(udpFrame(5, 5))]);
    expect(r.timeouts).to.equal(0);
    expect(r.wakeups).to.be.greaterThan(0);
    port.destroy();
  });

  // The RX ring's head is shared by the threads that poll the rxq in turn (a PMD reassignment):
  // with a head of its own, the worker's empty-ring peek would look at a frame the main thread
  // already took and never see the new ones. (A PMD terminated between a recv and bookkeeping of
  // its own: test/system/thread-kill.test.ts.)
  it('an RX ring polled by one thread, then another, then the first again: every frame once, in order; a view outlives destroy', async () => {
    const h = topo.hosts[1]!;
    const pool = PacketPool.create({ nBufs: 256 });
    const bank = DoorbellBank.create(2);
    const port = SystemNetdev.create({ name: h.outer, type: 'system' }, { pool, bank });
    expect(port.rxqRing(0)).to.be.greaterThan(0);
    const batch = (from: number): Uint8Array[] => Array.from({ length: 5 }, (_, i) => udpFrame(7, from + i));
    const got: string[] = [];
    const take = async (): Promise<void> => {
      got.push(...(await drain(port, pool, 5)).flat());
    };
    sendFromNs(h.ns, h.inner, batch(0));
    await take();
    const count = new SharedArrayBuffer(4);
    const w = collector({ pool: pool.descriptor(), port: port.descriptor(), rxq: 0, count, want: 5, ms: 5000, srcMac: GEN_SRC });
    sendFromNs(h.ns, h.inner, batch(5));
    got.push(...(await w).frames);
    sendFromNs(h.ns, h.inner, batch(10));
    await take();
    expect(got).to.deep.equal(batch(0).concat(batch(5), batch(10)).map(hex));

    // A second object of this thread holds a view of the ring; after destroy it reads an empty
    // ring (zero pages), where an unmapped ring would kill the process.
    const other = attachNetdev(port.descriptor(), pool) as SystemNetdev;
    const ids = new Uint32Array(32);
    expect(other.rxqRecv(0, ids, 32)).to.equal(0);
    port.destroy();
    sendFromNs(h.ns, h.inner, batch(15));
    expect(other.rxqRecv(0, ids, 32)).to.equal(0);
    other.close();
  });

  it('destroy closes every socket and stops the watcher; bad options and interfaces fail with one line', async () => {
    const h = topo.hosts[1]!;
    const pool = PacketPool.create({ nBufs: 256 });
    const bank = DoorbellBank.create(2);
    // The watcher is told apart by thread id: a watcher stopped by an earlier test may still be
    // exiting, so thread counts would go up and down under our feet.
    const before = threadIds();
    const port = SystemNetdev.create({ name: h.outer, type: 'system', options: { n_rxq: '4', n_txq: '3' } }, { pool, bank });
    const watcher = [...threadIds()].filter((t) => !before.has(t));
    const ifindex = port.ifindex;
    // 4 rxq sockets, 3 txq sockets each with its TX ring's companion for frames too long for a ring frame.
    expect(packetSockets(ifindex)).to.equal(4 + 3 * 2);
    expect(watcher, 'threads started by create: the watcher').to.have.lengthOf(1);
    port.destroy();
    port.destroy();
    expect(packetSockets(ifindex)).to.equal(0);
    const err = (spec: Record<string, unknown>): string => {
      try {
        createNetdev({ type: 'system', ...spec } as never, { pool });
      } catch (e) {
        expect(e).to.be.instanceOf(NetdevError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err({ name: 'tsvsnosuch0' })).to.equal('cannot open system port tsvsnosuch0: No such device');
    expect(err({ name: h.outer, options: { n_rxq: '0' } })).to.equal(`${h.outer}: bad value '0' for option n_rxq (want an integer in [1, 32])`);
    expect(err({ name: h.outer, options: { n_txq_desc: '-1' } })).to.equal(`${h.outer}: bad value '-1' for option n_txq_desc (want an integer in [0, 65536])`);
    expect(err({ name: h.outer, options: { bogus: '1' } })).to.match(/unknown option 'bogus' for a system port/);
    expect(err({ name: h.outer, options: { fanout: 'rss' } })).to.equal(`${h.outer}: bad value 'rss' for option fanout (want one of hash, cpu)`);
    expect(err({ name: h.outer, options: { fanout: 'cpu' } })).to.equal(`${h.outer}: option fanout=cpu needs n_rxq of 2 or more`);
    expect(err({ name: 'a/b' })).to.match(/^cannot open system port a\/b: not a valid interface name/);
    expect(err({ name: 'x'.repeat(16) })).to.match(/not a valid interface name/);
    await waitUntil(() => !threadIds().has(watcher[0]!), 20000, `the watcher thread ${watcher[0]} to exit`);
  });

  it('without CAP_NET_RAW / CAP_NET_ADMIN opening fails with one clear line and the process goes on', () => {
    const h = topo.hosts[1]!;
    const drop = ['--inh-caps=-all', '--bounding-set=-all'];
    for (const who of [['--reuid=65534', '--regid=65534', '--clear-groups'], []]) {
      const tap = `nd${process.pid}u`;
      const r = spawnSync('setpriv', [...who, ...drop, process.execPath, rawScript, 'open', h.outer, tap], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).to.equal(`system: NetdevError: cannot open system port ${h.outer}: Operation not permitted (needs root or CAP_NET_RAW)`);
      // /dev/net/tun is mode 0666 only on some systems: EACCES (file) or EPERM (TUNSETIFF).
      expect(lines[1]).to.match(new RegExp(`^internal: NetdevError: cannot open internal port ${tap}: ` +
        '(Operation not permitted|Permission denied) \\(needs root or CAP_NET_ADMIN\\)$'));
      expect(lines.slice(2)).to.deep.equal(['alive', '']);
    }
  });

  it('internal port: a TAP interface that lives as long as the port; host transmissions in, sends out to the host', async () => {
    const name = `nd${process.pid}t`;
    const pool = PacketPool.create({ nBufs: 256 });
    const bank = DoorbellBank.create(2);
    const port = createNetdev({ name, type: 'internal' }, { pool, bank }) as InternalNetdev;
    try {
      expect(spawnSync('ip', ['link', 'show', name]).status).to.equal(0);
      expect(() => createNetdev({ name, type: 'internal' }, { pool })).to.throw(NetdevError, `cannot open internal port ${name}: Device or resource busy`);
      port.setLinkUp(true);
      spawnSync('sysctl', ['-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
      // The host transmits on the TAP (a packet socket of the host stack): the port receives it.
      const a = nativeNetdev();
      const fd = a.openTx(name);
      const frames = [udpFrame(1, 1), udpFrame(2, 2, 300)];
      const data = new Uint8Array(4096);
      frames.forEach((f, i) => data.set(f, i * 2048));
      expect(a.send(fd, data, Int32Array.of(0, 2048), Int32Array.of(frames[0]!.length, frames[1]!.length), 2, new Int32Array(4))).to.equal(2);
      a.close(fd);
      expect((await drain(port, pool, 2, 2000)).flat()).to.deep.equal(frames.map(hex));
      // What the port sends, the host stack receives (seen by a packet socket as incoming).
      const [rfd] = a.openRx(name, -1, 1 << 20);
      const out = [udpFrame(3, 3, 64)];
      expect(port.send(0, toBuffers(pool, out), 1)).to.equal(1);
      await sleep(50);
      const offs = Int32Array.of(64), lens = new Int32Array(1);
      expect(a.recv(rfd, data, offs, lens, 1, 2000)).to.equal(1);
      expect(hex(data.subarray(offs[0]!, offs[0]! + lens[0]!))).to.equal(hex(out[0]!));
      a.close(rfd);
      expect(port.txqStats(0)).to.deep.equal({ packets: 1, bytes: 64, drops: 0, errors: 0 });
    } finally {
      port.destroy();
    }
    expect(spawnSync('ip', ['link', 'show', name]).status).to.not.equal(0);
  });
});
