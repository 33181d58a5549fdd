import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINKTYPE_ETHERNET, readCapture } from '@tsvs/capture';
import { createMemoryNetdev, createNetdev, MemoryNetdev, NetdevError } from '@tsvs/netdev';
import { DoorbellBank, PacketPool } from '@tsvs/shm';
import { runWorker } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pcaps = path.resolve(here, '../../..', '../shared/pcaps');

/** The Ethernet frames of a shared capture, copied. */
function frames(file: string): Uint8Array[] {
  const cap = readCapture(path.join(pcaps, file));
  const out: Uint8Array[] = [];
  for (let i = 0; i < cap.count; i++) if (cap.index.linktype[i] === LINKTYPE_ETHERNET) out.push(cap.record(i).data.slice());
  return out;
}

function hex(fs: readonly Uint8Array[]): string[] {
  return fs.map((f) => Buffer.from(f).toString('hex'));
}

describe('netdev/memory', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'tsvs-netdev-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('frames injected from the main thread are received by a worker, sent back, and come out byte for byte', async () => {
    const pool = PacketPool.create({ nBufs: 1024 });
    const bank = DoorbellBank.create(4);
    const port = createNetdev({ name: 'p0', type: 'memory', options: { tx_ring: 'true' } }, { pool, bank }) as MemoryNetdev;
    const input = [...frames('http-vlan-0.pcap'), ...frames('dns_tcp.pcap'), ...frames('ipv6_options.pcap')];
    expect(input.length).to.be.greaterThan(20);
    const echo = runWorker({ role: 'echo', pool: pool.descriptor(), rx: port.descriptor(), n: input.length });
    expect(port.inject(input)).to.equal(input.length);
    const r = await echo;
    expect(r['got']).to.equal(input.length);
    expect(r['sent']).to.equal(input.length);
    expect(hex(port.txDrainFrames())).to.deep.equal(hex(input));
    const bytes = input.reduce((s, f) => s + f.length, 0);
    expect(port.rxqStats(0)).to.deep.equal({ packets: input.length, bytes, drops: 0, errors: 0 });
    expect(port.txqStats(0)).to.deep.equal({ packets: input.length, bytes, drops: 0, errors: 0 });
    expect(port.stats().tx_bytes).to.equal(bytes);
    port.close();
    expect(pool.sharedFreeCount()).to.equal(1024); // every buffer came back
  });

  it('several rxqs and txqs: a worker injects, another echoes rxq 1 to txq 2', async () => {
    const pool = PacketPool.create({ nBufs: 2048 });
    const port = createMemoryNetdev({ name: 'p1', options: { n_rxq: '2', n_txq: '3', tx_ring: 'true' } }, { pool });
    const input = frames('dns_udp.pcap');
    const rounds = 50;
    const echo = runWorker({ role: 'echo', pool: pool.descriptor(), rx: port.descriptor(), rxq: 1, txq: 2, n: input.length * rounds });
    // The injecting worker races the echo worker; the rx ring (1024) absorbs bursts, and the main
    // thread drains txq 2 meanwhile so its ring never fills.
    const inj = runWorker({ role: 'inject', pool: pool.descriptor(), port: port.descriptor(), frames: input, rounds, rxq: 1 });
    const got: Uint8Array[] = [];
    let done = false;
    const both = Promise.all([inj, echo]).finally(() => { done = true; });
    while (!done) { got.push(...port.txDrainFrames()); await new Promise((r) => setTimeout(r, 2)); }
    const [i, e] = await both;
    got.push(...port.txDrainFrames());
    expect(i['queued']).to.equal(input.length * rounds);
    expect(e['got']).to.equal(input.length * rounds);
    expect(hex(got)).to.deep.equal(hex(Array.from({ length: rounds }, () => input).flat()));
    expect(port.txqStats(2).packets).to.equal(input.length * rounds);
    expect(port.txqStats(0).packets).to.equal(0);
    expect(port.rxqStats(0).packets).to.equal(0);
  });

  it('wakes a PMD sleeping on its doorbell when a frame is injected', async () => {
    const pool = PacketPool.create({ nBufs: 256 });
    const bank = DoorbellBank.create(2);
    const port = createMemoryNetdev({ name: 'p2', options: { tx_ring: 'true' } }, { pool, bank });
    const f = frames('arp.pcap');
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const pmd = runWorker({ role: 'sleepyPmd', pool: pool.descriptor(), port: port.descriptor(), n: 2 }, (m) => { if (m['ready']) ready(); });
    await isReady;
    await new Promise((r) => setTimeout(r, 50));
    port.inject(f[0]!);
    await new Promise((r) => setTimeout(r, 50));
    port.inject(f[1]!);
    const r = await pmd;
    expect(r['got']).to.equal(2);
    expect(r['timeouts']).to.equal(0); // woken by the doorbell, not by the 10 s timeout
    expect(r['sleeps']).to.be.greaterThan(0);
    expect(hex(r['frames'] as Uint8Array[])).to.deep.equal(hex([f[0]!, f[1]!]));
  });

  it('generates traffic from templates in a worker, cycling through them, until the count is reached', async () => {
    const pool = PacketPool.create({ nBufs: 512 });
    const templates = frames('icmp.pcap').slice(0, 5);
    const port = createMemoryNetdev({ name: 'g0' }, { pool }, { genFrames: templates });
    expect(port.rxqWaitHint(0)).to.equal(Infinity);
    port.generate(23);
    expect(port.rxqWaitHint(0)).to.equal(0);
    const r = await runWorker({ role: 'recvAll', pool: pool.descriptor(), port: port.descriptor(), burst: 32 });
    const want = Array.from({ length: 23 }, (_, i) => templates[i % 5]!);
    expect(hex(r['frames'] as Uint8Array[])).to.deep.equal(hex(want));
    expect(port.generated(0)).to.equal(23);
    expect(port.rxqStats(0).packets).to.equal(23);
    expect(port.rxqWaitHint(0)).to.equal(Infinity);
  });

  it('gen_pcap and gen options start the generator from a capture', async () => {
    const pool = PacketPool.create({ nBufs: 256 });
    const port = createNetdev({ name: 'g1', type: 'memory', options: { gen_pcap: path.join(pcaps, 'arp.pcap'), gen: '7' } }, { pool });
    const r = await runWorker({ role: 'recvAll', pool: pool.descriptor(), port: port.descriptor(), burst: 4 });
    const f = frames('arp.pcap');
    expect(hex(r['frames'] as Uint8Array[])).to.deep.equal(hex(Array.from({ length: 7 }, (_, i) => f[i % f.length]!)));
  });

  it('writes what it transmits to tx_pcap, readable by @tsvs/capture with identical frames', async () => {
    const pool = PacketPool.create({ nBufs: 512 });
    const file = path.join(dir, 'tx.pcap');
    const port = createMemoryNetdev({ name: 'c0', options: { tx_pcap: file } }, { pool });
    const input = frames('wikipedia.pcap');
    const echo = runWorker({ role: 'echo', pool: pool.descriptor(), rx: port.descriptor(), n: input.length });
    expect(port.inject(input)).to.equal(input.length);
    expect((await echo)['sent']).to.equal(input.length);
    const cap = readCapture(file);
    expect(cap.error).to.equal(null);
    expect(cap.linktypes).to.deep.equal([LINKTYPE_ETHERNET]);
    expect(hex(Array.from(cap.records, (r) => r.data))).to.deep.equal(hex(input));
    expect(port.txqStats(0)).to.include({ packets: input.length, errors: 0 });
  });

  it('counts a full rx queue as drops and an oversized frame as an error, without throwing', () => {
    const pool = PacketPool.create({ nBufs: 64, dataRoom: 128 });
    const port = createMemoryNetdev({ name: 'd0', options: { rxq_size: '4' } }, { pool });
    const f = new Uint8Array(60).fill(1);
    expect(port.inject([f, f, f, f, f, f])).to.equal(4);
    expect(port.inject(new Uint8Array(pool.stride + 1))).to.equal(0);
    expect(port.rxqStats(0)).to.deep.equal({ packets: 0, bytes: 0, drops: 2, errors: 1 });
    const ids = new Uint32Array(32);
    expect(port.rxqRecv(0, ids)).to.equal(4);
    expect(port.rxqStats(0).packets).to.equal(4);
    // Without tx_ring, sent buffers are counted and freed at once.
    expect(port.send(0, ids, 4)).to.equal(4);
    expect(port.stats()).to.include({ tx_packets: 4, tx_bytes: 240, tx_dropped: 0 });
    port.close();
    expect(pool.sharedFreeCount()).to.equal(64);
  });

  it('rejects bad options with one line naming the token', () => {
    const pool = PacketPool.create({ nBufs: 16 });
    const mk = (options: Record<string, string>) => () => createNetdev({ name: 'x', type: 'memory', options }, { pool });
    expect(mk({ n_rxq: 'two' })).to.throw(NetdevError, /'two'.*n_rxq/);
    expect(mk({ rxq_size: '1000' })).to.throw(NetdevError, /power of two/);
    expect(mk({ bogus: '1' })).to.throw(NetdevError, /unknown option 'bogus'/);
    expect(mk({ gen: '5' })).to.throw(NetdevError, /templates/);
    expect(mk({ gen_pcap: '/nonexistent.pcap' })).to.throw(NetdevError, /nonexistent/);
    expect(() => createNetdev({ name: 'y', type: 'warp' }, { pool })).to.throw(NetdevError, /'warp'/);
  });
});
