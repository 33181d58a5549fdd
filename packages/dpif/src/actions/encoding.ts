/**
 * Datapath actions: the compact binary encoding stored in a flow's action slot.
 *
 * An encoded action list is a Uint8Array of at most {@link ODP_ACTIONS_MAX_BYTES} (256) bytes.
 * Handlers write it once into the shared flow table; PMD threads read it for every packet, so
 * it is flat, fixed-order and needs no decoding beyond reading bytes. Multi-byte numbers are
 * big-endian (network order) so that set-field values are copied into packets as they are.
 *
 * Header (6 bytes):
 * | offset | size | field                                                                  |
 * |--------|------|------------------------------------------------------------------------|
 * | 0      | 1    | version, {@link ODP_ACTIONS_VERSION} (1)                                |
 * | 1      | 1    | number of actions                                                      |
 * | 2      | 2    | total length in bytes, header included                                  |
 * | 4      | 2    | live end: offset just past the last `output` / `userspace` action       |
 * |        |      | (6 when there is none). Actions after it cannot change anything that   |
 * |        |      | leaves the datapath, so the executor stops there.                       |
 *
 * Then the actions back to back, each `type:u8, len:u8, payload` where `len` counts the whole
 * action (these 2 bytes included). Types and key numbers are OVS's (include/linux/openvswitch.h,
 * OVS_ACTION_ATTR_* and OVS_KEY_ATTR_*):
 * | type | action       | len      | payload                                                  |
 * |------|--------------|----------|----------------------------------------------------------|
 * | 1    | output       | 6        | port:u32                                                 |
 * | 2    | userspace    | 7 + n    | pid:u32, flags:u8 (bit 0: has userdata), userdata[n]     |
 * | 3    | set          | 3 + K    | key:u8, value[K]                                         |
 * | 4    | push_vlan    | 6        | tpid:u16, tci:u16 (OVS: CFI bit 0x1000 = "present"; the  |
 * |      |              |          | wire TCI is tci & ~0x1000)                                |
 * | 5    | pop_vlan     | 2        | -                                                        |
 * | 11   | set (masked) | 3 + 2K   | key:u8, value[K], mask[K]; value bits outside mask are 0 |
 *
 * Set keys, value layouts as OVS's `struct ovs_key_*`:
 * | key | name | K  | layout                                                                  |
 * |-----|------|----|-------------------------------------------------------------------------|
 * | 4   | eth  | 12 | src[6], dst[6]                                                          |
 * | 7   | ipv4 | 12 | src[4], dst[4], proto, tos, ttl, frag                                   |
 * | 8   | ipv6 | 40 | src[16], dst[16], label:u32 (20 low bits), proto, tclass, hlimit, frag |
 * | 9   | tcp  | 4  | src:u16, dst:u16                                                        |
 * | 10  | udp  | 4  | src:u16, dst:u16                                                        |
 *
 * A set whose mask is all ones is stored as a plain `set` (type 3), as OVS's parser and
 * xlate do; otherwise as a masked set (type 11). The empty list (header only) is `drop`.
 */

/** Largest encoded action list, in bytes (the flow table's per-flow action slot). */
export const ODP_ACTIONS_MAX_BYTES = 256;
export const ODP_ACTIONS_VERSION = 1;
export const ODP_ACTIONS_HDR = 6;
/** Header field offsets. */
export const OA_VERSION = 0;
export const OA_COUNT = 1;
export const OA_LEN = 2;
export const OA_LIVE_END = 4;

/** Action types (OVS_ACTION_ATTR_*). */
export const ODP_OUTPUT = 1;
export const ODP_USERSPACE = 2;
export const ODP_SET = 3;
export const ODP_PUSH_VLAN = 4;
export const ODP_POP_VLAN = 5;
export const ODP_SET_MASKED = 11;

/** Set keys (OVS_KEY_ATTR_*). */
export const ODP_KEY_ETH = 4;
export const ODP_KEY_IPV4 = 7;
export const ODP_KEY_IPV6 = 8;
export const ODP_KEY_TCP = 9;
export const ODP_KEY_UDP = 10;

/** Sizes of the set-key values (K in the table above), indexed by key number; 0 = unsupported. */
export const ODP_KEY_SIZE: readonly number[] = [0, 0, 0, 0, 12, 0, 0, 12, 40, 4, 4];

export const USERSPACE_F_USERDATA = 1;

export type OdpSetKeyName = 'eth' | 'ipv4' | 'ipv6' | 'tcp' | 'udp';
export const ODP_KEY_BY_NAME: Readonly<Record<OdpSetKeyName, number>> = {
  eth: ODP_KEY_ETH,
  ipv4: ODP_KEY_IPV4,
  ipv6: ODP_KEY_IPV6,
  tcp: ODP_KEY_TCP,
  udp: ODP_KEY_UDP,
};
export const ODP_KEY_NAME: Readonly<Record<number, OdpSetKeyName>> = {
  [ODP_KEY_ETH]: 'eth',
  [ODP_KEY_IPV4]: 'ipv4',
  [ODP_KEY_IPV6]: 'ipv6',
  [ODP_KEY_TCP]: 'tcp',
  [ODP_KEY_UDP]: 'udp',
};

