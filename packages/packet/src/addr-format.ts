/**
 * Address and mask printing as Open vSwitch prints them (lib/packets.c): Ethernet `ETH_ADDR_FMT`
 * (lower-case hex, colon separated), IPv4 `IP_FMT` with `/N` for CIDR masks or `/a.b.c.d` otherwise
 * (`ip_format_masked`), IPv6 through glibc `inet_ntop` (RFC 5952-like: longest run of two or more
 * zero groups as `::`, first run on ties, `::a.b.c.d` / `::ffff:a.b.c.d` forms) with `/N` or
 * `/address` masks (`ipv6_format_masked`).
 *
 * Inputs are words from the flow key layout (./flow-layout.ts): a MAC is a 16-bit `hi` word (bytes
 * 0..1) and a 32-bit `lo` word (bytes 2..5); an IPv6 address is 4 words, most significant first.
 */

function hex2(b: number): string {
  return (b < 16 ? '0' : '') + b.toString(16);
}

/** `xx:xx:xx:xx:xx:xx` from the hi (16-bit) and lo (32-bit) words. */
export function formatEth(hi: number, lo: number): string {
  return `${hex2((hi >>> 8) & 0xff)}:${hex2(hi & 0xff)}:${hex2(lo >>> 24)}:${hex2((lo >>> 16) & 0xff)}:${hex2((lo >>> 8) & 0xff)}:${hex2(lo & 0xff)}`;
}

/** OVS `eth_format_masked`: the address, then `/mask` unless the mask is all ones. */
export function formatEthMasked(hi: number, lo: number, mhi: number, mlo: number): string {
  const s = formatEth(hi, lo);
  return (mhi & 0xffff) === 0xffff && mlo >>> 0 === 0xffffffff ? s : `${s}/${formatEth(mhi, mlo)}`;
}

/** Dotted quad of a 32-bit word. */
export function formatIp4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}

/** True if the 32-bit mask is leading ones then zeros (OVS `ip_is_cidr`). */
export function ip4IsCidr(mask: number): boolean {
  const x = ~mask >>> 0;
  return ((x & (x + 1)) >>> 0) === 0 || x === 0xffffffff;
}

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** OVS `ip_format_masked`. */
export function formatIp4Masked(ip: number, mask: number): string {
  const s = formatIp4(ip);
  mask >>>= 0;
  if (mask === 0xffffffff) return s;
  return ip4IsCidr(mask) ? `${s}/${popcount32(mask)}` : `${s}/${formatIp4(mask)}`;
}

/** glibc `inet_ntop(AF_INET6)` of 4 words (most significant first). */
export function formatIp6(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      s += formatIp4(w3);
      return s;
    }
    s += g[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ':';
  return s;
}

/** Number of leading one bits if the 128-bit mask is CIDR-shaped, else -1 (OVS `ipv6_is_cidr`). */
export function ip6CidrBits(m0: number, m1: number, m2: number, m3: number): number {
  const ws = [m0 >>> 0, m1 >>> 0, m2 >>> 0, m3 >>> 0];
  let bits = 0;
  let i = 0;
  for (; i < 4 && ws[i] === 0xffffffff; i++) bits += 32;
  if (i < 4) {
    if (!ip4IsCidr(ws[i]!)) return -1;
    bits += popcount32(ws[i]!);
    for (i++; i < 4; i++) if (ws[i] !== 0) return -1;
  }
  return bits;
}

/** OVS `ipv6_format_masked`: address, then `/N` (CIDR) or `/mask-address` unless exact. */
export function formatIp6Masked(
  a0: number, a1: number, a2: number, a3: number,
  m0: number, m1: number, m2: number, m3: number,
): string {
  const s = formatIp6(a0, a1, a2, a3);
  const bits = ip6CidrBits(m0, m1, m2, m3);
  if (bits === 128) return s;
  return bits >= 0 ? `${s}/${bits}` : `${s}/${formatIp6(m0, m1, m2, m3)}`;
}
