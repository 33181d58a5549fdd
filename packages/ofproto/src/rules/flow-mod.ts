/**
 * OpenFlow rule changes (OVS `struct ofputil_flow_mod`) and their ovs-ofctl text syntax:
 * `[table=N,][priority=P,][cookie=C[/M],][idle_timeout=S,][hard_timeout=S,]<match>,actions=<list>`
 * as `ovs-ofctl add-flow / mod-flows / del-flows` read it (`man ovs-ofctl`, "Flow Syntax"), a
 * port of OVS 3.1 `parse_ofp_str__()` (lib/ofp-flow.c). The match part is parsed by @tsvs/packet
 * (`parseMatchField` / `finishMatch`), the actions by ./actions-parse.ts.
 *
 * Which keywords a command accepts is OVS's: add takes actions, timeouts, priority, flags,
 * importance; modify takes actions, timeouts (ignored on existing rules, as OVS), priority,
 * flags; delete takes out_port (and priority for delete_strict). `cookie=C` sets the cookie (add,
 * modify); `cookie=C/M` selects rules by cookie (modify, delete). `duration`, `n_packets`,
 * `n_bytes`, `idle_age`, `hard_age` are ignored so dump-flows output can be fed back.
 *
 * A FlowMod is plain data (typed arrays, bigints, plain objects): it can be posted to a worker.
 */
import { FLOW_WORDS, tokenizeMatch, parseMatchField, finishMatch } from '@tsvs/packet';
import type { OfAction } from './actions.js';
import { parseActions, parseTableId } from './actions-parse.js';
import { checkActions } from './actions-check.js';
import { OFPP_NONE, parsePort, type PortMap } from './ports.js';
import { OfctlSyntaxError, parseU64, parseUint } from './tokenize.js';

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

/** Flow-mod flags (OVS OFPUTIL_FF_*), printed in this order. */
export const FF_SEND_FLOW_REM = 1;
export const FF_CHECK_OVERLAP = 2;
export const FF_RESET_COUNTS = 4;
export const FF_NO_PKT_COUNTS = 8;
export const FF_NO_BYT_COUNTS = 16;

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [FF_SEND_FLOW_REM, 'send_flow_rem'], [FF_CHECK_OVERLAP, 'check_overlap'], [FF_RESET_COUNTS, 'reset_counts'],
  [FF_NO_PKT_COUNTS, 'no_packet_counts'], [FF_NO_BYT_COUNTS, 'no_byte_counts'],
];

/** OFP_DEFAULT_PRIORITY. */
export const DEFAULT_PRIORITY = 32768;
/** Table id meaning "not given": add uses table 0, modify/delete act on every table. */
export const TABLE_ANY = 255;

export interface FlowMod {
  command: FlowModCommand;
  /** 0..254, or TABLE_ANY. */
  table: number;
  priority: number;
  /** Match key (masked) and mask, FLOW_WORDS words each. */
  key: Uint32Array;
  mask: Uint32Array;
  /** Rule selection by cookie (modify/delete): rules with (cookie ^ rule.cookie) & cookieMask == 0. */
  cookie: bigint;
  cookieMask: bigint;
  /** Cookie to set on added/modified rules; null keeps the old cookie (OVS new_cookie = UINT64_MAX). */
  newCookie: bigint | null;
  /** True if `cookie=C` (no mask) was given: modify changes the cookie of the rules it modifies. */
  modifyCookie: boolean;
  /** Seconds, 0 = none. */
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  /** FF_* bits. */
  flags: number;
  /** Rule selection by output port (modify/delete): OFPP_NONE (0xffff) = any. */
  outPort: number;
  actions: OfAction[];
  /** Match fields dropped because the match does not meet their prerequisites (OVS normalization). */
  dropped: string[];
}

export interface ParseFlowModOptions {
  portMap?: PortMap;
}

const RULE_KEYWORDS = new Set([
  'table', 'out_port', 'out_group', 'priority', 'idle_timeout', 'hard_timeout', 'importance', 'cookie',
  'duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age',
]);
const FLAG_KEYWORDS: Record<string, number> = {
  send_flow_rem: FF_SEND_FLOW_REM, check_overlap: FF_CHECK_OVERLAP, reset_counts: FF_RESET_COUNTS,
  no_packet_counts: FF_NO_PKT_COUNTS, no_byte_counts: FF_NO_BYT_COUNTS,
};

/**
 * Parses a rule for `command` (ovs-ofctl flow syntax, see the module comment).
 * @throws OfctlSyntaxError or FlowParseError (from @tsvs/packet), one line naming the bad token:
 *   unknown keyword or field, bad value, missing `actions=` (add/modify), cookie mask on add,
 *   cookie without mask on delete, an invalid action, actions inconsistent with the match.
 */
