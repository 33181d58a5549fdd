/**
 * Incremental Internet checksum update, RFC 1624 equation 3: HC' = ~(~HC + ~m + m'), computed
 * exactly as OVS's recalc_csum16/32/128 (lib/csum.c) so results are bit-identical, including
 * which of 0x0000/0xffff comes out. Values are 16-bit words in network order read as
 * big-endian numbers; the result is the new checksum word.
 *
 * Private to the action executor until packages/packet/src/checksum.ts (RFC 1624 helpers owned
 * by another package) lands; then the executor switches to it.
 */

/** New checksum after a 16-bit word changed from `old16` to `new16`. */
export function recalcCsum16(csum: number, old16: number, new16: number): number {
  let sum = (~csum & 0xffff) + (~old16 & 0xffff) + (new16 & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** New checksum after a 32-bit field changed (first its high word, then its low word, as OVS). */
export function recalcCsum32(csum: number, old32: number, new32: number): number {
  return recalcCsum16(recalcCsum16(csum, old32 >>> 16, new32 >>> 16), old32 & 0xffff, new32 & 0xffff);
}

/** New checksum after the 16 bytes at `b[old]` are replaced by the 16 bytes at `n[nw]`. */
export function recalcCsum128(csum: number, b: Uint8Array, old: number, n: Uint8Array, nw: number): number {
  for (let i = 0; i < 16; i += 2) {
    csum = recalcCsum16(csum, (b[old + i]! << 8) | b[old + i + 1]!, (n[nw + i]! << 8) | n[nw + i + 1]!);
  }
  return csum;
}