/**
 * One datapath action as an object: the control-plane view (parser, printer, tests). The
 * per-packet path reads the encoded bytes instead.
 * - `set`: `value` and `mask` are K bytes in the `struct ovs_key_*` layout (table above); a mask
 *   of all ones means a plain (unmasked) set.
 * - `push_vlan`: `tci` as OVS keeps it, with 0x1000 (CFI) meaning "header present" (OVS sets it
 *   unless `cfi=0` is given).
 */
export type OdpAction =
  | { type: 'output'; port: number }
  | { type: 'userspace'; pid: number; userdata: Uint8Array | null }
  | { type: 'push_vlan'; tpid: number; tci: number }
  | { type: 'pop_vlan' }
  | { type: 'set'; key: OdpSetKeyName; value: Uint8Array; mask: Uint8Array };

function isAllOnes(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}

function u32ok(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * Encodes an action list. Throws RangeError (one line) when the list does not fit in
 * {@link ODP_ACTIONS_MAX_BYTES} bytes or a field is out of range.
 */
export function encodeOdpActions(actions: readonly OdpAction[]): Uint8Array {
  let size = ODP_ACTIONS_HDR;
  for (const a of actions) size += actionSize(a);
  if (size > ODP_ACTIONS_MAX_BYTES) {
    throw new RangeError(`action list too long: ${size} bytes encoded, at most ${ODP_ACTIONS_MAX_BYTES}`);
  }
  if (actions.length > 255) throw new RangeError(`too many actions: ${actions.length}, at most 255`);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = ODP_ACTIONS_HDR;
  let liveEnd = ODP_ACTIONS_HDR;
  for (const a of actions) {
    const start = p;
    switch (a.type) {
      case 'output':
        if (!u32ok(a.port)) throw new RangeError(`output port out of range: ${a.port}`);
        out[p] = ODP_OUTPUT;
        out[p + 1] = 6;
        dv.setUint32(p + 2, a.port);
        p += 6;
        liveEnd = p;
        break;
      case 'userspace': {
        if (!u32ok(a.pid)) throw new RangeError(`userspace pid out of range: ${a.pid}`);
        const n = a.userdata ? a.userdata.length : 0;
        out[p] = ODP_USERSPACE;
        out[p + 1] = 7 + n;
        dv.setUint32(p + 2, a.pid);
        out[p + 6] = a.userdata ? USERSPACE_F_USERDATA : 0;
        if (a.userdata) out.set(a.userdata, p + 7);
        p += 7 + n;
        liveEnd = p;
        break;
      }
      case 'push_vlan':
        if (!(a.tpid >= 0 && a.tpid <= 0xffff && a.tci >= 0 && a.tci <= 0xffff)) {
          throw new RangeError(`push_vlan tpid/tci out of range: ${a.tpid}/${a.tci}`);
        }
        out[p] = ODP_PUSH_VLAN;
        out[p + 1] = 6;
        dv.setUint16(p + 2, a.tpid);
        dv.setUint16(p + 4, a.tci);
        p += 6;
        break;
      case 'pop_vlan':
        out[p] = ODP_POP_VLAN;
        out[p + 1] = 2;
        p += 2;
        break;
      case 'set': {
        const key = ODP_KEY_BY_NAME[a.key];
        const k = ODP_KEY_SIZE[key]!;
        if (a.value.length !== k || a.mask.length !== k) {
          throw new RangeError(`set(${a.key}) needs ${k}-byte value and mask`);
        }
        const plain = isAllOnes(a.mask);
        out[p] = plain ? ODP_SET : ODP_SET_MASKED;
        out[p + 1] = plain ? 3 + k : 3 + 2 * k;
        out[p + 2] = key;
        for (let i = 0; i < k; i++) out[p + 3 + i] = a.value[i]! & a.mask[i]!;
        if (!plain) out.set(a.mask, p + 3 + k);
        p += out[p + 1]!;
        break;
      }
    }
    if (p - start !== actionSize(a)) throw new Error('internal: action size mismatch');
  }
  out[OA_VERSION] = ODP_ACTIONS_VERSION;
  out[OA_COUNT] = actions.length;
  dv.setUint16(OA_LEN, size);
  dv.setUint16(OA_LIVE_END, liveEnd);
  return out;
}

function actionSize(a: OdpAction): number {
  switch (a.type) {
    case 'output':
      return 6;
    case 'userspace': {
      const n = a.userdata ? a.userdata.length : 0;
      if (7 + n > 255) throw new RangeError(`userspace userdata too long: ${n} bytes, at most 248`);
      return 7 + n;
    }
    case 'push_vlan':
      return 6;
    case 'pop_vlan':
      return 2;
    case 'set': {
      const key = ODP_KEY_BY_NAME[a.key];
      if (key === undefined) throw new RangeError(`unsupported set key: ${String(a.key)}`);
      const k = ODP_KEY_SIZE[key]!;
      return isAllOnes(a.mask) ? 3 + k : 3 + 2 * k;
    }
  }
}

/**
 * Checks that `blob[off, off+len)` is a well-formed encoded action list: header, lengths,
 * types and keys. Returns null when it is, or a one-line reason. The executor does its own
 * bounds checks and never throws; this is for writers and tests.
 */
export function validateOdpActions(blob: Uint8Array, off = 0, len = blob.length - off): string | null {
  if (len < ODP_ACTIONS_HDR) return `too short: ${len} bytes`;
  if (len > ODP_ACTIONS_MAX_BYTES) return `too long: ${len} bytes`;
  if (blob[off + OA_VERSION] !== ODP_ACTIONS_VERSION) return `bad version ${blob[off + OA_VERSION]}`;
  const total = (blob[off + OA_LEN]! << 8) | blob[off + OA_LEN + 1]!;
  if (total !== len) return `length field ${total} != ${len}`;
  let p = ODP_ACTIONS_HDR;
  let n = 0;
  let liveEnd = ODP_ACTIONS_HDR;
  while (p < total) {
    if (p + 2 > total) return `truncated action at byte ${p}`;
    const t = blob[off + p]!;
    const l = blob[off + p + 1]!;
    if (l < 2 || p + l > total) return `bad action length ${l} at byte ${p}`;
    switch (t) {
      case ODP_OUTPUT:
        if (l !== 6) return `bad output length ${l}`;
        liveEnd = p + l;
        break;
      case ODP_USERSPACE:
        if (l < 7) return `bad userspace length ${l}`;
        if ((blob[off + p + 6]! & USERSPACE_F_USERDATA) === 0 && l !== 7) return 'userspace without userdata flag has data';
        liveEnd = p + l;
        break;
      case ODP_PUSH_VLAN:
        if (l !== 6) return `bad push_vlan length ${l}`;
        break;
      case ODP_POP_VLAN:
        if (l !== 2) return `bad pop_vlan length ${l}`;
        break;
      case ODP_SET:
      case ODP_SET_MASKED: {
        if (l < 3) return `bad set length ${l}`;
        const k = ODP_KEY_SIZE[blob[off + p + 2]!] ?? 0;
        if (k === 0) return `unsupported set key ${blob[off + p + 2]}`;
        if (l !== (t === ODP_SET ? 3 + k : 3 + 2 * k)) return `bad set length ${l} for key ${blob[off + p + 2]}`;
        break;
      }
      default:
        return `unknown action type ${t} at byte ${p}`;
    }
    p += l;
    n++;
  }
  if (n !== blob[off + OA_COUNT]) return `count field ${blob[off + OA_COUNT]} != ${n}`;
  const le = (blob[off + OA_LIVE_END]! << 8) | blob[off + OA_LIVE_END + 1]!;
  if (le !== liveEnd) return `live end field ${le} != ${liveEnd}`;
  return null;
}

/**
 * Decodes an encoded action list into objects (control plane; allocates). Throws RangeError
 * with the reason from {@link validateOdpActions} when the bytes are malformed.
 */
export function decodeOdpActions(blob: Uint8Array, off = 0, len = blob.length - off): OdpAction[] {
  const bad = validateOdpActions(blob, off, len);
  if (bad !== null) throw new RangeError(`malformed action list: ${bad}`);
  const dv = new DataView(blob.buffer, blob.byteOffset + off, len);
  const out: OdpAction[] = [];
  let p = ODP_ACTIONS_HDR;
  while (p < len) {
    const t = dv.getUint8(p);
    const l = dv.getUint8(p + 1);
    switch (t) {
      case ODP_OUTPUT:
        out.push({ type: 'output', port: dv.getUint32(p + 2) });
        break;
      case ODP_USERSPACE: {
        const has = (dv.getUint8(p + 6) & USERSPACE_F_USERDATA) !== 0;
        const s = off + p + 7;
        out.push({ type: 'userspace', pid: dv.getUint32(p + 2), userdata: has ? blob.slice(s, off + p + l) : null });
        break;
      }
      case ODP_PUSH_VLAN:
        out.push({ type: 'push_vlan', tpid: dv.getUint16(p + 2), tci: dv.getUint16(p + 4) });
        break;
      case ODP_POP_VLAN:
        out.push({ type: 'pop_vlan' });
        break;
      default: {
        const key = dv.getUint8(p + 2);
        const k = ODP_KEY_SIZE[key]!;
        const v = off + p + 3;
        const value = blob.slice(v, v + k);
        const mask = t === ODP_SET ? new Uint8Array(k).fill(0xff) : blob.slice(v + k, v + 2 * k);
        out.push({ type: 'set', key: ODP_KEY_NAME[key]!, value, mask });
      }
    }
    p += l;
  }
  return out;
}
