/**
 * Userdata ("cookies") of the datapath `userspace` actions translation emits, after OVS 3.1
 * `struct user_action_cookie` (lib/odp-util.h): the handler that receives the ACTION upcall reads
 * the cookie to know why the packet came up. tsvs's byte layout is its own (OVS's carries a
 * 16-byte ofproto UUID tsvs has no use for); the printed form is OVS's.
 *
 * Controller cookie (packet-in; OVS USER_ACTION_COOKIE_CONTROLLER), 24 bytes + userdata,
 * multi-byte numbers big-endian:
 * | off | size | field                                                                |
 * |-----|------|----------------------------------------------------------------------|
 * | 0   | 1    | type = 5                                                             |
 * | 1   | 1    | dont_send (1: translated for a trace, do not send a packet-in)       |
 * | 2   | 1    | continuation (1: `controller(pause)`)                                |
 * | 3   | 1    | table_id the action ran in                                           |
 * | 4   | 2    | reason (OVS enum ofp_packet_in_reason: 0 no_match, 1 action, 2 invalid_ttl, 3 action_set, 4 group, 5 packet_out, 6 explicit miss) |
 * | 6   | 2    | controller_id                                                        |
 * | 8   | 2    | max_len (bytes of the packet to send; 65535 = all)                   |
 * | 10  | 2    | OpenFlow in_port of the packet                                       |
 * | 12  | 4    | recirc_id: always 0 (OVS numbers a frozen state here; tsvs does not recirculate) |
 * | 16  | 8    | rule_cookie (cookie of the rule whose action it was)                 |
 * | 24  | n    | the `controller(userdata=..)` bytes, n <= 224                        |
 *
 * Slow-path cookie (OVS USER_ACTION_COOKIE_SLOW_PATH), 8 bytes: type = 2, 3 bytes 0, reason:u32
 * (SLOW_* bits). A flow whose actions the datapath cannot run is installed as
 * `userspace(pid=0,slow_path(action))`, as OVS does.
 *
 * Printing (OVS format_odp_userspace_action):
 * `userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=65535))`,
 * `userspace(pid=0,slow_path(action))`.
 */

export const USER_ACTION_COOKIE_SLOW_PATH = 2;
export const USER_ACTION_COOKIE_CONTROLLER = 5;
export const CONTROLLER_COOKIE_BYTES = 24;
export const SLOW_PATH_COOKIE_BYTES = 8;
/** Longest `controller(userdata=...)` carried in a cookie (the userspace action holds 248 bytes). */
export const CONTROLLER_USERDATA_MAX = 224;

/** OVS enum ofp_packet_in_reason values. */
export const OFPR_NO_MATCH = 0;
export const OFPR_ACTION = 1;
export const OFPR_INVALID_TTL = 2;
export const OFPR_ACTION_SET = 3;
export const OFPR_GROUP = 4;
export const OFPR_PACKET_OUT = 5;
export const OFPR_EXPLICIT_MISS = 6;
export const OFPR_IMPLICIT_MISS = 7;

/** Reason names as ovs-ofctl spells them in `controller(reason=...)`. */
export const PACKET_IN_REASONS: Readonly<Record<string, number>> = {
  no_match: OFPR_NO_MATCH, action: OFPR_ACTION, invalid_ttl: OFPR_INVALID_TTL,
  action_set: OFPR_ACTION_SET, group: OFPR_GROUP, packet_out: OFPR_PACKET_OUT,
};

/** Slow path reasons (OVS enum slow_path_reason). */
export const SLOW_CFM = 1 << 0;
export const SLOW_BFD = 1 << 1;
export const SLOW_LACP = 1 << 2;
export const SLOW_STP = 1 << 3;
export const SLOW_LLDP = 1 << 4;
export const SLOW_ACTION = 1 << 5;
export const SLOW_MATCH = 1 << 6;

const SLOW_NAMES: ReadonlyArray<readonly [number, string, string]> = [
  [SLOW_CFM, 'cfm', 'Consists of CFM packets'],
  [SLOW_BFD, 'bfd', 'Consists of BFD packets'],
  [SLOW_LACP, 'lacp', 'Consists of LACP packets'],
  [SLOW_STP, 'stp', 'Consists of STP packets'],
  [SLOW_LLDP, 'lldp', 'Consists of LLDP packets'],
  [SLOW_ACTION, 'action', 'Uses action(s) not supported by datapath'],
  [SLOW_MATCH, 'match', "Datapath can't match specifically enough"],
];

