/**
 * Parses OVS's ODP action syntax (lib/odp-util.c odp_actions_from_string) into action objects
 * or the encoded form. Supported: `PORT` (output), `userspace(pid=N[,userdata(HEX)])`,
 * `push_vlan([tpid=T,]vid=V,pcp=P[,cfi=C])`, `pop_vlan`, `set(KEY(FIELD=VALUE[/MASK],...))` for
 * KEY eth/ipv4/ipv6/tcp/udp, and `drop` (alone: the empty list). Actions are separated by
 * commas or whitespace, as in OVS.
 *
 * As in OVS, a set whose fields do not cover the whole key with full masks becomes a masked
 * set (`set(ipv4(src=10.0.0.1))` changes only the source address).
 *
 * Errors: throws {@link OdpActionParseError} whose one-line message names the offending token
 * and its column, e.g. `bad datapath action "foo(1)" at column 3: unknown action`.
 */
import { encodeOdpActions, ODP_KEY_SIZE, ODP_KEY_BY_NAME, type OdpAction, type OdpSetKeyName } from './encoding.js';
import { scanInt, scanIpv4, scanIpv6, scanMac } from './text.js';

const DELIMS = ', \t\r\n';

export class OdpActionParseError extends Error {
  constructor(
    readonly token: string,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`bad datapath action "${token}" at column ${column}: ${reason}`);
    this.name = 'OdpActionParseError';
  }
}

/** The token starting at `pos`: up to a delimiter or unbalanced ')' at nesting depth 0. */
function tokenAt(s: string, pos: number): string {
  let depth = 0;
  let i = pos;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) break;
      depth--;
      if (depth === 0) {
        i++;
        break;
      }
    } else if (depth === 0 && DELIMS.includes(c)) break;
  }
  const t = s.slice(pos, Math.max(i, pos + 1));
  return t.length > 48 ? t.slice(0, 45) + '...' : t;
}

function fail(s: string, pos: number, reason: string): never {
  throw new OdpActionParseError(tokenAt(s, pos), pos + 1, reason);
}

/** Parses an action string into objects. */
export function parseOdpActionList(s: string): OdpAction[] {
  const out: OdpAction[] = [];
  if (s.trim().toLowerCase() === 'drop') return out;
  let p = 0;
  for (;;) {
    while (p < s.length && DELIMS.includes(s[p]!)) p++;
    if (p >= s.length) return out;
    const start = p;
    p = parseAction(s, p, out);
    if (p < s.length && !DELIMS.includes(s[p]!)) fail(s, start, 'unexpected text after action');
  }
}

/** Parses an action string into the encoded form (see encoding.ts); also throws when it does not fit in 256 bytes. */
export function parseOdpActions(s: string): Uint8Array {
  const list = parseOdpActionList(s);
  try {
    return encodeOdpActions(list);
  } catch (e) {
    throw new OdpActionParseError(s.length > 48 ? s.slice(0, 45) + '...' : s, 1, (e as Error).message);
  }
}

const num = [0];

function expect(s: string, p: number, lit: string, start: number, reason: string): number {
  if (!s.startsWith(lit, p)) fail(s, start, reason);
  return p + lit.length;
}

function intField(s: string, p: number, start: number, what: string, max: number): [number, number] {
  const n = scanInt(s, p, num);
  if (n === 0) fail(s, start, `expected a number for ${what}`);
  const v = num[0]!;
  if (v < 0 || v > max) fail(s, start, `${what} out of range: ${s.slice(p, p + n)}`);
  return [v, p + n];
}

function parseAction(s: string, p: number, out: OdpAction[]): number {
  const start = p;
  const c = s[p]!;
  if ((c >= '0' && c <= '9') || c === '-' || c === '+') {
    const [port, q] = intField(s, p, start, 'output port', 0xffffffff);
    out.push({ type: 'output', port });
    return q;
  }
  if (s.startsWith('userspace(', p)) return parseUserspace(s, p, out);
  if (s.startsWith('set(', p)) return parseSet(s, p, out);
  if (s.startsWith('push_vlan(', p)) return parsePushVlan(s, p, out);
  if (s.startsWith('pop_vlan', p)) {
    out.push({ type: 'pop_vlan' });
    return p + 8;
  }
  const t = tokenAt(s, p);
  return fail(s, start, /^(drop)$/i.test(t) ? '"drop" must be the whole action list' : 'unknown or unsupported action');
}

function parseUserspace(s: string, p: number, out: OdpAction[]): number {
  const start = p;
  p = expect(s, p + 'userspace('.length, 'pid=', start, 'expected pid=');
  const [pid, q] = intField(s, p, start, 'pid', 0xffffffff);
  p = q;
  let userdata: Uint8Array | null = null;
  if (s.startsWith(',userdata(', p)) {
    p += ',userdata('.length;
    const m = /^[0-9a-fA-F]*/.exec(s.slice(p))![0];
    if (m.length % 2) fail(s, start, 'userdata needs an even number of hex digits');
    if (s[p + m.length] !== ')') fail(s, start, 'bad userdata hex');
    userdata = new Uint8Array(m.length / 2);
    for (let i = 0; i < userdata.length; i++) userdata[i] = parseInt(m.slice(2 * i, 2 * i + 2), 16);
    p += m.length + 1;
  }
  if (s[p] !== ')') fail(s, start, 'unsupported userspace argument (only pid and userdata)');
  out.push({ type: 'userspace', pid, userdata });
  return p + 1;
}

