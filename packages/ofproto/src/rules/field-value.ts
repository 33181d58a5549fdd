/**
 * Reading and printing `set_field` values: OVS 3.1 `mf_parse()` / `mf_format()` (lib/meta-flow.c)
 * for the fields of ./fields.ts. Values and masks are field words (see ./fields.ts).
 *
 * Syntax by field format: integers in C syntax (`0x` hex, `0` octal, decimal) with an optional
 * `/mask`; Ethernet `xx:xx:xx:xx:xx:xx[/mask]`; IPv4 `a.b.c.d[/N|/mask]`; IPv6 `addr[/N|/mask]`;
 * ports by number or name; `*` for "any" (zero value and mask). Like @tsvs/packet's match parser,
 * integers too large for the field are refused (ovs-ofctl truncates decimal ones silently).
 */
import {
  formatEthMasked, formatIp4Masked, formatIp6Masked, parseUintText, parseIp4Masked, parseIp6Masked,
  parseEthMasked
} from '@tsvs/packet';
import { fieldWords, type OfField } from './fields.js';
import { formatPort, parsePort, type PortMap } from './ports.js';
import { OfctlSyntaxError } from './tokenize.js';

/** Field value and mask, as field words. */
export interface FieldValue {
  value: number[];
  mask: number[];
}

function allOnes(fd: OfField): number[] {
  const n = fieldWords(fd);
  if (n === 1) return [fd.nBytes >= 4 ? 0xffffffff : 2 ** (8 * fd.nBytes) - 1];
  if (n === 2) return [0xffff, 0xffffffff];
  return [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
}

function isZero(w: readonly number[]): boolean {
  return w.every((x) => x === 0);
}

function isAllOnes(fd: OfField, w: readonly number[]): boolean {
  const ones = allOnes(fd);
  return w.every((x, i) => x >>> 0 === ones[i]);
}

/**
 * OVS `mf_parse` of `s` for field `fd`.
 * @throws OfctlSyntaxError naming `s` and the field when malformed, and
 *   `<s>: invalid mask for field <name>` for a partial mask on a field that cannot be masked.
 */
export function parseFieldValue(fd: OfField, s: string, portMap?: PortMap): FieldValue {
  const n = fieldWords(fd);
  if (s === '*') return { value: new Array<number>(n).fill(0), mask: new Array<number>(n).fill(0) };
  let fv: FieldValue | undefined;
  switch (fd.format) {
    case 'decimal':
    case 'hexadecimal': {
      const slash = s.indexOf('/');
      const bytes = Math.min(fd.nBytes, 4);
      const v = parseUintText(slash < 0 ? s : s.slice(0, slash), bytes);
      if (v === undefined) throw new OfctlSyntaxError(`${s}: bad syntax for ${fd.name} value`);
      let m = allOnes(fd)[0]!;
      if (slash >= 0) {
        const mv = parseUintText(s.slice(slash + 1), bytes);
        if (mv === undefined) throw new OfctlSyntaxError(`${s}: bad syntax for ${fd.name} mask`);
        m = mv;
      }
      fv = { value: [v], mask: [m] };
      break;
    }
    case 'ethernet': {
      const e = parseEthMasked(s);
      if (!e) throw new OfctlSyntaxError(`${s}: invalid Ethernet address for ${fd.name}`);
      fv = { value: [e[0], e[1]], mask: [e[2], e[3]] };
      break;
    }
    case 'ipv4': {
      const a = parseIp4Masked(s);
      if (!a) throw new OfctlSyntaxError(`${s}: invalid IP address for ${fd.name}`);
      fv = { value: [a[0]], mask: [a[1]] };
      break;
    }
    case 'ipv6': {
      const value = [0, 0, 0, 0];
      const mask = [0, 0, 0, 0];
      if (!parseIp6Masked(s, value, 0, mask, 0)) throw new OfctlSyntaxError(`${s}: invalid IPv6 address for ${fd.name}`);
      fv = { value: value.map((x) => x >>> 0), mask: mask.map((x) => x >>> 0) };
      break;
    }
    case 'ofp_port': {
      const p = parsePort(s, portMap);
      if (p === undefined) throw new OfctlSyntaxError(`${s}: port value out of range for ${fd.name}`);
      fv = { value: [p], mask: allOnes(fd) };
      break;
    }
    default:
      throw new OfctlSyntaxError(`${fd.name} is read-only`);
  }
  if (!fd.maskable && !isZero(fv.mask) && !isAllOnes(fd, fv.mask)) {
    throw new OfctlSyntaxError(`${s}: invalid mask for field ${fd.name}`);
  }
  return fv;
}

/** OVS `mf_format`: `ANY` for a zero mask, no `/mask` for an all-ones mask. */
export function formatFieldValue(fd: OfField, value: readonly number[], mask: readonly number[], portMap?: PortMap): string {
  if (isZero(mask)) return 'ANY';
  const exact = isAllOnes(fd, mask);
  switch (fd.format) {
    case 'ofp_port':
      if (exact) return formatPort(value[0]!, portMap);
      return formatInt(fd, value[0]!, mask[0]!, false);
    case 'decimal':
    case 'hexadecimal':
      return formatInt(fd, value[0]!, mask[0]!, exact);
    case 'ethernet':
      return formatEthMasked(value[0]!, value[1]!, exact ? 0xffff : mask[0]!, exact ? 0xffffffff : mask[1]!);
    case 'ipv4':
      return formatIp4Masked(value[0]!, exact ? 0xffffffff : mask[0]!);
    case 'ipv6':
      return exact
        ? formatIp6Masked(value[0]!, value[1]!, value[2]!, value[3]!, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)
        : formatIp6Masked(value[0]!, value[1]!, value[2]!, value[3]!, mask[0]!, mask[1]!, mask[2]!, mask[3]!);
    default:
      return formatInt(fd, value[0]!, mask[0]!, exact);
  }
}

/** OVS `ds_put_hex` of a big-endian value: `0x` then hex without leading zeros; `0` for zero. */
function putHex(v: number): string {
  return v === 0 ? '0' : '0x' + (v >>> 0).toString(16);
}

/** OVS `mf_format_integer_string`: decimal or hex value, then `/0x..` mask unless exact. */
function formatInt(fd: OfField, v: number, m: number, exact: boolean): string {
  const s = fd.format === 'hexadecimal' ? putHex(v) : String(v >>> 0);
  return exact ? s : `${s}/${putHex(m)}`;
}
