/**
 * Parsing helpers shared by the OVS text formats (./ofctl-parse.ts, ./odp-key.ts): the error type
 * and value scanners with OVS's syntax but strict ranges.
 *
 * Sources: OVS 3.1 lib/util.c `parse_int_string` (integers: `0x` hex of any length whose
 * significant digits fit the field, `0`-prefixed octal, decimal), lib/packets.c
 * `ip_parse_masked_len` / `ipv6_parse_masked_len` / `eth_addr` scanning, glibc `inet_pton`.
 * Where OVS's scanf-based parsing silently wraps (`10.0.0.300` reads as 10.0.0.44, a 3-digit MAC
 * byte is truncated) these scanners reject the value instead.
 *
 * Every scanner returns `undefined` for a malformed string; callers turn that into a
 * `FlowParseError` naming the token. Nothing here allocates per call except the small result
 * objects, and nothing here is on a per-packet path.
 */

/**
 * A malformed flow text (ofctl match or ODP key). `message` is one line naming the bad token,
 * e.g. `unknown field "nw_sourc"` or `bad value "10.0.0.300" for nw_src`; `token` is that token.
 */
export class FlowParseError extends Error {
  readonly token: string;
  constructor(message: string, token: string) {
    super(message);
    this.name = 'FlowParseError';
    this.token = token;
  }
}

const HEX_RE = /^0[xX]([0-9a-fA-F]+)$/;
const OCT_RE = /^0[0-7]*$/;
const DEC_RE = /^[1-9][0-9]*$/;

/**
 * OVS `parse_int_string` for a field of `bytes` bytes (1..4): `0x` hex (leading zeros allowed, at
 * most 2*bytes significant digits), octal with a leading `0`, or decimal. Returns the unsigned value,
 * or undefined if malformed or too large for the field.
 */
export function parseUintText(s: string, bytes: number): number | undefined {
  const max = bytes >= 4 ? 0xffffffff : 2 ** (8 * bytes) - 1;
  let v: number;
  const hex = HEX_RE.exec(s);
  if (hex) {
    const digits = hex[1]!.replace(/^0+/, '');
    if (digits.length > 2 * bytes) return undefined;
    v = digits.length ? Number.parseInt(digits, 16) : 0;
  } else if (OCT_RE.test(s)) {
    if (s.length > 12) return undefined;
    v = Number.parseInt(s, 8);
  } else if (DEC_RE.test(s)) {
    if (s.length > 10) return undefined;
    v = Number.parseInt(s, 10);
  } else {
    return undefined;
  }
  return v <= max ? v : undefined;
}

/**
 * C `%i` conversion as OVS's ODP scanners use it (`SCNi8/16/32`): optional `0x` hex, `0` octal or
 * decimal; the value must fit `bits` bits. Returns undefined otherwise.
 */
export function parseScnI(s: string, bits: number): number | undefined {
  const v = parseUintText(s, 4);
  if (v === undefined) return undefined;
  return bits >= 32 || v < 2 ** bits ? v : undefined;
}

/** Decimal 0..255 with optional leading zeros (OVS `IP_SCAN_FMT` is `%hhu` per octet). */
function octet(s: string): number {
  if (!/^[0-9]{1,3}$/.test(s)) return -1;
  const v = Number.parseInt(s, 10);
  return v <= 255 ? v : -1;
}

/** A dotted-quad IPv4 address as a 32-bit word, or undefined. */
export function parseIp4(s: string): number | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  let w = 0;
  for (const part of p) {
    const o = octet(part);
    if (o < 0) return undefined;
    w = ((w << 8) | o) >>> 0;
  }
  return w;
}

/** A 32-bit mask of `n` leading ones (0..32). */
export function prefixMask32(n: number): number {
  return n <= 0 ? 0 : n >= 32 ? 0xffffffff : (0xffffffff << (32 - n)) >>> 0;
}

/**
 * OVS `ip_parse_masked`: `a.b.c.d`, `a.b.c.d/N` (0..32) or `a.b.c.d/m.m.m.m`.
 * Returns [address, mask] or undefined.
 */
