import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '@tsvs/capture';
import {
  csum, csumContinue, csumFinish, getBe16, ipv4HeaderChecksum, l4Checksum, pseudoSumIPv4, pseudoSumIPv6, pseudoSumIPv6Addrs, putBe16,
  recalcCsum128, recalcCsum128Words, recalcCsum16, recalcCsum32, udpCsumOut, udpCsumUpdate,
} from '@tsvs/packet';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const pcaps = path.resolve(repoRoot, '../shared/pcaps');

/**
 * tshark's checksum verdicts for the outermost IPv4 header and TCP/UDP segment of the captures
 * (fixtures/make-checksum-truth.sh): [frame, ipStatus, l4 proto, l4Status], status 0 bad, 1 good,
 * 2 unverified, 3 (UDP) no checksum.
 */
type Verdict = [number, number | null, 'tcp' | 'udp' | null, number | null];
const truth = JSON.parse(readFileSync(path.join(here, 'fixtures/checksum-truth.json'), 'utf8')) as Record<string, Verdict[]>;

interface L3L4 { v4: boolean; ip: number; l4: number; l4Len: number; proto: number; finalDst: number }

/** Finds the outermost IPv4/IPv6 header and the TCP/UDP segment after it (test-only parser). */
function locate(f: Uint8Array): L3L4 | null {
  let o = 12;
  let type = getBe16(f, o);
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) { o += 4; type = getBe16(f, o); }
  o += 2;
  if (type === 0x0800) {
    const hl = (f[o]! & 15) * 4;
    const tot = getBe16(f, o + 2);
    const proto = f[o + 9]!;
    // UDP's pseudo-header length is its own length field (what tshark uses when IP's total length lies).
    return { v4: true, ip: o, l4: o + hl, l4Len: proto === 17 ? getBe16(f, o + hl + 4) : tot - hl, proto, finalDst: -1 };
  }
  if (type === 0x86dd) {
    let nh = f[o + 6]!;
    let p = o + 40;
    let finalDst = o + 24;
    while (nh === 0 || nh === 43 || nh === 60 || nh === 44) {
      const len = nh === 44 ? 8 : (f[p + 1]! + 1) * 8;
      // Type 0 routing header with segments left: the last address is the final destination.
      if (nh === 43 && f[p + 2] === 0 && f[p + 3]! > 0) finalDst = p + len - 16;
      nh = f[p]!;
      p += len;
    }
    return { v4: false, ip: o, l4: p, l4Len: getBe16(f, o + 4) - (p - o - 40), proto: nh, finalDst };
  }
  return null;
}

function pseudo(f: Uint8Array, x: L3L4): number {
  if (x.v4) return pseudoSumIPv4(f, x.ip, x.proto, x.l4Len);
  if (x.finalDst !== x.ip + 24) return pseudoSumIPv6Addrs(f, x.ip + 8, x.finalDst, x.proto, x.l4Len);
  return pseudoSumIPv6(f, x.ip, x.proto, x.l4Len);
}

/** The checksum field value our code says this segment should carry. */
function expectedL4(f: Uint8Array, x: L3L4): number {
  const c = l4Checksum(pseudo(f, x), f, x.l4, x.l4Len, x.proto === 6 ? 16 : 6);
  return x.proto === 17 ? udpCsumOut(c) : c;
}

/** Ethernet frames whose IPv4 header and TCP/UDP checksum tshark calls good. */
const goodFrames: { f: Uint8Array; x: L3L4; name: string }[] = [];

