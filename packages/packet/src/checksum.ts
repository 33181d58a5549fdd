/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624), in the shape of Open vSwitch
 * lib/csum.c (csum, csum_continue, csum_finish, recalc_csum16/32/128) and lib/packets.c
 * (packet_csum_pseudoheader, packet_csum_pseudoheader6, the UDP "0 means no checksum" rule).
 *
 * Units and shapes:
 * - Bytes are read from a `Uint8Array` at absolute offsets; 16-bit words are big-endian (network order),
 *   so every 16-bit value passed in or returned is the field as it appears on the wire read as a
 *   big-endian integer (e.g. the IPv4 checksum field is `buf[o] << 8 | buf[o + 1]`).
 * - A *partial sum* is a non-negative integer (below 2^48) accumulating 16-bit words; it is not yet
 *   folded or complemented. Start with 0, add with `csumContinue`/`csumAdd16`/`csumAdd32`, finish with
 *   `csumFinish`. Odd lengths are allowed only for the last range added (the odd byte is padded with a
 *   zero byte on the right, as RFC 1071 says).
 * - A *checksum* is the finished 16-bit value, in [0, 0xffff].
 *
 * Nothing here allocates or throws: offsets are trusted (callers check lengths against the frame).
 */

/** Adds the 16-bit value `v` (0..0xffff) to a partial sum. */
export function csumAdd16(partial: number, v: number): number {
  return partial + (v & 0xffff);
}

/** Adds the 32-bit value `v` (as two big-endian 16-bit words) to a partial sum. */
export function csumAdd32(partial: number, v: number): number {
  return partial + (v >>> 16) + (v & 0xffff);
}

/**
 * Adds `len` bytes of `buf` from `off` as big-endian 16-bit words to a partial sum and returns the new
 * partial sum (folded to at most 17 bits so that long chains of calls stay exact).
 */
export function csumContinue(partial: number, buf: Uint8Array, off: number, len: number): number {
  let sum = 0;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i === end) sum += buf[i]! << 8;
  // sum < 2^32 for len < 128 KiB; fold once so the caller's accumulator stays small.
  return partial + (sum % 0x10000) + Math.floor(sum / 0x10000);
}

/** Folds a partial sum to 16 bits with end-around carry: result in [0, 0xffff], 0 only for 0. */
export function csumFold(partial: number): number {
  let x = partial;
  while (x > 0xffff) x = (x % 0x10000) + Math.floor(x / 0x10000);
  return x;
}

/** Finishes a partial sum into a checksum: the ones' complement of the folded sum. */
export function csumFinish(partial: number): number {
  return ~csumFold(partial) & 0xffff;
}

/** The Internet checksum of `len` bytes of `buf` from `off` (OVS csum()). */
export function csum(buf: Uint8Array, off: number, len: number): number {
  return csumFinish(csumContinue(0, buf, off, len));
}

/**
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum after a 16-bit field covered by it changed
 * from `oldU16` to `newU16`, given the old checksum field `oldCsum` (OVS recalc_csum16).
 */
