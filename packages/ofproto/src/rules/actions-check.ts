/**
 * Checks an action list against the rule it belongs to: OVS 3.1 `ofpacts_check()` (lib/ofp-actions.c)
 * for the actions tsvs supports. Like OVS, the check walks the actions over a copy of the match's
 * VLAN headers so that `push_vlan`, `strip_vlan` and VLAN rewrites change what later actions see.
 *
 * Errors (OfctlSyntaxError, one line naming the action):
 * - output to a port that is neither physical (< 0xff00) nor a usable reserved port
 *   (OFPBAC_BAD_OUT_PORT);
 * - set_field whose field's prerequisites the match does not guarantee, or vlan_vid without a
 *   VLAN header (OFPBAC_MATCH_INCONSISTENT);
 * - push_vlan onto two VLAN headers (OFPBAC_BAD_TAG);
 * - goto_table to a table not after the rule's own, when the rule's table is known (not 255)
 *   (OFPBIC_BAD_TABLE_ID). As in OVS's parser, goto_table:255 passes here; the tables refuse it.
 * What OVS merely restricts to OpenFlow 1.0 (e.g. mod_nw_src in a non-IP rule) is accepted: it is
 * ignored at translation time for packets it does not apply to, as in OVS.
 */
import { FLOW_WORDS, W_VLAN0, W_VLAN1, VLAN_CFI } from '@tsvs/packet';
import type { OfAction } from './actions.js';
import { formatAction } from './actions-format.js';
import { fieldByName, fieldPrereqsOk } from './fields.js';
import {
  OFPP_ALL, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX, OFPP_NORMAL, OFPP_TABLE,
} from './ports.js';
import { OfctlSyntaxError } from './tokenize.js';

const OK_RESERVED = new Set([OFPP_IN_PORT, OFPP_TABLE, OFPP_NORMAL, OFPP_FLOOD, OFPP_ALL, OFPP_CONTROLLER, OFPP_LOCAL]);

function fail(a: OfAction, err: string, why: string): never {
  throw new OfctlSyntaxError(`${formatAction(a)}: actions are invalid with specified match (${err}: ${why})`);
}

/**
 * Checks `actions` for a rule in table `tableId` whose (masked) match key is `key[kb..]`.
 * @throws OfctlSyntaxError as listed in the module comment.
 */
export function checkActions(actions: readonly OfAction[], key: Uint32Array, kb: number, tableId: number): void {
  const flow = new Uint32Array(FLOW_WORDS);
  for (let i = 0; i < FLOW_WORDS; i++) flow[i] = key[kb + i]!;
  for (const a of actions) {
    switch (a.type) {
      case 'output':
        if (a.port >= OFPP_MAX && !OK_RESERVED.has(a.port)) fail(a, 'OFPBAC_BAD_OUT_PORT', `port ${a.port} cannot be an output port`);
        break;
      case 'set_vlan_vid':
      case 'set_vlan_pcp':
        flow[W_VLAN0] = (flow[W_VLAN0]! | VLAN_CFI) >>> 0;
        break;
      case 'strip_vlan':
        flow[W_VLAN0] = flow[W_VLAN1]!;
        flow[W_VLAN1] = 0;
        break;
      case 'push_vlan':
        if (flow[W_VLAN1]! & VLAN_CFI) fail(a, 'OFPBAC_BAD_TAG', 'at most 2 VLAN headers');
        flow[W_VLAN1] = flow[W_VLAN0]!;
        flow[W_VLAN0] = ((a.ethertype << 16) | VLAN_CFI) >>> 0;
        break;
      case 'set_field': {
        const fd = fieldByName(a.field)!;
        if (!fieldPrereqsOk(fd, flow, 0) || (fd.name === 'vlan_vid' && !(flow[W_VLAN0]! & VLAN_CFI))) {
          fail(a, 'OFPBAC_MATCH_INCONSISTENT', `the match does not guarantee the prerequisites of ${fd.name}`);
        }
        if (fd.name === 'vlan_tci') flow[W_VLAN0] = ((flow[W_VLAN0]! & 0xffff0000) | (a.value[0]! & 0xffff)) >>> 0;
        break;
      }
      case 'goto_table':
        if (tableId !== 255 && a.table <= tableId) {
          fail(a, 'OFPBIC_BAD_TABLE_ID', `goto_table must go to a later table than ${tableId}`);
        }
        break;
      default:
        break;
    }
  }
}
