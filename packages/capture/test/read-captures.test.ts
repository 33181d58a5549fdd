import { expect } from 'chai';
import { join } from 'node:path';
import { CaptureError, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, readCapture } from '@tsvs/capture';
import { manifest, PCAPS, truth } from './shared-pcaps.js';

const rows = manifest();

describe('capture: every capture in ../shared/pcaps', () => {
  it('finds the shared captures (MANIFEST.tsv lists 67)', () => {
    expect(rows.length).to.equal(67);
  });

  for (const row of rows) {
    if (row.categories.includes('unreadable')) continue;
    it(`${row.file}: ${row.packets} records, link types ${row.linktypes.join(',')}, lengths as tshark reads them`, () => {
      const cap = readCapture(join(PCAPS, row.file));
      expect(cap.error, 'no damage').to.equal(null);
      expect(cap.count).to.equal(row.packets);
      expect([...cap.records].length).to.equal(row.packets);
      expect(cap.linktypes).to.deep.equal([...row.linktypes].sort((a, b) => a - b));
      expect(cap.format).to.equal(row.categories.includes('pcapng') ? 'pcapng' : 'pcap');
      const t = truth(row.file);
      if (t === null) return;
      expect(t.length).to.equal(cap.count);
      for (const r of cap.records) {
        const tr = t[r.frame - 1]!;
        expect(tr['frame.number']).to.equal(r.frame);
        expect(r.caplen, `frame ${r.frame} caplen`).to.equal(tr['frame.cap_len']);
        expect(r.origLen, `frame ${r.frame} len`).to.equal(tr['frame.len']);
        expect(r.data.length).to.equal(r.caplen);
      }
    });
  }

  it('pcapng-example.pcapng: each record has the link type of its own interface (EN10MB and LINUX_SLL mixed)', () => {
    const cap = readCapture(join(PCAPS, 'pcapng-example.pcapng'));
    expect(cap.interfaces.map((i) => i.linktype)).to.deep.equal([LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL]);
    const t = truth('pcapng-example.pcapng')!;
    let sll = 0;
    for (const r of cap.records) {
      // tshark names the SLL packets' stack "sll:..." and the Ethernet ones "eth:...".
      const proto = t[r.frame - 1]!['frame.protocols'];
      const want = proto.startsWith('sll') ? LINKTYPE_LINUX_SLL : LINKTYPE_ETHERNET;
      expect(r.linktype, `frame ${r.frame} (${proto})`).to.equal(want);
      expect(r.interfaceId).to.equal(want === LINKTYPE_LINUX_SLL ? 1 : 0);
      if (want === LINKTYPE_LINUX_SLL) sll++;
    }
    expect(sll).to.be.greaterThan(0);
    expect(sll).to.be.lessThan(cap.count);
  });

  it('keeps truncated records as captured (caplen < len) and records whose caplen exceeds len or snaplen', () => {
    const tr = readCapture(join(PCAPS, 'truncated-header.pcap'));
    expect(tr.interfaces[0]!.snaplen).to.equal(68);
    for (const r of tr.records) expect(r.caplen).to.be.lessThan(r.origLen);
    const aoe = readCapture(join(PCAPS, 'aoe-oobr-1.pcap')).record(0);
    expect([aoe.caplen, aoe.origLen]).to.deep.equal([34, 32]); // snaplen 31: libpcap would cut to 31, tshark keeps 34
    const th = readCapture(join(PCAPS, 'trunc-hdr.pcap')).record(0);
    expect([th.caplen, th.origLen]).to.deep.equal([8, 78]);
  });

  it('reads timestamps as tshark does: big-endian nanosecond pcap, pcapng with if_tsresol=9 and the default µs', () => {
    const ns = readCapture(join(PCAPS, 'nanosecs_big_endian.pcap'));
    expect(ns.byteOrder).to.equal('be');
    expect(ns.interfaces[0]!.tsUnitsPerSec).to.equal(1e9);
    expect([ns.index.tsSec[0], ns.index.tsNsec[0], ns.index.tsSec[1], ns.index.tsNsec[1]]).to.deep.equal([1766361926, 167647291, 1766361926, 167658091]);
    const ng = readCapture(join(PCAPS, 'pcapng-example.pcapng'));
    expect([ng.index.tsSec[0], ng.index.tsNsec[0], ng.index.tsSec[1], ng.index.tsNsec[1]]).to.deep.equal([1422527998, 578402281, 2894531997, 938836488]);
    const gre = readCapture(join(PCAPS, 'GrePackets.pcap'));
    expect([gre.index.tsSec[1], gre.index.tsNsec[1]]).to.deep.equal([1150345000, 702496000]);
  });

  it('reads a big-endian pcapng (test001.pcapng)', () => {
    const cap = readCapture(join(PCAPS, 'test001.pcapng'));
    expect(cap.byteOrder).to.equal('be');
    expect(cap.interfaces[0]!.name).to.equal('silly ethernet interface');
    expect(cap.count).to.equal(4);
  });

  it('sniffs pcapng by magic even when the file is named .pcap', () => {
    for (const f of ['IcmpPackets.pcap', 'ipv6_options.pcap', 'GrePackets.pcap', 'ipv4-malformed.pcap']) {
      expect(readCapture(join(PCAPS, f)).format, f).to.equal('pcapng');
    }
  });

  describe('unreadable files fail with a CaptureError that says what is wrong and framesRead', () => {
    const cases: Array<[string, RegExp]> = [
      ['pcap-invalid-version-1.pcap', /unsupported pcap version 1\.4/],
      ['pcapng-invalid-vers-1.pcapng', /unsupported pcapng version 0\.1/],
    ];
    for (const [file, re] of cases) {
      it(file, () => {
        let err: unknown;
        try {
          readCapture(join(PCAPS, file));
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(CaptureError);
        const ce = err as CaptureError;
        expect(ce.framesRead).to.equal(0);
        expect(ce.message).to.match(re);
        expect(ce.message).to.contain(file);
        expect(ce.message).to.contain('0 frames read');
      });
    }

    it('a missing file', () => {
      expect(() => readCapture(join(PCAPS, 'no-such-file.pcap'))).to.throw(CaptureError, /cannot read file: ENOENT/);
    });

    it('a file that is neither pcap nor pcapng', () => {
      expect(() => readCapture(join(PCAPS, 'MANIFEST.tsv'))).to.throw(CaptureError, /not a pcap or pcapng file \(magic 66696c65\)/);
    });
  });
});