/** OVS slow_path_reason_to_explanation for each bit of `slow`, lowest first. */
export function slowPathExplanations(slow: number): string[] {
  return SLOW_NAMES.filter(([b]) => slow & b).map(([, , e]) => e);
}

/** Comma-separated reason names (OVS format_flags with slow_path_reason_to_string). */
export function slowPathNames(slow: number): string {
  const names = SLOW_NAMES.filter(([b]) => slow & b).map(([, n]) => n);
  const rest = slow & ~SLOW_NAMES.reduce((m, [b]) => m | b, 0);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.join(',');
}

export interface ControllerCookie {
  dontSend: boolean;
  continuation: boolean;
  tableId: number;
  reason: number;
  controllerId: number;
  maxLen: number;
  inPort: number;
  recircId: number;
  ruleCookie: bigint;
  userdata: Uint8Array;
}

/** Encodes a controller cookie. @throws RangeError if the userdata is too long. */
export function encodeControllerCookie(c: ControllerCookie): Uint8Array {
  if (c.userdata.length > CONTROLLER_USERDATA_MAX) {
    throw new RangeError(`controller userdata too long: ${c.userdata.length} bytes, at most ${CONTROLLER_USERDATA_MAX}`);
  }
  const b = new Uint8Array(CONTROLLER_COOKIE_BYTES + c.userdata.length);
  const dv = new DataView(b.buffer);
  b[0] = USER_ACTION_COOKIE_CONTROLLER;
  b[1] = c.dontSend ? 1 : 0;
  b[2] = c.continuation ? 1 : 0;
  b[3] = c.tableId & 0xff;
  dv.setUint16(4, c.reason & 0xffff);
  dv.setUint16(6, c.controllerId & 0xffff);
  dv.setUint16(8, c.maxLen & 0xffff);
  dv.setUint16(10, c.inPort & 0xffff);
  dv.setUint32(12, c.recircId >>> 0);
  dv.setBigUint64(16, BigInt.asUintN(64, c.ruleCookie));
  b.set(c.userdata, CONTROLLER_COOKIE_BYTES);
  return b;
}

/** Decodes a controller cookie, or null if `b` is not one. */
export function decodeControllerCookie(b: Uint8Array): ControllerCookie | null {
  if (b.length < CONTROLLER_COOKIE_BYTES || b[0] !== USER_ACTION_COOKIE_CONTROLLER) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    dontSend: b[1] !== 0,
    continuation: b[2] !== 0,
    tableId: b[3]!,
    reason: dv.getUint16(4),
    controllerId: dv.getUint16(6),
    maxLen: dv.getUint16(8),
    inPort: dv.getUint16(10),
    recircId: dv.getUint32(12),
    ruleCookie: dv.getBigUint64(16),
    userdata: b.slice(CONTROLLER_COOKIE_BYTES),
  };
}

export function encodeSlowPathCookie(reason: number): Uint8Array {
  const b = new Uint8Array(SLOW_PATH_COOKIE_BYTES);
  b[0] = USER_ACTION_COOKIE_SLOW_PATH;
  new DataView(b.buffer).setUint32(4, reason >>> 0);
  return b;
}

/** The SLOW_* reason of a slow-path cookie, or -1 if `b` is not one. */
export function decodeSlowPathCookie(b: Uint8Array): number {
  if (b.length !== SLOW_PATH_COOKIE_BYTES || b[0] !== USER_ACTION_COOKIE_SLOW_PATH) return -1;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4);
}

/** C's `%#x` for a 64-bit value. */
function hex64(v: bigint): string {
  return v === 0n ? '0' : '0x' + v.toString(16);
}

/**
 * The part of a `userspace(...)` action after `pid=N`, as OVS prints it: `,controller(...)`,
 * `,slow_path(...)`, or `,userdata(HEX)` for anything else ('' without userdata).
 */
export function formatUserspaceCookie(userdata: Uint8Array | null): string {
  if (!userdata) return '';
  const c = decodeControllerCookie(userdata);
  if (c) {
    return `,controller(reason=${c.reason},dont_send=${c.dontSend ? 1 : 0},continuation=${c.continuation ? 1 : 0},` +
      `recirc_id=${c.recircId},rule_cookie=${hex64(c.ruleCookie)},controller_id=${c.controllerId},max_len=${c.maxLen})`;
  }
  const slow = decodeSlowPathCookie(userdata);
  if (slow >= 0) return `,slow_path(${slowPathNames(slow)})`;
  let hex = '';
  for (const x of userdata) hex += x.toString(16).padStart(2, '0');
  return `,userdata(${hex})`;
}
