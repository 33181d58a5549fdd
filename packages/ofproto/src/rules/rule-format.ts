/**
 * Printing rules the way ovs-ofctl does:
 * - `formatFlowStats`: one `ovs-ofctl dump-flows` line, OVS 3.1 `ofputil_flow_stats_format()`
 *   (lib/ofp-flow.c): cookie, duration, table, n_packets, n_bytes, idle_timeout, hard_timeout,
 *   flags, importance, idle_age, hard_age, then the match (with priority) and actions. ovs-ofctl
 *   prints each line with one leading space; so does this function.
 * - `formatFlowMod`: what `ovs-ofctl parse-flow` prints after `OFPT_FLOW_MOD (xid=0x1):`,
 *   OVS `ofputil_flow_mod_format()`.
 * The match text comes from @tsvs/packet `formatMatch` (OVS match_format), with port names when a
 * port map is given (`in_port=p1`, quoted as OVS does: `in_port="p-2"`).
 */
import { formatMatch, type FormatMatchOptions } from '@tsvs/packet';
import type { OfAction } from './actions.js';
import { formatActions } from './actions-format.js';
import { formatFlowModFlags, TABLE_ANY, type FlowMod } from './flow-mod.js';
import { OFPP_NONE, formatPort, type PortMap } from './ports.js';

/** What dump-flows shows about one rule. Times in milliseconds (any common epoch). */
export interface FlowStatsView {
  table: number;
  priority: number;
  key: Uint32Array;
  mask: Uint32Array;
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  flags: number;
  actions: readonly OfAction[];
  nPackets: number;
  nBytes: number;
  /** When the rule was created (kept across mod-flows, as OVS `rule->created`). */
  createdMs: number;
  /** When the rule was last added or modified (OVS `rule->modified`). */
  modifiedMs: number;
  /** When a packet last hit the rule (starts at modifiedMs, as OVS). */
  usedMs: number;
}

export interface FormatFlowStatsOptions {
  /** Current time in the same epoch as the view's times. */
  nowMs: number;
  /** false = `--no-stats`: omit duration, n_packets, n_bytes, idle_age, hard_age. Default true. */
  showStats?: boolean;
  /**
   * Print the flags (send_flow_rem, ...) and importance, as `ovs-ofctl -O OpenFlow14 dump-flows`
   * does. Default false: ovs-ofctl's default protocol (OpenFlow 1.0) carries neither.
   */
  showFlags?: boolean;
  portMap?: PortMap;
}

/** formatMatch options: the priority, and port names from `portMap` (`in_port=p1`, as ovs-ofctl --names). */
export function matchOptions(priority: number | undefined, portMap?: PortMap): FormatMatchOptions {
  const o: FormatMatchOptions = {};
  if (priority !== undefined) o.priority = priority;
  if (portMap) o.portName = (port) => portMap.byNumber.get(port);
  return o;
}

/** OVS `ofp_print_duration` of a millisecond count: `S`, `S.mmm` then `s`. */
export function formatDuration(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const msec = ms - sec * 1000;
  return msec > 0 ? `${sec}.${String(msec).padStart(3, '0')}s` : `${sec}s`;
}

/** OVS `age_secs`: whole seconds, clamped to [0, 65535]. */
function ageSecs(ms: number): number {
  return ms < 0 ? 0 : ms >= 65535 * 1000 ? 65535 : Math.floor(ms / 1000);
}

/** One dump-flows line (with its leading space), see the module comment. */
export function formatFlowStats(r: FlowStatsView, opts: FormatFlowStatsOptions): string {
  const stats = opts.showStats ?? true;
  let s = '';
  if (stats || r.cookie) s += `cookie=0x${r.cookie.toString(16)}, `;
  const durMs = Math.max(0, Math.floor(opts.nowMs - r.createdMs));
  if (stats) s += `duration=${formatDuration(durMs)}, `;
  if (stats || r.table) s += `table=${r.table}, `;
  if (stats) s += `n_packets=${r.nPackets}, n_bytes=${r.nBytes}, `;
  if (r.idleTimeout) s += `idle_timeout=${r.idleTimeout}, `;
  if (r.hardTimeout) s += `hard_timeout=${r.hardTimeout}, `;
  if (opts.showFlags && r.flags) s += formatFlowModFlags(r.flags);
  if (opts.showFlags && r.importance) s += `importance=${r.importance}, `;
  if (stats) {
    s += `idle_age=${ageSecs(opts.nowMs - r.usedMs)}, `;
    const hardAge = ageSecs(opts.nowMs - r.modifiedMs);
    if (hardAge !== Math.floor(durMs / 1000)) s += `hard_age=${hardAge}, `;
  }
  const m = formatMatch(r.key, 0, r.mask, 0, matchOptions(r.priority, opts.portMap));
  s += m ? m + ' ' : '';
  s += 'actions=' + formatActions(r.actions, { portMap: opts.portMap });
  return ' ' + s;
}

const COOKIE_MAX = 0xffffffffffffffffn;

const COMMAND_NAMES: Record<FlowMod['command'], string> = {
  add: 'ADD', modify: 'MOD', modify_strict: 'MOD_STRICT', delete: 'DEL', delete_strict: 'DEL_STRICT',
};

/**
 * A flow mod as `ovs-ofctl parse-flow` prints it after `OFPT_FLOW_MOD (xid=0x1):` (with the
 * leading space), e.g. ` ADD table:1 priority=5,ip cookie:0x5 idle:10 actions=drop`.
 */
export function formatFlowMod(fm: FlowMod, portMap?: PortMap): string {
  let s = ' ' + COMMAND_NAMES[fm.command];
  const table = fm.command === 'add' && fm.table === TABLE_ANY ? 0 : fm.table;
  if (table !== 0) s += ` table:${table}`;
  s += ' ' + formatMatch(fm.key, 0, fm.mask, 0, matchOptions(fm.priority, portMap));
  if (!s.endsWith(' ')) s += ' ';
  if (fm.newCookie !== null && fm.newCookie !== 0n && fm.newCookie !== COOKIE_MAX) s += `cookie:0x${fm.newCookie.toString(16)} `;
  if (fm.cookieMask !== 0n) s += `cookie:0x${fm.cookie.toString(16)}/0x${fm.cookieMask.toString(16)} `;
  if (fm.idleTimeout) s += `idle:${fm.idleTimeout} `;
  if (fm.hardTimeout) s += `hard:${fm.hardTimeout} `;
  if (fm.importance) s += `importance:${fm.importance} `;
  if (fm.outPort !== OFPP_NONE) s += `out_port:${formatPort(fm.outPort, portMap)} `;
  s += formatFlowModFlags(fm.flags);
  s += 'actions=' + formatActions(fm.actions, { portMap });
  return s;
}
