/**
 * Output-type actions (OVS ofproto-dpif-xlate.c): `compose_output_action__`, `flood_packets`,
 * `xlate_output_action` (port numbers and the reserved ports IN_PORT, TABLE, NORMAL, FLOOD, ALL,
 * CONTROLLER, LOCAL, NONE) and `xlate_controller_action`.
 *
 * Every output first commits pending header changes (./commit.ts), then emits `output(odp port)`.
 * Output to the packet's own input port is skipped unless the action is IN_PORT (OpenFlow).
 * CONTROLLER becomes a datapath `userspace` action whose cookie (./cookie.ts) carries the
 * packet-in reason, the rule cookie and max_len, as OVS's.
 */
import {
  OFPP_ALL, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_NONE, OFPP_NORMAL, OFPP_TABLE,
} from '../rules/ports.js';
import { W_IN_PORT } from '@tsvs/packet';
import { commitOdpActions } from './commit.js';
import { report, NO_MATCH, type XlateCtx } from './context.js';
import {
  encodeControllerCookie, OFPR_ACTION, OFPR_EXPLICIT_MISS, CONTROLLER_USERDATA_MAX,
} from './cookie.js';
import { xlateNormal } from './normal.js';
import { xlateTableAction } from './xlate.js';

/** xlate_commit_actions. */
export function commitActions(ctx: XlateCtx): void {
  ctx.slow |= commitOdpActions(ctx);
}

/** compose_output_action__ (no patch ports, tunnels, mirrors or STP in tsvs). */
export function composeOutputAction(ctx: XlateCtx, ofport: number, _checkStp: boolean): void {
  const p = ctx.ports.ofport(ofport);
  if (!p) {
    report(ctx, 'warn', 'Nonexistent output port');
    return;
  }
  if (p.noForward) {
    report(ctx, 'detail', 'OFPPC_NO_FWD set, skipping output');
    return;
  }
  commitActions(ctx);
  ctx.out.push({ type: 'output', port: p.odpPort });
}

/** flood_packets: every port but the input one (FLOOD also skips no-flood ports). */
function floodPackets(ctx: XlateCtx, all: boolean): void {
  const inPort = ctx.flow[W_IN_PORT]!;
  for (const p of ctx.ports.list) {
    if (p.ofport === inPort) continue;
    if (all || p.floodable) composeOutputAction(ctx, p.ofport, !all);
  }
}

/** True for a table-miss rule (priority 0, matches everything): OVS rule_is_table_miss. */
function ruleIsTableMiss(ctx: XlateCtx): boolean {
  const r = ctx.rule;
  if (!r || r === NO_MATCH || r.priority !== 0) return false;
  for (const m of r.mask) if (m !== 0) return false;
  return true;
}

/** xlate_controller_action: a packet-in through a datapath userspace action. */
export function xlateControllerAction(
  ctx: XlateCtx, maxLen: number, reason: number, controllerId: number, userdata: Uint8Array, continuation = false,
): void {
  commitActions(ctx);
  if (reason === OFPR_ACTION && ruleIsTableMiss(ctx)) reason = OFPR_EXPLICIT_MISS;
  const cookie = encodeControllerCookie({
    // Translations for a trace without a packet do not send (OVS: !allow_side_effects && !xcache).
    dontSend: ctx.trace !== null && !ctx.sideEffects,
    continuation,
    tableId: ctx.tableId,
    reason,
    controllerId,
    maxLen,
    inPort: ctx.flow[W_IN_PORT]!,
    recircId: 0,
    ruleCookie: ctx.ruleCookie,
    userdata: userdata.length > CONTROLLER_USERDATA_MAX ? userdata.subarray(0, CONTROLLER_USERDATA_MAX) : userdata,
  });
  ctx.out.push({ type: 'userspace', pid: 0, userdata: cookie });
}

/** xlate_output_action. */
export function xlateOutputAction(ctx: XlateCtx, port: number, maxLen: number): void {
  const inPort = ctx.flow[W_IN_PORT]!;
  switch (port) {
    case OFPP_IN_PORT:
      composeOutputAction(ctx, inPort, true);
      return;
    case OFPP_TABLE:
      xlateTableAction(ctx, inPort, 0, true, true);
      return;
    case OFPP_NORMAL:
      xlateNormal(ctx);
      return;
    case OFPP_FLOOD:
      floodPackets(ctx, false);
      return;
    case OFPP_ALL:
      floodPackets(ctx, true);
      return;
    case OFPP_CONTROLLER:
      xlateControllerAction(ctx, maxLen, OFPR_ACTION, 0, EMPTY);
      return;
    case OFPP_NONE:
      return;
    default:
      if (port !== inPort) composeOutputAction(ctx, port, true);
      else report(ctx, 'warn', 'skipping output to input port');
  }
}

const EMPTY = new Uint8Array(0);
