import { expect } from 'chai';
import fc from 'fast-check';
import { split, splitTicks } from '@tsvs/capture/timestamp';

/** Reference: exact BigInt arithmetic. */
function ref(hi: number, lo: number, tsresol: number): [number, number] {
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const d = (tsresol & 0x80) === 0 ? 10n ** BigInt(tsresol) : 1n << BigInt(tsresol & 0x7f);
  return [Number(t / d), Number(((t % d) * 1_000_000_000n) / d)];
}

describe('capture: pcapng 64-bit timestamps', () => {
  it('split into seconds and nanoseconds exactly, for 10^-n (n <= 19) and 2^-n resolutions', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const resol = fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 63 }).map((n) => 0x80 | n));
    fc.assert(fc.property(u32, u32, resol, (hi, lo, r) => {
      splitTicks(hi, lo, r);
      const [s, ns] = ref(hi, lo, r);
      // Past 2^53 s both sides round once to the nearest double, so equality still holds.
      expect(split.sec).to.equal(s);
      expect(split.nsec).to.equal(ns);
    }), { numRuns: 5000 });
  });

  it('handles the edges: zero, all ones, one tick below a second', () => {
    for (const [hi, lo, r] of [[0, 0, 6], [0xffffffff, 0xffffffff, 9], [0, 999_999, 6], [0, 999_999_999, 9], [0xffffffff, 0xffffffff, 0]] as const) {
      splitTicks(hi, lo, r);
      expect([split.sec, split.nsec], `${hi}:${lo}@${r}`).to.deep.equal(ref(hi, lo, r));
    }
  });
});
