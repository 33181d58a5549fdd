/**
 * Small text helpers shared by the ODP action printer and parser: the number, MAC, IPv4 and
 * IPv6 notations that OVS's lib/odp-util.c prints with printf/inet_ntop and reads with
 * ovs_scan/inet_pton. Control plane only (they allocate strings).
 */

const HEX = '0123456789abcdef';

/** C's `%#x`: "0" for zero, else "0x" and lowercase hex digits. */
export function hexAlt(n: number): string {
  return n === 0 ? '0' : '0x' + (n >>> 0).toString(16);
}

/** `%02x` per byte. */
export function hexBytes(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const v = b[off + i]!;
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/** ETH_ADDR_FMT: `xx:xx:xx:xx:xx:xx`. */
export function formatMac(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const v = b[off + i]!;
    if (i) s += ':';
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/** IP_FMT: dotted quad. */
export function formatIpv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/**
 * IPv6 text as glibc's inet_ntop prints it (what OVS shows): lowercase, the longest run of two
 * or more zero groups (the first one on a tie) as "::", and IPv4-compatible/-mapped addresses
 * with a dotted quad tail (`::1.2.3.4`, `::ffff:1.2.3.4`).
 */
export function formatIpv6(b: Uint8Array, off: number): string {
  const w = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase >= 0 && bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += formatIpv4(b, off + 12);
      break;
    }
    s += w[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

/**
 * Reads an integer the way C's `%i` does: optional sign, then `0x` hex, `0` octal or decimal.
 * Returns the number of characters consumed (0 if none) and the value in `out[0]`.
 */
export function scanInt(s: string, pos: number, out: number[]): number {
  let i = pos;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  let base = 10;
  let digits = '0123456789';
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    digits = '0123456789abcdef';
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
    digits = '01234567';
  }
  const start = i;
  let v = 0;
  while (i < s.length) {
    const d = digits.indexOf(s[i]!.toLowerCase());
    if (d < 0) break;
    v = v * base + d;
    i++;
  }
  if (i === start) return 0;
  out[0] = neg ? -v : v;
  return i - pos;
}

/** Reads `xx:xx:xx:xx:xx:xx` (1 or 2 hex digits per byte) into `dst[at..at+6)`; returns chars read or 0. */
export function scanMac(s: string, pos: number, dst: Uint8Array, at: number): number {
  const m = /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})/.exec(
    s.slice(pos),
  );
  if (!m) return 0;
  for (let i = 0; i < 6; i++) dst[at + i] = parseInt(m[i + 1]!, 16);
  return m[0].length;
}

/** Reads a dotted quad into `dst[at..at+4)`; returns chars read or 0. */
export function scanIpv4(s: string, pos: number, dst: Uint8Array, at: number): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/.exec(s.slice(pos));
  if (!m) return 0;
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return 0;
    dst[at + i] = v;
  }
  return m[0].length;
}

/**
 * Reads an IPv6 address (inet_pton syntax, including a dotted-quad tail) made of the characters
 * OVS's IPV6_SCAN_FMT accepts, into `dst[at..at+16)`; returns chars read or 0.
 */
export function scanIpv6(s: string, pos: number, dst: Uint8Array, at: number): number {
  const m = /^[0-9a-fA-F:.]{2,46}/.exec(s.slice(pos));
  if (!m) return 0;
  return parseIpv6(m[0], dst, at) ? m[0].length : 0;
}

/** Parses colon groups, a dotted quad allowed only as the last group when `quadOk`. */
function ipv6Groups(p: string, quadOk: boolean): number[] | null {
  if (p === '') return [];
  const out: number[] = [];
  const groups = p.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (quadOk && i === groups.length - 1 && g.includes('.')) {
      const q = new Uint8Array(4);
      if (scanIpv4(g, 0, q, 0) !== g.length) return null;
      out.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    out.push(parseInt(g, 16));
  }
  return out;
}

function parseIpv6(text: string, dst: Uint8Array, at: number): boolean {
  let words: number[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return false;
    const head = ipv6Groups(text.slice(0, dbl), false);
    const rest = ipv6Groups(text.slice(dbl + 2), true);
    if (!head || !rest || head.length + rest.length > 7) return false;
    words = head.slice();
    while (words.length + rest.length < 8) words.push(0);
    words.push(...rest);
  } else {
    const all = ipv6Groups(text, true);
    if (!all || all.length !== 8) return false;
    words = all;
  }
  for (let i = 0; i < 8; i++) {
    dst[at + 2 * i] = words[i]! >> 8;
    dst[at + 2 * i + 1] = words[i]! & 0xff;
  }
  return true;
}