export function parseIp4Masked(s: string): [number, number] | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) {
    const a = parseIp4(s);
    return a === undefined ? undefined : [a, 0xffffffff];
  }
  const a = parseIp4(s.slice(0, slash));
  if (a === undefined) return undefined;
  const rest = s.slice(slash + 1);
  if (/^[0-9]{1,2}$/.test(rest)) {
    const n = Number.parseInt(rest, 10);
    return n <= 32 ? [a, prefixMask32(n)] : undefined;
  }
  const m = parseIp4(rest);
  return m === undefined ? undefined : [a, m];
}

/**
 * glibc `inet_pton(AF_INET6)`: eight groups of 1..4 hex digits, one `::` for a run of zero
 * groups, an optional trailing dotted quad. Writes 4 words (most significant first) into
 * `out[at..at+3]`; returns false if malformed.
 */
export function parseIp6(s: string, out: Uint32Array | number[], at: number): boolean {
  const groups: number[] = [];
  let dbl = -1;
  let i = 0;
  const n = s.length;
  if (n === 0) return false;
  if (s.startsWith('::')) {
    dbl = 0;
    i = 2;
    if (i === n) {
      for (let j = 0; j < 4; j++) out[at + j] = 0;
      return true;
    }
  } else if (s[0] === ':') {
    return false;
  }
  for (;;) {
    // One group: hex digits, or a dotted quad if it is the last thing.
    let j = i;
    while (j < n && /[0-9a-fA-F]/.test(s[j]!)) j++;
    if (j < n && s[j] === '.') {
      // glibc inet_pton4 (used for the embedded IPv4 part) rejects octets with leading zeros.
      const tail = s.slice(i);
      const v4 = /(^|\.)0[0-9]/.test(tail) ? undefined : parseIp4(tail);
      if (v4 === undefined || groups.length > 6) return false;
      groups.push(v4 >>> 16, v4 & 0xffff);
      break;
    }
    if (j === i || j - i > 4) return false;
    groups.push(Number.parseInt(s.slice(i, j), 16));
    if (j === n) break;
    if (s[j] !== ':') return false;
    if (s[j + 1] === ':') {
      if (dbl >= 0) return false;
      dbl = groups.length;
      i = j + 2;
      if (i === n) break;
    } else {
      i = j + 1;
      if (i === n) return false;
    }
    if (groups.length > 8) return false;
  }
  if (dbl >= 0) {
    if (groups.length > 7) return false;
    const fill = 8 - groups.length;
    groups.splice(dbl, 0, ...new Array<number>(fill).fill(0));
  } else if (groups.length !== 8) {
    return false;
  }
  for (let w = 0; w < 4; w++) out[at + w] = ((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0;
  return true;
}

/** Writes a 128-bit mask of `n` leading ones (0..128) into `out[at..at+3]`. */
export function prefixMask128(n: number, out: Uint32Array | number[], at: number): void {
  for (let w = 0; w < 4; w++) out[at + w] = prefixMask32(n - 32 * w);
}

/**
 * OVS `ipv6_parse_masked`: `addr`, `addr/N` (0..128) or `addr/maskaddr`. Writes the address into
 * `addr[a..a+3]` and the mask into `mask[m..m+3]`; returns false if malformed.
 */
export function parseIp6Masked(
  s: string, addr: Uint32Array | number[], a: number, mask: Uint32Array | number[], m: number,
): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!parseIp6(s, addr, a)) return false;
    for (let w = 0; w < 4; w++) mask[m + w] = 0xffffffff;
    return true;
  }
  if (!parseIp6(s.slice(0, slash), addr, a)) return false;
  const rest = s.slice(slash + 1);
  if (/^[0-9]{1,3}$/.test(rest)) {
    const n = Number.parseInt(rest, 10);
    if (n > 128) return false;
    prefixMask128(n, mask, m);
    return true;
  }
  return parseIp6(rest, mask, m);
}

/**
 * An Ethernet address `xx:xx:xx:xx:xx:xx` (1 or 2 hex digits per byte, as OVS's `%hhx` scan
 * accepts) as [hi16, lo32], or undefined.
 */