describe('packet/checksum', () => {
  describe('agrees with tshark on every real frame of /work/shared/pcaps', () => {
    const tally = { ipGood: 0, ipBad: 0, l4Good: 0, l4Bad: 0, udpNone: 0 };
    const want = { ipGood: 0, ipBad: 0, l4Good: 0, l4Bad: 0, udpNone: 0 };
    for (const [file, verdicts] of Object.entries(truth)) {
      it(file, () => {
        const cap = readCapture(path.join(pcaps, file));
        for (const [frame, ipSt, l4, l4St] of verdicts) {
          const f = cap.record(frame - 1).data;
          const x = locate(f);
          const where = `${file} frame ${frame}`;
          expect(x, where).to.not.equal(null);
          if (ipSt === 0 || ipSt === 1) {
            want[ipSt === 1 ? 'ipGood' : 'ipBad']++;
            const stored = getBe16(f, x!.ip + 10);
            expect(ipv4HeaderChecksum(f, x!.ip) === stored, `${where}: IPv4 header checksum`).to.equal(ipSt === 1);
            expect(csum(f, x!.ip, (f[x!.ip]! & 15) * 4) === 0, `${where}: header verifies`).to.equal(ipSt === 1);
            tally[ipSt === 1 ? 'ipGood' : 'ipBad']++;
          }
          if (l4 !== null && (l4St === 0 || l4St === 1)) {
            want[l4St === 1 ? 'l4Good' : 'l4Bad']++;
            expect(x!.proto, where).to.equal(l4 === 'tcp' ? 6 : 17);
            const stored = getBe16(f, x!.l4 + (l4 === 'tcp' ? 16 : 6));
            expect(expectedL4(f, x!) === stored, `${where}: ${l4} checksum ${stored.toString(16)}`).to.equal(l4St === 1);
            // Summing the segment with its stored checksum gives 0 exactly when it is good.
            expect(csumFinish(pseudo(f, x!) + csumContinue(0, f, x!.l4, x!.l4Len)) === 0, where).to.equal(l4St === 1);
            tally[l4St === 1 ? 'l4Good' : 'l4Bad']++;
            if (l4St === 1 && (!x!.v4 || ipSt === 1)) goodFrames.push({ f: f.slice(), x: x!, name: where });
          }
          if (l4 === 'udp' && l4St === 3) {
            want.udpNone++;
            expect(getBe16(f, x!.l4 + 6), `${where}: UDP without checksum`).to.equal(0);
            tally.udpNone++;
          }
        }
      });
    }
    it('covered every verdict, good and bad ones', () => {
      expect(tally).to.deep.equal(want);
      expect(tally.ipGood).to.be.greaterThan(500);
      expect(tally.ipBad).to.be.greaterThan(10);
      expect(tally.l4Good).to.be.greaterThan(250);
      expect(tally.l4Bad).to.be.greaterThan(50);
      expect(goodFrames.some((g) => !g.x.v4)).to.equal(true);
    });
  });

  describe('incremental updates (RFC 1624) on real frames equal full recomputation', () => {
    it('set nw_src/ipv6_src, nw_ttl and tp_src on every frame with good checksums', () => {
      expect(goodFrames.length).to.be.greaterThan(250);
      fc.assert(fc.property(
        fc.nat({ max: goodFrames.length - 1 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (i, addr, port, ttl, addr6) => {
          const { f: orig, x } = goodFrames[i]!;
          const f = orig.slice();
          const l4c = x.l4 + (x.proto === 6 ? 16 : 6);
          const udp = x.proto === 17;
          let c4 = getBe16(f, l4c);
          if (x.v4) {
            // nw_ttl: the 16-bit word ttl|proto changes in the IPv4 header only.
            const oldW = getBe16(f, x.ip + 8);
            const newW = (ttl << 8) | f[x.ip + 9]!;
            f[x.ip + 8] = ttl;
            putBe16(f, x.ip + 10, recalcCsum16(getBe16(f, x.ip + 10), oldW, newW));
            // nw_src: IPv4 header and the L4 pseudo-header.
            const oldA = ((f[x.ip + 12]! << 24) | (f[x.ip + 13]! << 16) | (f[x.ip + 14]! << 8) | f[x.ip + 15]!) >>> 0;
            f[x.ip + 12] = addr >>> 24; f[x.ip + 13] = addr >>> 16; f[x.ip + 14] = addr >>> 8; f[x.ip + 15] = addr;
            putBe16(f, x.ip + 10, recalcCsum32(getBe16(f, x.ip + 10), oldA, addr));
            const r = recalcCsum32(c4, oldA, addr);
            c4 = udp ? udpCsumUpdate(c4, r) : r;
            expect(getBe16(f, x.ip + 10)).to.equal(ipv4HeaderChecksum(f, x.ip));
          } else {
            const r = recalcCsum128(c4, f, x.ip + 8, addr6, 0);
            c4 = udp ? udpCsumUpdate(c4, r) : r;
            f.set(addr6, x.ip + 8);
          }
          // tp_src.
          const oldP = getBe16(f, x.l4);
          putBe16(f, x.l4, port);
          const r = recalcCsum16(c4, oldP, port);
          c4 = udp ? udpCsumUpdate(c4, r) : r;
          putBe16(f, l4c, c4);
          const full = expectedL4(f, x);
          // 0 and 0xffff are the same ones' complement number; only UDP cares, and udpCsumOut /
          // udpCsumUpdate both write 0xffff for it.
          expect(c4 === full || (!udp && (c4 ^ full) === 0xffff && (c4 === 0 || full === 0))).to.equal(true);
        }), { numRuns: 2000 });
    });
  });

  describe('properties over random data', () => {
    const evenBytes = fc.uint8Array({ minLength: 4, maxLength: 300 }).map((a) => a.subarray(0, a.length & ~1));

    it('a buffer carrying its own checksum sums to 0 (unless it is all zeros)', () => {
      fc.assert(fc.property(evenBytes, fc.nat(), (d, k) => {
        fc.pre(d.some((b) => b !== 0));
        const at = (k % (d.length / 2)) * 2;
        const b = d.slice();
        b[at] = 0; b[at + 1] = 0;
        putBe16(b, at, csum(b, 0, b.length));
        fc.pre(b.some((x, i) => x !== 0 && (i < at || i > at + 1)));
        expect(csum(b, 0, b.length)).to.equal(0);
      }));
    });

    it('summing in even-sized pieces equals one pass, odd tails padded with zero', () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (d, k) => {
        const cut = ((k % (d.length + 1)) & ~1);
        const split = csumFinish(csumContinue(csumContinue(0, d, 0, cut), d, cut, d.length - cut));
        expect(split).to.equal(csum(d, 0, d.length));
        if (d.length % 2 === 1) {
          const padded = new Uint8Array(d.length + 1);
          padded.set(d);
          expect(csum(padded, 0, padded.length)).to.equal(csum(d, 0, d.length));
        }
      }));
    });

    it('recalcCsum16/32/128 equal a full recomputation after changing a field', () => {
      fc.assert(fc.property(
        fc.uint8Array({ minLength: 40, maxLength: 120 }), fc.nat(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(2, 4, 16),
        (d0, k, nv, width) => {
          const d = d0.subarray(0, d0.length & ~1).slice();
          d[0] = 0; d[1] = 0; // checksum field at 0
          const at = 2 + ((k % ((d.length - 2 - width) / 2 + 1)) * 2);
          putBe16(d, 0, csum(d, 0, d.length));
          const old = d.slice(at, at + width);
          let c = getBe16(d, 0);
          if (width === 2) c = recalcCsum16(c, getBe16(old, 0), getBe16(nv, 0));
          else if (width === 4) {
            const o = ((old[0]! << 24) | (old[1]! << 16) | (old[2]! << 8) | old[3]!) >>> 0;
            const n = ((nv[0]! << 24) | (nv[1]! << 16) | (nv[2]! << 8) | nv[3]!) | 0; // signed input works too
            c = recalcCsum32(c, o, n);
          } else {
            c = recalcCsum128(c, old, 0, nv, 0);
            const words = new Uint32Array(4);
            for (let w = 0; w < 4; w++) words[w] = ((nv[4 * w]! << 24) | (nv[4 * w + 1]! << 16) | (nv[4 * w + 2]! << 8) | nv[4 * w + 3]!) >>> 0;
            expect(recalcCsum128Words(getBe16(d, 0), old, 0, words, 0)).to.equal(c);
          }
          d.set(nv.subarray(0, width), at);
          d[0] = 0; d[1] = 0;
          fc.pre(d.some((b) => b !== 0)); // all zeros is the one case where ±0 differ
          expect(c).to.equal(csum(d, 0, d.length));
        }));
    });

    it('recalcCsum16 keeps the end-around carry when the first fold overflows (0xffff + 0xffff + 1)', () => {
      // old checksum 0 and old field 0: ~0 + ~0 + 1 = 0x1ffff, which folds to 0x0001, so HC' = 0xfffe.
      const d = new Uint8Array([0, 0, 0, 0, 0xff, 0xff]);
      putBe16(d, 0, csum(d, 0, d.length));
      expect(getBe16(d, 0)).to.equal(0);
      const c = recalcCsum16(getBe16(d, 0), 0, 1);
      putBe16(d, 2, 1); d[0] = 0; d[1] = 0;
      expect(c).to.equal(csum(d, 0, d.length));
      expect(c).to.equal(0xfffe);
    });

    it('UDP: a zero field stays "no checksum", a computed zero is sent as 0xffff', () => {
      expect(udpCsumUpdate(0, 0x1234)).to.equal(0);
      expect(udpCsumUpdate(0x1111, 0)).to.equal(0xffff);
      expect(udpCsumUpdate(0x1111, 0x2222)).to.equal(0x2222);
      expect(udpCsumOut(0)).to.equal(0xffff);
      expect(udpCsumOut(5)).to.equal(5);
    });
  });
});
