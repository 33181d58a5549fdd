/**
 * Printing OfAction[] as ovs-ofctl does: OVS 3.1 `ofpacts_format()` and the `format_<ACTION>()`
 * functions of lib/ofp-actions.c. An empty list prints as `drop`.
 *
 * Note: ovs-ofctl prints a rule after a round trip through an OpenFlow wire encoding, which
 * rewrites some actions for the protocol in use (OpenFlow 1.0: set_field of an IPv4 address
 * prints as mod_nw_src, goto_table as resubmit(,T); OpenFlow 1.3: mod_nw_src prints as
 * set_field). tsvs has no wire encoding and prints actions as they were given, which is what
 * OVS prints when the round trip leaves them alone.
 */
import type { OfAction } from './actions.js';
import { NX_CTLR_NO_METER } from './actions.js';
import { fieldByName } from './fields.js';
import { formatFieldValue } from './field-value.js';
import { formatEth, formatIp4 } from '@tsvs/packet';
import { OFPP_CONTROLLER, OFPP_IN_PORT, OFPP_MAX, formatPort, type PortMap } from './ports.js';

export interface FormatActionsOptions {
  /** Print port names instead of numbers where the map has them. */
  portMap?: PortMap;
}

function hexDots(hex: string): string {
  const parts: string[] = [];
  for (let i = 0; i < hex.length; i += 2) parts.push(hex.slice(i, i + 2));
  return parts.join('.');
}

/** OVS `ofpact_format` of one action. */
export function formatAction(a: OfAction, opts?: FormatActionsOptions): string {
  const pm = opts?.portMap;
  switch (a.type) {
    case 'output': {
      let s = a.port < OFPP_MAX ? 'output:' : '';
      s += formatPort(a.port, pm);
      if (a.port === OFPP_CONTROLLER) s += `:${a.maxLen}`;
      return s;
    }
    case 'controller': {
      if (a.reason === 'action' && !a.controllerId && !a.userdata && !a.pause && a.meterId === NX_CTLR_NO_METER) {
        return `CONTROLLER:${a.maxLen}`;
      }
      let s = '';
      if (a.reason !== 'action') s += `reason=${a.reason},`;
      if (a.maxLen !== 0xffff) s += `max_len=${a.maxLen},`;
      if (a.controllerId !== 0) s += `id=${a.controllerId},`;
      if (a.userdata) s += `userdata=${hexDots(a.userdata)},`;
      if (a.pause) s += 'pause,';
      if (a.meterId !== NX_CTLR_NO_METER) s += `meter_id=${a.meterId},`;
      if (s.endsWith(',')) s = s.slice(0, -1);
      return `controller(${s})`;
    }
    case 'set_vlan_vid':
      return `${a.push ? 'mod_vlan_vid' : 'set_vlan_vid'}:${a.vid}`;
    case 'set_vlan_pcp':
      return `${a.push ? 'mod_vlan_pcp' : 'set_vlan_pcp'}:${a.pcp}`;
    case 'strip_vlan':
      return a.spelling;
    case 'push_vlan':
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case 'set_eth_src':
      return `mod_dl_src:${formatEth(a.hi, a.lo)}`;
    case 'set_eth_dst':
      return `mod_dl_dst:${formatEth(a.hi, a.lo)}`;
    case 'set_ipv4_src':
      return `mod_nw_src:${formatIp4(a.ip)}`;
    case 'set_ipv4_dst':
      return `mod_nw_dst:${formatIp4(a.ip)}`;
    case 'set_ip_dscp':
      return `mod_nw_tos:${a.dscp}`;
    case 'set_ip_ecn':
      return `mod_nw_ecn:${a.ecn}`;
    case 'set_ip_ttl':
      return `mod_nw_ttl:${a.ttl}`;
    case 'set_l4_src_port':
      return `mod_tp_src:${a.port}`;
    case 'set_l4_dst_port':
      return `mod_tp_dst:${a.port}`;
    case 'set_field': {
      const fd = fieldByName(a.field)!;
      return `set_field:${formatFieldValue(fd, a.value, a.mask, pm)}->${fd.name}`;
    }
    case 'dec_ttl':
      return a.cntIds ? `dec_ttl(${a.cntIds.join(',')})` : 'dec_ttl';
    case 'resubmit': {
      if (a.inPort !== OFPP_IN_PORT && a.table === 255) return `resubmit:${formatPort(a.inPort, pm)}`;
      let s = 'resubmit(';
      if (a.inPort !== OFPP_IN_PORT) s += formatPort(a.inPort, pm);
      s += ',';
      if (a.table !== 255) s += String(a.table);
      if (a.ct) s += ',ct';
      return s + ')';
    }
    case 'goto_table':
      return `goto_table:${a.table}`;
    case 'note':
      return `note:${hexDots(a.hex)}`;
  }
}

/** OVS `ofpacts_format`: actions separated by commas, `drop` for none. */
export function formatActions(actions: readonly OfAction[], opts?: FormatActionsOptions): string {
  if (actions.length === 0) return 'drop';
  return actions.map((a) => formatAction(a, opts)).join(',');
}
