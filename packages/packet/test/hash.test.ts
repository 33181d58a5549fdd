import { expect } from 'chai';
import fc from 'fast-check';
import {
  FLOW_WORDS, compileMask, hashAdd, hashBytes128, hashFinish, hashKey, hashKeyFast, hashMaskedWords,
  hashWords, hashWords128,
} from '@tsvs/packet';

// Golden values computed with OVS 3.1 lib/hash.h (mhash_add/mhash_finish, hash_words) and
// lib/hash.c (hash_bytes128, 32-bit variant) compiled with gcc on x86_64, over these 72 words:
// w[i] = (i * 0x9e3779b1) ^ (i odd ? 0 : 0xff << (i % 24)).
const W = new Uint32Array(72);
for (let i = 0; i < 72; i++) W[i] = (Math.imul(i, 0x9e3779b1) ^ (i & 1 ? 0 : (0xff << (i % 24)))) >>> 0;

describe('hash (OVS lib/hash.h murmur)', () => {
  it('builds the same input words as the C generator', () => {
    expect(W[0]).to.equal(0x000000ff);
    expect(W[1]).to.equal(0x9e3779b1);
    expect(W[24]).to.equal(0xd5336867);
    expect(W[71]).to.equal(0xe162c017);
  });

  it('hashWords equals OVS hash_words', () => {
    const golden: Array<[number, number, number]> = [
      [0, 0, 0x00000000], [0, 1, 0x514e28b7], [0, 0xdeadbeef, 0x0de5c6a9],
      [1, 0, 0xec306c59], [1, 1, 0xcb436a7f], [1, 0xdeadbeef, 0x562a730f],
      [2, 0, 0x3fb95e4d], [2, 1, 0x59e7d884], [2, 0xdeadbeef, 0x2e77543c],
      [5, 0, 0xbcce6cb9], [5, 1, 0x6700609a], [5, 0xdeadbeef, 0x0a8904d3],
      [12, 0, 0x8ac55d91], [12, 1, 0x7d78f8d4], [12, 0xdeadbeef, 0x51f87bd9],
      [36, 0, 0x2ab4b432], [36, 1, 0x63e9dd22], [36, 0xdeadbeef, 0x06da1e68],
    ];
    for (const [n, basis, want] of golden) expect(hashWords(W, 0, n, basis), `n=${n} basis=${basis}`).to.equal(want);
    expect(hashKey(W, 0, 0)).to.equal(0x2ab4b432);
  });

  it('hashWords with a base offset hashes the words from there', () => {
    const shifted = new Uint32Array(80);
    shifted.set(W.subarray(0, 36), 7);
    expect(hashWords(shifted, 7, 36, 1)).to.equal(0x63e9dd22);
  });

  it('hashAdd treats a zero word as MurmurHash3 does (only advances the state)', () => {
    // MurmurHash3_x86_32 of four zero bytes, seed 0 (published test vector).
    expect(hashFinish(hashAdd(0, 0), 4)).to.equal(0x2362f9de);
  });

  it('hashBytes128 equals OVS hash_bytes128 (32-bit variant) for tails of every size class', () => {
    const bytes = new Uint8Array(W.buffer, W.byteOffset, W.byteLength);
    const golden: Array<[number, number[]]> = [
      [0, [0xb736179b, 0xb0ce4968, 0xb0ce4968, 0xb0ce4968]],
      [1, [0x702220de, 0x786ed3f2, 0x786ed3f2, 0x786ed3f2]],
      [3, [0x06e10f86, 0xfc8e1e15, 0xfc8e1e15, 0xfc8e1e15]],
      [4, [0xe9919a51, 0x5af9ff47, 0x5af9ff47, 0x5af9ff47]],
      [15, [0x9fdf5a14, 0x89eb53da, 0x89589288, 0xcad4ff15]],
      [16, [0x4089240a, 0x7ce984f8, 0xaee1342c, 0xebac4770]],
      [17, [0xb76d9a24, 0x6537564a, 0xa0c1af7f, 0x5dfcaef6]],
      [31, [0xa063958c, 0x750d7e1f, 0x806c460d, 0xcbe99d32]],
      [144, [0xf4842489, 0x63d7f230, 0x88ef4151, 0x6cbe8df5]],
      [288, [0xf190fcb0, 0x55c2fbd0, 0x2d62912e, 0x1edd3872]],
    ];
    const out = new Uint32Array(4);
    for (const [len, want] of golden) {
      hashBytes128(bytes, 0, len, 0x12345678, out);
      expect(Array.from(out), `len=${len}`).to.deep.equal(want);
    }
  });

  it('hashWords128 equals hashBytes128 over the words\' little-endian bytes', () => {
    fc.assert(fc.property(fc.uint32Array({ minLength: 0, maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (words, basis) => {
      const bytes = new Uint8Array(words.length * 4);
      const dv = new DataView(bytes.buffer);
      words.forEach((w, i) => dv.setUint32(i * 4, w, true));
      const a = new Uint32Array(4), b = new Uint32Array(4);
      hashBytes128(bytes, 0, bytes.length, basis, a);
      hashWords128(words, 0, words.length, basis, b);
      expect(Array.from(b)).to.deep.equal(Array.from(a));
    }));
  });

  it('hashMaskedWords equals hashWords over the masked words a mask uses', () => {
    fc.assert(fc.property(
      fc.uint32Array({ minLength: FLOW_WORDS, maxLength: FLOW_WORDS }),
      fc.array(fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })), { minLength: FLOW_WORDS, maxLength: FLOW_WORDS }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (key, maskArr, basis) => {
        const mask = Uint32Array.from(maskArr);
        const used = new Uint8Array(FLOW_WORDS), vals = new Uint32Array(FLOW_WORDS);
        const n = compileMask(mask, 0, used, vals);
        const masked = new Uint32Array(n);
        for (let j = 0; j < n; j++) masked[j] = key[used[j]!]! & vals[j]!;
        expect(hashMaskedWords(key, 0, used, vals, 0, n, basis)).to.equal(hashWords(masked, 0, n, basis));
      }));
  });

  it('hashKeyFast changes when any single word changes, and ignores nothing', () => {
    const key = W.slice(0, FLOW_WORDS);
    const h0 = hashKeyFast(key, 0);
    for (let i = 0; i < FLOW_WORDS; i++) {
      for (const bit of [0, 7, 16, 31]) {
        const k = key.slice();
        k[i] = (k[i]! ^ (1 << bit)) >>> 0;
        expect(hashKeyFast(k, 0), `word ${i} bit ${bit}`).to.not.equal(h0);
      }
    }
  });

  it('hashKeyFast spreads sequential keys over the EMC index bits', () => {
    const key = new Uint32Array(FLOW_WORDS);
    const seen = new Set<number>();
    for (let i = 0; i < 4096; i++) { key[11] = 0x0a000000 + i; seen.add(hashKeyFast(key, 0) & 8191); }
    // 4096 random draws into 8192 bins fill about 3225 distinct bins; a poor mix fills far fewer.
    expect(seen.size).to.be.greaterThan(3000);
  });
});
