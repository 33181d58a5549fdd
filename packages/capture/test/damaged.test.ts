import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError, parseCapture, type CaptureFile } from '@tsvs/capture';
import { PCAPS } from './shared-pcaps.js';

/** Real captures, cut or patched: the reader must keep every intact record and name the damage. */

const load = (f: string): Uint8Array => new Uint8Array(readFileSync(join(PCAPS, f)));

/**
 * Independent walk over the file's structure: byte offsets where a block/record ends (the file
 * header included), and for each record the end of the block that holds it.
 */
function layout(bytes: Uint8Array, cap: CaptureFile): { boundaries: number[]; recordEnds: number[] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = cap.byteOrder === 'le';
  const boundaries: number[] = [];
  const recordEnds: number[] = [];
  if (cap.format === 'pcap') {
    boundaries.push(24);
    for (let i = 0; i < cap.count; i++) {
      const end = cap.index.offset[i]! + cap.index.caplen[i]!;
      boundaries.push(end);
      recordEnds.push(end);
    }
  } else {
    let r = 0;
    for (let off = 0; off < bytes.length;) {
      const end = off + dv.getUint32(off + 4, le);
      boundaries.push(end);
      while (r < cap.count && cap.index.offset[r]! < end) { recordEnds.push(end); r++; }
      off = end;
    }
  }
  return { boundaries, recordEnds };
}

describe('capture: damaged files', () => {
  for (const file of ['wikipedia.pcap', 'nanosecs_big_endian.pcap', 'pcapng-example.pcapng', 'test001.pcapng', 'GrePackets.pcap']) {
    it(`${file} cut short anywhere: intact records kept, the cut reported with framesRead`, () => {
      const bytes = load(file);
      const full = parseCapture(bytes, file);
      const { boundaries, recordEnds } = layout(bytes, full);
      expect(boundaries.at(-1)).to.equal(bytes.length);
      const cuts = new Set<number>();
      for (const b of boundaries) for (const d of [-5, -1, 0, 1, 13]) cuts.add(b + d);
      for (let c = 0; c < bytes.length; c += 97) cuts.add(c);
      const first = boundaries[0]!; // cutting inside the first header is a header error (thrown), tested below
      let damaged = 0;
      for (const cut of [...cuts].filter((c) => c >= first && c < bytes.length).sort((a, b) => a - b)) {
        const cap = parseCapture(bytes.subarray(0, cut), file);
        const intact = recordEnds.filter((e) => e <= cut).length;
        expect(cap.count, `cut at ${cut}`).to.equal(intact);
        if (boundaries.includes(cut)) {
          expect(cap.error, `cut at block boundary ${cut}`).to.equal(null);
          continue;
        }
        damaged++;
        const e = cap.error;
        expect(e, `cut at ${cut}`).to.be.instanceOf(CaptureError);
        expect(e!.framesRead).to.equal(intact);
        expect(e!.message).to.match(/truncated/);
        expect(e!.message).to.contain(`(${intact} frame${intact === 1 ? '' : 's'} read before the failure)`);
        let seen = 0;
        expect(() => { for (const _ of cap.records) seen++; }).to.throw(CaptureError);
        expect(seen).to.equal(intact);
      }
      expect(damaged).to.be.greaterThan(10);
    });
  }

  it('a file cut inside its header throws with framesRead 0', () => {
    for (const file of ['wikipedia.pcap', 'pcapng-example.pcapng']) {
      const bytes = load(file);
      for (const cut of [0, 3, 4, 10, 20]) {
        expect(() => parseCapture(bytes.subarray(0, cut), file), `${file} cut at ${cut}`).to.throw(CaptureError, /0 frames read/);
      }
    }
  });

  it('pcap: a caplen over the 262144 limit stops reading there', () => {
    const bytes = load('icmp.pcap').slice();
    const cap = parseCapture(bytes, 'icmp.pcap');
    const at = cap.index.offset[5]! - 16; // record 6's header
    new DataView(bytes.buffer).setUint32(at + 8, 0x7fffffff, true);
    const bad = parseCapture(bytes, 'patched');
    expect(bad.count).to.equal(5);
    expect(bad.error!.message).to.match(/record 6: caplen 2147483647 exceeds the maximum of 262144 at byte \d+ \(5 frames read/);
    expect(bad.error!.offset).to.equal(at);
  });

  it('pcapng: a packet on an undefined interface, and mismatched block lengths, stop reading there', () => {
    const bytes = load('IcmpPackets.pcap').slice();
    const cap = parseCapture(bytes, 'IcmpPackets.pcap');
    const dv = new DataView(bytes.buffer);
    const blk = cap.index.offset[3]! - 28; // record 4's EPB
    dv.setUint32(blk + 8, 7, true); // interface 7 of 1
    const e1 = parseCapture(bytes, 'patched').error!;
    expect(e1.framesRead).to.equal(3);
    expect(e1.message).to.match(/record 4: packet on interface 7, but the section defines 1 interface/);
    dv.setUint32(blk + 8, 0, true);
    const blen = dv.getUint32(blk + 4, true);
    dv.setUint32(blk + blen - 4, blen + 4, true);
    const e2 = parseCapture(bytes, 'patched').error!;
    expect(e2.framesRead).to.equal(3);
    expect(e2.message).to.match(/leading total length \d+ and trailing \d+ differ/);
  });
});
