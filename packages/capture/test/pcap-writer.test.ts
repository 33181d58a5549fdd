import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureError, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, PcapWriter, readCapture } from '@tsvs/capture';
import { PCAPS } from './shared-pcaps.js';

describe('capture: PcapWriter', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'tsvs-capture-test-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('round trip: every frame of wikipedia.pcap and bigtcp-ipv4.pcap written, read back identical (µs timestamps)', () => {
    const out = join(dir, 'rt.pcap');
    const srcs = ['wikipedia.pcap', 'bigtcp-ipv4.pcap'].map((f) => readCapture(join(PCAPS, f)));
    // A small buffer makes both the flush-when-full and the larger-than-buffer paths run.
    const w = new PcapWriter(out, { bufferSize: 4096 });
    for (const src of srcs) for (const r of src.records) w.write(r.data, r.tsSec, r.tsNsec / 1000);
    w.close();
    const back = readCapture(out);
    expect(back.format).to.equal('pcap');
    expect(back.byteOrder).to.equal('le');
    expect(back.interfaces[0]!.linktype).to.equal(LINKTYPE_ETHERNET);
    expect(back.interfaces[0]!.tsUnitsPerSec).to.equal(1e6);
    const all = srcs.flatMap((s) => [...s.records]);
    expect(back.count).to.equal(all.length);
    for (const r of back.records) {
      const o = all[r.frame - 1]!;
      expect(Buffer.from(r.data).equals(Buffer.from(o.data)), `frame ${r.frame} bytes`).to.equal(true);
      expect([r.caplen, r.origLen, r.tsSec, r.tsNsec]).to.deep.equal([o.caplen, o.caplen, o.tsSec, o.tsNsec]);
    }
    expect(w.framesWritten).to.equal(all.length);
  });

  it('the file is byte-identical to the source for a µs little-endian pcap with snaplen 262144 (dns_udp.pcap)', () => {
    const src = join(PCAPS, 'dns_udp.pcap');
    const cap = readCapture(src);
    expect(cap.interfaces[0]!.snaplen).to.equal(262144);
    const out = join(dir, 'copy.pcap');
    const w = new PcapWriter(out);
    for (let i = 0; i < cap.count; i++) {
      const x = cap.index;
      w.writeRange(cap.bytes, x.offset[i]!, x.caplen[i]!, x.tsSec[i]!, x.tsNsec[i]! / 1000, x.origLen[i]!);
    }
    w.close();
    expect(readFileSync(out).equals(readFileSync(src))).to.equal(true);
  });

  it('appends to an existing file, and writes only after close() or flush()', () => {
    const out = join(dir, 'app.pcap');
    const frame = new Uint8Array(60).fill(0xab);
    const w1 = new PcapWriter(out);
    w1.write(frame, 1, 2);
    expect(statSync(out).size).to.equal(0); // still buffered
    w1.flush();
    expect(statSync(out).size).to.equal(24 + 16 + 60);
    w1.close();
    const w2 = new PcapWriter(out);
    w2.write(frame.subarray(0, 42), 3, 4);
    w2.close();
    const back = readCapture(out);
    expect(back.count).to.equal(2);
    expect([back.record(1).caplen, back.record(1).tsSec, back.record(1).tsNsec]).to.deep.equal([42, 3, 4000]);
    const w3 = new PcapWriter(out, { append: false });
    w3.close();
    expect(readCapture(out).count).to.equal(0);
  });

  it('cuts frames longer than the snaplen, keeping their original length', () => {
    const out = join(dir, 'snap.pcap');
    const w = new PcapWriter(out, { snaplen: 64 });
    w.write(new Uint8Array(100), 0, 0);
    w.close();
    const r = readCapture(out).record(0);
    expect([r.caplen, r.origLen]).to.deep.equal([64, 100]);
  });

  it('refuses to append to a file of another format or link type, and to write after close', () => {
    const ng = join(dir, 'x.pcap');
    writeFileSync(ng, readFileSync(join(PCAPS, 'IcmpPackets.pcap'))); // pcapng
    expect(() => new PcapWriter(ng)).to.throw(CaptureError, /not a little-endian microsecond pcap 2.4/);
    const ns = join(dir, 'ns.pcap');
    writeFileSync(ns, readFileSync(join(PCAPS, 'nanosecs_big_endian.pcap')));
    expect(() => new PcapWriter(ns)).to.throw(CaptureError, /not a little-endian microsecond pcap 2.4/);
    const sll = join(dir, 'sll.pcap');
    writeFileSync(sll, readFileSync(join(PCAPS, 'forces1.pcap')));
    expect(() => new PcapWriter(sll)).to.throw(CaptureError, /link type 113, not 1/);
    const ok = new PcapWriter(sll, { linktype: LINKTYPE_LINUX_SLL });
    ok.close();
    ok.close();
    expect(() => ok.write(new Uint8Array(20))).to.throw(/write after close/);
  });
});
