/**
 * Prints datapath actions in OVS's ODP action syntax, as `ovs-appctl dpctl/dump-flows` and
 * `ofproto/trace` ("Datapath actions:") show them (lib/odp-util.c format_odp_actions):
 *   `2,push_vlan(vid=10,pcp=0),3`, `set(ipv4(src=10.0.0.1,ttl=63))`, `userspace(pid=0,userdata(01020304))`,
 *   and `drop` for the empty list.
 * A masked set prints only the fields its mask touches, with `/mask` when partial; a plain set
 * prints every field of the key (OVS's "verbose" form, e.g. `set(tcp(src=1,dst=2))`).
 * Ports print as numbers, or by name with `opts.portName` (`dpctl --names`, implied by -m: OVS
 * odp_portno_name_format, names as they are). Control plane only.
 */
import { decodeOdpActions, type OdpAction } from './encoding.js';
import { formatIpv4, formatIpv6, formatMac, hexAlt, hexBytes } from './text.js';

const FRAG_NAMES = ['no', 'first', 'later'];

/** Options of the action printers. */
export interface FormatOdpActionsOptions {
  /** The name of datapath port `odpPort` for `output`, or undefined for its number. */
  portName?: (odpPort: number) => string | undefined;
}

/** Formats an encoded action list (throws RangeError if the bytes are malformed). */
export function formatOdpActions(blob: Uint8Array, off = 0, len = blob.length - off, opts?: FormatOdpActionsOptions): string {
  return formatOdpActionList(decodeOdpActions(blob, off, len), opts);
}

/** Formats action objects; the empty list is `drop`. */
export function formatOdpActionList(actions: readonly OdpAction[], opts?: FormatOdpActionsOptions): string {
  if (actions.length === 0) return 'drop';
  return actions.map((a) => formatOdpAction(a, opts)).join(',');
}

export function formatOdpAction(a: OdpAction, opts?: FormatOdpActionsOptions): string {
  switch (a.type) {
    case 'output':
      return opts?.portName?.(a.port) ?? String(a.port);
    case 'userspace':
      return `userspace(pid=${a.pid}${a.userdata ? `,userdata(${hexBytes(a.userdata)})` : ''})`;
    case 'push_vlan': {
      const f: string[] = [];
      if (a.tpid !== 0x8100) f.push('tpid=0x' + a.tpid.toString(16).padStart(4, '0'));
      f.push(`vid=${a.tci & 0xfff}`, `pcp=${a.tci >> 13}`);
      if (!(a.tci & 0x1000)) f.push('cfi=0');
      return `push_vlan(${f.join(',')})`;
    }
    case 'pop_vlan':
      return 'pop_vlan';
    case 'set':
      return `set(${a.key}(${formatSetFields(a)}))`;
  }
}

function allOnes(m: Uint8Array, off: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (m[off + i] !== 0xff) return false;
  return true;
}
function allZero(m: Uint8Array, off: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (m[off + i] !== 0) return false;
  return true;
}
function be16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}
function be32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Field printers: `m` null = plain set (print every field, no masks). */
type Put = (name: string, v: Uint8Array, m: Uint8Array | null, off: number) => string | null;

const putMac: Put = (name, v, m, off) => {
  if (m && allZero(m, off, 6)) return null;
  if (!m || allOnes(m, off, 6)) return `${name}=${formatMac(v, off)}`;
  return `${name}=${formatMac(v, off)}/${formatMac(m, off)}`;
};
const putIp4: Put = (name, v, m, off) => {
  if (m && allZero(m, off, 4)) return null;
  if (!m || allOnes(m, off, 4)) return `${name}=${formatIpv4(v, off)}`;
  return `${name}=${formatIpv4(v, off)}/${formatIpv4(m, off)}`;
};
const putIp6: Put = (name, v, m, off) => {
  if (m && allZero(m, off, 16)) return null;
  if (!m || allOnes(m, off, 16)) return `${name}=${formatIpv6(v, off)}`;
  return `${name}=${formatIpv6(v, off)}/${formatIpv6(m, off)}`;
};
/** format_u8u: decimal value, `/%#x` mask. */
const putU8u: Put = (name, v, m, off) => {
  if (m && m[off] === 0) return null;
  if (!m || m[off] === 0xff) return `${name}=${v[off]}`;
  return `${name}=${v[off]}/${hexAlt(m[off]!)}`;
};
/** format_u8x: `%#x` value and mask. */
const putU8x: Put = (name, v, m, off) => {
  if (m && m[off] === 0) return null;
  if (!m || m[off] === 0xff) return `${name}=${hexAlt(v[off]!)}`;
  return `${name}=${hexAlt(v[off]!)}/${hexAlt(m[off]!)}`;
};
/** format_be16: decimal value, `/%#x` mask. */
const putBe16: Put = (name, v, m, off) => {
  if (m && be16(m, off) === 0) return null;
  if (!m || be16(m, off) === 0xffff) return `${name}=${be16(v, off)}`;
  return `${name}=${be16(v, off)}/${hexAlt(be16(m, off))}`;
};
/** format_ipv6_label: `%#x`; the mask counts as full when its 20 label bits are all set. */
const putLabel: Put = (name, v, m, off) => {
  if (m && be32(m, off) === 0) return null;
  if (!m || (be32(m, off) & 0xfffff) === 0xfffff) return `${name}=${hexAlt(be32(v, off))}`;
  return `${name}=${hexAlt(be32(v, off))}/${hexAlt(be32(m, off))}`;
};
/** format_frag: enumeration; partial masks print OVS's error text. */
const putFrag: Put = (name, v, m, off) => {
  if (m && m[off] === 0) return null;
  if (m && m[off] !== 0xff) return `error: partial mask not supported for frag (${hexAlt(m[off]!)})`;
  return `${name}=${FRAG_NAMES[v[off]!] ?? '<error>'}`;
};

const FIELDS: Record<string, [string, Put, number][]> = {
  eth: [['src', putMac, 0], ['dst', putMac, 6]],
  ipv4: [['src', putIp4, 0], ['dst', putIp4, 4], ['proto', putU8u, 8], ['tos', putU8x, 9], ['ttl', putU8u, 10], ['frag', putFrag, 11]],
  ipv6: [
    ['src', putIp6, 0], ['dst', putIp6, 16], ['label', putLabel, 32], ['proto', putU8u, 36],
    ['tclass', putU8x, 37], ['hlimit', putU8u, 38], ['frag', putFrag, 39],
  ],
  tcp: [['src', putBe16, 0], ['dst', putBe16, 2]],
  udp: [['src', putBe16, 0], ['dst', putBe16, 2]],
};

function formatSetFields(a: Extract<OdpAction, { type: 'set' }>): string {
  const m = allOnes(a.mask, 0, a.mask.length) ? null : a.mask;
  const out: string[] = [];
  for (const [name, put, off] of FIELDS[a.key]!) {
    const s = put(name, a.value, m, off);
    if (s !== null) out.push(s);
  }
  return out.join(',');
}
