/**
 * Packet-ins: what handler threads deliver to the bridge's subscribers (`tsvs monitor`) when a
 * packet reaches an OpenFlow CONTROLLER action (a `userspace(controller(...))` datapath action,
 * either executed by a handler for a miss or run by a PMD and queued as an ACTION upcall), and
 * other `userspace` upcalls (no controller cookie). Plain data: posted from handler threads in
 * one message per handler round.
 *
 * Text form (`formatPacketIn`) follows `ovs-ofctl monitor`'s NXT_PACKET_IN2 lines (OVS 3.1
 * lib/ofp-print.c ofp_print_packet_in): a header line, then `userdata=` if any, then the packet's
 * flow as `ofproto/trace` prints it (OVS adds checksums for TCP/UDP, tsvs does not).
 */
import { EXTRACT_OK, FLOW_WORDS, extractFlow, formatFlow } from '@tsvs/packet';
import { formatPort, type PortMap } from '../rules/ports.js';
import { OFPR_ACTION, OFPR_ACTION_SET, OFPR_EXPLICIT_MISS, OFPR_GROUP, OFPR_IMPLICIT_MISS, OFPR_INVALID_TTL, OFPR_NO_MATCH, OFPR_PACKET_OUT } from '../xlate/cookie.js';

export interface PacketIn {
  /** 'controller': an OpenFlow CONTROLLER action; 'userspace': another userspace action's upcall. */
  kind: 'controller' | 'userspace';
  /** OpenFlow in_port of the packet (0 when unknown). */
  inPort: number;
  /** Datapath port the packet came in on. */
  odpInPort: number;
  /** OVS enum ofp_packet_in_reason (controller) or -1. */
  reason: number;
  tableId: number;
  /** Cookie of the rule whose action it was (controller). */
  cookie: bigint;
  controllerId: number;
  /** `controller(userdata=...)` bytes, or the userspace action's userdata. */
  userdata: Uint8Array;
  /** The userspace action's pid. */
  pid: number;
  /** The packet as it was at the action, cut to the action's max_len. */
  packet: Uint8Array;
  /** Length of the whole packet (bytes). */
  totalLen: number;
  /** True for `controller(pause)` (not resumable in tsvs). */
  continuation: boolean;
  /** Handler thread id that delivered it. */
  handler: number;
  /** When it was delivered (ms since the epoch). */
  timeMs: number;
}

/** OVS ofputil_packet_in_reason_to_string. */
export function packetInReasonName(r: number): string {
  switch (r) {
    case OFPR_NO_MATCH: return 'no_match';
    case OFPR_ACTION: return 'action';
    case OFPR_INVALID_TTL: return 'invalid_ttl';
    case OFPR_ACTION_SET: return 'action_set';
    case OFPR_GROUP: return 'group';
    case OFPR_PACKET_OUT: return 'packet_out';
    case OFPR_EXPLICIT_MISS: return 'no_match';
    case OFPR_IMPLICIT_MISS: return 'no_match';
    default: return String(r);
  }
}

/** `ovs-ofctl monitor` text of one packet-in (ends with a newline). */
export function formatPacketIn(p: PacketIn, portMap?: PortMap): string {
  let s = 'NXT_PACKET_IN2 (xid=0x0):';
  if (p.kind === 'controller') {
    if (p.tableId) s += ` table_id=${p.tableId}`;
    if (p.cookie !== 0xffffffffffffffffn) s += ` cookie=0x${p.cookie.toString(16)}`;
  }
  s += ` total_len=${p.totalLen} in_port=${formatPort(p.inPort, portMap)}`;
  s += p.kind === 'controller' ? ` (via ${packetInReasonName(p.reason)})` : ` (via userspace pid=${p.pid})`;
  s += ` data_len=${p.packet.length} (unbuffered)\n`;
  if (p.userdata.length > 0) s += `userdata=${[...p.userdata].map((b) => b.toString(16).padStart(2, '0')).join('.')}\n`;
  const key = new Uint32Array(FLOW_WORDS);
  if (extractFlow(p.packet, 0, p.packet.length, 0, key, 0) === EXTRACT_OK) s += `${formatFlow(key, 0)}\n`;
  return s;
}