function parsePushVlan(s: string, p: number, out: OdpAction[]): number {
  const start = p;
  p += 'push_vlan('.length;
  let tpid = 0x8100;
  if (s.startsWith('tpid=', p)) {
    const [v, q] = intField(s, p + 5, start, 'tpid', 0xffff);
    tpid = v;
    p = expect(s, q, ',', start, 'expected ",vid="');
  }
  p = expect(s, p, 'vid=', start, 'expected vid=');
  const [vid, q1] = intField(s, p, start, 'vid', 0xfff);
  p = expect(s, q1, ',pcp=', start, 'expected ",pcp="');
  const [pcp, q2] = intField(s, p, start, 'pcp', 7);
  p = q2;
  let cfi = 1;
  if (s.startsWith(',cfi=', p)) {
    const [v, q] = intField(s, p + 5, start, 'cfi', 0xffffffff);
    cfi = v;
    p = q;
  }
  p = expect(s, p, ')', start, 'expected ")"');
  out.push({ type: 'push_vlan', tpid, tci: (vid | (pcp << 13) | (cfi ? 0x1000 : 0)) & 0xffff });
  return p;
}

type Scan = (s: string, p: number, v: Uint8Array, m: Uint8Array, off: number, start: number, name: string) => number;

function scanWithMask(
  s: string,
  p: number,
  v: Uint8Array,
  m: Uint8Array,
  off: number,
  size: number,
  one: (s: string, p: number, dst: Uint8Array, at: number) => number,
  start: number,
  name: string,
): number {
  const n = one(s, p, v, off);
  if (n === 0) fail(s, start, `bad value for ${name}`);
  p += n;
  if (s[p] === '/') {
    const k = one(s, p + 1, m, off);
    if (k === 0) fail(s, start, `bad mask for ${name}`);
    return p + 1 + k;
  }
  m.fill(0xff, off, off + size);
  return p;
}

const scanEthF: Scan = (s, p, v, m, off, start, name) => scanWithMask(s, p, v, m, off, 6, scanMac, start, name);
const scanIp4F: Scan = (s, p, v, m, off, start, name) => scanWithMask(s, p, v, m, off, 4, scanIpv4, start, name);
const scanIp6F: Scan = (s, p, v, m, off, start, name) => scanWithMask(s, p, v, m, off, 16, scanIpv6, start, name);

function scanNumF(bytes: number, max: number): Scan {
  return (s, p, v, m, off, start, name) => {
    const [val, q] = intField(s, p, start, name, max);
    let mask = max;
    p = q;
    if (s[p] === '/') {
      const [mv, q2] = intField(s, p + 1, start, `${name} mask`, max);
      mask = mv;
      p = q2;
    }
    for (let i = bytes - 1, a = val, b = mask; i >= 0; i--, a = Math.floor(a / 256), b = Math.floor(b / 256)) {
      v[off + i] = a & 0xff;
      m[off + i] = b & 0xff;
    }
    return p;
  };
}
const scanU8F = scanNumF(1, 0xff);
const scanBe16F = scanNumF(2, 0xffff);
const scanLabelF = scanNumF(4, 0xfffff);
const scanFragF: Scan = (s, p, v, m, off, start, name) => {
  const w = /^[a-z]{1,7}/.exec(s.slice(p))?.[0] ?? '';
  const i = ['no', 'first', 'later'].indexOf(w);
  if (i < 0) fail(s, start, `bad value for ${name} (no, first or later)`);
  v[off] = i;
  m[off] = 0xff;
  return p + w.length;
};

const SET_FIELDS: Record<OdpSetKeyName, [string, Scan, number][]> = {
  eth: [['src', scanEthF, 0], ['dst', scanEthF, 6]],
  ipv4: [['src', scanIp4F, 0], ['dst', scanIp4F, 4], ['proto', scanU8F, 8], ['tos', scanU8F, 9], ['ttl', scanU8F, 10], ['frag', scanFragF, 11]],
  ipv6: [
    ['src', scanIp6F, 0], ['dst', scanIp6F, 16], ['label', scanLabelF, 32], ['proto', scanU8F, 36],
    ['tclass', scanU8F, 37], ['hlimit', scanU8F, 38], ['frag', scanFragF, 39],
  ],
  tcp: [['src', scanBe16F, 0], ['dst', scanBe16F, 2]],
  udp: [['src', scanBe16F, 0], ['dst', scanBe16F, 2]],
};

function parseSet(s: string, p: number, out: OdpAction[]): number {
  const start = p;
  p += 4;
  const km = /^([a-z0-9_]+)\(/.exec(s.slice(p));
  const name = km?.[1] ?? '';
  if (!km || !(name in ODP_KEY_BY_NAME)) fail(s, p, 'unsupported set key (eth, ipv4, ipv6, tcp, udp)');
  const key = name as OdpSetKeyName;
  p += km[0].length;
  const k = ODP_KEY_SIZE[ODP_KEY_BY_NAME[key]]!;
  const value = new Uint8Array(k);
  const mask = new Uint8Array(k);
  const fields = SET_FIELDS[key];
  while (s[p] !== ')') {
    if (p >= s.length) fail(s, start, 'missing ")"');
    const fieldStart = p;
    const f = fields.find(([n]) => s.startsWith(n + '=', p));
    if (!f) fail(s, fieldStart, `unknown field in ${key}(...)`);
    p = f[1](s, p + f[0].length + 1, value, mask, f[2], fieldStart, f[0]);
    if (s[p] === ',') p++;
    else if (s[p] !== ')') fail(s, fieldStart, `unexpected text after ${f[0]}`);
  }
  p = expect(s, p + 1, ')', start, 'expected ")" closing set(');
  out.push({ type: 'set', key, value, mask });
  return p;
}
