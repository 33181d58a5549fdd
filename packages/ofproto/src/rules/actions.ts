/**
 * OpenFlow actions as tsvs stores them: a compact discriminated union in the spirit of OVS
 * `struct ofpact` (include/openvswitch/ofp-actions.h), one plain object per action. Plain data
 * only (numbers, arrays, strings, no classes), so a rule's actions survive `structuredClone` /
 * `postMessage` to handler threads unchanged.
 *
 * The `type` names are OVS's ofpact types in lower case. Several ovs-ofctl spellings map to one
 * type, as in OVS: `output:N`, a bare `N` and `NORMAL`/`FLOOD`/`ALL`/`IN_PORT`/`LOCAL`/
 * `CONTROLLER[:max_len]` are all `output`; `mod_vlan_vid` and `set_vlan_vid` are `set_vlan_vid`
 * with a different `push` flag; `strip_vlan` and `pop_vlan` are `strip_vlan` with a different
 * `spelling`. Printing (./actions-format.ts) follows OVS `ofpacts_format()`.
 *
 * Port numbers are OpenFlow 1.0 numbers (./ports.ts). Table ids are 0..254.
 */

/** `output:PORT`: PORT may be reserved (NORMAL, FLOOD, ...). `maxLen` is used for CONTROLLER only. */
export interface OutputAction {
  type: 'output';
  port: number;
  /** Bytes of the packet sent to the controller (OFPP_CONTROLLER only; 65535 = whole packet). */
  maxLen: number;
}

/** `controller(reason=..,max_len=..,id=..,userdata=..,pause,meter_id=..)` (non-default forms). */
export interface ControllerAction {
  type: 'controller';
  maxLen: number;
  /** OVS packet-in reason name: action, no_match, invalid_ttl, action_set, group, packet_out. */
  reason: string;
  controllerId: number;
  /** Userdata bytes as lower-case hex pairs without separators ('' for none). */
  userdata: string;
  pause: boolean;
  /** NX_CTLR_NO_METER (0xffffffff) when absent. */
  meterId: number;
}

/** `mod_vlan_vid:VID` (push = true: push a 802.1Q header if none) or `set_vlan_vid:VID`. */
export interface SetVlanVidAction {
  type: 'set_vlan_vid';
  vid: number;
  push: boolean;
}

/** `mod_vlan_pcp:PCP` (push = true) or `set_vlan_pcp:PCP`. */
export interface SetVlanPcpAction {
  type: 'set_vlan_pcp';
  pcp: number;
  push: boolean;
}

/** `strip_vlan` or `pop_vlan` (same effect: remove the outer VLAN header). */
export interface StripVlanAction {
  type: 'strip_vlan';
  spelling: 'strip_vlan' | 'pop_vlan';
}

/** `push_vlan:ETHERTYPE` (0x8100 or 0x88a8). */
export interface PushVlanAction {
  type: 'push_vlan';
  ethertype: number;
}

/** `mod_dl_src:MAC` / `mod_dl_dst:MAC`: MAC as the flow key's hi (16-bit) and lo (32-bit) words. */
export interface SetEthAction {
  type: 'set_eth_src' | 'set_eth_dst';
  hi: number;
  lo: number;
}

/** `mod_nw_src:IP` / `mod_nw_dst:IP` (IPv4 only; ignored for other packets, as in OVS). */
export interface SetIpv4Action {
  type: 'set_ipv4_src' | 'set_ipv4_dst';
  ip: number;
}

/** `mod_nw_tos:TOS`: the DSCP bits of the TOS byte (TOS is a multiple of 4, 0..252). */
export interface SetIpDscpAction {
  type: 'set_ip_dscp';
  dscp: number;
}

/** `mod_nw_ecn:ECN` (0..3). */
export interface SetIpEcnAction {
  type: 'set_ip_ecn';
  ecn: number;
}

/** `mod_nw_ttl:TTL`. */
export interface SetIpTtlAction {
  type: 'set_ip_ttl';
  ttl: number;
}

/** `mod_tp_src:PORT` / `mod_tp_dst:PORT` (TCP, UDP, SCTP). */
export interface SetL4PortAction {
  type: 'set_l4_src_port' | 'set_l4_dst_port';
  port: number;
}

/**
 * `set_field:VALUE[/MASK]->FIELD`. `field` is the canonical OVS field name (./fields.ts, e.g.
 * `ip_dst`, `eth_src`, `vlan_vid`); `value`/`mask` are the field's value in 32-bit words, most
 * significant first (1 word for fields up to 32 bits, 2 for MACs as hi 16 / lo 32, 4 for IPv6).
 */
export interface SetFieldAction {
  type: 'set_field';
  field: string;
  value: number[];
  mask: number[];
}

/** `dec_ttl` or `dec_ttl(id,...)` (controller ids to notify when the TTL expires). */
export interface DecTtlAction {
  type: 'dec_ttl';
  /** undefined for the plain form. */
  cntIds?: number[];
}

/** `resubmit:PORT`, `resubmit(PORT,TABLE)`, `resubmit(,TABLE)`, `resubmit(PORT,TABLE,ct)`. */
export interface ResubmitAction {
  type: 'resubmit';
  /** OFPP_IN_PORT (0xfff8) means "keep the packet's in_port". */
  inPort: number;
  /** 255 means "the current table". */
  table: number;
  ct: boolean;
}

/** `goto_table:T` (an OpenFlow 1.1+ instruction; must be last, T greater than the rule's table). */
export interface GotoTableAction {
  type: 'goto_table';
  table: number;
}

/** `note:XX.XX...`: opaque bytes, no effect. */
export interface NoteAction {
  type: 'note';
  /** The bytes as lower-case hex pairs without separators, zero-padded as OVS's NXAST_NOTE is. */
  hex: string;
}

export type OfAction =
  | OutputAction
  | ControllerAction
  | SetVlanVidAction
  | SetVlanPcpAction
  | StripVlanAction
  | PushVlanAction
  | SetEthAction
  | SetIpv4Action
  | SetIpDscpAction
  | SetIpEcnAction
  | SetIpTtlAction
  | SetL4PortAction
  | SetFieldAction
  | DecTtlAction
  | ResubmitAction
  | GotoTableAction
  | NoteAction;

/** NX_CTLR_NO_METER: the `controller` action has no meter. */
export const NX_CTLR_NO_METER = 0xffffffff;

/** True if `a` and `b` are the same action list (used by mod-flows to detect "no change"). */
export function actionsEqual(a: readonly OfAction[], b: readonly OfAction[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return false;
  return true;
}