export function recalcCsum16(oldCsum: number, oldU16: number, newU16: number): number {
  let sum = (~oldCsum & 0xffff) + (~oldU16 & 0xffff) + (newU16 & 0xffff);
  // Two folds: three 16-bit terms can sum to 0x1ffff, whose first fold is 0x10000. OVS's C
  // recalc_csum16 folds once into a uint16_t and so drops that carry (an off-by-one when the old
  // checksum and the old field are both 0); a full recomputation never does.
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** As `recalcCsum16` for a 32-bit field (e.g. an IPv4 address), given as unsigned or signed 32-bit ints. */
export function recalcCsum32(oldCsum: number, oldU32: number, newU32: number): number {
  return recalcCsum16(recalcCsum16(oldCsum, oldU32 & 0xffff, newU32 & 0xffff), oldU32 >>> 16, newU32 >>> 16);
}

/**
 * As `recalcCsum16` for a 128-bit field (an IPv6 address) changing from the 16 bytes at
 * `oldBuf[oldOff..]` to the 16 bytes at `newBuf[newOff..]` (OVS recalc_csum128).
 * Read both before overwriting the field in place.
 */
export function recalcCsum128(
  oldCsum: number, oldBuf: Uint8Array, oldOff: number, newBuf: Uint8Array, newOff: number,
): number {
  let c = oldCsum;
  for (let i = 0; i < 16; i += 2) {
    c = recalcCsum16(c, (oldBuf[oldOff + i]! << 8) | oldBuf[oldOff + i + 1]!,
      (newBuf[newOff + i]! << 8) | newBuf[newOff + i + 1]!);
  }
  return c;
}

/**
 * As `recalcCsum128` with the new address given as 4 words of a Uint32Array at `newWords[ni..ni+3]`,
 * most significant first (the flow key layout of ipv6_src/ipv6_dst, see flow-layout.ts).
 */
export function recalcCsum128Words(
  oldCsum: number, oldBuf: Uint8Array, oldOff: number, newWords: Uint32Array, ni: number,
): number {
  let c = oldCsum;
  for (let w = 0; w < 4; w++) {
    const o = oldOff + w * 4;
    const n = newWords[ni + w]!;
    c = recalcCsum16(c, (oldBuf[o]! << 8) | oldBuf[o + 1]!, n >>> 16);
    c = recalcCsum16(c, (oldBuf[o + 2]! << 8) | oldBuf[o + 3]!, n & 0xffff);
  }
  return c;
}

/**
 * Partial sum of the IPv4 pseudo-header (RFC 793 / RFC 768): source and destination address read
 * from the IPv4 header at `ipOff` (bytes 12..19), the protocol `proto`, and `l4Len`, the length in
 * bytes of the TCP/UDP header plus payload (OVS packet_csum_pseudoheader).
 */
export function pseudoSumIPv4(buf: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  return csumContinue(0, buf, ipOff + 12, 8) + (proto & 0xff) + (l4Len & 0xffff);
}

/**
 * Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1): source and destination read from the IPv6
 * header at `ipOff` (bytes 8..39), the 32-bit upper-layer length `l4Len` and the next header value
 * `proto` (OVS packet_csum_pseudoheader6). With a routing header the RFC wants the final destination;
 * like OVS, this uses the header's destination field.
 */
export function pseudoSumIPv6(buf: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  return csumContinue(0, buf, ipOff + 8, 32) + (l4Len >>> 16) + (l4Len & 0xffff) + (proto & 0xff);
}

/**
 * As `pseudoSumIPv6` with the 16-byte source and destination addresses read from `srcOff` and
 * `dstOff`: for a packet with a routing header whose final destination (RFC 8200 §8.1) is the
 * header's last address, not the IPv6 destination field.
 */
export function pseudoSumIPv6Addrs(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, l4Len: number): number {
  return csumContinue(csumContinue(0, buf, srcOff, 16), buf, dstOff, 16) + (l4Len >>> 16) + (l4Len & 0xffff) + (proto & 0xff);
}

/**
 * The checksum an L4 segment should carry: the pseudo-header partial sum `pseudo` plus the `l4Len`
 * bytes at `l4Off`, with the 2-byte checksum field at `l4Off + csumFieldOff` counted as zero
 * (TCP: 16, UDP: 6, ICMPv6: 2; ICMP: pass pseudo = 0). For UDP apply `udpCsumOut` to the result.
 * `csumFieldOff` must be even (it is for every protocol above).
 */
export function l4Checksum(pseudo: number, buf: Uint8Array, l4Off: number, l4Len: number, csumFieldOff: number): number {
  let sum = csumContinue(pseudo, buf, l4Off, csumFieldOff);
  const after = l4Off + csumFieldOff + 2;
  sum = csumContinue(sum, buf, after, l4Off + l4Len - after);
  return csumFinish(sum);
}

/**
 * The IPv4 header checksum of the header at `ipOff` (length from its IHL), computed with the checksum
 * field (bytes 10..11) counted as zero: the value the field should hold.
 */
export function ipv4HeaderChecksum(buf: Uint8Array, ipOff: number): number {
  const hl = (buf[ipOff]! & 0x0f) * 4;
  return csumFinish(csumContinue(csumContinue(0, buf, ipOff, 10), buf, ipOff + 12, hl - 12));
}

/**
 * UDP transmits a computed checksum of 0 as 0xffff, because 0 in the field means "no checksum"
 * (RFC 768; RFC 8200 §8.1 for IPv6). Returns the value to write in the field.
 */
export function udpCsumOut(computed: number): number {
  return computed === 0 ? 0xffff : computed;
}

/**
 * The UDP checksum field after an incremental update: a field of 0 ("no checksum") stays 0, otherwise
 * the recalculated value with 0 written as 0xffff (OVS packet_set_udp_port / packet_update_csum128).
 * Pass the old field and the result of `recalcCsum16/32/128` computed from it.
 */
export function udpCsumUpdate(oldField: number, recalculated: number): number {
  if (oldField === 0) return 0;
  return recalculated === 0 ? 0xffff : recalculated;
}

/** Reads a big-endian 16-bit value (e.g. a checksum field). */
export function getBe16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/** Writes a big-endian 16-bit value (e.g. a checksum field). */
export function putBe16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 8;
  buf[off + 1] = v;
}
