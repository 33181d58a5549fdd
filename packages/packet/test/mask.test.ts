import { expect } from 'chai';
import fc from 'fast-check';
import {
  FLOW_WORDS, W_IN_PORT, W_NW_DST, applyMask, compileMask, flowWordsEqual, keyMatches, maskAnd,
  maskHasExtra, maskInitCatchall, maskInitExact, maskIsCatchall, maskOr, maskUnwildcard, maskWordCount,
  maskWordIsExact, maskedEqual, newFlowWords,
} from '@tsvs/packet';

const words = fc.uint32Array({ minLength: FLOW_WORDS, maxLength: FLOW_WORDS });

describe('mask (flow wildcards)', () => {
  it('exact and catchall masks', () => {
    const m = newFlowWords();
    expect(maskIsCatchall(m)).to.equal(true);
    maskInitExact(m);
    expect(maskIsCatchall(m)).to.equal(false);
    expect(maskWordIsExact(m, 0, W_IN_PORT)).to.equal(true);
    expect(maskWordCount(m)).to.equal(FLOW_WORDS);
    maskInitCatchall(m);
    expect(maskWordCount(m)).to.equal(0);
  });

  it('unwildcard sets bits, compileMask lists the used words in order', () => {
    const m = newFlowWords();
    maskUnwildcard(m, 0, W_IN_PORT);
    maskUnwildcard(m, 0, W_NW_DST, 0xffffff00);
    const used = new Uint8Array(FLOW_WORDS), vals = new Uint32Array(FLOW_WORDS);
    expect(compileMask(m, 0, used, vals)).to.equal(2);
    expect([used[0], vals[0], used[1], vals[1]]).to.deep.equal([W_IN_PORT, 0xffffffff, W_NW_DST, 0xffffff00]);
    expect(maskWordIsExact(m, 0, W_NW_DST)).to.equal(false);
  });

  it('a key matches the megaflow built from itself, and masked-out bits do not matter', () => {
    fc.assert(fc.property(words, words, words, (key, mask, noise) => {
      const rule = new Uint32Array(FLOW_WORDS);
      applyMask(key, 0, mask, 0, rule, 0);
      expect(keyMatches(key, 0, rule, 0, mask, 0)).to.equal(true);
      const other = new Uint32Array(FLOW_WORDS);
      for (let i = 0; i < FLOW_WORDS; i++) other[i] = ((key[i]! & mask[i]!) | (noise[i]! & ~mask[i]!)) >>> 0;
      expect(keyMatches(other, 0, rule, 0, mask, 0)).to.equal(true);
      expect(maskedEqual(key, 0, other, 0, mask, 0)).to.equal(true);
    }));
  });

  it('flipping a masked bit breaks the match', () => {
    fc.assert(fc.property(words, words, fc.integer({ min: 0, max: FLOW_WORDS * 32 - 1 }), (key, mask, bitPos) => {
      const w = bitPos >>> 5, bit = 1 << (bitPos & 31);
      mask[w] = (mask[w]! | bit) >>> 0;
      const rule = new Uint32Array(FLOW_WORDS);
      applyMask(key, 0, mask, 0, rule, 0);
      const k2 = key.slice();
      k2[w] = (k2[w]! ^ bit) >>> 0;
      expect(keyMatches(k2, 0, rule, 0, mask, 0)).to.equal(false);
      expect(maskedEqual(key, 0, k2, 0, mask, 0)).to.equal(false);
    }));
  });

  it('or/and/hasExtra follow set algebra on bits', () => {
    fc.assert(fc.property(words, words, (a, b) => {
      const u = a.slice(); maskOr(u, 0, b, 0);
      const i = a.slice(); maskAnd(i, 0, b, 0);
      expect(maskHasExtra(a, 0, u, 0)).to.equal(false);
      expect(maskHasExtra(i, 0, a, 0)).to.equal(false);
      expect(maskHasExtra(u, 0, a, 0)).to.equal(!flowWordsEqual(u, 0, a, 0));
    }));
  });

  it('works at a base offset inside a larger array', () => {
    const big = new Uint32Array(FLOW_WORDS * 3);
    maskInitExact(big, FLOW_WORDS);
    expect(maskWordCount(big, 0)).to.equal(0);
    expect(maskWordCount(big, FLOW_WORDS)).to.equal(FLOW_WORDS);
    expect(maskWordCount(big, 2 * FLOW_WORDS)).to.equal(0);
  });
});
