/**
 * State of one translation (OVS `struct xlate_ctx`), shared by the files of this directory.
 * Internal: the public API is ./xlate.ts.
 */
import type { OfRule } from '../tables/of-rule.js';
import type { OfTables } from '../tables/of-tables.js';
import type { BridgePorts } from '../bridge/bridge.js';
import type { MacLearning } from '../mac-learning/mac-learning.js';
import type { XlateAction } from './odp-actions.js';
import type { TraceNode, TraceNodeType } from './trace-node.js';

/** Translation errors (OVS enum xlate_error, the ones tsvs can hit). */
export const XLATE_OK = 0;
export const XLATE_RECURSION_TOO_DEEP = 2;
export const XLATE_TOO_MANY_RESUBMITS = 3;

/** OVS xlate_strerror. */
export function xlateStrerror(e: number): string {
  switch (e) {
    case XLATE_OK: return 'OK';
    case XLATE_RECURSION_TOO_DEEP: return 'Recursion too deep';
    case XLATE_TOO_MANY_RESUBMITS: return 'Too many resubmits';
    default: return 'Unknown error';
  }
}

/** OVS MAX_DEPTH and MAX_RESUBMITS. */
export const MAX_DEPTH = 64;
export const MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH;

/**
 * What NORMAL learned from (OVS xlate cache XC_NORMAL): revalidators replay it with the stats of
 * the datapath flow so that MACs seen only on the fast path do not age out.
 */
export interface NormalLearning {
  inPort: number;
  vlan: number;
  macHi: number;
  macLo: number;
  gratArp: boolean;
}

/** The rule-less table miss of OVS (its `no_packet_in_rule`): no actions, nothing to credit. */
export const NO_MATCH = 'no-match' as const;

export interface XlateCtx {
  ports: BridgePorts;
  tables: OfTables;
  ml: MacLearning | null;
  version: number;
  sideEffects: boolean;
  /** Port names in traced action and match texts. */
  names: boolean;
  /** The packet as it arrived (OVS xin->upcall_flow). */
  orig: Uint32Array;
  /** The flow as actions changed it (OVS xin->flow). */
  flow: Uint32Array;
  /** The packet as emitted datapath actions leave it (OVS ctx->base_flow). */
  base: Uint32Array;
  /** Megaflow mask being built (OVS ctx->wc). */
  wc: Uint32Array;
  /** Scratch key for classifier lookups. */
  lookupFlow: Uint32Array;
  out: XlateAction[];
  rules: OfRule[];
  learned: NormalLearning[];
  slow: number;
  error: number;
  exit: boolean;
  tableId: number;
  depth: number;
  resubmits: number;
  rule: OfRule | typeof NO_MATCH | null;
  ruleCookie: bigint;
  /** Current trace list (OVS ctx->xin->trace), null when not tracing. */
  trace: TraceNode[] | null;
}

/** OVS xlate_report: appends a node to the current trace list; returns it (null if not tracing). */
export function report(ctx: XlateCtx, type: TraceNodeType, text: string): TraceNode | null {
  if (!ctx.trace) return null;
  const n: TraceNode = { type, text, subs: [] };
  ctx.trace.push(n);
  return n;
}
