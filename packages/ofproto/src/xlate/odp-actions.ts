/**
 * The datapath actions translation produces: @tsvs/dpif's `OdpAction`s (output, userspace,
 * push_vlan, pop_vlan, set of eth/ipv4/ipv6/tcp/udp), plus the set actions OVS would emit that the
 * tsvs datapath cannot execute (ARP, ICMP, ICMPv6, ND, SCTP fields): those are kept as OVS's text
 * so traces print what OVS prints, and make the translation "slow path" (SLOW_ACTION).
 *
 * Printing follows OVS format_odp_actions (lib/odp-util.c) as `ofproto/trace` shows it on the
 * netdev datapath: ports as numbers, or names with a name map (`--names`), `drop` for none;
 * userspace cookies decoded (./cookie.ts).
 */
import { encodeOdpActions, formatOdpAction, ODP_ACTIONS_MAX_BYTES, type OdpAction } from '@tsvs/dpif';
import { encodeSlowPathCookie, formatUserspaceCookie } from './cookie.js';

/** A set action the datapath cannot execute, as OVS prints it, e.g. `set(icmp(type=0,code=0))`. */
export interface UnsupportedOdpAction {
  type: 'unsupported';
  text: string;
}

export type XlateAction = OdpAction | UnsupportedOdpAction;

/** Formats one action; `odpNames` maps odp port numbers to names (OVS odp_portno_names). */
export function formatXlateAction(a: XlateAction, odpNames?: ReadonlyMap<number, string>): string {
  switch (a.type) {
    case 'output': {
      const name = odpNames?.get(a.port);
      return name !== undefined ? name : String(a.port);
    }
    case 'userspace':
      return `userspace(pid=${a.pid}${formatUserspaceCookie(a.userdata)})`;
    case 'unsupported':
      return a.text;
    default:
      return formatOdpAction(a);
  }
}

/** The `Datapath actions:` text: actions joined by commas, `drop` for none. */
export function formatXlateActions(actions: readonly XlateAction[], odpNames?: ReadonlyMap<number, string>): string {
  if (actions.length === 0) return 'drop';
  return actions.map((a) => formatXlateAction(a, odpNames)).join(',');
}

/** Bytes `encodeOdpActions` needs for these actions, or -1 if one of them cannot be encoded. */
export function odpActionsSize(actions: readonly XlateAction[]): number {
  let n = 6;
  for (const a of actions) {
    switch (a.type) {
      case 'output': n += 6; break;
      case 'userspace': n += 7 + (a.userdata ? a.userdata.length : 0); break;
      case 'push_vlan': n += 6; break;
      case 'pop_vlan': n += 2; break;
      case 'set': {
        let full = true;
        for (const m of a.mask) if (m !== 0xff) { full = false; break; }
        n += 3 + (full ? a.value.length : 2 * a.value.length);
        break;
      }
      case 'unsupported': return -1;
    }
  }
  return n;
}

/** True if the actions fit the datapath's action slot and contain nothing it cannot execute. */
export function odpActionsFit(actions: readonly XlateAction[]): boolean {
  const n = odpActionsSize(actions);
  return n >= 0 && n <= ODP_ACTIONS_MAX_BYTES && actions.length <= 255;
}

/**
 * The encoded datapath actions to install for a translation: its actions when the datapath can
 * run them, else (slow path) `userspace(pid=0,slow_path(REASON))`, as OVS installs slow-path flows.
 */
export function encodeFlowActions(actions: readonly XlateAction[], slow: number): Uint8Array {
  if (slow === 0 && odpActionsFit(actions)) return encodeOdpActions(actions as OdpAction[]);
  return encodeOdpActions([{ type: 'userspace', pid: 0, userdata: encodeSlowPathCookie(slow || 1 << 5) }]);
}
