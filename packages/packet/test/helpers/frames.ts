/**
 * Tiny frame builder for tests: each function returns header bytes as number[]; `frame(...)`
 * concatenates parts into a Uint8Array. Lengths (IPv4 total length, IPv6 payload length) are
 * computed from the payload unless given. Checksums are left 0 (flow extraction ignores them).
 */
export type Bytes = number[];

export const u16 = (v: number): Bytes => [(v >>> 8) & 255, v & 255];
export const u32 = (v: number): Bytes => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const mac = (s: string): Bytes => s.split(':').map((x) => parseInt(x, 16));
export const ip4 = (s: string): Bytes => s.split('.').map(Number);
export function ip6(s: string): Bytes {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}
export const hex = (s: string): Bytes => (s.replace(/\s+/g, '').match(/../g) ?? []).map((b) => parseInt(b, 16));
export const zeros = (n: number): Bytes => new Array<number>(n).fill(0);

export function frame(...parts: Bytes[]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

export function eth(dst = '00:00:00:00:00:01', src = '00:00:00:00:00:02'): Bytes {
  return [...mac(dst), ...mac(src)];
}
export const etype = (t: number): Bytes => u16(t);
export const vlan = (tpid: number, tci: number): Bytes => [...u16(tpid), ...u16(tci)];

export interface Ip4Opts {
  src?: string; dst?: string; proto?: number; tos?: number; ttl?: number; frag?: number;
  options?: Bytes; totLen?: number; ihl?: number;
}
export function ipv4(o: Ip4Opts, payload: Bytes = []): Bytes {
  const opts = o.options ?? [];
  const ihl = o.ihl ?? 5 + opts.length / 4;
  const tot = o.totLen ?? 20 + opts.length + payload.length;
  return [
    0x40 | ihl, o.tos ?? 0, ...u16(tot), 0, 1, ...u16(o.frag ?? 0), o.ttl ?? 64, o.proto ?? 0, 0, 0,
    ...ip4(o.src ?? '10.0.0.1'), ...ip4(o.dst ?? '10.0.0.2'), ...opts, ...payload,
  ];
}

export interface Ip6Opts { src?: string; dst?: string; next?: number; tclass?: number; label?: number; hlim?: number; plen?: number }
export function ipv6(o: Ip6Opts, payload: Bytes = []): Bytes {
  const tc = o.tclass ?? 0;
  const fl = o.label ?? 0;
  return [
    ...u32((6 << 28) | (tc << 20) | fl), ...u16(o.plen ?? payload.length), o.next ?? 59, o.hlim ?? 64,
    ...ip6(o.src ?? '2001:db8::1'), ...ip6(o.dst ?? '2001:db8::2'), ...payload,
  ];
}
/** Hop-by-hop / routing / destination options header of (len+1)*8 bytes. */
export const ext6 = (next: number, len = 0): Bytes => [next, len, ...zeros((len + 1) * 8 - 2)];
/** IPv6 fragment header; offlg = offset<<3 | M flag. */
export const frag6 = (next: number, offlg: number, id = 0x1234): Bytes => [next, 0, ...u16(offlg), ...u32(id)];

export function tcp(src: number, dst: number, flags: number, dataOffset = 5): Bytes {
  return [...u16(src), ...u16(dst), ...u32(0), ...u32(0), (dataOffset << 4) | ((flags >> 8) & 0x0f), flags & 0xff, ...u16(8192), 0, 0, 0, 0, ...zeros(Math.max(0, dataOffset * 4 - 20))];
}
export const udp = (src: number, dst: number, payload: Bytes = []): Bytes => [...u16(src), ...u16(dst), ...u16(8 + payload.length), 0, 0, ...payload];
export const sctp = (src: number, dst: number): Bytes => [...u16(src), ...u16(dst), ...u32(0), ...u32(0)];
export const icmp = (type: number, code: number, rest: Bytes = zeros(4)): Bytes => [type, code, 0, 0, ...rest];
export const igmp = (type: number, code: number, group: string): Bytes => [type, code, 0, 0, ...ip4(group)];
export function arp(op: number, sha: string, spa: string, tha: string, tpa: string): Bytes {
  return [...u16(1), ...u16(0x0800), 6, 4, ...u16(op), ...mac(sha), ...ip4(spa), ...mac(tha), ...ip4(tpa)];
}
/** ICMPv6 NS (135) / NA (136): header, reserved/flags word, target, options. */
export function nd(type: number, flags: number, target: string, options: Bytes = []): Bytes {
  return [type, 0, 0, 0, ...u32(flags), ...ip6(target), ...options];
}
/** ND link-layer address option (1 = source, 2 = target). */
export const lla = (type: number, m: string): Bytes => [type, 1, ...mac(m)];
export const mpls = (label: number, tc: number, bos: boolean, ttl: number): Bytes => u32((label << 12) | (tc << 9) | (bos ? 0x100 : 0) | ttl);
