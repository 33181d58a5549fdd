/**
 * Property tests: extraction never throws and never depends on bytes outside frame[off, off+len).
 *
 * "Never reads outside" is checked by placing the frame inside a larger buffer whose other bytes
 * are a sentinel (0x00 in one copy, 0xff in another, random in a third) and requiring the key and
 * offsets to equal those from an exact-size copy: a read past the end (or before the start) would
 * see different bytes in the copies and change the key.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { extractFlow, formatFlow, FLOW_WORDS, EXTRACT_OK, EXTRACT_TOO_SHORT, flowLimitVlans } from '@tsvs/packet';
import { makeFrameGen, makeRng, mutateFrame } from './helpers/random-frames.js';
import { extractCases } from './helpers/extract-cases.js';

interface Outcome { status: number; key: number[]; ofs: number[] }

function extractExact(f: Uint8Array): Outcome {
  const copy = Uint8Array.from(f);
  const key = new Uint32Array(FLOW_WORDS);
  const ofs = new Int32Array(3);
  const status = extractFlow(copy, 0, copy.length, 5, key, 0, ofs);
  return { status, key: Array.from(key), ofs: Array.from(ofs) };
}

function extractEmbedded(f: Uint8Array, before: number, after: number, fill: (buf: Uint8Array) => void): Outcome {
  const buf = new Uint8Array(before + f.length + after);
  fill(buf);
  buf.set(f, before);
  const key = new Uint32Array(FLOW_WORDS * 2);
  const ofs = new Int32Array(4);
  const status = extractFlow(buf, before, f.length, 5, key, FLOW_WORDS, ofs, 1);
  return { status, key: Array.from(key.subarray(FLOW_WORDS)), ofs: Array.from(ofs.subarray(1)) };
}

function checkFrame(f: Uint8Array, before: number, after: number, seed: number): void {
  const exact = extractExact(f);
  expect([EXTRACT_OK, EXTRACT_TOO_SHORT]).to.include(exact.status);
  expect(exact.status === EXTRACT_TOO_SHORT).to.equal(f.length < 14);
  for (const o of exact.ofs) expect(o >= -1 && o <= f.length, `offset ${o} of ${f.length}`).to.equal(true);
  const rnd = makeRng(seed);
  const fills = [
    (b: Uint8Array): void => { b.fill(0); },
    (b: Uint8Array): void => { b.fill(0xff); },
    (b: Uint8Array): void => { for (let i = 0; i < b.length; i++) b[i] = rnd(256); },
  ];
  for (const fill of fills) expect(extractEmbedded(f, before, after, fill)).to.deep.equal(exact);
  if (exact.status === EXTRACT_OK) expect(formatFlow(new Uint32Array(exact.key), 0)).to.be.a('string');
}

describe('extractFlow properties (fast-check)', () => {
  it('random bytes: never throws, never reads outside [off, off+len)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), fc.nat(64), fc.nat(64), fc.nat(), (f, before, after, seed) => {
        checkFrame(f, before, after, seed);
      }),
      { numRuns: 3000 },
    );
  });

  it('random frames whose Ethernet type is one the parser follows', () => {
    const types = [0x0800, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x8847, 0x8848, 0x0040];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 14, maxLength: 200 }), fc.constantFrom(...types), fc.nat(), (f, t, seed) => {
        f[12] = t >> 8;
        f[13] = t & 255;
        if (f.length > 17 && (t === 0x8100 || t === 0x88a8)) f[16] = [0x08, 0x86, 0x88][seed % 3]!;
        checkFrame(f, seed % 17, seed % 23, seed);
      }),
      { numRuns: 3000 },
    );
  });

  it('structured random frames, their mutants and mutants of the hand-built cases, with vlan-limit 1 and 2', () => {
    try {
      for (const limit of [1, 2]) {
        flowLimitVlans(limit);
        fc.assert(
          fc.property(fc.nat(), fc.nat(40), fc.nat(40), (seed, before, after) => {
            const gen = makeFrameGen(seed, 400);
            const rnd = makeRng(seed ^ 0x5a5a);
            const f = gen();
            checkFrame(f, before, after, seed);
            checkFrame(mutateFrame(f, rnd), after, before, seed + 1);
            checkFrame(mutateFrame(extractCases[seed % extractCases.length]!.frame, rnd), before, after, seed + 2);
          }),
          { numRuns: 1500 },
        );
      }
    } finally {
      flowLimitVlans(1);
    }
  });

  it('every truncation of every hand-built case', () => {
    for (const c of extractCases) {
      for (let n = 0; n <= c.frame.length; n++) checkFrame(c.frame.subarray(0, n), 3, 0, n);
    }
  });
});
