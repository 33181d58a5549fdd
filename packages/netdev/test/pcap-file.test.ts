import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINKTYPE_ETHERNET, PcapWriter, readCapture } from '@tsvs/capture';
import { createNetdev, NetdevError, PcapFileNetdev } from '@tsvs/netdev';
import { PacketPool } from '@tsvs/shm';
import { runWorker } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pcaps = path.resolve(here, '../../..', '../shared/pcaps');

function hex(fs: Iterable<Uint8Array>): string[] {
  return Array.from(fs, (f) => Buffer.from(f).toString('hex'));
}

function ethernetFrames(file: string): Uint8Array[] {
  const cap = readCapture(file);
  const out: Uint8Array[] = [];
  for (let i = 0; i < cap.count; i++) if (cap.index.linktype[i] === LINKTYPE_ETHERNET) out.push(cap.record(i).data);
  return out;
}

describe('netdev/pcap-file', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'tsvs-pcapfile-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // pcap and pcapng, VLAN, IPv6, jumbo-ish and mixed link types.
  for (const file of ['wikipedia.pcap', 'vlan-pcp-dei.pcapng', 'pcapng-example.pcapng', 'ipv6-http-atomic-frag.pcap']) {
    it(`replays ${file} in a worker: the frames received equal the capture's Ethernet frames`, async () => {
      const pool = PacketPool.create({ nBufs: 512, dataRoom: 9216 });
      const src = path.join(pcaps, file);
      const port = createNetdev({ name: 'r0', type: 'pcap-file', options: { rx_pcap: src } }, { pool }) as PcapFileNetdev;
      const want = ethernetFrames(src);
      expect(port.frameCount()).to.equal(want.length);
      const r = await runWorker({ role: 'recvAll', pool: pool.descriptor(), port: port.descriptor(), burst: 7 });
      expect(hex(r['frames'] as Uint8Array[])).to.deep.equal(hex(want));
      expect(port.replayDone()).to.equal(true);
      const cap = readCapture(src);
      expect(port.rxqStats(0)).to.deep.equal({
        packets: want.length, bytes: want.reduce((s, f) => s + f.length, 0), drops: 0,
        errors: cap.count - want.length + (cap.error ? 1 : 0), // non-Ethernet records
      });
    });
  }

  it('loop=3 replays the capture three times, then stops', async () => {
    const pool = PacketPool.create({ nBufs: 256 });
    const src = path.join(pcaps, 'dns_udp.pcap');
    const port = createNetdev({ name: 'r1', type: 'pcap-file', options: { rx_pcap: src, loop: '3' } }, { pool });
    const r = await runWorker({ role: 'recvAll', pool: pool.descriptor(), port: port.descriptor() });
    const once = ethernetFrames(src);
    expect(hex(r['frames'] as Uint8Array[])).to.deep.equal(hex([...once, ...once, ...once]));
    expect(port.rxqWaitHint(0)).to.equal(Infinity);
  });

  it('pace=recorded releases frames by their timestamps: the poller is told to wait between them', async () => {
    // A capture of our own: 4 frames 30 ms apart.
    const file = path.join(dir, 'paced.pcap');
    const w = new PcapWriter(file, { append: false });
    const f = ethernetFrames(path.join(pcaps, 'arp.pcap'))[0]!;
    for (let i = 0; i < 4; i++) w.write(f, 1000, i * 30000);
    w.close();
    const pool = PacketPool.create({ nBufs: 64 });
    const port = createNetdev({ name: 'r2', type: 'pcap-file', options: { rx_pcap: file, pace: 'recorded' } }, { pool });
    const r = await runWorker({ role: 'recvAll', pool: pool.descriptor(), port: port.descriptor() });
    expect((r['frames'] as Uint8Array[]).length).to.equal(4);
    // Between frames the port asked for a real wait (a fast replay always says 0).
    expect(r['maxHint']).to.be.greaterThan(5);
  });

  it('transmits into tx_pcap from a worker: the file reads back with identical frames', async () => {
    const pool = PacketPool.create({ nBufs: 512, dataRoom: 9216 });
    const src = path.join(pcaps, 'http-vlan-0.pcap');
    const out = path.join(dir, 'out.pcap');
    const port = createNetdev({ name: 'r3', type: 'pcap-file', options: { rx_pcap: src, tx_pcap: out } }, { pool });
    const want = ethernetFrames(src);
    const r = await runWorker({ role: 'echo', pool: pool.descriptor(), rx: port.descriptor(), n: want.length });
    expect(r['sent']).to.equal(want.length);
    const cap = readCapture(out);
    expect(cap.error).to.equal(null);
    expect(hex(Array.from(cap.records, (x) => x.data))).to.deep.equal(hex(want));
    expect(port.stats()).to.include({ tx_packets: want.length, rx_packets: want.length, tx_errors: 0 });
  });

  it('counts frames larger than a buffer as rx errors and goes on', async () => {
    const pool = PacketPool.create({ nBufs: 64, dataRoom: 128, headroom: 0 });
    const src = path.join(pcaps, 'dns_udp.pcap'); // frames of 98 and 266 bytes
    const port = createNetdev({ name: 'r4', type: 'pcap-file', options: { rx_pcap: src } }, { pool });
    const r = await runWorker({ role: 'recvAll', pool: pool.descriptor(), port: port.descriptor() });
    const small = ethernetFrames(src).filter((x) => x.length <= pool.stride);
    expect(hex(r['frames'] as Uint8Array[])).to.deep.equal(hex(small));
    expect(port.rxqStats(0).errors).to.equal(ethernetFrames(src).length - small.length);
    expect(port.rxqStats(0).errors).to.be.greaterThan(0);
  });

  it('rejects bad options and unreadable captures with one line naming the token', () => {
    const pool = PacketPool.create({ nBufs: 16 });
    const bad = path.join(dir, 'bad.pcap');
    writeFileSync(bad, 'not a capture at all');
    const mk = (options: Record<string, string>) => () => createNetdev({ name: 'x', type: 'pcap-file', options }, { pool });
    expect(mk({ pace: 'slow' })).to.throw(NetdevError, /'slow'.*pace/);
    expect(mk({ loop: '-1' })).to.throw(NetdevError, /'-1'.*loop/);
    expect(mk({ rx_pcap: bad })).to.throw(NetdevError, /bad\.pcap/);
    expect(mk({ n_rxq: '2' })).to.throw(NetdevError, /unknown option 'n_rxq'/);
    expect(mk({ tx_pcap: '/nonexistent-dir/x.pcap' })).to.throw(NetdevError, /nonexistent-dir/);
  });
});