export function parseFlowMod(text: string, command: FlowModCommand, opts?: ParseFlowModOptions): FlowMod {
  const withActions = command === 'add' || command === 'modify' || command === 'modify_strict';
  const withTimeouts = withActions;
  const withFlags = withActions;
  const withPriority = command !== 'delete';
  const withOutPort = command === 'delete' || command === 'delete_strict';
  const withImportance = command === 'add';

  let matchText = text;
  let actText: string | undefined;
  if (withActions) {
    // OVS ofp_extract_actions: everything after the first "action...=" is the action list.
    const at = text.indexOf('action');
    if (at < 0) throw new OfctlSyntaxError('must specify an action');
    const eq = text.indexOf('=', at + 1);
    if (eq < 0) throw new OfctlSyntaxError('must specify an action');
    matchText = text.slice(0, at);
    actText = text.slice(eq + 1);
  }

  const fm: FlowMod = {
    command,
    table: TABLE_ANY,
    priority: DEFAULT_PRIORITY,
    key: new Uint32Array(FLOW_WORDS),
    mask: new Uint32Array(FLOW_WORDS),
    cookie: 0n,
    cookieMask: 0n,
    newCookie: command === 'modify' || command === 'modify_strict' ? null : 0n,
    modifyCookie: false,
    idleTimeout: 0,
    hardTimeout: 0,
    importance: 0,
    flags: 0,
    outPort: OFPP_NONE,
    actions: [],
    dropped: [],
  };
  const portMap = opts?.portMap;
  const matchOpts = portMap ? { portByName: (n: string) => portMap.byName.get(n) } : undefined;

  for (const t of tokenizeMatch(matchText)) {
    const name = t.name;
    const value = t.value;
    const flag = FLAG_KEYWORDS[name];
    if (flag !== undefined) {
      if (!withFlags) throw new OfctlSyntaxError(`unknown keyword ${name}`);
      fm.flags |= flag;
      continue;
    }
    if (name === 'no_readonly_table' || name === 'allow_hidden_fields') continue;
    if (!RULE_KEYWORDS.has(name)) {
      parseMatchField(name, value, fm.key, fm.mask, 0, 0, matchOpts);
      continue;
    }
    if (value === '') throw new OfctlSyntaxError(`field ${name} missing value`);
    switch (name) {
      case 'table': {
        const tid = parseTableId(value);
        if (tid === undefined) throw new OfctlSyntaxError(`unknown table "${value}"`);
        fm.table = tid;
        break;
      }
      case 'out_port': {
        if (!withOutPort) throw new OfctlSyntaxError(`unknown keyword ${name}`);
        const p = parsePort(value, portMap);
        if (p === undefined) throw new OfctlSyntaxError(`${value} is not a valid OpenFlow port`);
        fm.outPort = p;
        break;
      }
      case 'out_group':
        if (!withOutPort) throw new OfctlSyntaxError(`unknown keyword ${name}`);
        throw new OfctlSyntaxError(`out_group=${value}: groups are not supported by tsvs`);
      case 'priority':
        if (!withPriority) throw new OfctlSyntaxError(`unknown keyword ${name}`);
        fm.priority = parseUint(value, 'priority', 0xffff);
        break;
      case 'idle_timeout':
      case 'hard_timeout':
        if (!withTimeouts) throw new OfctlSyntaxError(`unknown keyword ${name}`);
        if (name === 'idle_timeout') fm.idleTimeout = parseUint(value, name, 0xffff);
        else fm.hardTimeout = parseUint(value, name, 0xffff);
        break;
      case 'importance':
        if (!withImportance) throw new OfctlSyntaxError(`unknown keyword ${name}`);
        fm.importance = parseUint(value, name, 0xffff);
        break;
      case 'cookie': {
        const slash = value.indexOf('/');
        if (slash >= 0) {
          if (command === 'add') throw new OfctlSyntaxError(`cookie=${value}: flow additions cannot use a cookie mask`);
          fm.cookie = parseU64(value.slice(0, slash));
          fm.cookieMask = parseU64(value.slice(slash + 1));
        } else {
          if (!withActions) {
            throw new OfctlSyntaxError(`cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=${value}/-1)`);
          }
          fm.newCookie = parseU64(value);
          fm.modifyCookie = true;
        }
        break;
      }
      default:
        break; // duration, n_packets, n_bytes, idle_age, hard_age: ignored
    }
  }
  fm.dropped = finishMatch(fm.key, 0, fm.mask, 0);
  if (fm.cookieMask === 0n && fm.newCookie === null && (command === 'modify' || command === 'modify_strict')) {
    fm.newCookie = 0n;
  }
  if (actText !== undefined) {
    fm.actions = parseActions(actText, { portMap });
    checkActions(fm.actions, fm.key, 0, fm.table);
  }
  return fm;
}

/** The flags as OVS `ofputil_flow_mod_flags_format` prints them ("send_flow_rem check_overlap "). */
export function formatFlowModFlags(flags: number): string {
  let s = '';
  for (const [bit, name] of FLAG_NAMES) if (flags & bit) s += name + ' ';
  return s;
}