export function parseEth(s: string): [number, number] | undefined {
  const p = s.split(':');
  if (p.length !== 6) return undefined;
  const b: number[] = [];
  for (const part of p) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(part)) return undefined;
    b.push(Number.parseInt(part, 16));
  }
  return [(b[0]! << 8) | b[1]!, ((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0];
}

/** `mac` or `mac/mac` as [hi, lo, maskHi, maskLo], or undefined. */
export function parseEthMasked(s: string): [number, number, number, number] | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) {
    const e = parseEth(s);
    return e === undefined ? undefined : [e[0], e[1], 0xffff, 0xffffffff];
  }
  const e = parseEth(s.slice(0, slash));
  const m = parseEth(s.slice(slash + 1));
  return e === undefined || m === undefined ? undefined : [e[0], e[1], m[0], m[1]];
}

/** TCP flag names by bit (OVS `packet_tcp_flag_to_string`), bits 0x001..0x800. */
export const TCP_FLAG_BITS: ReadonlyArray<readonly [number, string]> = [
  [0x001, 'fin'], [0x002, 'syn'], [0x004, 'rst'], [0x008, 'psh'], [0x010, 'ack'], [0x020, 'urg'],
  [0x040, 'ece'], [0x080, 'cwr'], [0x100, 'ns'], [0x200, '[200]'], [0x400, '[400]'], [0x800, '[800]'],
];

/**
 * OVS `parse_flags` for TCP flags (lib/flow.c), with `allowed` = 0x0fff:
 * - `N/M` numbers (C `%i`): flags N under mask M;
 * - `+syn-ack...`: the named bits set (+) or clear (-), mask = the named bits;
 * - `syn|ack|0x10...`: exact flags, mask `exactMask` (OVS: all ones).
 * Returns [flags, mask] or a string describing the error.
 */
export function parseTcpFlagsText(s: string, exactMask: number): [number, number] | string {
  const allowed = 0x0fff;
  const slash = /^([^/]+)\/([^/]+)$/.exec(s);
  if (slash && parseScnI(slash[1]!, 32) !== undefined) {
    const f = parseScnI(slash[1]!, 32);
    const m = parseScnI(slash[2]!, 32);
    if (f === undefined || m === undefined) return 'bad TCP flags mask';
    if ((f & ~allowed) || (m & ~allowed)) return 'unknown TCP flag(s)';
    return [f, m];
  }
  if (s[0] === '+' || s[0] === '-') {
    let flags = 0;
    let mask = 0;
    let i = 0;
    while (i < s.length) {
      const set = s[i] === '+';
      if (s[i] !== '+' && s[i] !== '-') return "TCP flags must each be preceded by '+' (set) or '-' (not set)";
      i++;
      let j = i;
      while (j < s.length && s[j] !== '+' && s[j] !== '-') j++;
      const name = s.slice(i, j);
      const entry = TCP_FLAG_BITS.find(([, n]) => n === name);
      if (!entry) return `unknown TCP flag "${name}"`;
      if (mask & entry[0]) return `TCP flag "${name}" given twice`;
      mask |= entry[0];
      if (set) flags |= entry[0];
      i = j;
    }
    return [flags, mask];
  }
  if (s.length === 0) return 'empty TCP flags';
  let flags = 0;
  for (const part of s.split('|')) {
    const num = parseScnI(part, 32);
    if (num !== undefined) {
      if (num & ~allowed) return 'unknown TCP flag(s)';
      flags |= num;
      continue;
    }
    const entry = TCP_FLAG_BITS.find(([, n]) => n === part);
    if (!entry) return `unknown TCP flag "${part}"`;
    flags |= entry[0];
  }
  return [flags, exactMask];
}

/** Sets bits `fieldMask` of word `w` in key/mask to value/mask (both pre-shifted), key masked. */
export function setWordBits(
  key: Uint32Array, k: number, mask: Uint32Array, m: number, w: number,
  fieldMask: number, value: number, valueMask: number,
): void {
  const vm = valueMask & fieldMask;
  mask[m + w] = ((mask[m + w]! & ~fieldMask) | vm) >>> 0;
  key[k + w] = ((key[k + w]! & ~fieldMask) | (value & vm)) >>> 0;
}
