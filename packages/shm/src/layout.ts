/**
 * Shared-memory layout constants used by every structure in this package.
 *
 * Fields that different threads write are kept on separate 64-byte cache lines (x86-64 line size) so
 * that a producer's stores do not invalidate the line a consumer keeps reading (false sharing).
 */

/** Cache line size in bytes. */
export const CACHE_LINE = 64;
/** 32-bit words per cache line. */
export const I32_PER_LINE = CACHE_LINE / 4;
/** 64-bit words per cache line. */
export const F64_PER_LINE = CACHE_LINE / 8;

/** Rounds `n` bytes up to a whole number of cache lines. */
export function alignLine(n: number): number {
  return Math.ceil(n / CACHE_LINE) * CACHE_LINE;
}

/** Smallest power of two >= n (n >= 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Number of bits needed to hold values 0..n (n >= 0). */
export function bitsFor(n: number): number {
  let b = 1;
  while (2 ** b <= n) b++;
  return b;
}
