/**
 * pcapng timestamps are 64-bit tick counts (RFC draft-ietf-opsawg-pcapng §4.6, if_tsresol): ticks of
 * 10^-n s (if_tsresol bit 7 clear) or 2^-n s (bit 7 set); default 10^-6. This splits one into
 * whole seconds and nanoseconds. The common case (10^-n, n <= 9) is exact double arithmetic over
 * 16-bit limbs and allocates nothing; other resolutions go through BigInt.
 */

/** Result slots of splitTicks (module-level so the hot path returns two numbers without an object). */
export const split = { sec: 0, nsec: 0 };

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * Ticks hi:lo (two unsigned 32-bit halves) at resolution `tsresol` (the raw if_tsresol byte) into
 * split.sec / split.nsec (nanoseconds truncated toward zero).
 */
export function splitTicks(hi: number, lo: number, tsresol: number): void {
  if ((tsresol & 0x80) === 0 && tsresol <= 9) {
    const d = POW10[tsresol]!;
    // Long division of the 64-bit value by d, 16 bits at a time: every intermediate stays < 2^53.
    let r = 0;
    let q = 0;
    let cur = r * 65536 + (hi >>> 16); let qd = Math.floor(cur / d); r = cur - qd * d; q = qd;
    cur = r * 65536 + (hi & 0xffff); qd = Math.floor(cur / d); r = cur - qd * d; q = q * 65536 + qd;
    cur = r * 65536 + (lo >>> 16); qd = Math.floor(cur / d); r = cur - qd * d; q = q * 65536 + qd;
    cur = r * 65536 + (lo & 0xffff); qd = Math.floor(cur / d); r = cur - qd * d; q = q * 65536 + qd;
    split.sec = q;
    split.nsec = r * POW10[9 - tsresol]!;
    return;
  }
  const ticks = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  if ((tsresol & 0x80) === 0) {
    const d = 10n ** BigInt(tsresol);
    split.sec = Number(ticks / d);
    split.nsec = Number(((ticks % d) * 1_000_000_000n) / d);
  } else {
    const n = BigInt(tsresol & 0x7f);
    const d = 1n << n;
    split.sec = Number(ticks >> n);
    split.nsec = Number(((ticks & (d - 1n)) * 1_000_000_000n) >> n);
  }
}

/** Ticks per second for an if_tsresol byte (for CaptureInterface.tsUnitsPerSec). */
export function unitsPerSec(tsresol: number): number {
  return (tsresol & 0x80) === 0 ? 10 ** tsresol : 2 ** (tsresol & 0x7f);
}
