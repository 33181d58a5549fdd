/**
 * Number syntax and the error type of ovs-ofctl rule and action parsing: the `strtol(.., 0)`
 * rules behind OVS 3.1 `str_to_u8/u16/u32/u64` (lib/ofp-parse.c, lib/util.c) and the decimal-only
 * `str_to_uint(s, 10, ..)` used for table numbers. (Items are split with `tokenizeMatch` from
 * @tsvs/packet, OVS `ofputil_parse_key_value`.)
 */

/**
 * C `strtoll(s, &tail, 0)` over the whole string: optional sign, `0x` hex, leading-`0` octal, else
 * decimal; the whole string must be consumed. Returns a bigint, or undefined if `s` is not a number.
 */
export function parseCInteger(s: string): bigint | undefined {
  const m = /^[ \t\n\r\f\v]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body.startsWith('0')) v = BigInt('0o' + body.slice(1));
  else v = BigInt(body);
  return m[1] === '-' ? -v : v;
}

/** Strictly decimal unsigned integer (OVS `str_to_uint(s, 10, ..)`), or undefined. */
export function parseDecimal(s: string): number | undefined {
  if (!/^[+]?[0-9]+$/.test(s)) return undefined;
  const v = Number(s);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** An error in flow or action syntax. The message is one line and names the bad token. */
export class OfctlSyntaxError extends Error {
  override name = 'OfctlSyntaxError';
}

/**
 * OVS `str_to_u8` / `str_to_u16` / `str_to_u32`-like: an integer in [0, max] in C syntax.
 * @throws OfctlSyntaxError `invalid <what> "<s>"` otherwise.
 */
export function parseUint(s: string, what: string, max: number): number {
  const v = parseCInteger(s);
  if (v === undefined || v < 0n || v > BigInt(max)) throw new OfctlSyntaxError(`invalid ${what} "${s}"`);
  return Number(v);
}

/**
 * OVS `str_to_u64` (strtoull): C syntax, a leading '-' wraps modulo 2^64 as strtoull does.
 * @throws OfctlSyntaxError `invalid numeric format <s>`.
 */
export function parseU64(s: string): bigint {
  if (s === '') throw new OfctlSyntaxError('missing required numeric argument');
  const v = parseCInteger(s);
  if (v === undefined || v > 0xffffffffffffffffn || v < -0xffffffffffffffffn) {
    throw new OfctlSyntaxError(`invalid numeric format ${s}`);
  }
  return BigInt.asUintN(64, v);
}
